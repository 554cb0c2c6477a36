package domain

import (
	"slices"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// transitions is the runner state machine as moved by ChangeState. Entering
// ACTIVE from PROVISIONING is Deploy's; entering TERMINATED is Terminate's;
// nothing leaves TERMINATED. STOPPED is the provisioner's: entered once a
// Nadir runner's machine is stopped (never from BUSY: not under a job),
// left to ACTIVE once it is started again (its agent's first heartbeat
// then makes it IDLE, as after a deploy). The pool is not checked: a
// promote that lands while a stop runs must still find the runner STOPPED,
// so that the provisioner starts it again.
var transitions = map[RunnerState][]RunnerState{
	StateProvisioning: {StateFailed},
	StateActive:       {StateIdle, StateBusy, StateFailed, StateStopped},
	StateIdle:         {StateActive, StateBusy, StateFailed, StateStopped},
	StateBusy:         {StateActive, StateIdle, StateFailed},
	StateFailed:       {StateProvisioning},
	StateStopped:      {StateActive, StateFailed},
}

// CanTransition reports whether ChangeState may move a runner from one state to another.
func CanTransition(from, to RunnerState) bool { return slices.Contains(transitions[from], to) }

// Runner is one CI runner, from the request for capacity to its termination.
type Runner struct {
	version
	id         RunnerID
	egg        EggName
	typ        RunnerType
	state      RunnerState
	provider   CloudProvider
	region     string
	tags       []string
	planID     string
	instanceID string
	missed     int
}

// RehydrateRunner rebuilds runner id from its stream's history.
func RehydrateRunner(id RunnerID, history []events.Envelope) (*Runner, error) {
	if id.IsZero() {
		return nil, invalid("runner id is empty")
	}
	r := &Runner{id: id}
	v, err := replay(r, RunnerStream(id.String()), history)
	if err != nil {
		return nil, err
	}
	r.v = v
	return r, nil
}

func (r *Runner) ID() RunnerID            { return r.id }
func (r *Runner) Exists() bool            { return r.v > 0 }
func (r *Runner) Egg() EggName            { return r.egg }
func (r *Runner) Type() RunnerType        { return r.typ }
func (r *Runner) State() RunnerState      { return r.state }
func (r *Runner) Provider() CloudProvider { return r.provider }
func (r *Runner) Region() string          { return r.region }
func (r *Runner) Tags() []string          { return slices.Clone(r.tags) }
func (r *Runner) PlanID() string          { return r.planID }
func (r *Runner) InstanceID() string      { return r.instanceID }

// MissedHeartbeats is the number of consecutive sweeps that found the agent
// silent; it is reset when the runner is deployed or moves to ACTIVE, IDLE or BUSY.
func (r *Runner) MissedHeartbeats() int { return r.missed }

// Request asks for a new runner; the runner exists in PROVISIONING from here on.
// RunnerID may be left empty (it is the aggregate's).
func (r *Runner) Request(req events.RunnerRequested) ([]events.Event, error) {
	if r.Exists() {
		return nil, conflict("runner %s was already requested", r.id)
	}
	if err := sameOrEmpty("runner id", req.RunnerID, r.id.String()); err != nil {
		return nil, err
	}
	if _, err := NewEggName(req.Egg); err != nil {
		return nil, err
	}
	typ, err := ParseRunnerType(req.RunnerType)
	if err != nil {
		return nil, err
	}
	provider, err := ParseCloudProvider(req.Provider)
	if err != nil {
		return nil, err
	}
	if req.Region == "" {
		return nil, invalid("runner %s: region is empty", r.id)
	}
	if req.JobID < 0 {
		return nil, invalid("runner %s: job id %d is negative", r.id, req.JobID)
	}
	// Recorded in the canonical spelling, whatever spelling Parse read.
	req.RunnerID, req.RunnerType, req.Provider = r.id.String(), typ.String(), provider.String()
	req.Tags = slices.Clone(req.Tags)
	return []events.Event{req}, nil
}

// mustExist is the precondition of every decision but Request.
func (r *Runner) mustExist() error {
	if !r.Exists() {
		return notFound("runner %s does not exist", r.id)
	}
	if r.state == StateTerminated {
		return conflict("runner %s is terminated", r.id)
	}
	return nil
}

// Deploy records that the runner's infrastructure exists: PROVISIONING -> ACTIVE.
// Only PlanID, InstanceID, Address, Hostname, GoslingVersion and
// CredentialSHA256 (64 hex digits, or empty) are read from
// d; the rest is filled from the runner (and must match when given).
func (r *Runner) Deploy(d events.RunnerDeployed) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if r.state != StateProvisioning {
		return nil, conflict("runner %s is %s; only a PROVISIONING runner can be deployed", r.id, r.state)
	}
	if t, err := ParseRunnerType(d.RunnerType); err == nil {
		d.RunnerType = t.String() // compared in the canonical spelling
	}
	if p, err := ParseCloudProvider(d.Provider); err == nil {
		d.Provider = p.String()
	}
	for _, c := range [][3]string{
		{"runner id", d.RunnerID, r.id.String()},
		{"egg", d.Egg, r.egg.String()},
		{"runner type", d.RunnerType, r.typ.String()},
		{"provider", d.Provider, r.provider.String()},
		{"region", d.Region, r.region},
	} {
		if err := sameOrEmpty(c[0], c[1], c[2]); err != nil {
			return nil, err
		}
	}
	if _, err := NewPlanID(d.PlanID); err != nil {
		return nil, err
	}
	if d.InstanceID == "" {
		return nil, invalid("runner %s: instance id is empty", r.id)
	}
	if h := d.CredentialSHA256; h != "" && !isHexSHA256(h) {
		return nil, invalid("runner %s: credential hash is not 64 lower-case hex digits", r.id)
	}
	d.RunnerID, d.Egg, d.RunnerType, d.Provider, d.Region = r.id.String(), r.egg.String(), r.typ.String(), r.provider.String(), r.region
	return []events.Event{d}, nil
}

// ChangeState moves the runner along the state machine (see CanTransition).
func (r *Runner) ChangeState(to RunnerState, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	switch {
	case to.IsZero():
		return nil, invalid("runner %s: target state is empty", r.id)
	case to == r.state:
		return nil, conflict("runner %s is already %s", r.id, to)
	case to == StateTerminated:
		return nil, conflict("runner %s: TERMINATED is reached only by terminating the runner", r.id)
	case !CanTransition(r.state, to):
		return nil, conflict("runner %s cannot go from %s to %s", r.id, r.state, to)
	}
	return []events.Event{events.RunnerStateChanged{RunnerID: r.id.String(), From: r.state.String(), To: to.String(), Reason: reason}}, nil
}

// MissHeartbeat records that a sweep found the agent silent since lastSeen
// (zero when it never checked in) for longer than threshold.
func (r *Runner) MissHeartbeat(lastSeen time.Time, threshold time.Duration) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if threshold <= 0 {
		return nil, invalid("runner %s: heartbeat threshold %s is not positive", r.id, threshold)
	}
	if !r.state.Live() {
		return nil, conflict("runner %s is %s; only ACTIVE, IDLE or BUSY runners heartbeat", r.id, r.state)
	}
	return []events.Event{events.RunnerHeartbeatMissed{
		RunnerID:    r.id.String(),
		LastSeenAt:  lastSeen,
		ThresholdMS: threshold.Milliseconds(),
		Missed:      r.missed + 1,
	}}, nil
}

// ResumeHeartbeat records that an agent whose silence since silentSince was
// recorded was heard again at lastSeen.
func (r *Runner) ResumeHeartbeat(silentSince, lastSeen time.Time) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if lastSeen.IsZero() || !lastSeen.After(silentSince) {
		return nil, invalid("runner %s: heard at %s, not after its silence since %s", r.id, lastSeen, silentSince)
	}
	return []events.Event{events.RunnerHeartbeatResumed{RunnerID: r.id.String(), SilentSince: silentSince, LastSeenAt: lastSeen}}, nil
}

// ReportJobOverrun records that the runner has been BUSY since busySince,
// past its egg's job limit.
func (r *Runner) ReportJobOverrun(busySince time.Time, limit time.Duration, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, invalid("runner %s: job limit %s is not positive", r.id, limit)
	}
	if r.state != StateBusy {
		return nil, conflict("runner %s is %s, not BUSY", r.id, r.state)
	}
	return []events.Event{events.RunnerJobOverran{RunnerID: r.id.String(), BusySince: busySince, LimitSeconds: int64(limit / time.Second), Reason: reason}}, nil
}

// DeferDecision records that UglyFox decided action for this runner for
// reason and waits for it to be idle. Only a BUSY runner's decision waits.
func (r *Runner) DeferDecision(action, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if !slices.Contains(PolicyActions, action) {
		return nil, invalid("runner %s: %q is not an UglyFox action", r.id, action)
	}
	if reason == "" {
		return nil, invalid("runner %s: decision deferred without a reason", r.id)
	}
	if r.state != StateBusy {
		return nil, conflict("runner %s is %s; only a BUSY runner's decision is deferred", r.id, r.state)
	}
	return []events.Event{events.UglyFoxDecisionDeferred{RunnerID: r.id.String(), Action: action, Reason: reason}}, nil
}

// ChangePool moves a VM runner between the Apex and Nadir pools. A BUSY
// runner is not moved under its job, and a PROVISIONING one not before it exists.
func (r *Runner) ChangePool(to RunnerType, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if !to.HasPool() {
		return nil, invalid("runner %s: pool must be %s or %s, not %q", r.id, RunnerApex, RunnerNadir, to)
	}
	switch {
	case !r.typ.HasPool():
		return nil, conflict("runner %s is %s and has no pool", r.id, r.typ)
	case r.typ == to:
		return nil, conflict("runner %s is already in the %s pool", r.id, to)
	case r.state == StateBusy || r.state == StateProvisioning:
		return nil, conflict("runner %s is %s and cannot change pools now", r.id, r.state)
	}
	return []events.Event{events.RunnerPoolChanged{RunnerID: r.id.String(), From: r.typ.String(), To: to.String(), Reason: reason}}, nil
}

// AssignJob gives GitLab job jobID, requested by the runner stream
// requestID, to this runner. A runner takes jobs only while it exists:
// PROVISIONING (the runner provisioned for the job it was requested for),
// ACTIVE, IDLE or BUSY; how many it holds at once is the provisioner's
// decision (the egg's concurrent).
func (r *Runner) AssignJob(jobID int64, requestID, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if jobID <= 0 {
		return nil, invalid("runner %s: job id %d is not positive", r.id, jobID)
	}
	if _, err := NewRunnerID(requestID); err != nil {
		return nil, err
	}
	if r.state == StateFailed {
		return nil, conflict("runner %s is FAILED and takes no job", r.id)
	}
	return []events.Event{events.RunnerJobAssigned{RunnerID: r.id.String(), JobID: jobID, RequestID: requestID, Reason: reason}}, nil
}

// Queue records that a requested runner waits for capacity. Only a
// PROVISIONING runner (nothing planned yet) waits.
func (r *Runner) Queue(jobID int64, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if r.state != StateProvisioning {
		return nil, conflict("runner %s is %s; only a PROVISIONING runner waits for capacity", r.id, r.state)
	}
	if reason == "" {
		return nil, invalid("runner %s: queued without a reason", r.id)
	}
	return []events.Event{events.RunnerQueued{RunnerID: r.id.String(), JobID: jobID, Reason: reason}}, nil
}

// AskTermination records that the runner should be destroyed (the
// provisioner does it, never under a BUSY runner's job).
func (r *Runner) AskTermination(reason string, evenIfBusy bool) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, invalid("runner %s: termination asked without a reason", r.id)
	}
	return []events.Event{events.RunnerTerminationAsked{RunnerID: r.id.String(), Reason: reason, EvenIfBusy: evenIfBusy}}, nil
}

// Terminate ends the runner for good, from any state.
func (r *Runner) Terminate(reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	return []events.Event{events.RunnerTerminated{RunnerID: r.id.String(), Reason: reason, InstanceID: r.instanceID}}, nil
}

// EndServed ends a job's request whose job went to another runner, by:
// the stream never became a runner of its own (nothing was deployed for
// it), and its runner.terminated says which runner served it.
func (r *Runner) EndServed(by RunnerID, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	switch {
	case by.IsZero():
		return nil, invalid("runner %s: served by no runner", r.id)
	case by == r.id:
		return nil, invalid("runner %s cannot be served by itself", r.id)
	case r.state != StateProvisioning || r.instanceID != "":
		return nil, conflict("runner %s is %s: only a request never deployed is served by another runner", r.id, r.state)
	}
	return []events.Event{events.RunnerTerminated{RunnerID: r.id.String(), Reason: reason, ServedBy: by.String()}}, nil
}

func (r *Runner) apply(ev events.Event) error {
	switch e := ev.(type) {
	case events.RunnerRequested:
		var err error
		if r.egg, err = NewEggName(e.Egg); err != nil {
			return corrupt(r.id.String(), err)
		}
		if r.typ, err = ParseRunnerType(e.RunnerType); err != nil {
			return corrupt(r.id.String(), err)
		}
		if r.provider, err = ParseCloudProvider(e.Provider); err != nil {
			return corrupt(r.id.String(), err)
		}
		r.region, r.tags, r.state = e.Region, slices.Clone(e.Tags), StateProvisioning
	case events.RunnerDeployed:
		r.state, r.planID, r.instanceID, r.missed = StateActive, e.PlanID, e.InstanceID, 0
	case events.RunnerStateChanged:
		to, err := ParseRunnerState(e.To)
		if err != nil {
			return corrupt(r.id.String(), err)
		}
		r.state = to
		if to.Live() {
			r.missed = 0
		}
	case events.RunnerHeartbeatMissed:
		r.missed = e.Missed
	case events.RunnerPoolChanged:
		to, err := ParseRunnerType(e.To)
		if err != nil {
			return corrupt(r.id.String(), err)
		}
		r.typ = to
	case events.RunnerTerminated:
		r.state = StateTerminated
	case events.RunnerHeartbeatResumed:
		r.missed = 0
	case events.RunnerJobAssigned, events.RunnerQueued, events.RunnerTerminationAsked,
		events.RunnerJobOverran, events.UglyFoxDecisionDeferred,
		events.RunnerGitLabRegistered, events.RunnerGitLabUnregistered, events.RunnerGitLabPaused,
		events.RunnerGitLabDeleteOwed, events.RunnerGitLabDeleteFailed, events.RunnerGitLabDeleted:
		// Bookkeeping of the provisioner; the state machine does not move.
	default:
		return unknownEvent("runner "+r.id.String(), ev)
	}
	return nil
}

// isHexSHA256 reports whether s is a SHA-256 in lower-case hex.
func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
