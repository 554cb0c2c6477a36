package provisioner

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// The provisioner is the commands.EggDeployer: the HTTP API's deploy,
// rollback and plan are answered from its model, read under modelMu.
var _ commands.EggDeployer = (*Provisioner)(nil)

// foldWait bounds how long a deploy or rollback waits for the provisioner
// to fold its own event before answering.
const foldWait = 10 * time.Second

func eggName(name string) (string, error) {
	n, err := domain.NewEggName(name)
	if err != nil {
		return "", err
	}
	return n.String(), nil
}

// caughtUp waits (at most foldWait) until the model holds the log as it is
// now, so an answer reflects every event recorded before the request: the
// sync that made the egg, the deploy just asked. After foldWait it answers
// from what it has (the error is the store's).
func (p *Provisioner) caughtUp(ctx context.Context) error {
	head, err := p.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	p.modelMu.RLock()
	behind := p.model.Position < head
	p.modelMu.RUnlock()
	if behind { // a poll of a caught-up model (gosling deploy --wait) wakes nothing
		p.wake()
		p.waitFolded(ctx, head)
	}
	return nil
}

// Plan answers what a deploy of egg would do (to the Nest's configuration).
func (p *Provisioner) Plan(ctx context.Context, name string) (commands.DeployPlan, error) {
	name, err := eggName(name)
	if err != nil {
		return commands.DeployPlan{}, err
	}
	if err := p.caughtUp(ctx); err != nil {
		return commands.DeployPlan{}, err
	}
	p.modelMu.RLock()
	defer p.modelMu.RUnlock()
	if p.model.Eggs[name] == nil {
		return commands.DeployPlan{}, errs.Errorf(errs.ENOTFOUND, "egg %s does not exist", name)
	}
	return PlanDeploy(p.model, name, p.model.SyncedHash(name)), nil
}

// Deploy records egg.deploy_asked for egg (the Nest's configuration) and
// answers with what it will change. An egg that has converged already
// finishes its deploy at once.
func (p *Provisioner) Deploy(ctx context.Context, name string, meta commands.Meta) (commands.DeployAnswer, error) {
	name, err := eggName(name)
	if err != nil {
		return commands.DeployAnswer{}, err
	}
	if err := p.caughtUp(ctx); err != nil {
		return commands.DeployAnswer{}, err
	}
	var plan *commands.DeployPlan
	p.modelMu.RLock()
	if p.model.Eggs[name] != nil {
		pl := PlanDeploy(p.model, name, p.model.SyncedHash(name))
		plan = &pl
	}
	p.modelMu.RUnlock()
	id := p.cfg.NewID()
	res, err := p.cfg.Handlers.AskEggDeploy(ctx, commands.AskEggDeploy{Meta: meta, Name: name, DeployID: id, Reason: reasonOf("deploy", meta)})
	if err != nil {
		return commands.DeployAnswer{}, err
	}
	return p.answer(ctx, name, id, plan, res.LastPosition, res.LastVersion)
}

// Rollback pins egg to the configuration of plan toPlanID, or by default to
// the one its runners had before the current one, and answers with what it
// will change.
func (p *Provisioner) Rollback(ctx context.Context, name, toPlanID string, meta commands.Meta) (commands.DeployAnswer, error) {
	name, err := eggName(name)
	if err != nil {
		return commands.DeployAnswer{}, err
	}
	if err := p.caughtUp(ctx); err != nil {
		return commands.DeployAnswer{}, err
	}
	p.modelMu.RLock()
	egg := p.model.Eggs[name]
	var (
		from, restored, to string
		plan               commands.DeployPlan
	)
	if egg != nil {
		from = egg.ConfigHash
		restored, to, err = RollbackTarget(p.model, name, toPlanID)
		if err == nil {
			plan = PlanDeploy(p.model, name, to)
		}
	}
	p.modelMu.RUnlock()
	switch {
	case egg == nil:
		return commands.DeployAnswer{}, errs.Errorf(errs.ENOTFOUND, "egg %s does not exist", name)
	case egg.Removed:
		return commands.DeployAnswer{}, errs.Errorf(errs.ECONFLICT, "egg %s was removed from the Nest; there is nothing to roll back", name)
	case err != nil:
		return commands.DeployAnswer{}, err
	}
	id := p.cfg.NewID()
	res, err := p.cfg.Handlers.AskEggRollback(ctx, commands.AskEggRollback{Meta: meta, Name: name, DeployID: id,
		FromConfigHash: from, ToConfigHash: to, ToPlanID: restored, Reason: reasonOf("rollback", meta)})
	if err != nil {
		return commands.DeployAnswer{}, err
	}
	return p.answer(ctx, name, id, &plan, res.LastPosition, res.LastVersion)
}

func reasonOf(what string, meta commands.Meta) string {
	if meta.Actor == "" {
		return what + " asked"
	}
	return what + " asked by " + meta.Actor
}

// answer waits (bounded) until the model holds the ask at pos, finishes a
// deploy that has nothing to do, and answers.
func (p *Provisioner) answer(ctx context.Context, name, id string, plan *commands.DeployPlan, pos, version uint64) (commands.DeployAnswer, error) {
	p.wake()
	folded := p.waitFolded(ctx, pos)
	p.modelMu.RLock()
	if plan == nil && p.model.Eggs[name] != nil {
		pl := PlanDeploy(p.model, name, p.model.SyncedHash(name))
		plan = &pl
	}
	var (
		finish *Action
		dep    *Deploy
	)
	if d := p.model.DeployByID(id); d != nil {
		c := *d // read after the lock
		c.PlanIDs = append([]string{}, d.PlanIDs...)
		dep = &c
	}
	if dep != nil && dep.Finished {
		// Step finished it first.
		finish = &Action{Kind: FinishDeploy, Egg: name, Deploy: id, Outcome: dep.Outcome, Reason: dep.Reason}
	} else if folded && dep != nil {
		p.mu.Lock()
		busy := maps.Clone(p.busy)
		p.mu.Unlock()
		for _, a := range Decide(p.model, Inputs{Now: p.cfg.Clock(), Busy: busy, Unavailable: p.cfg.Compute.Unavailable, Policy: p.cfg.Policy}) {
			if a.Kind == FinishDeploy && a.Deploy == id {
				finish = &a
			}
		}
	}
	p.modelMu.RUnlock()
	ans := commands.DeployAnswer{Egg: name, DeployID: id, Kind: KindDeploy, Status: "running", PlanIDs: []string{}, Version: version}
	if plan != nil {
		ans.Plan, ans.ConfigHash, ans.FromConfigHash = *plan, plan.ToConfigHash, plan.FromConfigHash
	}
	if dep != nil {
		ans.Kind, ans.ConfigHash, ans.RestoredPlanID, ans.PlanIDs = dep.Kind, dep.ConfigHash, dep.RestoredPlan, dep.PlanIDs
	}
	if finish != nil {
		if dep == nil || !dep.Finished {
			pos, err := p.finishDeploy(ctx, *finish)
			if err != nil {
				return commands.DeployAnswer{}, err
			}
			// So that the deploy's status says finished too.
			p.wake()
			p.waitFolded(ctx, pos)
		}
		ans.Status, ans.Outcome = "finished", finish.Outcome
		ans.Message = ans.Kind + " " + id + " of egg " + name + " finished at once (" + finish.Outcome + "): " + finish.Reason
		if finish.Outcome == domain.DeployConverged {
			ans.Message = ans.Kind + " " + id + " of egg " + name + " finished at once: nothing to change, " + finish.Reason
		}
		return ans, nil
	}
	ans.Message = ans.Kind + " " + id + " of egg " + name + " is running: GET /eggs/" + name + "/deploys/" + id + " follows it"
	return ans, nil
}

// wake asks Step to run now.
func (p *Provisioner) wake() {
	select {
	case p.done <- struct{}{}:
	default:
	}
}

// waitFolded waits until the model holds the log up to pos, at most foldWait.
func (p *Provisioner) waitFolded(ctx context.Context, pos uint64) bool {
	deadline := time.Now().Add(foldWait)
	for {
		p.modelMu.RLock()
		at := p.model.Position
		p.modelMu.RUnlock()
		if at >= pos {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// DeployStatus answers the progress of deploy or rollback id of egg.
func (p *Provisioner) DeployStatus(ctx context.Context, name, id string) (commands.DeployStatus, error) {
	name, err := eggName(name)
	if err != nil {
		return commands.DeployStatus{}, err
	}
	if err := p.caughtUp(ctx); err != nil {
		return commands.DeployStatus{}, err
	}
	p.modelMu.RLock()
	defer p.modelMu.RUnlock()
	if p.model.Eggs[name] == nil {
		return commands.DeployStatus{}, errs.Errorf(errs.ENOTFOUND, "egg %s does not exist", name)
	}
	dep := p.model.DeployByID(id)
	if dep == nil || dep.Egg != name {
		return commands.DeployStatus{}, errs.Errorf(errs.ENOTFOUND, "egg %s has no deploy or rollback %q", name, id)
	}
	st := commands.DeployStatus{Egg: name, DeployID: id, Kind: dep.Kind, ConfigHash: dep.ConfigHash, RestoredPlanID: dep.RestoredPlan,
		Status: "running", Plans: []commands.DeployPlanStatus{}}
	if dep.Finished {
		st.Status, st.Outcome, st.Reason = "finished", dep.Outcome, dep.Reason
	}
	for _, pid := range dep.PlanIDs {
		if pl := p.model.PlanByID(pid); pl != nil {
			st.Plans = append(st.Plans, commands.DeployPlanStatus{PlanID: pid, RunnerID: pl.Runner, Action: pl.Action, Status: pl.Status})
		}
	}
	return st, nil
}

// finishDeploy records egg.deploy_finished (nothing when it is no longer in force).
func (p *Provisioner) finishDeploy(ctx context.Context, a Action) (uint64, error) {
	var plans []string
	p.modelMu.RLock()
	if dep := p.model.DeployByID(a.Deploy); dep != nil {
		plans = slices.Clone(dep.PlanIDs)
	}
	p.modelMu.RUnlock()
	res, err := p.cfg.Handlers.FinishEggDeploy(ctx, commands.FinishEggDeploy{Meta: p.meta(a.Deploy), Name: a.Egg, DeployID: a.Deploy,
		PlanIDs: plans, Outcome: a.Outcome, Reason: a.Reason})
	return res.LastPosition, err
}

// rollBack records plan.rolled_back for a runner a rollback replaces,
// before its destroy: its last applied plan gives way to the restored one.
// A plan no longer APPLIED (recorded already) is left as it is.
func (p *Provisioner) rollBack(ctx context.Context, a Action, egg *Egg) error {
	if a.RolledBack == "" || a.Restored == "" || a.RolledBack == a.Restored {
		return nil
	}
	hash := ""
	if egg != nil {
		hash = egg.ConfigHash
	}
	_, err := p.cfg.Handlers.RollBackPlan(ctx, commands.RollBackPlan{Meta: p.meta(a.Runner), PlanID: a.RolledBack, RestoredPlanID: a.Restored, Reason: rollbackReason(a, hash)})
	if errs.Code(err) == errs.ECONFLICT {
		return nil
	}
	return err
}
