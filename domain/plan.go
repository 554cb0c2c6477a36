package domain

import (
	"maps"
	"slices"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// Plan actions.
var planActions = []string{"create", "update", "destroy"}

// Plan stages that can fail.
var planStages = []string{"register", "init", "plan", "apply"}

// DeploymentPlan is one OpenTofu plan for a runner: created PENDING, then
// applied or failed once; an applied plan may be rolled back.
type DeploymentPlan struct {
	version
	id             PlanID
	runnerID       string
	egg            string
	action         string
	configHash     string
	previousPlanID string
	status         DeploymentStatus
}

// RehydrateDeploymentPlan rebuilds plan id from its stream's history.
func RehydrateDeploymentPlan(id PlanID, history []events.Envelope) (*DeploymentPlan, error) {
	if id.IsZero() {
		return nil, invalid("plan id is empty")
	}
	p := &DeploymentPlan{id: id}
	v, err := replay(p, PlanStream(id.String()), history)
	if err != nil {
		return nil, err
	}
	p.v = v
	return p, nil
}

func (p *DeploymentPlan) ID() PlanID               { return p.id }
func (p *DeploymentPlan) Exists() bool             { return p.v > 0 }
func (p *DeploymentPlan) RunnerID() string         { return p.runnerID }
func (p *DeploymentPlan) Egg() string              { return p.egg }
func (p *DeploymentPlan) Action() string           { return p.action }
func (p *DeploymentPlan) ConfigHash() string       { return p.configHash }
func (p *DeploymentPlan) PreviousPlanID() string   { return p.previousPlanID }
func (p *DeploymentPlan) Status() DeploymentStatus { return p.status }

// Create records a new plan. PlanID may be left empty (it is the aggregate's).
func (p *DeploymentPlan) Create(c events.PlanCreated) ([]events.Event, error) {
	if p.Exists() {
		return nil, conflict("plan %s already exists", p.id)
	}
	if err := sameOrEmpty("plan id", c.PlanID, p.id.String()); err != nil {
		return nil, err
	}
	if _, err := NewRunnerID(c.RunnerID); err != nil {
		return nil, err
	}
	if _, err := NewEggName(c.Egg); err != nil {
		return nil, err
	}
	if !slices.Contains(planActions, c.Action) {
		return nil, invalid("plan %s: action %q is not one of create, update, destroy", p.id, c.Action)
	}
	if c.ConfigHash == "" {
		return nil, invalid("plan %s: config hash is empty", p.id)
	}
	if c.PreviousPlanID != "" {
		if _, err := NewPlanID(c.PreviousPlanID); err != nil {
			return nil, err
		}
		if c.PreviousPlanID == p.id.String() {
			return nil, invalid("plan %s cannot follow itself", p.id)
		}
	}
	if err := checkSecretURIs(c.SecretURIs); err != nil {
		return nil, err
	}
	c.PlanID = p.id.String()
	c.Inputs, c.SecretURIs = maps.Clone(c.Inputs), maps.Clone(c.SecretURIs)
	return []events.Event{c}, nil
}

func (p *DeploymentPlan) mustBe(s DeploymentStatus, doing string) error {
	if !p.Exists() {
		return notFound("plan %s does not exist", p.id)
	}
	if p.status != s {
		return conflict("plan %s is %s; only a %s plan can be %s", p.id, p.status, s, doing)
	}
	return nil
}

// Apply records that the plan was applied. A plan is applied at most once.
func (p *DeploymentPlan) Apply(outputs map[string]string, took time.Duration) ([]events.Event, error) {
	if err := p.mustBe(DeploymentPending, "applied"); err != nil {
		return nil, err
	}
	if took < 0 {
		return nil, invalid("plan %s: negative apply duration %s", p.id, took)
	}
	return []events.Event{events.PlanApplied{PlanID: p.id.String(), RunnerID: p.runnerID, Outputs: maps.Clone(outputs), DurationMS: took.Milliseconds()}}, nil
}

// Fail records that a stage (init, plan, apply) of a pending plan failed.
func (p *DeploymentPlan) Fail(stage, message string, diags []events.Diagnostic) ([]events.Event, error) {
	if err := p.mustBe(DeploymentPending, "failed"); err != nil {
		return nil, err
	}
	if !slices.Contains(planStages, stage) {
		return nil, invalid("plan %s: stage %q is not one of register, init, plan, apply", p.id, stage)
	}
	if message == "" {
		return nil, invalid("plan %s: failure without an error message", p.id)
	}
	return []events.Event{events.PlanFailed{PlanID: p.id.String(), RunnerID: p.runnerID, Stage: stage, Error: message, Diagnostics: slices.Clone(diags)}}, nil
}

// Refuse is Fail for a failure no retry can help (PlanFailed.Permanent).
func (p *DeploymentPlan) Refuse(stage, message string) ([]events.Event, error) {
	evs, err := p.Fail(stage, message, nil)
	if err != nil {
		return nil, err
	}
	f := evs[0].(events.PlanFailed)
	f.Permanent = true
	return []events.Event{f}, nil
}

// RollBack records that this applied plan was replaced by re-applying restored's configuration.
func (p *DeploymentPlan) RollBack(restored PlanID, reason string) ([]events.Event, error) {
	if restored.IsZero() {
		return nil, invalid("plan %s: restored plan id is empty", p.id)
	}
	if err := p.mustBe(DeploymentApplied, "rolled back"); err != nil {
		return nil, err
	}
	if restored == p.id {
		return nil, invalid("plan %s cannot be rolled back to itself", p.id)
	}
	return []events.Event{events.PlanRolledBack{PlanID: p.id.String(), RunnerID: p.runnerID, RestoredPlanID: restored.String(), Reason: reason}}, nil
}

func (p *DeploymentPlan) apply(ev events.Event) error {
	switch e := ev.(type) {
	case events.PlanCreated:
		p.runnerID, p.egg, p.action, p.configHash, p.previousPlanID = e.RunnerID, e.Egg, e.Action, e.ConfigHash, e.PreviousPlanID
		p.status = DeploymentPending
	case events.PlanApplied:
		p.status = DeploymentApplied
	case events.PlanFailed:
		p.status = DeploymentFailed
	case events.PlanRolledBack:
		p.status = DeploymentRolledBack
	default:
		return unknownEvent("plan "+p.id.String(), ev)
	}
	return nil
}
