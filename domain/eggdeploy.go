package domain

import (
	"slices"

	"github.com/polar-gosling/polar-gosling/events"
)

// Deploy outcomes (egg.deploy_finished).
const (
	DeployConverged  = "converged"
	DeployFailed     = "failed"
	DeploySuperseded = "superseded"
	DeployRemoved    = "removed"
)

// ActiveDeploy is the deploy or rollback in force, "" for none.
func (e *Egg) ActiveDeploy() string { return e.deploy }

// askable: a deploy or a rollback is asked of a synced, present egg.
func (e *Egg) askable(what, deployID, reason string) error {
	if !e.synced {
		return notFound("egg %s does not exist", e.name)
	}
	if e.removed {
		return conflict("egg %s was removed from the Nest; there is nothing to %s", e.name, what)
	}
	if deployID == "" {
		return invalid("egg %s: %s asked without an id", e.name, what)
	}
	if reason == "" {
		return invalid("egg %s: %s asked without a reason", e.name, what)
	}
	return nil
}

// superseded ends the deploy in force, if any, before a new one starts.
func (e *Egg) superseded(by string) []events.Event {
	if e.deploy == "" {
		return nil
	}
	return []events.Event{events.EggDeployFinished{Egg: e.name.String(), DeployID: e.deploy, PlanIDs: []string{}, Outcome: DeploySuperseded, Reason: "superseded by " + by}}
}

// AskDeploy records an operator's ask that the egg's runners be brought to
// the Nest's configuration (the last synced one): it ends a rollback's pin
// and a deploy in force (superseded).
func (e *Egg) AskDeploy(deployID, actor, reason string) ([]events.Event, error) {
	if err := e.askable("deploy", deployID, reason); err != nil {
		return nil, err
	}
	return append(e.superseded("deploy "+deployID), events.EggDeployAsked{
		Egg: e.name.String(), DeployID: deployID, ConfigHash: e.config.ConfigHash, Actor: actor, Reason: reason,
	}), nil
}

// AskRollback records an operator's ask that the egg's configuration be
// pinned to toHash, the configuration plan toPlan was made from (the
// provisioner, which knows the plans, chose and checked them).
func (e *Egg) AskRollback(deployID, fromHash, toHash, toPlan, actor, reason string) ([]events.Event, error) {
	if err := e.askable("roll back", deployID, reason); err != nil {
		return nil, err
	}
	if toHash == "" || toPlan == "" {
		return nil, invalid("egg %s: a rollback needs the plan and the configuration it restores", e.name)
	}
	if toHash == fromHash {
		return nil, conflict("egg %s already runs configuration %s; there is nothing to roll back", e.name, toHash)
	}
	return append(e.superseded("rollback "+deployID), events.EggRollbackAsked{
		Egg: e.name.String(), DeployID: deployID, FromConfigHash: fromHash, ToConfigHash: toHash, ToPlanID: toPlan, Actor: actor, Reason: reason,
	}), nil
}

// FinishDeploy records that deploy deployID is no longer in force. A
// deploy not in force (finished already, superseded) records nothing and
// is no error: the provisioner may decide it twice before its event is folded.
func (e *Egg) FinishDeploy(deployID string, planIDs []string, outcome, reason string) ([]events.Event, error) {
	if !e.synced {
		return nil, notFound("egg %s does not exist", e.name)
	}
	switch outcome {
	case DeployConverged, DeployFailed, DeploySuperseded, DeployRemoved:
	default:
		return nil, invalid("egg %s: deploy outcome %q is not one of converged, failed, superseded, removed", e.name, outcome)
	}
	if deployID == "" || deployID != e.deploy {
		return nil, nil
	}
	if planIDs == nil {
		planIDs = []string{}
	}
	return []events.Event{events.EggDeployFinished{Egg: e.name.String(), DeployID: deployID, PlanIDs: slices.Clone(planIDs), Outcome: outcome, Reason: reason}}, nil
}
