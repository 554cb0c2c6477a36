package commands

import (
	"context"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// runner runs decide on the runner named by id.
func (h *Handlers) runner(ctx context.Context, cmd Command, id string, decide func(*domain.Runner) ([]events.Event, error)) (ports.AppendResult, error) {
	return h.runnerCycle(ctx, cmd, id, false, decide)
}

// runnerCycle is runner with the choice of an optimistic first attempt.
func (h *Handlers) runnerCycle(ctx context.Context, cmd Command, id string, optimistic bool, decide func(*domain.Runner) ([]events.Event, error)) (ports.AppendResult, error) {
	rid, err := domain.NewRunnerID(id)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return h.run(ctx, cycle{
		name:       cmd.CommandName(),
		stream:     domain.RunnerStream(rid.String()),
		meta:       cmd.CommandMeta(),
		optimistic: optimistic,
		decide:     decideOn(func(hist []events.Envelope) (*domain.Runner, error) { return domain.RehydrateRunner(rid, hist) }, decide),
	})
}

// RequestRunner asks for a new runner. The runner is new in almost every
// case, so the first attempt does not read its stream.
func (h *Handlers) RequestRunner(ctx context.Context, cmd RequestRunner) (ports.AppendResult, error) {
	return h.runnerCycle(ctx, cmd, cmd.RunnerID, true, func(r *domain.Runner) ([]events.Event, error) {
		return r.Request(cmd.event())
	})
}

// event is the RunnerRequested that cmd asks the runner to decide on.
func (cmd RequestRunner) event() events.RunnerRequested {
	return events.RunnerRequested{
		RunnerID: cmd.RunnerID, Egg: cmd.Egg, RunnerType: cmd.RunnerType, Provider: cmd.Provider,
		Region: cmd.Region, Tags: cmd.Tags, JobID: cmd.JobID, Reason: cmd.Reason,
	}
}

// DeployRunner records that a runner's infrastructure exists.
func (h *Handlers) DeployRunner(ctx context.Context, cmd DeployRunner) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.Deploy(events.RunnerDeployed{
			PlanID: cmd.PlanID, InstanceID: cmd.InstanceID, Address: cmd.Address,
			Hostname: cmd.Hostname, GoslingVersion: cmd.GoslingVersion, CredentialSHA256: cmd.CredentialSHA256,
		})
	})
}

// AssignJob gives a GitLab job to a runner.
func (h *Handlers) AssignJob(ctx context.Context, cmd AssignJob) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.AssignJob(cmd.JobID, cmd.RequestID, cmd.Reason)
	})
}

// QueueRunner records that a requested runner waits for capacity.
func (h *Handlers) QueueRunner(ctx context.Context, cmd QueueRunner) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.Queue(cmd.JobID, cmd.Reason)
	})
}

// ChangeRunnerState moves a runner along its state machine.
func (h *Handlers) ChangeRunnerState(ctx context.Context, cmd ChangeRunnerState) (ports.AppendResult, error) {
	to, err := domain.ParseRunnerState(cmd.To)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.ChangeState(to, cmd.Reason)
	})
}

// RecordHeartbeatMissed records that a sweep found a runner's agent silent.
func (h *Handlers) RecordHeartbeatMissed(ctx context.Context, cmd RecordHeartbeatMissed) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.MissHeartbeat(cmd.LastSeenAt, cmd.Threshold)
	})
}

// RecordHeartbeatResumed records that a silent runner was heard again.
func (h *Handlers) RecordHeartbeatResumed(ctx context.Context, cmd RecordHeartbeatResumed) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.ResumeHeartbeat(cmd.SilentSince, cmd.LastSeenAt)
	})
}

// ReportJobOverrun records that a runner stayed BUSY past its egg's job limit.
func (h *Handlers) ReportJobOverrun(ctx context.Context, cmd ReportJobOverrun) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.ReportJobOverrun(cmd.BusySince, cmd.Limit, cmd.Reason)
	})
}

// DeferDecision records an UglyFox decision waiting for a BUSY runner.
func (h *Handlers) DeferDecision(ctx context.Context, cmd DeferDecision) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.DeferDecision(cmd.Action, cmd.Reason)
	})
}

// ChangeRunnerPool moves a VM runner between the Apex and Nadir pools.
func (h *Handlers) ChangeRunnerPool(ctx context.Context, cmd ChangeRunnerPool) (ports.AppendResult, error) {
	to, err := domain.ParseRunnerType(cmd.To)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.ChangePool(to, cmd.Reason)
	})
}

// TerminateRunner ends a runner for good.
func (h *Handlers) TerminateRunner(ctx context.Context, cmd TerminateRunner) (ports.AppendResult, error) {
	if cmd.ServedBy != "" {
		by, err := domain.NewRunnerID(cmd.ServedBy)
		if err != nil {
			return ports.AppendResult{}, err
		}
		return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
			return r.EndServed(by, cmd.Reason)
		})
	}
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.Terminate(cmd.Reason)
	})
}

// AskTermination asks for a runner to be destroyed.
func (h *Handlers) AskTermination(ctx context.Context, cmd AskTermination) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.AskTermination(cmd.Reason, cmd.EvenIfBusy)
	})
}
