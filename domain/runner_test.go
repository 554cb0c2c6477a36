package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

const runnerID = "r-01"

var (
	requested = events.RunnerRequested{RunnerID: runnerID, Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", Tags: []string{"docker"}, Reason: "pending job"}
	deployed  = events.RunnerDeployed{RunnerID: runnerID, Egg: "web", PlanID: "p-01", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", InstanceID: "fhm1"}
)

func changed(from, to domain.RunnerState) events.RunnerStateChanged {
	return events.RunnerStateChanged{RunnerID: runnerID, From: from.String(), To: to.String()}
}

// runnerHistory returns events that leave an APEX runner in state.
func runnerHistory(state domain.RunnerState) []events.Event {
	switch state {
	case domain.StateProvisioning:
		return []events.Event{requested}
	case domain.StateActive:
		return []events.Event{requested, deployed}
	case domain.StateIdle, domain.StateBusy:
		return []events.Event{requested, deployed, changed(domain.StateActive, state)}
	case domain.StateFailed:
		return []events.Event{requested, changed(domain.StateProvisioning, domain.StateFailed)}
	case domain.StateTerminated:
		return []events.Event{requested, events.RunnerTerminated{RunnerID: runnerID, Reason: "test"}}
	}
	panic("no history for " + state.String())
}

func mustRunner(t *testing.T, evs ...events.Event) *domain.Runner {
	t.Helper()
	id, err := domain.NewRunnerID(runnerID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := domain.RehydrateRunner(id, history(domain.RunnerStream(runnerID), evs...))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runnerIn(t *testing.T, state domain.RunnerState) *domain.Runner {
	t.Helper()
	r := mustRunner(t, runnerHistory(state)...)
	if r.State() != state {
		t.Fatalf("built runner is %s, want %s", r.State(), state)
	}
	return r
}

var allStates = []domain.RunnerState{
	domain.StateProvisioning, domain.StateActive, domain.StateIdle,
	domain.StateBusy, domain.StateFailed, domain.StateTerminated,
}

func TestRunner_ChangeState_every_pair(t *testing.T) {
	// The state machine, written out independently of the domain's table.
	legal := map[[2]domain.RunnerState]bool{
		{domain.StateProvisioning, domain.StateFailed}: true,
		{domain.StateActive, domain.StateIdle}:         true,
		{domain.StateIdle, domain.StateActive}:         true,
		{domain.StateActive, domain.StateBusy}:         true,
		{domain.StateIdle, domain.StateBusy}:           true,
		{domain.StateBusy, domain.StateActive}:         true,
		{domain.StateBusy, domain.StateIdle}:           true,
		{domain.StateActive, domain.StateFailed}:       true,
		{domain.StateIdle, domain.StateFailed}:         true,
		{domain.StateBusy, domain.StateFailed}:         true,
		{domain.StateFailed, domain.StateProvisioning}: true,
	}
	for _, from := range allStates {
		for _, to := range allStates {
			t.Run(from.String()+"_to_"+to.String(), func(t *testing.T) {
				r := runnerIn(t, from)
				evs, err := r.ChangeState(to, "test")
				if !legal[[2]domain.RunnerState{from, to}] {
					wantCode(t, err, errs.ECONFLICT)
					if len(evs) != 0 {
						t.Fatalf("illegal change emitted %v", evs)
					}
					return
				}
				wantEvents(t, mustDecide(t)(evs, err), events.RunnerStateChanged{RunnerID: runnerID, From: from.String(), To: to.String(), Reason: "test"})
				if got := mustRunner(t, append(runnerHistory(from), evs...)...).State(); got != to {
					t.Fatalf("after the change the runner is %s, want %s", got, to)
				}
			})
		}
	}
}

func TestRunner_ChangeState_rejects_empty_target(t *testing.T) {
	_, err := runnerIn(t, domain.StateActive).ChangeState(domain.RunnerState{}, "")
	wantCode(t, err, errs.EINVALID)
}

func TestRunner_Request(t *testing.T) {
	with := func(f func(*events.RunnerRequested)) events.RunnerRequested {
		r := requested
		f(&r)
		return r
	}
	tests := []struct {
		name    string
		history []events.Event
		req     events.RunnerRequested
		code    string
	}{
		{"new_runner", nil, requested, ""},
		{"id_filled_in", nil, with(func(r *events.RunnerRequested) { r.RunnerID = "" }), ""},
		{"serverless", nil, with(func(r *events.RunnerRequested) { r.RunnerType = "serverless"; r.Provider = "aws" }), ""},
		{"already_requested", []events.Event{requested}, requested, errs.ECONFLICT},
		{"terminated", runnerHistory(domain.StateTerminated), requested, errs.ECONFLICT},
		{"other_id", nil, with(func(r *events.RunnerRequested) { r.RunnerID = "r-02" }), errs.EINVALID},
		{"bad_egg", nil, with(func(r *events.RunnerRequested) { r.Egg = "Web" }), errs.EINVALID},
		{"bad_type", nil, with(func(r *events.RunnerRequested) { r.RunnerType = "VM" }), errs.EINVALID},
		{"bad_provider", nil, with(func(r *events.RunnerRequested) { r.Provider = "gcp" }), errs.EINVALID},
		{"no_region", nil, with(func(r *events.RunnerRequested) { r.Region = "" }), errs.EINVALID},
		{"negative_job", nil, with(func(r *events.RunnerRequested) { r.JobID = -1 }), errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunner(t, tc.history...)
			evs, err := r.Request(tc.req)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			want := tc.req
			want.RunnerID = runnerID
			wantEvents(t, evs, want)
			after := mustRunner(t, evs...)
			if after.State() != domain.StateProvisioning || after.Egg().String() != "web" || after.Region() != want.Region || after.Version() != 1 {
				t.Fatalf("after request: state %s egg %s region %s version %d", after.State(), after.Egg(), after.Region(), after.Version())
			}
		})
	}
}

func TestRunner_Deploy(t *testing.T) {
	with := func(f func(*events.RunnerDeployed)) events.RunnerDeployed {
		d := events.RunnerDeployed{PlanID: "p-01", InstanceID: "fhm1", Address: "10.0.0.5"}
		f(&d)
		return d
	}
	tests := []struct {
		name    string
		history []events.Event
		in      events.RunnerDeployed
		code    string
	}{
		{"from_provisioning", runnerHistory(domain.StateProvisioning), with(func(*events.RunnerDeployed) {}), ""},
		{"redeploy_after_failure", append(runnerHistory(domain.StateFailed), changed(domain.StateFailed, domain.StateProvisioning)), with(func(*events.RunnerDeployed) {}), ""},
		{"matching_fields", runnerHistory(domain.StateProvisioning), with(func(d *events.RunnerDeployed) { d.Egg, d.Region = "web", "ru-central1-a" }), ""},
		{"unknown_runner", nil, with(func(*events.RunnerDeployed) {}), errs.ENOTFOUND},
		{"already_active", runnerHistory(domain.StateActive), with(func(*events.RunnerDeployed) {}), errs.ECONFLICT},
		{"failed", runnerHistory(domain.StateFailed), with(func(*events.RunnerDeployed) {}), errs.ECONFLICT},
		{"terminated", runnerHistory(domain.StateTerminated), with(func(*events.RunnerDeployed) {}), errs.ECONFLICT},
		{"bad_plan_id", runnerHistory(domain.StateProvisioning), with(func(d *events.RunnerDeployed) { d.PlanID = "" }), errs.EINVALID},
		{"no_instance", runnerHistory(domain.StateProvisioning), with(func(d *events.RunnerDeployed) { d.InstanceID = "" }), errs.EINVALID},
		{"other_egg", runnerHistory(domain.StateProvisioning), with(func(d *events.RunnerDeployed) { d.Egg = "api" }), errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunner(t, tc.history...)
			evs, err := r.Deploy(tc.in)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			want := tc.in
			want.RunnerID, want.Egg, want.RunnerType, want.Provider, want.Region = runnerID, "web", "apex", "yandex", "ru-central1-a"
			wantEvents(t, evs, want)
			after := mustRunner(t, append(tc.history, evs...)...)
			if after.State() != domain.StateActive || after.PlanID() != "p-01" || after.InstanceID() != "fhm1" {
				t.Fatalf("after deploy: %s plan %q instance %q", after.State(), after.PlanID(), after.InstanceID())
			}
		})
	}
}

func TestRunner_MissHeartbeat(t *testing.T) {
	lastSeen := t0.Add(-5 * time.Minute)
	for _, state := range allStates {
		t.Run(state.String(), func(t *testing.T) {
			evs, err := runnerIn(t, state).MissHeartbeat(lastSeen, 3*time.Minute)
			switch {
			case state == domain.StateActive || state == domain.StateIdle || state == domain.StateBusy:
				wantEvents(t, mustDecide(t)(evs, err), events.RunnerHeartbeatMissed{RunnerID: runnerID, LastSeenAt: lastSeen, ThresholdMS: 180000, Missed: 1})
			default:
				wantCode(t, err, errs.ECONFLICT)
			}
		})
	}
	t.Run("counts_consecutive_misses_and_resets_on_live_state", func(t *testing.T) {
		h := runnerHistory(domain.StateActive)
		for want := 1; want <= 3; want++ {
			evs := mustDecide(t)(mustRunner(t, h...).MissHeartbeat(lastSeen, time.Minute))
			if got := evs[0].(events.RunnerHeartbeatMissed).Missed; got != want {
				t.Fatalf("miss %d reported %d", want, got)
			}
			h = append(h, evs...)
		}
		if got := mustRunner(t, h...).MissedHeartbeats(); got != 3 {
			t.Fatalf("missed %d, want 3", got)
		}
		h = append(h, changed(domain.StateActive, domain.StateIdle))
		if got := mustRunner(t, h...).MissedHeartbeats(); got != 0 {
			t.Fatalf("after a move to IDLE missed is %d, want 0", got)
		}
	})
	t.Run("rejects_non_positive_threshold", func(t *testing.T) {
		_, err := runnerIn(t, domain.StateActive).MissHeartbeat(lastSeen, 0)
		wantCode(t, err, errs.EINVALID)
	})
	t.Run("unknown_runner", func(t *testing.T) {
		_, err := mustRunner(t).MissHeartbeat(lastSeen, time.Minute)
		wantCode(t, err, errs.ENOTFOUND)
	})
}

func TestRunner_ChangePool(t *testing.T) {
	serverless := events.RunnerRequested{RunnerID: runnerID, Egg: "web", RunnerType: "serverless", Provider: "aws", Region: "eu-central-1"}
	nadirActive := append(runnerHistory(domain.StateActive), events.RunnerPoolChanged{RunnerID: runnerID, From: "apex", To: "nadir"})
	tests := []struct {
		name    string
		history []events.Event
		to      domain.RunnerType
		code    string
	}{
		{"apex_active_to_nadir", runnerHistory(domain.StateActive), domain.RunnerNadir, ""},
		{"apex_idle_to_nadir", runnerHistory(domain.StateIdle), domain.RunnerNadir, ""},
		{"apex_failed_to_nadir", runnerHistory(domain.StateFailed), domain.RunnerNadir, ""},
		{"nadir_to_apex", nadirActive, domain.RunnerApex, ""},
		{"same_pool", runnerHistory(domain.StateActive), domain.RunnerApex, errs.ECONFLICT},
		{"busy", runnerHistory(domain.StateBusy), domain.RunnerNadir, errs.ECONFLICT},
		{"provisioning", runnerHistory(domain.StateProvisioning), domain.RunnerNadir, errs.ECONFLICT},
		{"terminated", runnerHistory(domain.StateTerminated), domain.RunnerNadir, errs.ECONFLICT},
		{"serverless_has_no_pool", []events.Event{serverless, deployed}, domain.RunnerApex, errs.ECONFLICT},
		{"to_serverless", runnerHistory(domain.StateActive), domain.RunnerServerless, errs.EINVALID},
		{"to_nothing", runnerHistory(domain.StateActive), domain.RunnerType{}, errs.EINVALID},
		{"unknown_runner", nil, domain.RunnerNadir, errs.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunner(t, tc.history...)
			evs, err := r.ChangePool(tc.to, "balance")
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			wantEvents(t, evs, events.RunnerPoolChanged{RunnerID: runnerID, From: r.Type().String(), To: tc.to.String(), Reason: "balance"})
			if got := mustRunner(t, append(tc.history, evs...)...).Type(); got != tc.to {
				t.Fatalf("after the change the runner is %s, want %s", got, tc.to)
			}
		})
	}
}

func TestRunner_Terminate(t *testing.T) {
	for _, state := range allStates {
		t.Run(state.String(), func(t *testing.T) {
			h := runnerHistory(state)
			evs, err := mustRunner(t, h...).Terminate("policy")
			if state == domain.StateTerminated {
				wantCode(t, err, errs.ECONFLICT)
				return
			}
			instance := ""
			if state != domain.StateProvisioning && state != domain.StateFailed {
				instance = "fhm1"
			}
			wantEvents(t, mustDecide(t)(evs, err), events.RunnerTerminated{RunnerID: runnerID, Reason: "policy", InstanceID: instance})
			if got := mustRunner(t, append(h, evs...)...).State(); got != domain.StateTerminated {
				t.Fatalf("after terminate the runner is %s", got)
			}
		})
	}
	t.Run("unknown_runner", func(t *testing.T) {
		_, err := mustRunner(t).Terminate("x")
		wantCode(t, err, errs.ENOTFOUND)
	})
}

func TestRunner_EndServed(t *testing.T) {
	pool, err := domain.NewRunnerID("web-pool-1")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := domain.NewRunnerID(runnerID)
	queued := events.RunnerQueued{RunnerID: runnerID, JobID: 7, Reason: "at max"}
	for _, tc := range []struct {
		name    string
		history []events.Event
		by      domain.RunnerID
		code    string // "" = ends served
	}{
		{"request", runnerHistory(domain.StateProvisioning), pool, ""},
		{"queued_request", append(runnerHistory(domain.StateProvisioning), queued), pool, ""},
		{"by_itself", runnerHistory(domain.StateProvisioning), self, errs.EINVALID},
		{"by_no_runner", runnerHistory(domain.StateProvisioning), domain.RunnerID{}, errs.EINVALID},
		{"deployed_runner", runnerHistory(domain.StateIdle), pool, errs.ECONFLICT},
		{"failed_runner", runnerHistory(domain.StateFailed), pool, errs.ECONFLICT},
		{"terminated", runnerHistory(domain.StateTerminated), pool, errs.ECONFLICT},
		{"unknown_runner", nil, pool, errs.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustRunner(t, tc.history...).EndServed(tc.by, "job 7 went to runner web-pool-1")
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			wantEvents(t, mustDecide(t)(evs, err), events.RunnerTerminated{RunnerID: runnerID, Reason: "job 7 went to runner web-pool-1", ServedBy: "web-pool-1"})
			if got := mustRunner(t, append(tc.history, evs...)...).State(); got != domain.StateTerminated {
				t.Fatalf("after EndServed the request is %s", got)
			}
		})
	}
}

func TestRunner_terminated_never_comes_back(t *testing.T) {
	r := runnerIn(t, domain.StateTerminated)
	decisions := map[string]func() ([]events.Event, error){
		"request":    func() ([]events.Event, error) { return r.Request(requested) },
		"deploy":     func() ([]events.Event, error) { return r.Deploy(deployed) },
		"heartbeat":  func() ([]events.Event, error) { return r.MissHeartbeat(t0, time.Minute) },
		"pool":       func() ([]events.Event, error) { return r.ChangePool(domain.RunnerNadir, "") },
		"terminate":  func() ([]events.Event, error) { return r.Terminate("again") },
		"reactivate": func() ([]events.Event, error) { return r.ChangeState(domain.StateActive, "") },
		"reprovision": func() ([]events.Event, error) {
			return r.ChangeState(domain.StateProvisioning, "")
		},
	}
	for name, decide := range decisions {
		t.Run(name, func(t *testing.T) {
			evs, err := decide()
			wantCode(t, err, errs.ECONFLICT)
			if len(evs) != 0 {
				t.Fatalf("emitted %v", evs)
			}
		})
	}
}

func TestRunner_decisions_are_pure(t *testing.T) {
	r := runnerIn(t, domain.StateActive)
	for name, decide := range map[string]func() ([]events.Event, error){
		"change_state": func() ([]events.Event, error) { return r.ChangeState(domain.StateBusy, "job") },
		"heartbeat":    func() ([]events.Event, error) { return r.MissHeartbeat(t0, time.Minute) },
		"pool":         func() ([]events.Event, error) { return r.ChangePool(domain.RunnerNadir, "idle") },
		"terminate":    func() ([]events.Event, error) { return r.Terminate("done") },
		"illegal":      func() ([]events.Event, error) { return r.ChangeState(domain.StateActive, "") },
	} {
		t.Run(name, func(t *testing.T) { assertPure(t, r.Version, decide) })
	}
	if r.State() != domain.StateActive || r.MissedHeartbeats() != 0 || r.Type() != domain.RunnerApex {
		t.Fatalf("decisions changed the runner: %s %d %s", r.State(), r.MissedHeartbeats(), r.Type())
	}
	p := mustRunner(t)
	t.Run("request", func(t *testing.T) {
		assertPure(t, p.Version, func() ([]events.Event, error) { return p.Request(requested) })
	})
}

func TestRehydrateRunner(t *testing.T) {
	id, _ := domain.NewRunnerID(runnerID)
	stream := domain.RunnerStream(runnerID)
	t.Run("from_decoded_records", func(t *testing.T) {
		// The codec hands out pointer payloads; rehydration takes them as well.
		codec := events.NewCodec(events.NewRegistry())
		var envs []events.Envelope
		for _, env := range history(stream, requested, deployed, changed(domain.StateActive, domain.StateBusy)) {
			rec, err := codec.Encode(env)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(rec)
			var back events.Record
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			dec, err := codec.Decode(back)
			if err != nil {
				t.Fatal(err)
			}
			envs = append(envs, dec)
		}
		r, err := domain.RehydrateRunner(id, envs)
		if err != nil {
			t.Fatal(err)
		}
		if r.State() != domain.StateBusy || r.Version() != 3 || r.Tags()[0] != "docker" || r.Provider() != domain.ProviderYandex {
			t.Fatalf("rehydrated %s version %d tags %v", r.State(), r.Version(), r.Tags())
		}
	})
	t.Run("empty_history_is_new", func(t *testing.T) {
		r, err := domain.RehydrateRunner(id, nil)
		if err != nil || r.Exists() || r.Version() != 0 {
			t.Fatalf("got %v exists=%v version=%d", err, r.Exists(), r.Version())
		}
	})
	tests := []struct {
		name string
		h    []events.Envelope
	}{
		{"foreign_event_type", history(stream, requested, events.EggRemoved{Name: "web"})},
		{"other_stream", history("runner-r-02", requested)},
		{"version_gap", func() []events.Envelope {
			h := history(stream, requested, deployed)
			h[1].Version = 3
			return h
		}()},
		{"stored_bad_state", history(stream, requested, events.RunnerStateChanged{RunnerID: runnerID, From: "PROVISIONING", To: "EXPLODED"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domain.RehydrateRunner(id, tc.h)
			wantCode(t, err, errs.EINTERNAL)
		})
	}
	t.Run("zero_id", func(t *testing.T) {
		_, err := domain.RehydrateRunner(domain.RunnerID{}, nil)
		wantCode(t, err, errs.EINVALID)
	})
}

// UglyFox's records: a deferral and an overrun only for a BUSY runner, a
// resumed heartbeat only after the silence, and each moves no state.
func TestRunner_uglyfox_records(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	busy, idle := runnerIn(t, domain.StateBusy), runnerIn(t, domain.StateIdle)
	if evs, err := busy.DeferDecision(domain.ActionTerminate, "pruning.max_age 24h"); err != nil || len(evs) != 1 {
		t.Fatalf("defer on BUSY: %v, %v", evs, err)
	}
	if _, err := idle.DeferDecision(domain.ActionTerminate, "x"); errs.Code(err) != errs.ECONFLICT {
		t.Fatalf("defer on IDLE: %v", err)
	}
	if _, err := busy.DeferDecision("explode", "x"); errs.Code(err) != errs.EINVALID {
		t.Fatalf("unknown action: %v", err)
	}
	if _, err := busy.DeferDecision(domain.ActionTerminate, ""); errs.Code(err) != errs.EINVALID {
		t.Fatalf("no reason: %v", err)
	}
	if evs, err := busy.ReportJobOverrun(at, time.Hour, "limit"); err != nil || evs[0].(events.RunnerJobOverran).LimitSeconds != 3600 {
		t.Fatalf("overrun on BUSY: %v, %v", evs, err)
	}
	if _, err := idle.ReportJobOverrun(at, time.Hour, "limit"); errs.Code(err) != errs.ECONFLICT {
		t.Fatalf("overrun on IDLE: %v", err)
	}
	if _, err := idle.ResumeHeartbeat(at, at); errs.Code(err) != errs.EINVALID {
		t.Fatalf("resumed at the silence's own time: %v", err)
	}
	evs, err := idle.ResumeHeartbeat(time.Time{}, at)
	if err != nil {
		t.Fatal(err)
	}
	missed := mustRunner(t, events.RunnerRequested{RunnerID: "r-01", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a"},
		events.RunnerDeployed{PlanID: "p-01", InstanceID: "i"}, events.RunnerHeartbeatMissed{RunnerID: "r-01", Missed: 1, ThresholdMS: 1000}, evs[0])
	if missed.MissedHeartbeats() != 0 || missed.State() != domain.StateActive {
		t.Fatalf("after resumed: missed %d, state %s", missed.MissedHeartbeats(), missed.State())
	}
}
