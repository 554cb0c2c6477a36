package commands

import (
	"context"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// egg runs decide on the egg called name.
func (h *Handlers) egg(ctx context.Context, cmd Command, name string, decide func(*domain.Egg) ([]events.Event, error)) (ports.AppendResult, error) {
	n, err := domain.NewEggName(name)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.EggStream(n.String()),
		meta:   cmd.CommandMeta(),
		decide: decideOn(func(hist []events.Envelope) (*domain.Egg, error) { return domain.RehydrateEgg(n, hist) }, decide),
	})
}

// SyncEgg records an egg's configuration; an unchanged configuration appends nothing.
func (h *Handlers) SyncEgg(ctx context.Context, cmd SyncEgg) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Config.Name, func(e *domain.Egg) ([]events.Event, error) { return e.Sync(cmd.Config) })
}

// RemoveEgg records that an egg's file is gone from the Nest.
func (h *Handlers) RemoveEgg(ctx context.Context, cmd RemoveEgg) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Name, func(e *domain.Egg) ([]events.Event, error) { return e.Remove(cmd.Commit, cmd.Reason) })
}

// AskEggRetry asks a tripped egg to provision again (the provisioner's
// breaker forgets its runners given up so far).
func (h *Handlers) AskEggRetry(ctx context.Context, cmd AskEggRetry) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Name, func(e *domain.Egg) ([]events.Event, error) { return e.AskRetry(cmd.Reason) })
}

// RecordReconcileOutcome records a reconciliation pass's outcome for an
// egg when it differs from the last one recorded.
func (h *Handlers) RecordReconcileOutcome(ctx context.Context, cmd RecordReconcileOutcome) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Name, func(e *domain.Egg) ([]events.Event, error) {
		if cmd.Failure == nil {
			return e.ReconcileSucceeded(cmd.Server)
		}
		f := *cmd.Failure
		f.Server = cmd.Server
		return e.ReconcileFailed(f)
	})
}

// SyncJob records a scheduled job; an unchanged job appends nothing.
func (h *Handlers) SyncJob(ctx context.Context, cmd SyncJob) (ports.AppendResult, error) {
	name := cmd.Job.Name
	if _, err := domain.RehydrateJob(name, nil); err != nil { // validates the name before touching the store
		return ports.AppendResult{}, err
	}
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.JobStream(name),
		meta:   cmd.Meta,
		decide: decideOn(func(hist []events.Envelope) (*domain.Job, error) { return domain.RehydrateJob(name, hist) },
			func(j *domain.Job) ([]events.Event, error) { return j.Sync(cmd.Job) }),
	})
}

// SyncUglyFoxConfig records UF/config.fly; an unchanged file appends nothing.
func (h *Handlers) SyncUglyFoxConfig(ctx context.Context, cmd SyncUglyFoxConfig) (ports.AppendResult, error) {
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.UglyFoxStream(),
		meta:   cmd.Meta,
		decide: decideOn(domain.RehydrateUglyFoxConfig,
			func(u *domain.UglyFoxConfig) ([]events.Event, error) { return u.Sync(cmd.Config) }),
	})
}

// RecordNestSync records a successful Nest sync.
func (h *Handlers) RecordNestSync(ctx context.Context, cmd RecordNestSync) (ports.AppendResult, error) {
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.NestStream(),
		meta:   cmd.Meta,
		decide: decideOn(domain.RehydrateNestSync,
			func(n *domain.NestSync) ([]events.Event, error) { return n.RecordSynced(cmd.Sync) }),
	})
}

// RecordNestSyncFailed records a failed Nest sync.
func (h *Handlers) RecordNestSyncFailed(ctx context.Context, cmd RecordNestSyncFailed) (ports.AppendResult, error) {
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.NestStream(),
		meta:   cmd.Meta,
		decide: decideOn(domain.RehydrateNestSync,
			func(n *domain.NestSync) ([]events.Event, error) { return n.RecordFailed(cmd.Failure) }),
	})
}

// RecordNestSyncFailureRepeated records repeats of a recorded failure.
func (h *Handlers) RecordNestSyncFailureRepeated(ctx context.Context, cmd RecordNestSyncFailureRepeated) (ports.AppendResult, error) {
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.NestStream(),
		meta:   cmd.Meta,
		decide: decideOn(domain.RehydrateNestSync,
			func(n *domain.NestSync) ([]events.Event, error) { return n.RecordFailureRepeated(cmd.Repeat) }),
	})
}
