package provisioner_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// mustModel folds evs (one position each) into a model.
func mustModel(t *testing.T, evs ...events.Event) *provisioner.Model {
	t.Helper()
	m := provisioner.NewModel()
	for i, ev := range evs {
		m.Apply(events.Envelope{Metadata: events.Metadata{OccurredAt: now}, Position: events.Position{GlobalPosition: uint64(i + 1)}, Payload: ev})
	}
	return m
}

func egg(minApex, maxApex, concurrent int, hash string) events.EggSynced {
	return events.EggSynced{Name: "web", RunnerType: "apex", Provider: "local", Region: "local", MinApex: minApex, MaxApex: maxApex, Concurrent: concurrent, ConfigHash: hash}
}

func request(id string, job int64) events.RunnerRequested {
	return events.RunnerRequested{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "local", Region: "local", JobID: job}
}

// deployed is a runner requested, planned (under the egg hash in force), applied, deployed and in state.
func deployed(id, state string) []events.Event {
	evs := []events.Event{
		events.RunnerRequested{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"},
		events.PlanCreated{PlanID: "p-" + id, RunnerID: id, Egg: "web", Action: "create", ConfigHash: "c"},
		events.PlanApplied{PlanID: "p-" + id, RunnerID: id},
		events.RunnerDeployed{RunnerID: id, PlanID: "p-" + id, InstanceID: "i"},
	}
	if state != provisioner.StateActive {
		evs = append(evs, events.RunnerStateChanged{RunnerID: id, From: "ACTIVE", To: state})
	}
	return evs
}

func concat(parts ...any) []events.Event {
	var out []events.Event
	for _, p := range parts {
		switch v := p.(type) {
		case events.Event:
			out = append(out, v)
		case []events.Event:
			out = append(out, v...)
		}
	}
	return out
}

func kinds(acts []provisioner.Action) map[provisioner.Kind][]provisioner.Action {
	out := map[provisioner.Kind][]provisioner.Action{}
	for _, a := range acts {
		out[a.Kind] = append(out[a.Kind], a)
	}
	return out
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name  string
		evs   []events.Event
		busy  map[string]bool
		check func(t *testing.T, k map[provisioner.Kind][]provisioner.Action)
	}{
		{"warm_pool_fills_min_count", concat(egg(2, 3, 1, "h1")), nil, func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
			if len(k[provisioner.Warm]) != 2 {
				t.Fatalf("want 2 warm, got %+v", k)
			}
		}},
		{"pool_runner_is_provisioned", concat(egg(1, 3, 1, "h1"), events.RunnerRequested{RunnerID: "w1", Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Provision]) != 1 || k[provisioner.Provision][0].Runner != "w1" || len(k[provisioner.Warm]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"assign_to_idle_runner", concat(egg(1, 2, 1, "h1"), deployed("w1", "IDLE"), request("web-job-1", 1)), nil, func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
			a := k[provisioner.Assign]
			if len(a) != 1 || a[0].Runner != "w1" || a[0].Request != "web-job-1" || a[0].JobID != 1 || len(k[provisioner.Provision]) != 0 {
				t.Fatalf("got %+v", k)
			}
		}},
		{"active_runner_never_heard_takes_no_job", concat(egg(1, 2, 1, "h1"), deployed("w1", "ACTIVE"), request("web-job-1", 1)), nil, func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
			if len(k[provisioner.Assign]) != 0 || len(k[provisioner.Provision]) != 1 || k[provisioner.Provision][0].Runner != "web-job-1" {
				t.Fatalf("got %+v", k)
			}
		}},
		{"concurrent_bounds_one_runner", concat(egg(1, 1, 2, "h1"), deployed("w1", "IDLE"), request("web-job-1", 1), request("web-job-2", 2), request("web-job-3", 3), request("web-job-4", 4)), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Assign]) != 2 || len(k[provisioner.Queue]) != 2 || len(k[provisioner.Provision]) != 0 {
					t.Fatalf("four jobs on a runner of concurrent 2 at max 1: got %+v", k)
				}
				if k[provisioner.Queue][0].Reason == "" {
					t.Fatal("queued without a reason")
				}
			}},
		{"provision_until_max_then_queue", concat(egg(1, 2, 1, "h1"), deployed("w1", "BUSY"), events.RunnerJobAssigned{RunnerID: "w1", JobID: 9, RequestID: "web-job-9"},
			request("web-job-1", 1), request("web-job-2", 2), request("web-job-3", 3)), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Provision]) != 1 || k[provisioner.Provision][0].Runner != "web-job-1" || len(k[provisioner.Queue]) != 2 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"queued_request_served_when_a_job_finishes", concat(egg(1, 1, 1, "h1"), deployed("w1", "IDLE"), events.RunnerJobAssigned{RunnerID: "w1", JobID: 9, RequestID: "web-job-9"},
			request("web-job-1", 1), events.RunnerQueued{RunnerID: "web-job-1", JobID: 1, Reason: "at max"},
			events.WebhookReceived{EventKind: "build", Egg: "web", JobID: 9, JobStatus: "success"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if a := k[provisioner.Assign]; len(a) != 1 || a[0].Runner != "w1" || a[0].Request != "web-job-1" {
					t.Fatalf("got %+v", k)
				}
			}},
		{"served_request_ends", concat(egg(1, 2, 1, "h1"), deployed("w1", "IDLE"), request("web-job-1", 1), events.RunnerJobAssigned{RunnerID: "w1", JobID: 1, RequestID: "web-job-1"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if d := k[provisioner.Destroy]; len(d) != 1 || d[0].Runner != "web-job-1" || d[0].ServedBy != "w1" || len(k[provisioner.Assign]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"request_being_provisioned_counts_against_max", concat(egg(1, 2, 1, "h1"), deployed("w1", "ACTIVE"), request("web-job-1", 1), request("web-job-2", 2)),
			map[string]bool{"web-job-1": true}, func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Provision]) != 0 || len(k[provisioner.Queue]) != 1 || k[provisioner.Queue][0].Runner != "web-job-2" {
					t.Fatalf("got %+v", k)
				}
			}},
		{"changed_config_replaces_one_idle_runner_at_a_time", concat(egg(2, 3, 1, "h1"), deployed("w1", "IDLE"), deployed("w2", "IDLE"), deployed("w3", "BUSY"), egg(2, 3, 1, "h2")), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				d := k[provisioner.Destroy]
				if len(d) != 1 || d[0].Runner != "w1" {
					t.Fatalf("want w1 replaced alone, got %+v", k)
				}
			}},
		{"replacement_waits_for_the_one_in_progress", concat(egg(2, 3, 1, "h1"), deployed("w1", "IDLE"), deployed("w2", "IDLE"), egg(2, 3, 1, "h2"),
			events.RunnerTerminationAsked{RunnerID: "w1", Reason: "replaced: the egg's configuration changed"}), map[string]bool{"w1": true},
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Destroy]) != 0 {
					t.Fatalf("two replacements at once: %+v", k)
				}
			}},
		{"removed_egg_drains_but_never_destroys_busy", concat(egg(1, 3, 1, "h1"), deployed("w1", "IDLE"), deployed("w2", "BUSY"), request("web-job-1", 1),
			events.RunnerQueued{RunnerID: "web-job-1", JobID: 1, Reason: "at max"}, events.EggRemoved{Name: "web"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				got := map[string]bool{}
				for _, a := range k[provisioner.Destroy] {
					got[a.Runner] = true
					if a.ServedBy != "" {
						t.Errorf("%s destroyed as served by %s: its egg was removed", a.Runner, a.ServedBy)
					}
				}
				if !got["w1"] || !got["web-job-1"] || got["w2"] || len(k[provisioner.Warm]) != 0 || len(k[provisioner.Provision]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"terminate_waits_for_busy", concat(egg(0, 3, 1, "h1"), deployed("w1", "BUSY"), events.RunnerTerminationAsked{RunnerID: "w1", Reason: "operator"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Destroy]) != 0 {
					t.Fatalf("a BUSY runner destroyed: %+v", k)
				}
			}},
		{"terminate_even_if_busy_destroys_a_busy_runner", concat(egg(0, 3, 1, "h1"), deployed("w1", "BUSY"),
			events.RunnerTerminationAsked{RunnerID: "w1", Reason: "uglyfox: rule \"kill-stuck\"", EvenIfBusy: true}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Destroy]) != 1 || k[provisioner.Destroy][0].Runner != "w1" {
					t.Fatalf("a runner an explicit rule terminates is not destroyed while BUSY: %+v", k)
				}
			}},
		{"serverless_runner_goes_when_its_job_finishes", concat(
			events.EggSynced{Name: "web", RunnerType: "serverless", Provider: "local", Region: "local", ConfigHash: "h1"},
			events.RunnerRequested{RunnerID: "web-job-5", Egg: "web", RunnerType: "serverless", Provider: "local", Region: "local", JobID: 5},
			events.RunnerJobAssigned{RunnerID: "web-job-5", JobID: 5, RequestID: "web-job-5"},
			events.PlanCreated{PlanID: "p1", RunnerID: "web-job-5", Egg: "web", Action: "create", ConfigHash: "c"}, events.PlanApplied{PlanID: "p1", RunnerID: "web-job-5"},
			events.RunnerDeployed{RunnerID: "web-job-5", PlanID: "p1", InstanceID: "i"},
			events.WebhookReceived{EventKind: "build", Egg: "web", JobID: 5, JobStatus: "failed"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if d := k[provisioner.Destroy]; len(d) != 1 || d[0].Runner != "web-job-5" {
					t.Fatalf("got %+v", k)
				}
			}},
		{"failures_back_off_then_give_up", concat(egg(1, 1, 1, "h1"), request("web-job-1", 1), events.RunnerJobAssigned{RunnerID: "web-job-1", JobID: 1, RequestID: "web-job-1"},
			events.PlanCreated{PlanID: "p1", RunnerID: "web-job-1", Egg: "web", Action: "create", ConfigHash: "c"}, events.PlanFailed{PlanID: "p1", RunnerID: "web-job-1", Stage: "apply", Error: "x"},
			events.PlanCreated{PlanID: "p2", RunnerID: "web-job-1", Egg: "web", Action: "create", ConfigHash: "c"}, events.PlanFailed{PlanID: "p2", RunnerID: "web-job-1", Stage: "apply", Error: "x"},
			events.PlanCreated{PlanID: "p3", RunnerID: "web-job-1", Egg: "web", Action: "create", ConfigHash: "c"}, events.PlanFailed{PlanID: "p3", RunnerID: "web-job-1", Stage: "apply", Error: "x"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if g := k[provisioner.GiveUp]; len(g) != 1 || g[0].Runner != "web-job-1" || len(k[provisioner.Provision]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"plan_without_outcome_is_resumed", concat(egg(1, 1, 1, "h1"), events.RunnerRequested{RunnerID: "w1", Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"},
			events.PlanCreated{PlanID: "p1", RunnerID: "w1", Egg: "web", Action: "create", ConfigHash: "c"}), nil,
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if r := k[provisioner.Resume]; len(r) != 1 || r[0].Runner != "w1" || len(k[provisioner.Provision]) != 0 || len(k[provisioner.Warm]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, tc.evs...)
			tc.check(t, kinds(provisioner.Decide(m, provisioner.Inputs{Now: now, Busy: tc.busy})))
		})
	}
}

func TestDecide_without_tofu_queues_with_the_reason(t *testing.T) {
	m := mustModel(t, egg(0, 2, 1, "h1"), request("web-job-1", 1))
	acts := provisioner.Decide(m, provisioner.Inputs{Now: now, Unavailable: func(string) string { return "no tofu binary" }})
	if len(acts) != 1 || acts[0].Kind != provisioner.Queue || acts[0].Reason != "no tofu binary" {
		t.Fatalf("got %+v", acts)
	}
}

// givenUp is a pool runner whose three create plans failed with err, whose
// leftovers were destroyed and which the provisioner marked FAILED.
func givenUp(id, err string) []events.Event {
	evs := []events.Event{events.RunnerRequested{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"}}
	for i := range 3 {
		plan := fmt.Sprintf("p-%s-%d", id, i)
		evs = append(evs, events.PlanCreated{PlanID: plan, RunnerID: id, Egg: "web", Action: "create", ConfigHash: "c"},
			events.PlanFailed{PlanID: plan, RunnerID: id, Stage: "apply", Error: err})
	}
	return append(evs, events.PlanCreated{PlanID: "d-" + id, RunnerID: id, Egg: "web", Action: "destroy", ConfigHash: "c"},
		events.PlanApplied{PlanID: "d-" + id, RunnerID: id},
		events.RunnerStateChanged{RunnerID: id, From: "PROVISIONING", To: "FAILED", Reason: "3 failed plans; the last: apply: " + err})
}

func TestDecide_breaker(t *testing.T) {
	const tripped = "egg web: its last 3 runners failed to provision (last error, of runner w3: apply: runner exited at once); fix the egg and sync a new configuration, or ask a retry (POST /eggs/web/retry)"
	for _, tc := range []struct {
		name  string
		evs   []events.Event
		check func(t *testing.T, k map[provisioner.Kind][]provisioner.Action)
	}{
		{"two_failed_runners_still_warm_a_third", concat(egg(1, 2, 1, "h1"), givenUp("w1", "runner exited at once"), givenUp("w2", "runner exited at once")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Warm]) != 1 {
					t.Fatalf("want 1 warm, got %+v", k)
				}
			}},
		{"trips_after_three_failed_runners", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "runner exited at once")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k) != 0 {
					t.Fatalf("a tripped egg with nothing pending: want no action, got %+v", k)
				}
			}},
		{"demand_is_queued_with_the_reason", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "runner exited at once"), request("web-job-1", 1)),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				q := k[provisioner.Queue]
				if len(q) != 1 || q[0].Request != "web-job-1" || q[0].Reason != tripped || len(k[provisioner.Provision]) != 0 || len(k[provisioner.Warm]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"queued_once_for_the_reason", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "runner exited at once"), request("web-job-1", 1),
			events.RunnerQueued{RunnerID: "web-job-1", JobID: 1, Reason: tripped}),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k) != 0 {
					t.Fatalf("queued again: %+v", k)
				}
			}},
		{"pending_runner_is_queued_not_planned", concat(egg(2, 3, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"),
			events.RunnerRequested{RunnerID: "w4", Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"}, givenUp("w3", "runner exited at once")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				q := k[provisioner.Queue]
				if len(q) != 1 || q[0].Runner != "w4" || q[0].Reason != tripped || len(k[provisioner.Provision]) != 0 || len(k[provisioner.Warm]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"healthy_runner_still_takes_jobs", concat(egg(2, 3, 1, "h1"), deployed("w0", "IDLE"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "runner exited at once"),
			request("web-job-1", 1), request("web-job-2", 2)),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				a, q := k[provisioner.Assign], k[provisioner.Queue]
				if len(a) != 1 || a[0].Runner != "w0" || a[0].Request != "web-job-1" || len(q) != 1 || q[0].Request != "web-job-2" || q[0].Reason != tripped ||
					len(k[provisioner.Provision]) != 0 || len(k[provisioner.Warm]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"new_config_hash_resets", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"), request("web-job-1", 1),
			events.RunnerQueued{RunnerID: "web-job-1", JobID: 1, Reason: "egg web: its last 3 runners failed"}, egg(1, 2, 1, "h2")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if p := k[provisioner.Provision]; len(p) != 1 || p[0].Runner != "web-job-1" || len(k[provisioner.Queue]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"same_config_hash_resynced_stays_tripped", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"), egg(1, 2, 1, "h1")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"failures_under_an_older_hash_do_not_count", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), egg(1, 2, 1, "h2"), givenUp("w3", "z")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Warm]) != 1 {
					t.Fatalf("want 1 warm, got %+v", k)
				}
			}},
		{"successful_deploy_resets", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"), deployed("w4", "ACTIVE"), request("web-job-1", 1)),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if p := k[provisioner.Provision]; len(p) != 1 || p[0].Runner != "web-job-1" || len(k[provisioner.Queue]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"deploy_between_failures_breaks_the_run", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), deployed("w4", "ACTIVE"),
			events.RunnerTerminated{RunnerID: "w4"}, givenUp("w3", "z")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Warm]) != 1 {
					t.Fatalf("want 1 warm, got %+v", k)
				}
			}},
		{"retry_asked_provisions_again", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"), request("web-job-1", 1),
			events.RunnerQueued{RunnerID: "web-job-1", JobID: 1, Reason: tripped}, events.EggRetryAsked{Egg: "web", Reason: "operator"}),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if p := k[provisioner.Provision]; len(p) != 1 || p[0].Runner != "web-job-1" || len(k[provisioner.Queue]) != 0 || len(k[provisioner.Warm]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"retry_asked_warms_the_pool_again", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"), events.EggRetryAsked{Egg: "web", Reason: "operator"}),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Warm]) != 1 {
					t.Fatalf("want 1 warm, got %+v", k)
				}
			}},
		{"retried_egg_trips_again_after_three_more", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"), events.EggRetryAsked{Egg: "web", Reason: "operator"},
			givenUp("w5", "x"), givenUp("w6", "y"), givenUp("w7", "z")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
		{"readded_egg_resets", concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"), events.EggRemoved{Name: "web"}, egg(1, 2, 1, "h1")),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if len(k[provisioner.Warm]) != 1 {
					t.Fatalf("want 1 warm, got %+v", k)
				}
			}},
		{"serverless_request_is_queued", concat(events.EggSynced{Name: "web", RunnerType: "serverless", Provider: "local", Region: "local", ConfigHash: "h1"},
			givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"),
			events.RunnerRequested{RunnerID: "web-job-5", Egg: "web", RunnerType: "serverless", Provider: "local", Region: "local", JobID: 5}),
			func(t *testing.T, k map[provisioner.Kind][]provisioner.Action) {
				if q := k[provisioner.Queue]; len(q) != 1 || q[0].Request != "web-job-5" || len(k[provisioner.Provision]) != 0 {
					t.Fatalf("got %+v", k)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, tc.evs...)
			tc.check(t, kinds(provisioner.Decide(m, provisioner.Inputs{Now: now})))
		})
	}
}

func TestDecide_breaker_after_is_a_policy(t *testing.T) {
	m := mustModel(t, concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "z"))...)
	if k := kinds(provisioner.Decide(m, provisioner.Inputs{Now: now, Policy: provisioner.Policy{BreakAfter: 4}})); len(k[provisioner.Warm]) != 1 {
		t.Fatalf("BreakAfter 4, 3 failed runners: want 1 warm, got %+v", k)
	}
	m = mustModel(t, concat(egg(1, 2, 1, "h1"), givenUp("w1", "x"))...)
	if k := kinds(provisioner.Decide(m, provisioner.Inputs{Now: now, Policy: provisioner.Policy{BreakAfter: 1}})); len(k) != 0 {
		t.Fatalf("BreakAfter 1, 1 failed runner: want nothing, got %+v", k)
	}
}

// TestDecide_breaker_survives_a_restart: the breaker is derived from the
// log alone, so a model folded at once (a restart) decides as the model
// folded event by event with a decision after each (the live loop).
func TestDecide_breaker_survives_a_restart(t *testing.T) {
	evs := concat(egg(2, 3, 1, "h1"), deployed("w0", "IDLE"), givenUp("w1", "x"), givenUp("w2", "y"), givenUp("w3", "runner exited at once"),
		request("web-job-1", 1), request("web-job-2", 2))
	live := provisioner.NewModel()
	for i, ev := range evs {
		live.Apply(events.Envelope{Metadata: events.Metadata{OccurredAt: now}, Position: events.Position{GlobalPosition: uint64(i + 1)}, Payload: ev})
		provisioner.Decide(live, provisioner.Inputs{Now: now})
	}
	restarted := mustModel(t, evs...)
	want, got := provisioner.Decide(live, provisioner.Inputs{Now: now}), provisioner.Decide(restarted, provisioner.Inputs{Now: now})
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("live model decides %+v, restarted %+v", want, got)
	}
	if e := restarted.Eggs["web"]; e.FailedRunners != 3 || e.LastRunnerError != "apply: runner exited at once" {
		t.Fatalf("restarted egg: %d failed runners, last error %q", e.FailedRunners, e.LastRunnerError)
	}
	if k := kinds(got); len(k[provisioner.Assign]) != 1 || len(k[provisioner.Queue]) != 1 || len(k[provisioner.Warm]) != 0 {
		t.Fatalf("got %+v", k)
	}
}

func TestDecide_breaker_reason_quotes_a_bounded_error(t *testing.T) {
	for _, tc := range []struct {
		name, err, want string
	}{
		{"long_line_is_clipped", strings.Repeat("é", 400), "(last error, of runner w3: apply: " + strings.Repeat("é", 96) + " ...); fix the egg"},
		{"first_line_only", "tofu apply in /w/w3: exit status 1\n\nError: local-exec provisioner error\n...", "(last error, of runner w3: apply: tofu apply in /w/w3: exit status 1 ...); fix the egg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, concat(egg(1, 2, 1, "h1"), givenUp("w1", tc.err), givenUp("w2", tc.err), givenUp("w3", tc.err), request("web-job-1", 1))...)
			acts := provisioner.Decide(m, provisioner.Inputs{Now: now})
			if len(acts) != 1 || acts[0].Kind != provisioner.Queue || !utf8.ValidString(acts[0].Reason) || !strings.Contains(acts[0].Reason, tc.want) {
				t.Fatalf("want a queue whose reason has %q, got %+v", tc.want, acts)
			}
		})
	}
}
