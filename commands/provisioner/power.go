package provisioner

import (
	"context"
	"errors"
	"fmt"

	"github.com/polar-gosling/polar-gosling/commands"
)

// power carries out Stop and Start: an update plan of the runner's own
// workspace whose only intended change is the module's running input,
// applied. The workspace, the credential and the GitLab runner are kept,
// so a started runner is the same runner.
//
// A stop records STOPPED once applied. A start records ACTIVE first: its
// agent heartbeats as soon as it runs, and a STOPPED runner's heartbeat
// changes nothing, so recording it after the apply would leave the runner
// ACTIVE until the agent's next heartbeat (an interval later). A start
// that fails records STOPPED again (and its plan.failed), to be retried.
func (p *Provisioner) power(ctx context.Context, r Runner, egg *Egg, a Action) error {
	h := p.cfg.Handlers
	state := func(to, reason string) error {
		_, err := h.ChangeRunnerState(ctx, commands.ChangeRunnerState{Meta: p.meta(r.ID), RunnerID: r.ID, To: to, Reason: reason})
		return err
	}
	if a.Kind == Start {
		if err := state(StateActive, a.Reason); err != nil {
			return err
		}
	}
	applied, err := p.powerApply(ctx, r, egg, a)
	switch {
	case a.Kind == Start && !applied:
		return errors.Join(err, state(StateStopped, "its start failed: decided again after a backoff"))
	case a.Kind == Stop && applied && err == nil:
		if err := state(StateStopped, a.Reason); err != nil {
			return fmt.Errorf("runner %s: stop applied, its state not recorded: %w", r.ID, err)
		}
	}
	return err
}

// powerApply plans and applies the runner's power state; applied reports
// whether the apply succeeded (its plan.applied is recorded or being).
func (p *Provisioner) powerApply(ctx context.Context, r Runner, egg *Egg, a Action) (applied bool, err error) {
	// The same secret URIs as its create's: the GitLab runner's stored
	// token, or unregistered the egg's token_secret; the credential minted then.
	spec, _, err := p.spec(ctx, r, egg)
	if err != nil {
		return false, err
	}
	spec.Stopped = a.Kind == Stop
	id, res, ok, err := p.plan(ctx, r, spec, false)
	if err != nil || !ok {
		return false, err
	}
	start := p.cfg.Clock()
	dep, aerr := p.cfg.Compute.Apply(ctx, r.ID, res)
	if aerr != nil {
		return false, p.fail(ctx, id, aerr)
	}
	_, err = p.cfg.Handlers.ApplyPlan(ctx, commands.ApplyPlan{Meta: p.meta(id), PlanID: id, Outputs: dep.Outputs, Duration: max(0, p.cfg.Clock().Sub(start))})
	return true, err
}
