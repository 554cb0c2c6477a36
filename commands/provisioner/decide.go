package provisioner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is what an Action does.
type Kind string

// The actions.
const (
	// Assign gives Request's job to Runner (an existing runner with a free slot).
	Assign Kind = "assign"
	// Queue records why Request waits.
	Queue Kind = "queue"
	// Provision makes Runner's infrastructure (plan -out, apply); for a
	// request not yet given its own job, that assignment comes first.
	Provision Kind = "provision"
	// Destroy destroys Runner's infrastructure with a destroy plan and
	// terminates it; a runner that never had a plan is terminated at once.
	Destroy Kind = "destroy"
	// GiveUp destroys what a runner that failed too often left and marks it FAILED.
	GiveUp Kind = "give_up"
	// Resume settles a plan that has no outcome in the log (MotherGoose
	// stopped during it): from the workspace's state, applied or failed.
	Resume Kind = "resume"
	// Warm requests a new pool runner for Egg.
	Warm Kind = "warm"
	// Stop stops a Nadir runner's machine and keeps it (an update plan with
	// the module input running = false), then records it STOPPED.
	Stop Kind = "stop"
	// Start starts a stopped runner promoted back to Apex (running = true)
	// and records it ACTIVE: the same runner, workspace and credential,
	// no new provisioning.
	Start Kind = "start"
	// DeleteGitLab deletes the GitLab runner of an ended runner whose
	// delete is owed (runner.gitlab_delete_owed without runner.gitlab_deleted).
	DeleteGitLab Kind = "delete_gitlab"
)

// Action is one decision.
type Action struct {
	Kind    Kind
	Egg     string
	Runner  string // the runner acted on (Assign: the one that takes the job)
	Request string // Assign, Queue: the request
	JobID   int64
	Reason  string
	// ServedBy (Destroy) ends a request whose job went to this existing
	// runner: the request never became a runner, and its end says so.
	ServedBy string
	// Deploy, Outcome (FinishDeploy): the deploy that ends and how.
	Deploy, Outcome string
	// RolledBack, Restored (Destroy of a runner a rollback replaces): its
	// last applied plan, and the plan whose configuration is restored.
	RolledBack, Restored string
}

// Tofu reports whether the action runs OpenTofu (and so takes an apply slot).
func (a Action) Tofu() bool {
	switch a.Kind {
	case Provision, Destroy, GiveUp, Resume, Stop, Start:
		return true
	}
	return false
}

// Background reports whether the action runs apart from the decisions:
// the OpenTofu ones and the GitLab calls.
func (a Action) Background() bool { return a.Tofu() || a.Kind == DeleteGitLab }

// Policy bounds the decisions.
type Policy struct {
	// MaxFailures is how many failed plans make a runner FAILED (default 3).
	MaxFailures int
	// Backoff is the wait after the first failure, doubling per failure up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// BreakAfter is how many runners of an egg given up (FAILED) in a row
	// under its current configuration, none deployed since, stop the
	// egg's provisioning (default 3): the breaker.
	BreakAfter int
}

func (p Policy) withDefaults() Policy {
	if p.MaxFailures <= 0 {
		p.MaxFailures = 3
	}
	if p.Backoff <= 0 {
		p.Backoff = 2 * time.Second
	}
	if p.BreakAfter <= 0 {
		p.BreakAfter = 3
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = max(p.Backoff, time.Minute)
	}
	return p
}

// retryAt is when a runner with n failures may be tried again.
func (p Policy) retryAt(r *Runner) time.Time {
	d := p.Backoff
	for i := 1; i < r.Failures && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return r.LastFailureAt.Add(min(d, p.MaxBackoff))
}

// Inputs is what Decide sees besides the model.
type Inputs struct {
	Now time.Time
	// Busy: runners with an action running; nothing more is decided for them.
	Busy map[string]bool
	// Unavailable says, per provider, why no runner can be provisioned
	// there ("" when it can): no tofu binary, a target not configured.
	Unavailable func(provider string) string
	Policy      Policy
}

// Decide returns what the model lacks, egg by egg in the order they were
// first synced. It is a pure function of the model and in.
//
//   - Demand: a waiting request of a vm egg is assigned to a runner that
//     holds fewer jobs than the egg's concurrent and whose agent has said it
//     is IDLE or BUSY (a runner whose agent never checked in stays ACTIVE
//     and takes no job); else provisioned while the egg's live runners are
//     under its apex max_count; else queued with the reason. A serverless
//     request is always provisioned (one runner per job).
//   - Pools: a vm egg has at least min_count live Apex runners (a Nadir
//     runner, stopped or not, is not one) and at most max_count live
//     runners (a stopped Nadir runner is one).
//   - Nadir: a runner demoted to the Nadir pool takes no new job and is
//     stopped once it holds none (never BUSY); a stopped runner promoted
//     back to Apex is started. Both are update plans of the runner's own
//     workspace: nothing is provisioned anew.
//   - Rolling replace: one runner at a time whose create plan predates the
//     egg's config hash, only while it holds no job and is not BUSY.
//   - Teardown: a removed egg's runners, a serverless runner whose job
//     finished, a runner whose termination was asked; a BUSY runner waits.
//   - Retries: a failed plan is retried after a doubling backoff; after
//     MaxFailures the runner is given up (destroyed, FAILED); at once
//     after a failure no retry can help (plan.failed permanent: GitLab
//     refused its registration).
//   - GitLab: the owed delete of an ended runner's GitLab runner.
//   - Breaker: once BreakAfter runners of an egg were given up in a row
//     under its current config hash with none of its runners deployed
//     since (Egg.FailedRunners), the egg provisions nothing: no warm
//     runner, no new plan for a runner not yet given up; its requests and
//     undeployed runners are queued with the reason, while its healthy
//     runners still take jobs. A new config hash, a deployed runner of
//     the egg or an operator's retry (egg.retry_asked) closes it again.
func Decide(m *Model, in Inputs) []Action {
	pol := in.Policy.withDefaults()
	unavailable := in.Unavailable
	if unavailable == nil {
		unavailable = func(string) string { return "" }
	}
	eggs := make([]*Egg, 0, len(m.Eggs))
	for _, e := range m.Eggs {
		eggs = append(eggs, e)
	}
	slices.SortFunc(eggs, func(a, b *Egg) int { return cmp.Compare(a.seq, b.seq) })
	byEgg := map[string][]*Runner{}
	for _, r := range m.Runners {
		byEgg[r.Egg] = append(byEgg[r.Egg], r)
	}
	var out []Action
	for _, egg := range eggs {
		rs := byEgg[egg.Name]
		slices.SortFunc(rs, func(a, b *Runner) int { return cmp.Compare(a.Seq, b.Seq) })
		why, broken := unavailable(egg.Provider), breaker(egg, pol)
		out = append(out, m.deployActions(egg, rs, decideEgg(egg, rs, in, pol, why, broken), in, why, broken)...)
	}
	// Owed GitLab deletes of ended runners, oldest runner first, whatever
	// their egg (a removed one's included). Their backoff is the caller's
	// (Busy).
	var owed []*Runner
	for _, r := range m.Runners {
		if r.GitLab.Owed() && (r.State == StateTerminated || r.State == StateFailed) && !in.Busy[r.ID] {
			owed = append(owed, r)
		}
	}
	slices.SortFunc(owed, func(a, b *Runner) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, r := range owed {
		out = append(out, Action{Kind: DeleteGitLab, Egg: r.Egg, Runner: r.ID, Reason: fmt.Sprintf("runner %s ended; its GitLab runner %d is deleted", r.ID, r.GitLab.ID)})
	}
	// Runners of eggs never synced (or whose egg is unknown) are left alone,
	// except to settle what they started.
	for name, rs := range byEgg {
		if m.Eggs[name] != nil {
			continue
		}
		for _, r := range rs {
			if !in.Busy[r.ID] && r.PendingPlan != "" {
				out = append(out, Action{Kind: Resume, Egg: name, Runner: r.ID})
			}
		}
	}
	return out
}

// breaker is why the egg provisions nothing, or "" while it may.
func breaker(egg *Egg, pol Policy) string {
	if egg.FailedRunners < pol.BreakAfter {
		return ""
	}
	// The first line: OpenTofu's errors run to pages (the runner's FAILED
	// state_reason keeps the whole of it).
	last, more := egg.LastRunnerError, false
	if i := strings.IndexByte(last, '\n'); i >= 0 {
		last, more = strings.TrimSpace(last[:i]), true
	}
	if len(last) > maxErrorInReason {
		last, more = strings.ToValidUTF8(last[:maxErrorInReason], ""), true
	}
	if more {
		last += " ..."
	}
	return fmt.Sprintf("egg %s: its last %d runners failed to provision (last error, of runner %s: %s); fix the egg and sync a new configuration, or ask a retry (POST /eggs/%s/retry)",
		egg.Name, egg.FailedRunners, egg.LastFailedRunner, last, egg.Name)
}

// maxErrorInReason bounds the runner error a breaker's queue reason quotes
// (the reason is recorded in every runner.queued it makes).
const maxErrorInReason = 200

func decideEgg(egg *Egg, rs []*Runner, in Inputs, pol Policy, unavailable, broken string) []Action {
	var out []Action
	add := func(a Action) { a.Egg = egg.Name; out = append(out, a) }
	live, apex := 0, 0
	for _, r := range rs {
		// A busy waiting request is one being provisioned whose own
		// assignment is not folded yet: it counts (erring on the safe side).
		if r.live() || (in.Busy[r.ID] && r.waiting()) {
			live++
		}
		if r.warmApex() || (in.Busy[r.ID] && r.waiting()) {
			apex++
		}
	}
	replacing := false
	for _, r := range rs {
		if r.State != StateTerminated && r.TerminationAsked == replaceReason {
			replacing = true
		}
	}
	for _, r := range rs {
		if in.Busy[r.ID] || r.State == StateTerminated || r.State == StateFailed {
			continue
		}
		switch {
		case r.PendingPlan != "":
			// Nothing runs for it, yet a plan has no outcome: MotherGoose
			// stopped during it.
			add(Action{Kind: Resume, Runner: r.ID})
		case r.ServedBy != "":
			add(Action{Kind: Destroy, Runner: r.ID, ServedBy: r.ServedBy, Reason: fmt.Sprintf("job %d went to runner %s", r.JobID, r.ServedBy)})
		case r.State == StateBusy && (egg.Removed || r.TerminationAsked != "") && !r.EvenIfBusy:
			// Never under a job (unless an UglyFox rule said so):
			// decided again when it leaves BUSY.
		case egg.Removed:
			add(Action{Kind: Destroy, Runner: r.ID, Reason: "egg " + egg.Name + " was removed from the Nest"})
		case r.TerminationAsked != "":
			add(Action{Kind: Destroy, Runner: r.ID, Reason: r.TerminationAsked})
		case (r.stopWanted() || r.startWanted()) && unavailable != "":
			// Its target cannot run OpenTofu now: decided again later.
		case r.stopWanted() && len(r.Jobs) > 0:
			// Never under a job: stopped once its jobs finished.
		case (r.stopWanted() || r.startWanted()) && r.Failures > 0 && in.Now.Before(pol.retryAt(r)):
			// Backing off after a failed stop or start.
		case r.stopWanted():
			add(Action{Kind: Stop, Runner: r.ID, Reason: fmt.Sprintf("runner %s is in the nadir pool: its machine is stopped and kept", r.ID)})
		case r.startWanted():
			add(Action{Kind: Start, Runner: r.ID, Reason: fmt.Sprintf("runner %s is back in the apex pool: its stopped machine is started", r.ID)})
		case egg.Serverless() && r.JobDone && len(r.Jobs) == 0:
			add(Action{Kind: Destroy, Runner: r.ID, Reason: fmt.Sprintf("its job %d finished", r.JobID)})
		case r.waiting() && r.JobDone:
			add(Action{Kind: Destroy, Runner: r.ID, Reason: fmt.Sprintf("job %d finished before it got a runner", r.JobID)})
		case r.provisioning() && r.Refused:
			add(Action{Kind: GiveUp, Runner: r.ID, Reason: "given up at once, no retry can help: " + r.LastError})
		case r.provisioning() && r.Failures >= pol.MaxFailures:
			add(Action{Kind: GiveUp, Runner: r.ID, Reason: fmt.Sprintf("%d failed plans; the last: %s", r.Failures, r.LastError)})
		case r.provisioning() && unavailable != "":
			if r.Queued != unavailable {
				add(Action{Kind: Queue, Runner: r.ID, Request: r.ID, JobID: r.JobID, Reason: unavailable})
			}
		case r.provisioning() && broken != "":
			if r.Queued != broken {
				add(Action{Kind: Queue, Runner: r.ID, Request: r.ID, JobID: r.JobID, Reason: broken})
			}
		case r.provisioning() && r.Failures > 0 && in.Now.Before(pol.retryAt(r)):
			// Backing off.
		case r.provisioning():
			add(Action{Kind: Provision, Runner: r.ID})
		}
	}
	if egg.Removed {
		return out
	}
	// Demand, oldest request first.
	slots := map[string]int{}
	for _, r := range rs {
		// A Nadir runner takes no new job: it is to be stopped.
		if (r.State == StateIdle || r.State == StateBusy) && r.Pool != PoolNadir && !in.Busy[r.ID] && r.TerminationAsked == "" && r.EggHash == egg.ConfigHash {
			slots[r.ID] = egg.Concurrent - len(r.Jobs)
		}
	}
	for _, req := range rs {
		if !req.waiting() || in.Busy[req.ID] || req.JobDone {
			continue
		}
		if !egg.Serverless() {
			if best := bestRunner(rs, slots); best != "" {
				slots[best]--
				add(Action{Kind: Assign, Runner: best, Request: req.ID, JobID: req.JobID,
					Reason: fmt.Sprintf("job %d assigned to runner %s, which has a free slot", req.JobID, best)})
				continue
			}
		}
		reason := unavailable
		if reason == "" {
			reason = broken
		}
		if reason == "" && !egg.Serverless() && live >= maxRunners(egg) {
			reason = fmt.Sprintf("egg %s is at its apex max_count of %d runners, none with a free slot; waiting for one to free", egg.Name, maxRunners(egg))
		}
		if reason != "" {
			if req.Queued != reason {
				add(Action{Kind: Queue, Runner: req.ID, Request: req.ID, JobID: req.JobID, Reason: reason})
			}
			continue
		}
		live++
		apex++
		add(Action{Kind: Provision, Runner: req.ID, Request: req.ID, JobID: req.JobID})
	}
	if egg.Serverless() || unavailable != "" {
		return out
	}
	if broken != "" {
		// Not even a replacement: its destroy would be followed by a warm
		// runner the breaker refuses.
		return out
	}
	// Rolling replacement: one stale idle runner at a time, while the pool
	// stays at its minimum otherwise. Nadir runners are left alone (a
	// stopped one gets the egg's configuration when it is started: its
	// start plan is rendered from it), so that a replacement never starts a
	// stopped runner nor turns a Nadir one into a new Apex one.
	if !replacing {
		for _, r := range rs {
			if (r.State == StateIdle || r.State == StateActive) && r.Pool != PoolNadir && r.EggHash != egg.ConfigHash && len(r.Jobs) == 0 &&
				r.TerminationAsked == "" && !in.Busy[r.ID] && r.PendingPlan == "" {
				add(Action{Kind: Destroy, Runner: r.ID, Reason: replaceReason})
				live--
				apex--
				break
			}
		}
	}
	// Warm pool: min_count Apex runners, within max_count live ones.
	for n, a := live, apex; a < egg.MinApex && n < maxRunners(egg); n, a = n+1, a+1 {
		add(Action{Kind: Warm, Reason: fmt.Sprintf("egg %s keeps at least %d apex runners", egg.Name, egg.MinApex)})
	}
	return out
}

// replaceReason marks a destroy of a runner whose configuration is stale.
const replaceReason = "replaced: the egg's configuration changed"

// maxRunners is the egg's apex max_count; 0 (unset) means min_count, at least 1.
func maxRunners(e *Egg) int {
	if e.MaxApex > 0 {
		return e.MaxApex
	}
	return max(1, e.MinApex)
}

// bestRunner is the runner with the most free slots (the fewest jobs), the
// oldest among equals, or "".
func bestRunner(rs []*Runner, slots map[string]int) string {
	best, free := "", 0
	for _, r := range rs {
		if s, ok := slots[r.ID]; ok && s > free {
			best, free = r.ID, s
		}
	}
	return best
}
