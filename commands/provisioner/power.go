package provisioner

import (
	"context"
	"fmt"

	"github.com/polar-gosling/polar-gosling/commands"
)

// power carries out Stop and Start: an update plan of the runner's own
// workspace whose only intended change is the module's running input,
// applied, then the runner's new state (STOPPED, or ACTIVE until its
// agent's first heartbeat makes it IDLE). The workspace, the credential
// and the GitLab runner are kept, so a started runner is the same runner.
func (p *Provisioner) power(ctx context.Context, r Runner, egg *Egg, a Action) error {
	// The same secret URIs as its create's: the GitLab runner's stored
	// token, or unregistered the egg's token_secret; the credential minted then.
	spec, _, err := p.spec(ctx, r, egg)
	if err != nil {
		return err
	}
	spec.Stopped = a.Kind == Stop
	id, res, ok, err := p.plan(ctx, r, spec, false)
	if err != nil || !ok {
		return err
	}
	start := p.cfg.Clock()
	dep, aerr := p.cfg.Compute.Apply(ctx, r.ID, res)
	if aerr != nil {
		return p.fail(ctx, id, aerr)
	}
	h := p.cfg.Handlers
	if _, err := h.ApplyPlan(ctx, commands.ApplyPlan{Meta: p.meta(id), PlanID: id, Outputs: dep.Outputs, Duration: max(0, p.cfg.Clock().Sub(start))}); err != nil {
		return err
	}
	to := StateStopped
	if a.Kind == Start {
		to = StateActive
	}
	if _, err := h.ChangeRunnerState(ctx, commands.ChangeRunnerState{Meta: p.meta(id), RunnerID: r.ID, To: to, Reason: a.Reason}); err != nil {
		return fmt.Errorf("runner %s: %s applied by plan %s, its state not recorded: %w", r.ID, a.Kind, id, err)
	}
	return nil
}
