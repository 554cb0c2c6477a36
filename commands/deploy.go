package commands

import (
	"context"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// AskEggDeploy records an operator's deploy of the egg (egg.deploy_asked
// with the Nest's config hash), ending a rollback's pin and a deploy in force.
func (h *Handlers) AskEggDeploy(ctx context.Context, cmd AskEggDeploy) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Name, func(e *domain.Egg) ([]events.Event, error) {
		return e.AskDeploy(cmd.DeployID, cmd.Actor, cmd.Reason)
	})
}

// AskEggRollback records an operator's rollback of the egg (egg.rollback_asked).
func (h *Handlers) AskEggRollback(ctx context.Context, cmd AskEggRollback) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Name, func(e *domain.Egg) ([]events.Event, error) {
		return e.AskRollback(cmd.DeployID, cmd.FromConfigHash, cmd.ToConfigHash, cmd.ToPlanID, cmd.Actor, cmd.Reason)
	})
}

// FinishEggDeploy records the end of a deploy or rollback; one no longer in
// force appends nothing.
func (h *Handlers) FinishEggDeploy(ctx context.Context, cmd FinishEggDeploy) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Name, func(e *domain.Egg) ([]events.Event, error) {
		return e.FinishDeploy(cmd.DeployID, cmd.PlanIDs, cmd.Outcome, cmd.Reason)
	})
}
