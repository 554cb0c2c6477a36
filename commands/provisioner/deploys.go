package provisioner

import (
	"slices"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// The operator's deploys and rollbacks, as the model folds them.
//
// The Nest is the desired state: a new egg configuration makes Decide
// replace stale runners by itself. A rollback (egg.rollback_asked) pins an
// egg's effective configuration to an earlier one, so that Decide and the
// Spec builder use it instead, until the next deploy (egg.deploy_asked) or
// a Nest sync with a new configuration (egg.synced) ends the pin. While a
// deploy or rollback is in force, the plans made for the egg carry its id,
// and Decide ends it (FinishDeploy) once the egg has converged.

// Deploy is one deploy or rollback of an egg.
type Deploy struct {
	ID, Egg string
	Kind    string // deploy, rollback
	// ConfigHash is the configuration the runners are brought to;
	// RestoredPlan (a rollback) the plan it was taken from.
	ConfigHash, RestoredPlan string
	PlanIDs                  []string
	Finished                 bool
	Outcome, Reason          string
}

// Deploy kinds.
const (
	KindDeploy   = "deploy"
	KindRollback = "rollback"
)

// PlanInfo is what the model keeps of one plan.
type PlanInfo struct {
	ID, Egg, Runner, Action string
	// EggHash is the egg configuration the plan was made from.
	EggHash  string
	DeployID string
	Status   string // PENDING, APPLIED, FAILED, ROLLED_BACK
}

// Plan statuses (the plans view's names).
const (
	PlanPending    = "PENDING"
	PlanApplied    = "APPLIED"
	PlanFailed     = "FAILED"
	PlanRolledBack = "ROLLED_BACK"
)

// pin is a rollback's hold on an egg's configuration.
type pin struct {
	hash, plan, deploy string
}

type deployModel struct {
	// configs holds every configuration of each egg by its hash (one entry
	// per distinct configuration synced), so a rollback can restore one.
	configs map[string]map[string]events.EggSynced
	synced  map[string]string // egg -> the Nest's last config hash
	pins    map[string]pin
	active  map[string]string // egg -> the deploy in force
	deploys map[string]*Deploy
	plans   map[string]*PlanInfo
	byEgg   map[string][]string // egg -> its plan ids in log order
}

func newDeployModel() *deployModel {
	return &deployModel{configs: map[string]map[string]events.EggSynced{}, synced: map[string]string{}, pins: map[string]pin{},
		active: map[string]string{}, deploys: map[string]*Deploy{}, plans: map[string]*PlanInfo{}, byEgg: map[string][]string{}}
}

// Config returns egg's configuration of hash, if the model knows it.
func (m *Model) Config(egg, hash string) (events.EggSynced, bool) {
	c, ok := m.deploys.configs[egg][hash]
	return c, ok
}

// SyncedHash is egg's configuration as the Nest last gave it.
func (m *Model) SyncedHash(egg string) string { return m.deploys.synced[egg] }

// PinnedTo is the plan whose configuration a rollback pinned egg to, "" for none.
func (m *Model) PinnedTo(egg string) string { return m.deploys.pins[egg].plan }

// ActiveDeploy is egg's deploy or rollback in force, nil for none.
func (m *Model) ActiveDeploy(egg string) *Deploy { return m.deploys.deploys[m.deploys.active[egg]] }

// DeployByID returns a deploy or rollback, nil when the model has none of that id.
func (m *Model) DeployByID(id string) *Deploy { return m.deploys.deploys[id] }

// PlanByID returns a plan, nil when the model has none of that id.
func (m *Model) PlanByID(id string) *PlanInfo { return m.deploys.plans[id] }

// applyDeploys folds what the deploy path needs; Apply calls it first.
func (m *Model) applyDeploys(env events.Envelope) {
	d := m.deploys
	switch e := payloadOf(env).(type) {
	case events.EggSynced:
		if d.configs[e.Name] == nil {
			d.configs[e.Name] = map[string]events.EggSynced{}
		}
		c := e
		c.Tags, c.ProjectIDs, c.GroupIDs = slices.Clone(e.Tags), slices.Clone(e.ProjectIDs), slices.Clone(e.GroupIDs)
		d.configs[e.Name][e.ConfigHash] = c
		d.synced[e.Name] = e.ConfigHash
		// The Nest records a sync only for a new configuration (or an egg
		// back after its removal): GitOps wins again.
		delete(d.pins, e.Name)
	case events.EggDeployAsked:
		delete(d.pins, e.Egg)
		m.effective(e.Egg, d.synced[e.Egg])
		m.startDeploy(&Deploy{ID: e.DeployID, Egg: e.Egg, Kind: KindDeploy, ConfigHash: e.ConfigHash})
	case events.EggRollbackAsked:
		if _, ok := d.configs[e.Egg][e.ToConfigHash]; ok {
			d.pins[e.Egg] = pin{hash: e.ToConfigHash, plan: e.ToPlanID, deploy: e.DeployID}
			m.effective(e.Egg, e.ToConfigHash)
		}
		m.startDeploy(&Deploy{ID: e.DeployID, Egg: e.Egg, Kind: KindRollback, ConfigHash: e.ToConfigHash, RestoredPlan: e.ToPlanID})
	case events.EggDeployFinished:
		if dep := d.deploys[e.DeployID]; dep != nil {
			dep.Finished, dep.Outcome, dep.Reason = true, e.Outcome, e.Reason
		}
		if d.active[e.Egg] == e.DeployID {
			delete(d.active, e.Egg)
			if egg := m.Eggs[e.Egg]; egg != nil {
				egg.deploy = ""
			}
		}
	case events.PlanCreated:
		p := &PlanInfo{ID: e.PlanID, Egg: e.Egg, Runner: e.RunnerID, Action: e.Action, EggHash: e.EggConfigHash, DeployID: e.DeployID, Status: PlanPending}
		if p.EggHash == "" && e.Action != "destroy" {
			// Made before plans recorded it: the egg's configuration then.
			if egg := m.Eggs[e.Egg]; egg != nil {
				p.EggHash = egg.ConfigHash
			}
		}
		if _, seen := d.plans[e.PlanID]; !seen {
			d.byEgg[e.Egg] = append(d.byEgg[e.Egg], e.PlanID)
		}
		d.plans[e.PlanID] = p
		if dep := d.deploys[e.DeployID]; dep != nil && !slices.Contains(dep.PlanIDs, e.PlanID) {
			dep.PlanIDs = append(dep.PlanIDs, e.PlanID)
		}
	case events.PlanApplied:
		if p := d.plans[e.PlanID]; p != nil {
			p.Status = PlanApplied
		}
	case events.PlanFailed:
		if p := d.plans[e.PlanID]; p != nil {
			p.Status = PlanFailed
		}
	case events.PlanRolledBack:
		if p := d.plans[e.PlanID]; p != nil {
			p.Status = PlanRolledBack
		}
	}
}

func (m *Model) startDeploy(dep *Deploy) {
	m.deploys.deploys[dep.ID] = dep
	m.deploys.active[dep.Egg] = dep.ID
	if egg := m.Eggs[dep.Egg]; egg != nil {
		egg.deploy = dep.ID
	}
}

// effective makes hash egg's configuration in force (Decide's and the
// Spec builder's); a change of it closes the breaker, like a new sync.
func (m *Model) effective(name, hash string) {
	egg, c := m.Eggs[name], m.deploys.configs[name][hash]
	if egg == nil || c.ConfigHash == "" || egg.Removed {
		return
	}
	if egg.ConfigHash != hash {
		egg.FailedRunners, egg.LastRunnerError, egg.LastFailedRunner = 0, "", ""
	}
	egg.configure(c)
}

// RollbackTarget chooses the plan whose configuration a rollback of egg
// restores and that configuration's hash: toPlanID, which must be an
// applied create or update plan of the egg, or, when it is "", the most
// recent applied plan of the egg made under another configuration than
// the one in force. Errors: ENOTFOUND (no such plan), EINVALID (a plan that
// cannot be restored), ECONFLICT (nothing to roll back to).
func RollbackTarget(m *Model, egg, toPlanID string) (plan, hash string, err error) {
	cur := ""
	if e := m.Eggs[egg]; e != nil {
		cur = e.ConfigHash
	}
	restorable := func(p *PlanInfo) error {
		switch {
		case p.Egg != egg:
			return errs.Errorf(errs.EINVALID, "plan %s is a plan of egg %s, not of %s", p.ID, p.Egg, egg)
		case p.Action == "destroy":
			return errs.Errorf(errs.EINVALID, "plan %s is a destroy plan; give an applied create or update plan of egg %s", p.ID, egg)
		case p.Status != PlanApplied && p.Status != PlanRolledBack:
			return errs.Errorf(errs.EINVALID, "plan %s was never applied (it is %s); give an applied create or update plan of egg %s", p.ID, p.Status, egg)
		}
		if _, ok := m.Config(egg, p.EggHash); !ok {
			return errs.Errorf(errs.EINVALID, "the egg configuration plan %s was made from is not known", p.ID)
		}
		return nil
	}
	if toPlanID != "" {
		p := m.PlanByID(toPlanID)
		if p == nil {
			return "", "", errs.Errorf(errs.ENOTFOUND, "plan %s does not exist", toPlanID)
		}
		if err := restorable(p); err != nil {
			return "", "", err
		}
		if p.EggHash == cur {
			return "", "", errs.Errorf(errs.ECONFLICT, "egg %s is already at configuration %s, the one plan %s was made from; there is nothing to roll back", egg, cur, p.ID)
		}
		return p.ID, p.EggHash, nil
	}
	ids := m.deploys.byEgg[egg]
	for i := len(ids) - 1; i >= 0; i-- {
		if p := m.PlanByID(ids[i]); p != nil && p.EggHash != cur && restorable(p) == nil {
			return p.ID, p.EggHash, nil
		}
	}
	return "", "", errs.Errorf(errs.ECONFLICT, "egg %s has no applied plan made under a configuration other than its current %s; there is nothing to roll back to", egg, cur)
}
