package domain_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

func TestParseReportedState(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want domain.RunnerState
		ok   bool
	}{
		{"IDLE", domain.StateIdle, true},
		{"idle", domain.StateIdle, true},
		{"Busy", domain.StateBusy, true},
		{"ACTIVE", domain.RunnerState{}, false},
		{"TERMINATED", domain.RunnerState{}, false},
		{"", domain.RunnerState{}, false},
		{"sleeping", domain.RunnerState{}, false},
	} {
		got, err := domain.ParseReportedState(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseReportedState(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && errs.Code(err) != errs.EINVALID {
			t.Errorf("ParseReportedState(%q): %v, want EINVALID", tc.in, err)
		}
	}
}

func TestRunner_ReportHeartbeat(t *testing.T) {
	requested := events.RunnerRequested{RunnerID: runnerID, Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"}
	deployed := events.RunnerDeployed{RunnerID: runnerID, PlanID: "p1", InstanceID: "i1"}
	toBusy := events.RunnerStateChanged{RunnerID: runnerID, From: "IDLE", To: "BUSY"}
	toIdle := events.RunnerStateChanged{RunnerID: runnerID, From: "ACTIVE", To: "IDLE"}
	for _, tc := range []struct {
		name     string
		history  []events.Event
		reported domain.RunnerState
		wantTo   string // "" = no event
		wantCode string
	}{
		{"first_heartbeat_of_a_deployed_runner_makes_it_idle", []events.Event{requested, deployed}, domain.StateIdle, "IDLE", ""},
		{"first_heartbeat_busy_makes_it_busy", []events.Event{requested, deployed}, domain.StateBusy, "BUSY", ""},
		{"idle_again_changes_nothing", []events.Event{requested, deployed, toIdle}, domain.StateIdle, "", ""},
		{"idle_to_busy", []events.Event{requested, deployed, toIdle}, domain.StateBusy, "BUSY", ""},
		{"busy_to_idle", []events.Event{requested, deployed, toIdle, toBusy}, domain.StateIdle, "IDLE", ""},
		{"provisioning_is_not_moved", []events.Event{requested}, domain.StateIdle, "", ""},
		{"terminated_is_a_conflict", []events.Event{requested, deployed, events.RunnerTerminated{RunnerID: runnerID}}, domain.StateIdle, "", errs.ECONFLICT},
		{"unknown_runner_is_not_found", nil, domain.StateIdle, "", errs.ENOTFOUND},
		{"active_is_not_reported", []events.Event{requested, deployed}, domain.StateActive, "", errs.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunner(t, tc.history...)
			evs, err := r.ReportHeartbeat(tc.reported)
			if tc.wantCode != "" {
				if errs.Code(err) != tc.wantCode {
					t.Fatalf("err %v, want %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantTo == "" {
				if len(evs) != 0 {
					t.Fatalf("events %v, want none", evs)
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("events %v, want one state change", evs)
			}
			if sc, ok := evs[0].(events.RunnerStateChanged); !ok || sc.To != tc.wantTo {
				t.Fatalf("event %#v, want a change to %s", evs[0], tc.wantTo)
			}
		})
	}
}
