package commands

import (
	"context"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// ReceiveWebhook records a webhook delivery exactly once. The delivery id
// names the stream and labels its event (in a namespace of their own for
// an unauthenticated delivery: domain.Webhook.Stream, IdempotencyKey), so
// the store deduplicates
// atomically, concurrent redeliveries included: the first attempt decides on
// an empty history and appends with NoStream; a redelivery conflicts, loads
// the stream, finds the delivery's event and returns the original append
// with Duplicate set and a nil error.
func (h *Handlers) ReceiveWebhook(ctx context.Context, cmd ReceiveWebhook) (ports.AppendResult, error) {
	hook, err := domain.RehydrateWebhookOf(cmd.Delivery, nil) // checks the delivery id
	if err != nil {
		return ports.AppendResult{}, err
	}
	noStream := ports.NoStream()
	return h.run(ctx, cycle{
		name:       cmd.CommandName(),
		stream:     hook.Stream(),
		meta:       cmd.Meta,
		optimistic: true,
		expect:     &noStream,
		key:        hook.IdempotencyKey(),
		decide: decideOn(func(hist []events.Envelope) (*domain.Webhook, error) {
			return domain.RehydrateWebhookOf(cmd.Delivery, hist)
		},
			func(w *domain.Webhook) ([]events.Event, error) { return w.Receive(cmd.Delivery) }),
	})
}

// binary runs decide on the binary called name.
func (h *Handlers) binary(ctx context.Context, cmd Command, name string, decide func(*domain.Binary) ([]events.Event, error)) (ports.AppendResult, error) {
	if _, err := domain.RehydrateBinary(name, nil); err != nil { // validates the name before touching the store
		return ports.AppendResult{}, err
	}
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.BinaryStream(name),
		meta:   cmd.CommandMeta(),
		decide: decideOn(func(hist []events.Envelope) (*domain.Binary, error) { return domain.RehydrateBinary(name, hist) }, decide),
	})
}

// RegisterBinaryVersion records a build of a binary.
func (h *Handlers) RegisterBinaryVersion(ctx context.Context, cmd RegisterBinaryVersion) (ports.AppendResult, error) {
	return h.binary(ctx, cmd, cmd.Build.Binary, func(b *domain.Binary) ([]events.Event, error) { return b.RegisterVersion(cmd.Build) })
}

// ActivateBinaryVersion makes a registered version active; the active one again appends nothing.
func (h *Handlers) ActivateBinaryVersion(ctx context.Context, cmd ActivateBinaryVersion) (ports.AppendResult, error) {
	return h.binary(ctx, cmd, cmd.Binary, func(b *domain.Binary) ([]events.Event, error) { return b.Activate(cmd.Version, cmd.Actor, cmd.Reason) })
}

// RecordSecretAccess appends an audit record of a secret resolution. Nothing
// decides on a secret's access history, so the append is unchecked (Any).
func (h *Handlers) RecordSecretAccess(ctx context.Context, cmd RecordSecretAccess) (ports.AppendResult, error) {
	unchecked := ports.Any()
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.SecretAccessStream(cmd.Access.URI),
		meta:   cmd.Meta,
		fresh:  true,
		expect: &unchecked,
		decide: func([]events.Envelope) ([]events.Event, error) { return domain.RecordSecretAccess(cmd.Access) },
	})
}
