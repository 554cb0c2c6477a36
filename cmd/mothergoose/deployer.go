package main

import (
	"context"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// provisionerDeployer is the API's commands.EggDeployer: the provisioner,
// which is built after the API (it needs the bound address for the
// runners' MotherGoose URL), so it is looked up per call.
type provisionerDeployer struct{ m *Main }

func (d provisionerDeployer) get() (commands.EggDeployer, error) {
	if d.m.Provisioner == nil {
		return nil, errs.Errorf(errs.EUNAVAILABLE, "the provisioner is not running yet")
	}
	return d.m.Provisioner, nil
}

func (d provisionerDeployer) Plan(ctx context.Context, egg string) (commands.DeployPlan, error) {
	p, err := d.get()
	if err != nil {
		return commands.DeployPlan{}, err
	}
	return p.Plan(ctx, egg)
}

func (d provisionerDeployer) Deploy(ctx context.Context, egg string, meta commands.Meta) (commands.DeployAnswer, error) {
	p, err := d.get()
	if err != nil {
		return commands.DeployAnswer{}, err
	}
	return p.Deploy(ctx, egg, meta)
}

func (d provisionerDeployer) Rollback(ctx context.Context, egg, toPlanID string, meta commands.Meta) (commands.DeployAnswer, error) {
	p, err := d.get()
	if err != nil {
		return commands.DeployAnswer{}, err
	}
	return p.Rollback(ctx, egg, toPlanID, meta)
}

func (d provisionerDeployer) DeployStatus(ctx context.Context, egg, id string) (commands.DeployStatus, error) {
	p, err := d.get()
	if err != nil {
		return commands.DeployStatus{}, err
	}
	return p.DeployStatus(ctx, egg, id)
}
