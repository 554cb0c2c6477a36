package uglyfox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Kind is what a decision does.
type Kind string

const (
	// RecordSilence: the agent has not been heard for heartbeat_timeout
	// (runner.heartbeat_missed, once per silence).
	RecordSilence Kind = "heartbeat_missed"
	// RecordResumed: a runner whose silence was recorded was heard again
	// (runner.heartbeat_resumed).
	RecordResumed Kind = "heartbeat_resumed"
	// ReportOverrun: BUSY past its egg's job limit (runner.job_overran, once per BUSY stretch).
	ReportOverrun Kind = "job_overran"
	// Defer: Action waits for the BUSY runner to be idle (uglyfox.decision_deferred).
	Defer Kind = "deferred"
	// Terminate, Demote and Promote carry out an action
	// (runner.termination_asked, runner.pool_changed).
	Terminate Kind = domain.ActionTerminate
	Demote    Kind = domain.ActionDemoteToNadir
	Promote   Kind = domain.ActionPromoteToApex
)

// Decision is one thing the sweep does to one runner, with its cause.
type Decision struct {
	RunnerID string
	Kind     Kind
	// Action is the deferred action of a Defer.
	Action string
	// Cause names the rule or threshold that decided: `rule "demote-idle"`,
	// "pruning.max_age 24h0m0s", `runners_condition "default" apex.min_count 2`.
	Cause string
	// Reason is the one line the resulting event records: the cause and
	// the runner's values that met it.
	Reason string
	// LastSeenAt is the last heartbeat (RecordSilence: before the silence,
	// zero if never heard; RecordResumed: the one that ended it);
	// SilentSince the start of a resumed silence; Threshold the
	// heartbeat_timeout or the job limit; BusySince the start of an overrun.
	LastSeenAt  time.Time
	SilentSince time.Time
	Threshold   time.Duration
	BusySince   time.Time
	// EvenIfBusy (Terminate): a rule reading runner.state matched the
	// runner BUSY; the provisioner destroys it without waiting for idle.
	EvenIfBusy bool
	// RowVersion is the runner row's version the decision was made on: a
	// retried decision on the same row is the same command (its idempotency key).
	RowVersion uint64
}

// Runner is one runner as the sweep sees it: its row of the runners view
// (which also holds the sweep's memory) and its last heartbeat.
type Runner struct {
	Row       ports.RunnerRow
	Heartbeat ports.Heartbeat
	Heard     bool // a last-seen record exists
}

// Input is everything Decide reads.
type Input struct {
	Now      time.Time
	Settings *Settings
	Runners  []Runner
	// JobLimits holds each egg's runner.max_job_duration (absent or 0: none).
	JobLimits map[string]time.Duration
}

// RuleError is a policy rule that failed to evaluate for a runner; the
// runner gets no policy decision in that sweep (a broken rule is not skipped).
type RuleError struct {
	RunnerID, Rule string
	Err            error
}

func (e RuleError) Error() string {
	return fmt.Sprintf("runner %s: rule %s: %v", e.RunnerID, e.Rule, e.Err)
}

// Decide returns the sweep's decisions, in runner id order, and the rule
// evaluations that failed. For each runner, in order:
//
//  1. its heartbeat: a live runner (ACTIVE, IDLE, BUSY; not dormant in
//     Nadir) not heard for heartbeat_timeout since its last heartbeat (or
//     its deployment) is recorded silent once; heard again, resumed once;
//  2. a BUSY runner past its egg's job limit is reported once;
//  3. one action, the first that applies: a deferred decision once the
//     runner is not BUSY; pruning.failed_threshold; pruning.max_age; the
//     policy rules in file order (first match wins); then the pools of its
//     runners_condition (Apex min/max and load thresholds, Nadir max and
//     idle_timeout).
//
// A terminate or demote of a BUSY runner is deferred (recorded once), not
// carried out, unless a rule that reads runner.state matched it: such a
// rule says explicitly that a busy runner goes.
func Decide(in Input) ([]Decision, []RuleError) {
	s := in.Settings
	if s == nil {
		return nil, nil
	}
	d := decider{in: in, s: s, group: map[string]int{}}
	for i, p := range s.Pools {
		for _, egg := range p.Eggs {
			d.group[egg] = i
		}
	}
	rs := slices.Clone(in.Runners)
	slices.SortFunc(rs, func(a, b Runner) int { return strings.Compare(a.Row.ID, b.Row.ID) })
	acted := make(map[string]Kind, 16) // runner id -> its action this sweep
	for i := range rs {
		r := &rs[i]
		if !considered(r.Row) {
			continue
		}
		f := d.facts(r)
		d.heartbeat(r, f)
		d.overrun(r)
		if k := d.act(r, f); k != "" {
			acted[r.Row.ID] = k
		}
	}
	d.pools(rs, acted)
	slices.SortStableFunc(d.out, func(a, b Decision) int { return strings.Compare(a.RunnerID, b.RunnerID) })
	return d.out, d.errs
}

type decider struct {
	in    Input
	s     *Settings
	group map[string]int // egg -> index of its Pools
	out   []Decision
	errs  []RuleError
}

// considered: runners the sweep looks at. PROVISIONING ones are the
// provisioner's; TERMINATED ones and job requests served by another
// runner (ServedBy) are done.
func considered(r ports.RunnerRow) bool {
	if r.ServedBy != "" {
		return false
	}
	switch r.State {
	case "ACTIVE", "IDLE", "BUSY", "FAILED":
		return true
	}
	return false
}

func live(r ports.RunnerRow) bool {
	return r.State == "ACTIVE" || r.State == "IDLE" || r.State == "BUSY"
}

// deployedAt is when the runner came up (its request for rows from before
// deployed_at was recorded).
func deployedAt(r ports.RunnerRow) time.Time {
	if !r.DeployedAt.IsZero() {
		return r.DeployedAt
	}
	return r.CreatedAt
}

func lastHeard(r *Runner) time.Time {
	if r.Heard && !r.Heartbeat.At.IsZero() {
		return r.Heartbeat.At
	}
	return deployedAt(r.Row)
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func since(now, t time.Time) time.Duration {
	if t.IsZero() || !now.After(t) {
		return 0
	}
	return now.Sub(t)
}

// facts are the runner variables of one runner. failure_count is the
// number of heartbeat silences recorded since the runner was deployed
// (runner.heartbeat_missed; the runners view's silences): what the log
// says about a runner failing. idle_for is 0 for a BUSY runner, else the
// time since it entered its state, moved pools or was deployed, whichever
// is last.
func (d *decider) facts(r *Runner) domain.RunnerFacts {
	row := r.Row
	now := d.in.Now
	f := domain.RunnerFacts{
		State:          strings.ToLower(row.State),
		Egg:            row.Egg,
		FailureCount:   row.Silences,
		Age:            since(now, deployedAt(row)),
		SinceHeartbeat: since(now, lastHeard(r)),
		Cloud:          row.Provider,
		Region:         row.Region,
		Type:           domain.EggVM.String(),
	}
	switch row.Type {
	case domain.RunnerApex.String(), domain.RunnerNadir.String():
		f.Pool = row.Type
	default:
		f.Type = domain.EggServerless.String()
	}
	if row.State != "BUSY" {
		f.IdleFor = since(now, latest(row.StateSince, row.PoolSince, row.DeployedAt))
	}
	return f
}

func dormant(r ports.RunnerRow) bool { return r.Type == domain.RunnerNadir.String() }

func (d *decider) heartbeat(r *Runner, f domain.RunnerFacts) {
	row := r.Row
	timeout := d.s.HeartbeatTimeout
	if timeout <= 0 || !live(row) || dormant(row) {
		return
	}
	if row.Silent {
		if r.Heard && r.Heartbeat.At.After(row.LastSeenAt) {
			d.add(Decision{RunnerID: row.ID, Kind: RecordResumed, Cause: "heartbeat", SilentSince: row.LastSeenAt, LastSeenAt: r.Heartbeat.At,
				Reason: "heard again", RowVersion: row.Version})
		}
		return // one record per silence
	}
	if f.SinceHeartbeat >= timeout {
		var last time.Time
		if r.Heard {
			last = r.Heartbeat.At
		}
		d.add(Decision{RunnerID: row.ID, Kind: RecordSilence, Cause: fmt.Sprintf("pruning.heartbeat_timeout %s", timeout), LastSeenAt: last, Threshold: timeout,
			Reason: fmt.Sprintf("pruning.heartbeat_timeout %s: not heard for %s", timeout, f.SinceHeartbeat.Round(time.Second)), RowVersion: row.Version})
	}
}

func (d *decider) overrun(r *Runner) {
	row := r.Row
	limit := d.in.JobLimits[row.Egg]
	if limit <= 0 || row.State != "BUSY" || row.StateSince.IsZero() || row.OverranBusySince.Equal(row.StateSince) {
		return
	}
	if busy := since(d.in.Now, row.StateSince); busy > limit {
		d.add(Decision{RunnerID: row.ID, Kind: ReportOverrun, Cause: fmt.Sprintf("egg %s runner.max_job_duration %s", row.Egg, limit),
			Reason:    fmt.Sprintf("egg %s runner.max_job_duration %s: BUSY for %s; reported, not stopped", row.Egg, limit, busy.Round(time.Second)),
			BusySince: row.StateSince, Threshold: limit, RowVersion: row.Version})
	}
}

// act decides the runner's one action (pools aside) and returns its kind
// ("" for none; Defer for a deferral).
func (d *decider) act(r *Runner, f domain.RunnerFacts) Kind {
	row := r.Row
	busy := row.State == "BUSY"
	if row.DeferredAction != "" && !busy {
		return d.carry(row, row.DeferredAction, "deferred: "+row.DeferredReason, "deferred "+row.DeferredAction, false)
	}
	if t := d.s.FailedThreshold; t > 0 && f.FailureCount >= t {
		cause := fmt.Sprintf("pruning.failed_threshold %d", t)
		return d.carry(row, domain.ActionTerminate, fmt.Sprintf("%s: %d heartbeat silences since deployed", cause, f.FailureCount), cause, false)
	}
	if m := d.s.MaxAge; m > 0 && f.Age > m {
		cause := fmt.Sprintf("pruning.max_age %s", m)
		return d.carry(row, domain.ActionTerminate, fmt.Sprintf("%s: age %s", cause, f.Age.Round(time.Second)), cause, false)
	}
	for _, rule := range d.s.Rules {
		ok, err := rule.When.Eval(f)
		if err != nil {
			d.errs = append(d.errs, RuleError{RunnerID: row.ID, Rule: rule.Name, Err: err})
			return ""
		}
		if ok {
			cause := fmt.Sprintf("rule %q", rule.Name)
			explicit := busy && rule.readsState
			return d.carry(row, rule.Action, fmt.Sprintf("%s: when %s", cause, rule.When.Source()), cause, explicit)
		}
	}
	return ""
}

// carry turns an action into a decision: nothing when it is done already
// or does not apply, a deferral for a BUSY runner (unless explicit), else
// the action. It returns the decision's kind.
func (d *decider) carry(row ports.RunnerRow, action, reason, cause string, explicit bool) Kind {
	switch action {
	case domain.ActionTerminate:
		if !row.TerminationAskedAt.IsZero() {
			return Terminate // asked already: the provisioner is on it
		}
	case domain.ActionDemoteToNadir:
		if row.Type != domain.RunnerApex.String() || row.State == "FAILED" {
			return ""
		}
	case domain.ActionPromoteToApex:
		if row.Type != domain.RunnerNadir.String() || row.State == "FAILED" || row.State == "BUSY" {
			return ""
		}
		d.add(Decision{RunnerID: row.ID, Kind: Promote, Cause: cause, Reason: reason, RowVersion: row.Version})
		return Promote
	default:
		return ""
	}
	if row.State == "BUSY" && !explicit {
		// A terminate supersedes a deferred demote; the same (or a lesser) decision is recorded already.
		if row.DeferredAction == action || row.DeferredAction == domain.ActionTerminate {
			return Defer
		}
		d.add(Decision{RunnerID: row.ID, Kind: Defer, Action: action, Cause: cause, Reason: reason, RowVersion: row.Version})
		return Defer
	}
	if explicit {
		reason += " (the rule reads runner.state: a BUSY runner goes)"
	}
	d.add(Decision{RunnerID: row.ID, Kind: Kind(action), Cause: cause, Reason: reason, RowVersion: row.Version, EvenIfBusy: explicit && row.State == "BUSY"})
	return Kind(action)
}

func (d *decider) add(dec Decision) { d.out = append(d.out, dec) }
