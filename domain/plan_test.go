package domain_test

import (
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

const planID = "p-02"

var planCreated = events.PlanCreated{
	PlanID: planID, RunnerID: runnerID, Egg: "web", Action: "create", Module: "yandex",
	Inputs: map[string]string{"cpu": "2"}, SecretURIs: map[string]string{"runner_token": "yc-lockbox://e6q/token"},
	ConfigHash: "sha256:ab", PlanFile: "plans/p-02.tfplan", PlanSHA256: "cd", TofuVersion: "1.12.6", PreviousPlanID: "p-01",
}

func mustPlan(t *testing.T, evs ...events.Event) *domain.DeploymentPlan {
	t.Helper()
	id, err := domain.NewPlanID(planID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := domain.RehydrateDeploymentPlan(id, history(domain.PlanStream(planID), evs...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// planHistory returns events that leave the plan in status.
func planHistory(status domain.DeploymentStatus) []events.Event {
	applied := events.PlanApplied{PlanID: planID, RunnerID: runnerID, DurationMS: 10}
	switch status {
	case domain.DeploymentPending:
		return []events.Event{planCreated}
	case domain.DeploymentApplied:
		return []events.Event{planCreated, applied}
	case domain.DeploymentFailed:
		return []events.Event{planCreated, events.PlanFailed{PlanID: planID, RunnerID: runnerID, Stage: "apply", Error: "quota"}}
	case domain.DeploymentRolledBack:
		return []events.Event{planCreated, applied, events.PlanRolledBack{PlanID: planID, RunnerID: runnerID, RestoredPlanID: "p-01"}}
	}
	return nil
}

var allPlanStatuses = []domain.DeploymentStatus{domain.DeploymentPending, domain.DeploymentApplied, domain.DeploymentFailed, domain.DeploymentRolledBack}

func TestPlan_Create(t *testing.T) {
	with := func(f func(*events.PlanCreated)) events.PlanCreated {
		c := planCreated
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		history []events.Event
		in      events.PlanCreated
		code    string
	}{
		{"new_plan", nil, planCreated, ""},
		{"id_filled_in", nil, with(func(c *events.PlanCreated) { c.PlanID = "" }), ""},
		{"update", nil, with(func(c *events.PlanCreated) { c.Action = "update" }), ""},
		{"destroy_without_previous", nil, with(func(c *events.PlanCreated) { c.Action = "destroy"; c.PreviousPlanID = "" }), ""},
		{"exists", planHistory(domain.DeploymentPending), planCreated, errs.ECONFLICT},
		{"other_id", nil, with(func(c *events.PlanCreated) { c.PlanID = "p-09" }), errs.EINVALID},
		{"bad_runner", nil, with(func(c *events.PlanCreated) { c.RunnerID = "" }), errs.EINVALID},
		{"bad_egg", nil, with(func(c *events.PlanCreated) { c.Egg = "-web" }), errs.EINVALID},
		{"bad_action", nil, with(func(c *events.PlanCreated) { c.Action = "apply" }), errs.EINVALID},
		{"no_config_hash", nil, with(func(c *events.PlanCreated) { c.ConfigHash = "" }), errs.EINVALID},
		{"bad_previous", nil, with(func(c *events.PlanCreated) { c.PreviousPlanID = "P 1" }), errs.EINVALID},
		{"previous_is_itself", nil, with(func(c *events.PlanCreated) { c.PreviousPlanID = planID }), errs.EINVALID},
		{"secret_value_not_uri", nil, with(func(c *events.PlanCreated) { c.SecretURIs = map[string]string{"token": "glrt-abc"} }), errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustPlan(t, tc.history...).Create(tc.in)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			want := tc.in
			want.PlanID = planID
			wantEvents(t, evs, want)
			p := mustPlan(t, evs...)
			if p.Status() != domain.DeploymentPending || p.RunnerID() != runnerID || p.ConfigHash() != "sha256:ab" {
				t.Fatalf("after create: %s runner %q hash %q", p.Status(), p.RunnerID(), p.ConfigHash())
			}
		})
	}
}

func TestPlan_transitions(t *testing.T) {
	restored, _ := domain.NewPlanID("p-01")
	self, _ := domain.NewPlanID(planID)
	decisions := []struct {
		name  string
		from  domain.DeploymentStatus // the one status it is legal from
		to    domain.DeploymentStatus
		event events.Event
		do    func(*domain.DeploymentPlan) ([]events.Event, error)
	}{
		{"apply", domain.DeploymentPending, domain.DeploymentApplied,
			events.PlanApplied{PlanID: planID, RunnerID: runnerID, Outputs: map[string]string{"instance_id": "fhm1"}, DurationMS: 5120},
			func(p *domain.DeploymentPlan) ([]events.Event, error) {
				return p.Apply(map[string]string{"instance_id": "fhm1"}, 5120*time.Millisecond)
			}},
		{"fail", domain.DeploymentPending, domain.DeploymentFailed,
			events.PlanFailed{PlanID: planID, RunnerID: runnerID, Stage: "plan", Error: "bad provider"},
			func(p *domain.DeploymentPlan) ([]events.Event, error) { return p.Fail("plan", "bad provider", nil) }},
		{"roll_back", domain.DeploymentApplied, domain.DeploymentRolledBack,
			events.PlanRolledBack{PlanID: planID, RunnerID: runnerID, RestoredPlanID: "p-01", Reason: "operator"},
			func(p *domain.DeploymentPlan) ([]events.Event, error) { return p.RollBack(restored, "operator") }},
	}
	for _, d := range decisions {
		for _, from := range allPlanStatuses {
			t.Run(d.name+"_from_"+from.String(), func(t *testing.T) {
				h := planHistory(from)
				evs, err := d.do(mustPlan(t, h...))
				if from != d.from {
					wantCode(t, err, errs.ECONFLICT)
					return
				}
				wantEvents(t, mustDecide(t)(evs, err), d.event)
				if got := mustPlan(t, append(h, evs...)...).Status(); got != d.to {
					t.Fatalf("after %s the plan is %s, want %s", d.name, got, d.to)
				}
			})
		}
		t.Run(d.name+"_unknown_plan", func(t *testing.T) {
			_, err := d.do(mustPlan(t))
			wantCode(t, err, errs.ENOTFOUND)
		})
	}
	invalid := map[string]func(*domain.DeploymentPlan) ([]events.Event, error){
		"apply_negative_duration": func(p *domain.DeploymentPlan) ([]events.Event, error) { return p.Apply(nil, -time.Second) },
		"fail_unknown_stage":      func(p *domain.DeploymentPlan) ([]events.Event, error) { return p.Fail("destroy", "x", nil) },
		"fail_without_message":    func(p *domain.DeploymentPlan) ([]events.Event, error) { return p.Fail("apply", "", nil) },
	}
	for name, do := range invalid {
		t.Run(name, func(t *testing.T) {
			_, err := do(mustPlan(t, planHistory(domain.DeploymentPending)...))
			wantCode(t, err, errs.EINVALID)
		})
	}
	t.Run("roll_back_to_itself", func(t *testing.T) {
		_, err := mustPlan(t, planHistory(domain.DeploymentApplied)...).RollBack(self, "")
		wantCode(t, err, errs.EINVALID)
	})
	t.Run("roll_back_to_nothing", func(t *testing.T) {
		_, err := mustPlan(t, planHistory(domain.DeploymentApplied)...).RollBack(domain.PlanID{}, "")
		wantCode(t, err, errs.EINVALID)
	})
	t.Run("applied_at_most_once", func(t *testing.T) {
		h := planHistory(domain.DeploymentPending)
		h = append(h, mustDecide(t)(mustPlan(t, h...).Apply(nil, time.Second))...)
		_, err := mustPlan(t, h...).Apply(nil, time.Second)
		wantCode(t, err, errs.ECONFLICT)
	})
	t.Run("pure", func(t *testing.T) {
		p := mustPlan(t, planHistory(domain.DeploymentPending)...)
		assertPure(t, p.Version, func() ([]events.Event, error) { return p.Apply(map[string]string{"a": "b"}, time.Second) })
		assertPure(t, p.Version, func() ([]events.Event, error) { return p.Fail("init", "x", nil) })
		if p.Status() != domain.DeploymentPending {
			t.Fatalf("decisions changed the plan to %s", p.Status())
		}
	})
}

func TestRehydrateDeploymentPlan_rejects_foreign_events(t *testing.T) {
	id, _ := domain.NewPlanID(planID)
	_, err := domain.RehydrateDeploymentPlan(id, history(domain.PlanStream(planID), planCreated, deployed))
	wantCode(t, err, errs.EINTERNAL)
}
