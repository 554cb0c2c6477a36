package provisioner_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
)

func demoted(id string) events.RunnerPoolChanged {
	return events.RunnerPoolChanged{RunnerID: id, From: "apex", To: "nadir", Reason: "test"}
}

func promoted(id string) events.RunnerPoolChanged {
	return events.RunnerPoolChanged{RunnerID: id, From: "nadir", To: "apex", Reason: "test"}
}

func stopped(id string) events.RunnerStateChanged {
	return events.RunnerStateChanged{RunnerID: id, From: "IDLE", To: provisioner.StateStopped}
}

// actionsOf lists the runner's actions.
func actionsOf(acts []provisioner.Action, runner string) []provisioner.Kind {
	var out []provisioner.Kind
	for _, a := range acts {
		if a.Runner == runner {
			out = append(out, a.Kind)
		}
	}
	return out
}

func TestDecideNadir(t *testing.T) {
	type check func(t *testing.T, acts []provisioner.Action)
	only := func(runner string, want ...provisioner.Kind) check {
		return func(t *testing.T, acts []provisioner.Action) {
			t.Helper()
			got := actionsOf(acts, runner)
			if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
				t.Fatalf("runner %s: actions %v, want %v (all: %+v)", runner, got, want, acts)
			}
		}
	}
	warm := func(n int) check {
		return func(t *testing.T, acts []provisioner.Action) {
			t.Helper()
			if got := len(kinds(acts)[provisioner.Warm]); got != n {
				t.Fatalf("%d warm runners, want %d (all: %+v)", got, n, acts)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		evs    []events.Event
		busy   map[string]bool
		checks []check
	}{
		{"demoted_idle_is_stopped_once", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1")), nil,
			[]check{only("r1", provisioner.Stop)}},
		{"demoted_active_is_stopped", concat(egg(1, 2, 1, "h"), deployed("r1", "ACTIVE"), demoted("r1")), nil,
			[]check{only("r1", provisioner.Stop)}},
		{"stop_running_is_not_decided_again", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1")), map[string]bool{"r1": true},
			[]check{only("r1")}},
		{"demoted_busy_waits", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1"),
			events.RunnerStateChanged{RunnerID: "r1", From: "IDLE", To: "BUSY"}), nil,
			[]check{only("r1")}},
		{"demoted_holding_a_job_waits", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"),
			request("q1", 7), events.RunnerJobAssigned{RunnerID: "r1", JobID: 7, RequestID: "q1"}, demoted("r1")), nil,
			[]check{only("r1")}},
		{"stopped_nadir_stays", concat(egg(0, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1"), stopped("r1")), nil,
			[]check{only("r1"), warm(0)}},
		{"promoted_stopped_is_started", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1"), stopped("r1"), promoted("r1")), nil,
			[]check{only("r1", provisioner.Start), warm(0)}},
		{"promoted_before_the_stop_ran_needs_nothing", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1"), promoted("r1")), nil,
			[]check{only("r1"), warm(0)}},
		{"stopped_is_not_warm_apex", concat(egg(1, 3, 1, "h"), deployed("r1", "IDLE"), demoted("r1"), stopped("r1")), nil,
			[]check{warm(1)}},
		{"stopped_counts_against_max", concat(egg(2, 2, 1, "h"), deployed("r1", "IDLE"), deployed("r2", "IDLE"), demoted("r1"), stopped("r1")), nil,
			[]check{warm(0)}},
		{"stopped_takes_no_job", concat(egg(0, 1, 1, "h"), deployed("r1", "IDLE"), demoted("r1"), stopped("r1"), request("q1", 9)), nil,
			[]check{func(t *testing.T, acts []provisioner.Action) {
				k := kinds(acts)
				if len(k[provisioner.Assign]) != 0 || len(k[provisioner.Provision]) != 0 || len(k[provisioner.Queue]) != 1 {
					t.Fatalf("a stopped runner at max_count: want the job queued, got %+v", acts)
				}
			}}},
		{"demoted_not_yet_stopped_takes_no_job", concat(egg(0, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1"), request("q1", 9)), nil,
			[]check{func(t *testing.T, acts []provisioner.Action) {
				if k := kinds(acts); len(k[provisioner.Assign]) != 0 || len(k[provisioner.Provision]) != 1 {
					t.Fatalf("want a new runner for the job, not the nadir one: %+v", acts)
				}
			}}},
		{"removed_egg_destroys_stopped", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1"), stopped("r1"), events.EggRemoved{Name: "web"}), nil,
			[]check{only("r1", provisioner.Destroy)}},
		{"stale_stopped_is_not_replaced_nor_started", concat(egg(0, 2, 1, "h1"), deployed("r1", "IDLE"), demoted("r1"), stopped("r1"), egg(0, 2, 1, "h2")), nil,
			[]check{only("r1"), warm(0)}},
		{"stale_nadir_not_yet_stopped_is_stopped_not_replaced", concat(egg(0, 2, 1, "h1"), deployed("r1", "IDLE"), demoted("r1"), egg(0, 2, 1, "h2")), nil,
			[]check{only("r1", provisioner.Stop)}},
		{"failed_stop_backs_off", concat(egg(1, 2, 1, "h"), deployed("r1", "IDLE"), demoted("r1"),
			events.PlanCreated{PlanID: "p-stop", RunnerID: "r1", Egg: "web", Action: "update", ConfigHash: "c"},
			events.PlanFailed{PlanID: "p-stop", Stage: "apply", Error: "boom"}), nil,
			[]check{only("r1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acts := provisioner.Decide(mustModel(t, tc.evs...), provisioner.Inputs{Now: now, Busy: tc.busy})
			for _, c := range tc.checks {
				c(t, acts)
			}
		})
	}
}
