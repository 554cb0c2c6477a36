package provisioner

import (
	"fmt"

	"github.com/polar-gosling/polar-gosling/domain"
)

// FinishDeploy records that an egg's deploy or rollback is no longer in
// force (egg.deploy_finished): Action.Deploy with Action.Outcome and Reason.
const FinishDeploy Kind = "finish_deploy"

// deployActions completes decideEgg's actions with the operator's deploy
// path: a stale runner replaced while a rollback pins the egg says which
// plan it rolls back and which it restores, and a deploy or rollback in
// force ends once the egg has converged, or cannot.
func (m *Model) deployActions(egg *Egg, rs []*Runner, acts []Action, in Inputs, unavailable, broken string) []Action {
	if p, ok := m.deploys.pins[egg.Name]; ok {
		for i, a := range acts {
			if a.Kind != Destroy || a.Reason != replaceReason {
				continue
			}
			if r := m.Runners[a.Runner]; r != nil && r.LastPlan != "" && r.Deployed {
				acts[i].RolledBack, acts[i].Restored = r.LastPlan, p.plan
			}
		}
	}
	dep := m.ActiveDeploy(egg.Name)
	if dep == nil {
		return acts
	}
	outcome, reason, done := converged(egg, rs, acts, in, unavailable, broken)
	if done {
		acts = append(acts, Action{Kind: FinishDeploy, Egg: egg.Name, Deploy: dep.ID, Outcome: outcome, Reason: reason})
	}
	return acts
}

// converged says whether a deploy of egg is over, and how: converged when
// no runner of the egg runs another configuration (a BUSY one included: it
// is replaced once idle), no plan or action of the egg is under way, and
// the pool is at its minimum; failed when the egg provisions nothing (its
// breaker tripped, its provider cannot provision); removed with the egg.
func converged(egg *Egg, rs []*Runner, acts []Action, in Inputs, unavailable, broken string) (outcome, reason string, done bool) {
	switch {
	case egg.Removed:
		return domain.DeployRemoved, "egg " + egg.Name + " was removed from the Nest", true
	case egg.Serverless():
		// Each job gets its own runner, made from the configuration in force.
		return domain.DeployConverged, "serverless runners are made per job from the configuration in force", true
	case unavailable != "":
		return domain.DeployFailed, unavailable, true
	case broken != "":
		return domain.DeployFailed, broken, true
	}
	requests := map[string]bool{}
	for _, r := range rs {
		if r.waiting() || r.ServedBy != "" {
			requests[r.ID] = true
		}
	}
	for _, a := range acts {
		// Demand (a job's request assigned, queued, ended or given its
		// own runner) is not the deploy's.
		if a.Kind == Assign || a.Kind == Queue || (a.Kind == Destroy && requests[a.Runner]) || (a.Kind == Provision && a.Request != "") {
			continue
		}
		return "", "", false
	}
	live := 0
	for _, r := range rs {
		if r.State == StateTerminated || r.State == StateFailed || r.waiting() || r.ServedBy != "" {
			continue
		}
		if in.Busy[r.ID] || r.PendingPlan != "" || r.TerminationAsked != "" || r.provisioning() {
			return "", "", false
		}
		if r.Pool == PoolNadir && r.State == StateStopped {
			// Kept stopped: it is not replaced (it takes the configuration
			// in force when it is started), nor one of the pool's Apex runners.
			continue
		}
		if r.live() {
			if r.EggHash != egg.ConfigHash {
				return "", "", false
			}
			if r.warmApex() {
				live++
			}
		}
	}
	if live < min(egg.MinApex, maxRunners(egg)) {
		return "", "", false
	}
	return domain.DeployConverged, fmt.Sprintf("%d runners run configuration %s", live, egg.ConfigHash), true
}

// rollbackReason is the reason of a plan.rolled_back.
func rollbackReason(a Action, hash string) string {
	return fmt.Sprintf("rolled back: runner %s is replaced to restore the configuration %s of plan %s", a.Runner, hash, a.Restored)
}
