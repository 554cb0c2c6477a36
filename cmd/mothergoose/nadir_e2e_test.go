package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// TestServe_demote_then_promote_keeps_the_runner_Integration: an IDLE
// local runner moved to the Nadir pool through POST /runners/{id}/pool is
// stopped (its agent process gone, its workspace, credential and log kept,
// its row nadir/STOPPED); moved back to Apex it is started again as the
// same runner (same id and credential, its agent heartbeats it IDLE), by
// update plans of its own workspace: no new runner.requested for it, no
// second create plan.
func TestServe_demote_then_promote_keeps_the_runner_Integration(t *testing.T) {
	e := newProvEnv(t)
	e.start()

	var id string
	e.waitUntil("one IDLE runner with a heartbeat and one process", 2*time.Minute, func() bool {
		rows, procs := e.runners(), e.runnerProcs()
		for rid, r := range rows {
			if r["state"] == "IDLE" && r["last_heartbeat_at"] != nil && len(procs[rid]) == 1 && len(rows) == 1 {
				id = rid
				return true
			}
		}
		return false
	})
	ws := filepath.Join(e.workDir, id)
	credFile := filepath.Join(ws, "credential")
	cred, err := os.ReadFile(credFile)
	if err != nil || len(cred) == 0 {
		t.Fatalf("credential of %s: %q %v", id, cred, err)
	}
	pool := func(to string) {
		t.Helper()
		status, body, err := e.do(http.MethodPost, "/runners/"+id+"/pool", []byte(`{"pool":"`+to+`","reason":"e2e"}`),
			map[string]string{"Authorization": "Bearer test-api-token", "Content-Type": "application/json"})
		if err != nil || status != http.StatusAccepted || body["pool"] != to {
			t.Fatalf("POST /runners/%s/pool %s: %d %v %v", id, to, status, body, err)
		}
	}
	// Without the API token the route refuses.
	if status, _, err := e.do(http.MethodPost, "/runners/"+id+"/pool", []byte(`{"pool":"nadir"}`), nil); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("POST /runners/%s/pool without a token: %d %v, want 401", id, status, err)
	}

	pool("nadir")
	e.waitUntil("the runner nadir and STOPPED, its process gone", 2*time.Minute, func() bool {
		r := e.runners()[id]
		return r != nil && r["state"] == "STOPPED" && r["type"] == "nadir" && len(e.runnerProcs()[id]) == 0
	})
	// Kept: the workspace (state), the credential, the agent's log.
	for _, f := range []string{filepath.Join(ws, "terraform.tfstate"), filepath.Join(ws, "run", id+".log")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("stopped runner lost %s: %v", f, err)
		}
	}
	if got, err := os.ReadFile(credFile); err != nil || string(got) != string(cred) {
		t.Fatalf("stopped runner's credential changed or is gone: %v", err)
	}
	requestedBefore := count(eventTypes(e.log()), events.RunnerRequestedV1)

	pool("apex")
	e.waitUntil("the same runner apex and IDLE again, one process", 2*time.Minute, func() bool {
		r := e.runners()[id]
		return r != nil && r["state"] == "IDLE" && r["type"] == "apex" && len(e.runnerProcs()[id]) == 1
	})
	if got, err := os.ReadFile(credFile); err != nil || string(got) != string(cred) {
		t.Fatalf("promoted runner's credential changed or is gone: %v", err)
	}

	recs := e.log()
	if n := count(eventTypes(recs), events.RunnerRequestedV1); n != requestedBefore {
		t.Errorf("the promote requested %d new runners", n-requestedBefore)
	}
	var actions, running []string
	var states []string
	for _, rec := range recs {
		switch rec.Type {
		case events.PlanCreatedV1:
			var p events.PlanCreated
			if err := json.Unmarshal(rec.Payload, &p); err == nil && p.RunnerID == id {
				actions = append(actions, p.Action)
				running = append(running, p.Inputs["running"])
			}
		case events.RunnerStateChangedV1:
			var p events.RunnerStateChanged
			if err := json.Unmarshal(rec.Payload, &p); err == nil && p.RunnerID == id {
				states = append(states, p.From+">"+p.To)
			}
		}
	}
	if want := []string{"create", "update", "update"}; !slices.Equal(actions, want) {
		t.Errorf("plans of %s: %v, want %v", id, actions, want)
	}
	if want := []string{"true", "false", "true"}; !slices.Equal(running, want) {
		t.Errorf("running inputs of %s's plans: %v, want %v", id, running, want)
	}
	// Stopped, it stayed so until the start (nothing moved it: no agent ran).
	i := slices.Index(states, "IDLE>STOPPED")
	if i < 0 || i+2 >= len(states) || states[i+1] != "STOPPED>ACTIVE" || states[i+2] != "ACTIVE>IDLE" {
		t.Errorf("state changes of %s: %v", id, states)
	}
}

func eventTypes(recs []logRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Type
	}
	return out
}
