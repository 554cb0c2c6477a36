package commands

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Sender is the asynchronous way in: it hands a command to a bus and returns
// before the command is handled; its outcome shows in the event log (or,
// for a permanent error, on the bus's poison path). Delivery is at least
// once, and a command carries an idempotency key (its Meta's, else one the
// bus makes from its message id), so a redelivery appends nothing. Sagas and
// UglyFox send through it; adapters/watermill implements it (an in-process
// gochannel today, SQS/YMQ later), so no transport is imported here.
type Sender interface {
	Send(ctx context.Context, cmd Command) error
}

// Route is one command a bus carries: its stable name (the topic), a fresh
// value to decode a message into, and the handler that carries it out with
// the Meta the message brought.
type Route struct {
	Name string
	// New returns a pointer to a zero command of this route.
	New func() Command
	// Handle runs the command, which must be a value New returned.
	Handle func(ctx context.Context, cmd Command, meta Meta) error
}

// Routes lists every command of this package a bus carries, with the
// Handlers method that carries it out.
func (h *Handlers) Routes() []Route {
	return []Route{
		route(h.RequestRunner), route(h.DeployRunner), route(h.ChangeRunnerState),
		route(h.RecordHeartbeatMissed), route(h.ChangeRunnerPool), route(h.TerminateRunner),
		route(h.AssignJob), route(h.QueueRunner), route(h.AskTermination),
		route(h.RecordHeartbeatResumed), route(h.ReportJobOverrun), route(h.DeferDecision),
		route(h.CreatePlan), route(h.ApplyPlan), route(h.FailPlan), route(h.RollBackPlan),
		route(h.SyncEgg), route(h.RemoveEgg), route(h.AskEggRetry), route(h.RecordReconcileOutcome), route(h.SyncJob), route(h.SyncUglyFoxConfig),
		route(h.RecordWebhookInstalled), route(h.RecordWebhookInstallFailed), route(h.RecordWebhookSkipped), route(h.RecordWebhookRemoved),
		route(h.AskEggDeploy), route(h.AskEggRollback), route(h.FinishEggDeploy),
		route(h.RecordNestSync), route(h.RecordNestSyncFailed), route(h.RecordNestSyncFailureRepeated),
		route(h.ReceiveWebhook),
		route(h.RegisterBinaryVersion), route(h.ActivateBinaryVersion), route(h.RecordSecretAccess),
		route(h.RegisterGitLabRunner), route(h.MarkRunnerUnregistered), route(h.PauseGitLabRunner),
		route(h.OweGitLabDelete), route(h.FailGitLabDelete), route(h.DeleteGitLabRunner), route(h.DeleteGitLabOrphan),
		route(h.RecordLeaseAcquired), route(h.RecordLeaseReleased), route(h.RecordLeaseLost),
	}
}

// route adapts a typed Handlers method to a Route.
func route[C any, PC interface {
	*C
	Command
	setCommandMeta(Meta)
}](fn func(context.Context, C) (ports.AppendResult, error)) Route {
	var zero C
	name := PC(&zero).CommandName()
	return Route{
		Name: name,
		New:  func() Command { return PC(new(C)) },
		Handle: func(ctx context.Context, cmd Command, meta Meta) error {
			c, ok := cmd.(PC)
			if !ok || c == nil {
				return errs.Errorf(errs.EINVALID, "%s: handed a %T", name, cmd)
			}
			c.setCommandMeta(meta)
			_, err := fn(ctx, *c)
			return err
		},
	}
}

// Permanent reports whether err will not pass by retrying: a bad value, a
// missing thing, a rule of state, bad credentials or an undecodable
// command. A lost version race (ports.ErrConflict) is not permanent. A bus
// retries the rest a bounded number of times.
func Permanent(err error) bool {
	if err == nil || errors.Is(err, ports.ErrConflict) {
		return false
	}
	var (
		syntax    *json.SyntaxError
		fieldType *json.UnmarshalTypeError
	)
	if errors.As(err, &syntax) || errors.As(err, &fieldType) {
		return true
	}
	switch errs.Code(err) {
	case errs.EINVALID, errs.ENOTFOUND, errs.ECONFLICT, errs.EUNAUTHORIZED:
		return true
	}
	return false
}
