package provisioner_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// eggCfg is the egg web at hash with cpu and tags (apex min 1, max 2).
func eggCfg(hash string, cpu int, tags ...string) events.EggSynced {
	e := egg(1, 2, 1, hash)
	e.Kind, e.CPU, e.MemoryGB, e.Tags = "egg", cpu, 1, tags
	return e
}

func deployAsked(id, hash string) events.EggDeployAsked {
	return events.EggDeployAsked{Egg: "web", DeployID: id, ConfigHash: hash, Reason: "operator"}
}

func terminated(id string) events.Event { return events.RunnerTerminated{RunnerID: id} }

func finishes(acts []provisioner.Action) []provisioner.Action {
	return kinds(acts)[provisioner.FinishDeploy]
}

func TestDecide_deploy(t *testing.T) {
	h1, h2 := eggCfg("h1", 1, "docker"), eggCfg("h2", 2, "docker", "linux")
	for _, tc := range []struct {
		name  string
		evs   []events.Event
		check func(t *testing.T, m *provisioner.Model, acts []provisioner.Action)
	}{
		{"after_a_config_change_replaces_one_idle_runner_at_a_time_never_a_busy_one",
			concat(egg(2, 3, 1, "h1"), deployed("w1", "BUSY"), deployed("w2", "IDLE"), deployed("w3", "IDLE"), egg(2, 3, 1, "h2"), deployAsked("d1", "h2")),
			func(t *testing.T, _ *provisioner.Model, acts []provisioner.Action) {
				d := kinds(acts)[provisioner.Destroy]
				if len(d) != 1 || d[0].Runner != "w2" || len(finishes(acts)) != 0 {
					t.Fatalf("want w2 alone replaced and the deploy running, got %+v", acts)
				}
			}},
		{"a_busy_stale_runner_holds_the_deploy_until_idle",
			concat(h1, deployed("w1", "BUSY"), h2, deployAsked("d1", "h2")),
			func(t *testing.T, _ *provisioner.Model, acts []provisioner.Action) {
				if len(acts) != 0 {
					t.Fatalf("a BUSY runner replaced or the deploy finished: %+v", acts)
				}
			}},
		{"a_stale_runner_holding_a_job_is_not_replaced",
			concat(h1, deployed("w1", "IDLE"), events.RunnerJobAssigned{RunnerID: "w1", JobID: 7, RequestID: "web-job-7"}, h2, deployAsked("d1", "h2")),
			func(t *testing.T, _ *provisioner.Model, acts []provisioner.Action) {
				if len(kinds(acts)[provisioner.Destroy]) != 0 || len(finishes(acts)) != 0 {
					t.Fatalf("got %+v", acts)
				}
			}},
		{"converged_egg_finishes_the_deploy",
			concat(h1, deployed("w1", "IDLE"), h2, deployAsked("d1", "h2"), terminated("w1"), deployed("w2", "IDLE")),
			func(t *testing.T, _ *provisioner.Model, acts []provisioner.Action) {
				f := finishes(acts)
				if len(acts) != 1 || len(f) != 1 || f[0].Deploy != "d1" || f[0].Outcome != "converged" {
					t.Fatalf("want d1 converged, got %+v", acts)
				}
			}},
		{"pool_below_its_minimum_is_not_converged",
			concat(h1, h2, deployAsked("d1", "h2")),
			func(t *testing.T, _ *provisioner.Model, acts []provisioner.Action) {
				if len(kinds(acts)[provisioner.Warm]) != 1 || len(finishes(acts)) != 0 {
					t.Fatalf("got %+v", acts)
				}
			}},
		{"a_tripped_breaker_fails_the_deploy",
			concat(h1, h2, deployAsked("d1", "h2"),
				givenUp("x1", "boom"), givenUp("x2", "boom"), givenUp("x3", "boom")),
			func(t *testing.T, _ *provisioner.Model, acts []provisioner.Action) {
				f := finishes(acts)
				if len(f) != 1 || f[0].Outcome != "failed" || f[0].Reason == "" {
					t.Fatalf("got %+v", acts)
				}
			}},
		{"plans_carry_the_deploy_id_and_egg_hash_into_the_model",
			concat(h1, h2, deployAsked("d1", "h2"), events.RunnerRequested{RunnerID: "w9", Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"},
				events.PlanCreated{PlanID: "p9", RunnerID: "w9", Egg: "web", Action: "create", ConfigHash: "c", EggConfigHash: "h2", DeployID: "d1"}),
			func(t *testing.T, m *provisioner.Model, _ []provisioner.Action) {
				if d := m.DeployByID("d1"); d == nil || len(d.PlanIDs) != 1 || d.PlanIDs[0] != "p9" {
					t.Fatalf("deploy d1 = %+v", d)
				}
				if r := m.Runners["w9"]; r.EggHash != "h2" {
					t.Fatalf("runner w9 made under %q", r.EggHash)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, tc.evs...)
			tc.check(t, m, provisioner.Decide(m, provisioner.Inputs{Now: now}))
		})
	}
}

// rolledOut: w1 made under h1, replaced by w2 under h2 (the Nest's now).
func rolledOut() []events.Event {
	return concat(eggCfg("h1", 1, "docker"), deployed("w1", "IDLE"), eggCfg("h2", 2, "docker", "linux"), terminated("w1"), deployed("w2", "IDLE"))
}

func TestDecide_rollback(t *testing.T) {
	rollback := events.EggRollbackAsked{Egg: "web", DeployID: "r1", FromConfigHash: "h2", ToConfigHash: "h1", ToPlanID: "p-w1", Reason: "operator"}
	t.Run("pins_the_earlier_configuration_and_rolls_back_each_replaced_runner", func(t *testing.T) {
		m := mustModel(t, concat(rolledOut(), rollback)...)
		if e := m.Eggs["web"]; e.ConfigHash != "h1" || e.CPU != 1 || len(e.Tags) != 1 || m.PinnedTo("web") != "p-w1" {
			t.Fatalf("egg in force %+v pinned to %q, want h1 (cpu 1, tags docker) from p-w1", e, m.PinnedTo("web"))
		}
		acts := provisioner.Decide(m, provisioner.Inputs{Now: now})
		d := kinds(acts)[provisioner.Destroy]
		if len(d) != 1 || d[0].Runner != "w2" || d[0].RolledBack != "p-w2" || d[0].Restored != "p-w1" || len(finishes(acts)) != 0 {
			t.Fatalf("want w2 replaced rolling p-w2 back to p-w1, got %+v", acts)
		}
	})
	t.Run("a_busy_runner_waits", func(t *testing.T) {
		m := mustModel(t, concat(rolledOut(), events.RunnerStateChanged{RunnerID: "w2", From: "IDLE", To: "BUSY"}, rollback)...)
		if acts := provisioner.Decide(m, provisioner.Inputs{Now: now}); len(acts) != 0 {
			t.Fatalf("got %+v", acts)
		}
	})
	t.Run("converges_on_the_restored_configuration", func(t *testing.T) {
		m := mustModel(t, concat(rolledOut(), rollback, terminated("w2"), deployed("w3", "IDLE"))...)
		if m.Runners["w3"].EggHash != "h1" {
			t.Fatalf("w3 made under %q, want h1", m.Runners["w3"].EggHash)
		}
		if f := finishes(provisioner.Decide(m, provisioner.Inputs{Now: now})); len(f) != 1 || f[0].Deploy != "r1" || f[0].Outcome != "converged" {
			t.Fatalf("got %+v", f)
		}
	})
	t.Run("a_new_sync_unpins", func(t *testing.T) {
		m := mustModel(t, concat(rolledOut(), rollback, eggCfg("h3", 4, "docker"))...)
		if e := m.Eggs["web"]; e.ConfigHash != "h3" || e.CPU != 4 || m.PinnedTo("web") != "" {
			t.Fatalf("egg in force %+v, pinned to %q; want h3 unpinned", e, m.PinnedTo("web"))
		}
	})
	t.Run("a_deploy_unpins", func(t *testing.T) {
		m := mustModel(t, concat(rolledOut(), rollback, deployAsked("d2", "h2"))...)
		if e := m.Eggs["web"]; e.ConfigHash != "h2" || e.CPU != 2 || m.PinnedTo("web") != "" || m.ActiveDeploy("web").ID != "d2" {
			t.Fatalf("egg in force %+v, pinned to %q; want h2 unpinned under d2", e, m.PinnedTo("web"))
		}
	})
}

func TestRollbackTarget(t *testing.T) {
	other := events.PlanCreated{PlanID: "p-other", RunnerID: "o1", Egg: "api", Action: "create", ConfigHash: "c"}
	failed := concat(events.RunnerRequested{RunnerID: "w5", Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"},
		events.PlanCreated{PlanID: "p-failed", RunnerID: "w5", Egg: "web", Action: "create", ConfigHash: "c"},
		events.PlanFailed{PlanID: "p-failed", RunnerID: "w5", Stage: "apply", Error: "x"})
	m := mustModel(t, concat(rolledOut(), other, failed, events.PlanCreated{PlanID: "p-d", RunnerID: "w1", Egg: "web", Action: "destroy", ConfigHash: "c"}, events.PlanApplied{PlanID: "p-d"})...)
	for _, tc := range []struct {
		name, to, plan, hash, code string
	}{
		{"default_is_the_configuration_before_the_current_one", "", "p-w1", "h1", ""},
		{"an_applied_plan_of_the_egg", "p-w1", "p-w1", "h1", ""},
		{"the_current_configuration", "p-w2", "", "", errs.ECONFLICT},
		{"unknown_plan", "p-nope", "", "", errs.ENOTFOUND},
		{"another_eggs_plan", "p-other", "", "", errs.EINVALID},
		{"a_failed_plan", "p-failed", "", "", errs.EINVALID},
		{"a_destroy_plan", "p-d", "", "", errs.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, hash, err := provisioner.RollbackTarget(m, "web", tc.to)
			if errs.Code(err) != tc.code && !(tc.code == "" && err == nil) {
				t.Fatalf("err %v, want code %q", err, tc.code)
			}
			if tc.code == "" && (plan != tc.plan || hash != tc.hash) {
				t.Fatalf("got %s %s, want %s %s", plan, hash, tc.plan, tc.hash)
			}
			if tc.code != "" && errs.Message(err) == "" {
				t.Fatal("an error without a message")
			}
		})
	}
	t.Run("nothing_to_roll_back_to", func(t *testing.T) {
		m := mustModel(t, concat(eggCfg("h1", 1), deployed("w1", "IDLE"))...)
		if _, _, err := provisioner.RollbackTarget(m, "web", ""); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("err %v, want ECONFLICT", err)
		}
	})
}

func TestPlanDeploy_shows_the_difference(t *testing.T) {
	m := mustModel(t, concat(eggCfg("h1", 1, "docker"), deployed("w1", "BUSY"), eggCfg("h2", 2, "docker", "linux"))...)
	before := m.Position
	p := provisioner.PlanDeploy(m, "web", "h2")
	if m.Position != before {
		t.Fatal("the plan changed the model")
	}
	if p.FromConfigHash != "h2" || p.ToConfigHash != "h2" || p.Changes != 1 || len(p.Runners) != 1 {
		t.Fatalf("plan %+v", p)
	}
	if r := p.Runners[0]; r.RunnerID != "w1" || r.Change != commands.ChangeReplace || r.ConfigHash != "h1" || r.Reason == "" {
		t.Fatalf("runner change %+v", r)
	}
	if len(p.Diffs) != 1 || p.Diffs[0].FromConfigHash != "h1" || len(p.Diffs[0].Runners) != 1 {
		t.Fatalf("diffs %+v", p.Diffs)
	}
	want := map[string][2]string{"cpu": {"1", "2"}, "tags": {"docker", "docker,linux"}}
	got := map[string][2]string{}
	for _, f := range p.Diffs[0].Fields {
		got[f.Field] = [2]string{f.From, f.To}
	}
	if len(got) != len(want) || got["cpu"] != want["cpu"] || got["tags"] != want["tags"] {
		t.Fatalf("fields %+v, want %v", p.Diffs[0].Fields, want)
	}

	// An egg at its configuration with its pool short of the minimum: one create.
	m = mustModel(t, eggCfg("h1", 1))
	if p := provisioner.PlanDeploy(m, "web", "h1"); p.Changes != 1 || p.Runners[0].Change != commands.ChangeCreate || len(p.Diffs) != 0 {
		t.Fatalf("plan %+v", p)
	}
}
