package projections

import (
	"context"
	"fmt"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Runner states as the view shows them (the domain's names).
const (
	stateProvisioning = "PROVISIONING"
	stateActive       = "ACTIVE"
	stateIdle         = "IDLE"
	stateBusy         = "BUSY"
	stateTerminated   = "TERMINATED"
)

var runnerRows = streamKeyed[ports.RunnerRow]{
	view:       ports.ViewRunners,
	prefix:     "runner-",
	table:      ports.Runners.In,
	newRow:     func(id string) ports.RunnerRow { return ports.RunnerRow{ID: id} },
	setVersion: func(r *ports.RunnerRow, v uint64) { r.Version = v },
}

// Runners projects the "runner-<id>" streams into the runners view.
type Runners struct{}

func (Runners) Name() string { return ports.ViewRunners }

func (Runners) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	return runnerRows.apply(ctx, tx, env, func(r *ports.RunnerRow) {
		at := utc(env.OccurredAt)
		if r.CreatedAt.IsZero() {
			r.CreatedAt = at
		}
		r.UpdatedAt = at
		switch e := payload(env).(type) {
		case events.RunnerRequested:
			r.Egg, r.Type, r.Provider, r.Region = e.Egg, e.RunnerType, e.Provider, e.Region
			r.Tags, r.JobID = nilIfEmpty(e.Tags), e.JobID
			r.State, r.StateReason, r.StateSince = stateProvisioning, e.Reason, at
		case events.RunnerDeployed:
			setIfGiven(&r.Egg, e.Egg)
			setIfGiven(&r.Type, e.RunnerType)
			setIfGiven(&r.Provider, e.Provider)
			setIfGiven(&r.Region, e.Region)
			r.PlanID, r.InstanceID, r.Address, r.Hostname, r.GoslingVersion = e.PlanID, e.InstanceID, e.Address, e.Hostname, e.GoslingVersion
			r.CredentialSHA256 = e.CredentialSHA256
			r.State, r.StateReason, r.MissedHeartbeats = stateActive, "deployed by plan "+e.PlanID, 0
			r.DeployedAt, r.StateSince, r.Silent, r.Silences = at, at, false, 0
			r.QueueReason = ""
		case events.RunnerStateChanged:
			r.State, r.StateReason, r.StateSince = e.To, e.Reason, at
			if e.To == stateActive || e.To == stateIdle || e.To == stateBusy {
				r.MissedHeartbeats = 0
			}
		case events.RunnerHeartbeatMissed:
			// The event carries the consecutive count (the aggregate's), which
			// is the previous count plus one.
			r.MissedHeartbeats = e.Missed
			r.LastSeenAt = utc(e.LastSeenAt)
			r.Silent = true
			r.Silences++
		case events.RunnerHeartbeatResumed:
			r.Silent, r.MissedHeartbeats, r.LastSeenAt = false, 0, utc(e.LastSeenAt)
		case events.RunnerJobOverran:
			r.OverranBusySince = utc(e.BusySince)
		case events.UglyFoxDecisionDeferred:
			r.DeferredAction, r.DeferredReason = e.Action, e.Reason
		case events.RunnerPoolChanged:
			r.Type, r.PoolSince = e.To, at
			r.DeferredAction, r.DeferredReason = "", ""
		case events.RunnerTerminationAsked:
			r.StateReason = "termination asked: " + e.Reason
			r.TerminationAskedAt = at
			r.DeferredAction, r.DeferredReason = "", ""
		case events.RunnerQueued:
			r.QueueReason = e.Reason
		case events.RunnerJobAssigned:
			r.QueueReason = ""
			r.AssignedJobs++
			if e.Reason != "" {
				r.StateReason = e.Reason
			}
		case events.RunnerGitLabRegistered:
			r.GitLabRunnerID, r.GitLabRegistration = e.GitLabRunnerID, "registered"
		case events.RunnerGitLabUnregistered:
			r.GitLabRegistration = e.Reason
		case events.RunnerGitLabPaused:
			r.GitLabRegistration = "paused"
			if e.RunningJobs > 0 {
				r.GitLabRegistration = fmt.Sprintf("paused: its destroy waits for %d running job(s)", e.RunningJobs)
			}
		case events.RunnerGitLabDeleteOwed:
			r.GitLabRunnerID, r.GitLabRegistration = e.GitLabRunnerID, "delete owed"
		case events.RunnerGitLabDeleteFailed:
			r.GitLabRegistration = fmt.Sprintf("delete owed: %s: %s (retried in %ds)", e.Code, e.Error, e.RetryInSeconds)
		case events.RunnerGitLabDeleted:
			r.GitLabRegistration = "deleted"
			if e.AlreadyGone {
				r.GitLabRegistration = "deleted (GitLab had no such runner any more)"
			}
		case events.RunnerTerminated:
			r.State, r.StateReason, r.TerminatedAt, r.StateSince = stateTerminated, e.Reason, at, at
			r.DeferredAction, r.DeferredReason = "", ""
			r.QueueReason = ""
			setIfGiven(&r.ServedBy, e.ServedBy)
			setIfGiven(&r.InstanceID, e.InstanceID)
		}
		// Other events of the stream (future types) only advance the version.
	})
}

func setIfGiven(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
