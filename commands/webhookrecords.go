package commands

import (
	"context"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// eggWebhooks runs decide on the hooks record of the egg called name.
func (h *Handlers) eggWebhooks(ctx context.Context, cmd Command, name string, decide func(*domain.EggWebhooks) ([]events.Event, error)) (ports.AppendResult, error) {
	n, err := domain.NewEggName(name)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.EggWebhooksStream(n.String()),
		meta:   cmd.CommandMeta(),
		decide: decideOn(func(hist []events.Envelope) (*domain.EggWebhooks, error) { return domain.RehydrateEggWebhooks(n, hist) }, decide),
	})
}

// EggWebhooks is what the log says about the hooks installed for egg.
func (h *Handlers) EggWebhooks(ctx context.Context, egg string) (*domain.EggWebhooks, error) {
	n, err := domain.NewEggName(egg)
	if err != nil {
		return nil, err
	}
	recs, err := h.store.Load(ctx, domain.EggWebhooksStream(n.String()), 0)
	if err != nil {
		return nil, err
	}
	hist, err := h.codec.DecodeAll(recs)
	if err != nil {
		return nil, err
	}
	return domain.RehydrateEggWebhooks(n, hist)
}

// RecordWebhookInstalled records an installed hook.
func (h *Handlers) RecordWebhookInstalled(ctx context.Context, cmd RecordWebhookInstalled) (ports.AppendResult, error) {
	return h.eggWebhooks(ctx, cmd, cmd.Installed.Egg, func(w *domain.EggWebhooks) ([]events.Event, error) { return w.RecordInstalled(cmd.Installed) })
}

// RecordWebhookInstallFailed records a failure, unless it is the owner's current one.
func (h *Handlers) RecordWebhookInstallFailed(ctx context.Context, cmd RecordWebhookInstallFailed) (ports.AppendResult, error) {
	return h.eggWebhooks(ctx, cmd, cmd.Failure.Egg, func(w *domain.EggWebhooks) ([]events.Event, error) { return w.RecordFailed(cmd.Failure) })
}

// RecordWebhookSkipped records a skip, unless the owner is skipped for that reason already.
func (h *Handlers) RecordWebhookSkipped(ctx context.Context, cmd RecordWebhookSkipped) (ports.AppendResult, error) {
	return h.eggWebhooks(ctx, cmd, cmd.Skipped.Egg, func(w *domain.EggWebhooks) ([]events.Event, error) { return w.RecordSkipped(cmd.Skipped) })
}

// RecordWebhookRemoved records a removed hook.
func (h *Handlers) RecordWebhookRemoved(ctx context.Context, cmd RecordWebhookRemoved) (ports.AppendResult, error) {
	return h.eggWebhooks(ctx, cmd, cmd.Removed.Egg, func(w *domain.EggWebhooks) ([]events.Event, error) { return w.RecordRemoved(cmd.Removed) })
}
