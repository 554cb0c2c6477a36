package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/commands"
)

const runnerCredential = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

func (e *env) heartbeat(id, credential, body string) (int, map[string]any) {
	e.t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	if credential != "" {
		h["Authorization"] = "Bearer " + credential
	}
	return e.do(http.MethodPost, "/runners/"+id+"/heartbeat", []byte(body), h)
}

func TestHeartbeat_makes_a_deployed_runner_idle_and_shows_in_runners(t *testing.T) {
	e := newEnv(t)
	e.core.DeployLocalRunner(t, "r-1", "web", runnerCredential)
	head := e.head()
	code, body := e.heartbeat("r-1", runnerCredential, `{"state":"idle","running_jobs":[],"version":"v0.4.0"}`)
	if code != http.StatusOK || body["state"] != "IDLE" {
		t.Fatalf("heartbeat: %d %v", code, body)
	}
	if e.head() != head+1 {
		t.Fatalf("the first heartbeat appended %d events, want 1 (runner.state_changed)", e.head()-head)
	}
	e.mustCatchUp()
	code, body = e.heartbeat("r-1", runnerCredential, `{"state":"BUSY","running_jobs":[77],"version":"v0.4.0","cpu_percent":12.5,"memory_percent":100}`)
	if code != http.StatusOK || body["state"] != "BUSY" {
		t.Fatalf("busy heartbeat: %d %v", code, body)
	}
	e.mustCatchUp()
	head = e.head()
	if code, body = e.heartbeat("r-1", runnerCredential, `{"state":"BUSY","running_jobs":[77],"version":"v0.4.0","cpu_percent":87.5,"memory_percent":42}`); code != http.StatusOK || e.head() != head {
		t.Fatalf("a repeated heartbeat: %d %v, appended %d events", code, body, e.head()-head)
	}

	code, body = e.get("/runners?egg=web")
	rows, _ := body["runners"].([]any)
	if code != http.StatusOK || len(rows) != 1 {
		t.Fatalf("GET /runners: %d %v", code, body)
	}
	row := rows[0].(map[string]any)
	if row["state"] != "BUSY" || row["last_heartbeat_at"] == nil || row["agent_version"] != "v0.4.0" || row["agent_state"] != "BUSY" {
		t.Fatalf("runner row %v: want BUSY with the last heartbeat", row)
	}
	if row["cpu_percent"] != 87.5 || row["memory_percent"] != float64(42) {
		t.Fatalf("runner row %v: want the last heartbeat's load (cpu 87.5, memory 42)", row)
	}
	if jobs, _ := row["running_jobs"].([]any); len(jobs) != 1 || jobs[0] != float64(77) {
		t.Fatalf("running jobs %v", row["running_jobs"])
	}
	if _, leaked := row["credential_sha256"]; leaked {
		t.Fatal("the credential hash is answered")
	}
	code, one := e.get("/runners/r-1")
	if code != http.StatusOK || one["last_heartbeat_at"] != row["last_heartbeat_at"] {
		t.Fatalf("GET /runners/r-1: %d %v", code, one)
	}
}

func TestHeartbeat_refusals(t *testing.T) {
	e := newEnv(t)
	e.core.DeployLocalRunner(t, "r-1", "web", runnerCredential)
	for _, tc := range []struct {
		name, id, cred, body string
		status               int
	}{
		{"no_credential", "r-1", "", `{"state":"IDLE"}`, http.StatusUnauthorized},
		{"wrong_credential", "r-1", "nope", `{"state":"IDLE"}`, http.StatusUnauthorized},
		{"the_api_token_is_not_a_runner_credential", "r-1", apiToken, `{"state":"IDLE"}`, http.StatusUnauthorized},
		{"unknown_runner", "r-404", runnerCredential, `{"state":"IDLE"}`, http.StatusNotFound},
		{"malformed_json", "r-1", runnerCredential, `{"state":`, http.StatusBadRequest},
		{"state_not_reportable", "r-1", runnerCredential, `{"state":"TERMINATED"}`, http.StatusBadRequest},
		{"jobs_not_integers", "r-1", runnerCredential, `{"state":"BUSY","running_jobs":["x"]}`, http.StatusBadRequest},
		{"cpu_over_100", "r-1", runnerCredential, `{"state":"IDLE","cpu_percent":100.5}`, http.StatusBadRequest},
		{"memory_negative", "r-1", runnerCredential, `{"state":"IDLE","memory_percent":-1}`, http.StatusBadRequest},
		{"cpu_not_a_number", "r-1", runnerCredential, `{"state":"IDLE","cpu_percent":"high"}`, http.StatusBadRequest},
		{"body_over_the_limit", "r-1", runnerCredential, `{"state":"IDLE","version":"` + strings.Repeat("v", httpapi.MaxHeartbeatBody) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := e.head()
			code, body := e.heartbeat(tc.id, tc.cred, tc.body)
			if code != tc.status {
				t.Fatalf("status %d (%v), want %d", code, body, tc.status)
			}
			if _, ok := body["error"]; !ok {
				t.Fatalf("body %v has no error", body)
			}
			if e.head() != head {
				t.Fatal("a refused heartbeat appended events")
			}
		})
	}
	if code, _ := e.do(http.MethodGet, "/runners/r-1/heartbeat", nil, nil); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET of the heartbeat route: %d, want 405", code)
	}
}

func TestHeartbeat_terminated_runner_is_gone(t *testing.T) {
	e := newEnv(t)
	e.core.DeployLocalRunner(t, "r-1", "web", runnerCredential)
	if _, err := e.handlers.TerminateRunner(context.Background(), commands.TerminateRunner{RunnerID: "r-1", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp()
	head := e.head()
	code, body := e.heartbeat("r-1", runnerCredential, `{"state":"IDLE"}`)
	errBody, _ := body["error"].(map[string]any)
	if code != http.StatusGone || errBody["code"] != "ECONFLICT" {
		t.Fatalf("heartbeat of a terminated runner: %d %v, want 410 ECONFLICT", code, body)
	}
	if e.head() != head {
		t.Fatal("appended events")
	}
}

func TestHeartbeat_without_a_last_seen_store_is_unavailable(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.LastSeen = nil })
	e.core.DeployLocalRunner(t, "r-1", "web", runnerCredential)
	if code, body := e.heartbeat("r-1", runnerCredential, `{"state":"IDLE"}`); code != http.StatusServiceUnavailable {
		t.Fatalf("%d %v, want 503", code, body)
	}
	if code, body := e.get("/runners/r-1"); code != http.StatusOK || body["last_heartbeat_at"] != nil {
		t.Fatalf("GET /runners/r-1: %d %v", code, body)
	}
}
