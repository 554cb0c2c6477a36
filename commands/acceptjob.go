package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// AcceptJob records a delivery and the runner it asks for in one atomic
// append to the two new streams: a webhook answered 202 has its runner
// request in the log, and a delivery that failed left nothing behind for
// its redelivery to trip over. Both streams are expected not to exist, so
// the common case reads nothing. When one exists the append writes nothing
// and the conflict says which:
//   - the delivery's stream: a redelivery, answered with the original
//     record (Duplicate set) and no runner result;
//   - the runner's stream: the job already has a runner. The runner
//     command is run on its own, which reports a duplicate if this delivery
//     asked for it before, or the domain's ECONFLICT if another did (the
//     caller records the delivery as ignored); the delivery is then
//     recorded on its own.
func (h *Handlers) AcceptJob(ctx context.Context, cmd AcceptJob) (delivery, runner ports.AppendResult, err error) {
	id := cmd.Delivery.Delivery.DeliveryID
	if cmd.Delivery.Delivery.Unauthenticated {
		return delivery, runner, errs.Errorf(errs.EINVALID, "%s: an unauthenticated delivery asks for no runner", cmd.CommandName())
	}
	hook, err := domain.RehydrateWebhook(id, nil) // checks the delivery id
	if err != nil {
		return delivery, runner, err
	}
	rid, err := domain.NewRunnerID(cmd.Runner.RunnerID)
	if err != nil {
		return delivery, runner, err
	}
	hookEvs, err := hook.Receive(cmd.Delivery.Delivery)
	if err != nil {
		return delivery, runner, fmt.Errorf("%s: %w", cmd.CommandName(), err)
	}
	r, err := domain.RehydrateRunner(rid, nil)
	if err != nil {
		return delivery, runner, err
	}
	runEvs, err := r.Request(cmd.Runner.event())
	if err != nil {
		return delivery, runner, fmt.Errorf("%s: %w", cmd.CommandName(), err)
	}
	hookRecs, err := h.encode(cmd.Delivery.Meta, hookEvs)
	if err != nil {
		return delivery, runner, err
	}
	// The delivery caused the request; the audit trail says so.
	runMeta := cmd.Runner.Meta
	runMeta.CausationID = hookRecs[0].ID
	runRecs, err := h.encode(runMeta, runEvs)
	if err != nil {
		return delivery, runner, err
	}
	hookStream, runStream := hook.Stream(), domain.RunnerStream(rid.String())
	res, err := h.store.AppendStreams(ctx, []ports.StreamBatch{
		{Stream: hookStream, Expected: ports.NoStream(), Events: hookRecs, Key: hook.IdempotencyKey()},
		{Stream: runStream, Expected: ports.NoStream(), Events: runRecs, Key: cmd.Runner.IdempotencyKey},
	})
	if err == nil {
		return res[0], res[1], nil
	}
	var conflict *ports.ConflictError
	if !errors.As(err, &conflict) {
		return delivery, runner, fmt.Errorf("%s: %w", cmd.CommandName(), err)
	}
	if conflict.Stream == hookStream {
		delivery, err = h.ReceiveWebhook(ctx, cmd.Delivery)
		return delivery, runner, err
	}
	if runner, err = h.RequestRunner(ctx, cmd.Runner); err != nil {
		return delivery, runner, err
	}
	delivery, err = h.ReceiveWebhook(ctx, cmd.Delivery)
	return delivery, runner, err
}
