package tofu_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/projections"
)

// TestProvisioner_served_request_is_no_runner_Integration: an egg of
// max_count 2 with its pool runner IDLE gets two pending jobs; the first
// goes to the pool runner (its request stream ends served by it), the
// second gets a runner of its own. GET /runners, over the views projected
// from that log, lists two runners, not three rows.
func TestProvisioner_served_request_is_no_runner_Integration(t *testing.T) {
	e := newProvEnv(t, "served", "sleep 600")
	ctx := context.Background()
	e.syncEgg(1, 2)
	var pool string
	waitUntil(t, "the pool runner deployed", 2*time.Minute, func() bool {
		for s, types := range e.streams() {
			if strings.Contains(s, "-pool-") && has(types, events.RunnerDeployedV1) == 1 {
				pool = strings.TrimPrefix(s, "runner-")
				return true
			}
		}
		return false
	})
	// What its agent's first heartbeat does.
	if _, err := e.h.ChangeRunnerState(ctx, commands.ChangeRunnerState{RunnerID: pool, To: "IDLE", Reason: "first heartbeat"}); err != nil {
		t.Fatal(err)
	}
	e.requestJob(1)
	e.requestJob(2)
	waitUntil(t, "job 1's request ended and job 2's runner deployed", 2*time.Minute, func() bool {
		s := e.streams()
		return has(s["runner-served-job-1"], events.RunnerTerminatedV1) == 1 && has(s["runner-served-job-2"], events.RunnerDeployedV1) == 1
	})

	loop, err := projections.NewLoop(projections.Config{Store: e.db.Events(), Views: e.db.Views(), Codec: e.codec, Projectors: projections.All()})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Handlers: e.h, Views: e.db.Views(), Events: e.db.Events(), Secrets: secrets.NewLocal(),
		APIToken: "t", TriggerToken: "tt"})
	if err != nil {
		t.Fatal(err)
	}
	list := func(path string) map[string]string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		var raw struct {
			Runners []map[string]any `json:"runners"`
		}
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &raw) != nil {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		out := map[string]string{}
		for _, r := range raw.Runners {
			by, _ := r["served_by"].(string)
			out[r["id"].(string)] = r["state"].(string) + " " + by
		}
		return out
	}
	got := list("/runners")
	if ids, want := slices.Sorted(maps.Keys(got)), slices.Sorted(slices.Values([]string{pool, "served-job-2"})); !slices.Equal(ids, want) {
		t.Fatalf("GET /runners: %v, want the pool runner and job 2's", got)
	}
	all := list("/runners?requests=true")
	if len(all) != 3 || all["served-job-1"] != "TERMINATED "+pool {
		t.Fatalf("GET /runners?requests=true: %v, want job 1's request TERMINATED and served by %s too", all, pool)
	}
}
