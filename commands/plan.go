package commands

import (
	"context"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// plan runs decide on the plan named by id.
func (h *Handlers) plan(ctx context.Context, cmd Command, id string, decide func(*domain.DeploymentPlan) ([]events.Event, error)) (ports.AppendResult, error) {
	pid, err := domain.NewPlanID(id)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.PlanStream(pid.String()),
		meta:   cmd.CommandMeta(),
		decide: decideOn(func(hist []events.Envelope) (*domain.DeploymentPlan, error) {
			return domain.RehydrateDeploymentPlan(pid, hist)
		}, decide),
	})
}

// CreatePlan records a new plan.
func (h *Handlers) CreatePlan(ctx context.Context, cmd CreatePlan) (ports.AppendResult, error) {
	return h.plan(ctx, cmd, cmd.PlanID, func(p *domain.DeploymentPlan) ([]events.Event, error) {
		return p.Create(events.PlanCreated{
			PlanID: cmd.PlanID, RunnerID: cmd.RunnerID, Egg: cmd.Egg, Action: cmd.Action, Module: cmd.Module,
			Inputs: cmd.Inputs, SecretURIs: cmd.SecretURIs, ConfigHash: cmd.ConfigHash, PlanFile: cmd.PlanFile,
			PlanSHA256: cmd.PlanSHA256, TofuVersion: cmd.TofuVersion, PreviousPlanID: cmd.PreviousPlanID,
			EggConfigHash: cmd.EggConfigHash, DeployID: cmd.DeployID,
		})
	})
}

// ApplyPlan records that a pending plan was applied.
func (h *Handlers) ApplyPlan(ctx context.Context, cmd ApplyPlan) (ports.AppendResult, error) {
	return h.plan(ctx, cmd, cmd.PlanID, func(p *domain.DeploymentPlan) ([]events.Event, error) {
		return p.Apply(cmd.Outputs, cmd.Duration)
	})
}

// FailPlan records that a stage of a pending plan failed.
func (h *Handlers) FailPlan(ctx context.Context, cmd FailPlan) (ports.AppendResult, error) {
	return h.plan(ctx, cmd, cmd.PlanID, func(p *domain.DeploymentPlan) ([]events.Event, error) {
		if cmd.Permanent {
			return p.Refuse(cmd.Stage, cmd.Error)
		}
		return p.Fail(cmd.Stage, cmd.Error, cmd.Diagnostics)
	})
}

// RollBackPlan records that an applied plan was replaced by another's configuration.
func (h *Handlers) RollBackPlan(ctx context.Context, cmd RollBackPlan) (ports.AppendResult, error) {
	restored, err := domain.NewPlanID(cmd.RestoredPlanID)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return h.plan(ctx, cmd, cmd.PlanID, func(p *domain.DeploymentPlan) ([]events.Event, error) {
		return p.RollBack(restored, cmd.Reason)
	})
}
