package projections

import (
	"context"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Plan statuses as the view shows them.
const (
	planPending    = "PENDING"
	planApplied    = "APPLIED"
	planFailed     = "FAILED"
	planRolledBack = "ROLLED_BACK"
)

var planRows = streamKeyed[ports.DeploymentPlanRow]{
	view:       ports.ViewDeploymentPlans,
	prefix:     "plan-",
	table:      ports.DeploymentPlans.In,
	newRow:     func(id string) ports.DeploymentPlanRow { return ports.DeploymentPlanRow{PlanID: id} },
	setVersion: func(r *ports.DeploymentPlanRow, v uint64) { r.Version = v },
}

// DeploymentPlans projects the "plan-<id>" streams into the deployment_plans view.
type DeploymentPlans struct{}

func (DeploymentPlans) Name() string { return ports.ViewDeploymentPlans }

func (DeploymentPlans) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	return planRows.apply(ctx, tx, env, func(r *ports.DeploymentPlanRow) {
		at := utc(env.OccurredAt)
		if r.CreatedAt.IsZero() {
			r.CreatedAt = at
		}
		r.UpdatedAt = at
		switch e := payload(env).(type) {
		case events.PlanCreated:
			r.RunnerID, r.Egg, r.Action, r.Module = e.RunnerID, e.Egg, e.Action, e.Module
			r.Inputs, r.SecretURIs = nilIfEmptyMap(e.Inputs), nilIfEmptyMap(e.SecretURIs)
			r.ConfigHash, r.PlanSHA256, r.TofuVersion, r.PreviousPlanID = e.ConfigHash, e.PlanSHA256, e.TofuVersion, e.PreviousPlanID
			r.Status = planPending
		case events.PlanApplied:
			r.Status, r.AppliedAt = planApplied, at
		case events.PlanFailed:
			r.Status, r.FailedStage, r.Error = planFailed, e.Stage, e.Error
		case events.PlanRolledBack:
			r.Status, r.RestoredPlanID = planRolledBack, e.RestoredPlanID
		}
	})
}
