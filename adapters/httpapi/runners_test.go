package httpapi_test

import (
	"context"
	"slices"
	"testing"

	"github.com/polar-gosling/polar-gosling/commands"
)

// TestQueryAPI_runners_leave_out_served_requests: two pending jobs, the
// first given to the egg's idle pool runner (its request stream ends
// served by it), the second provisioned on its own request stream. The
// events are the ones the provisioner appends. GET /runners lists the two
// runners, not three rows; requests=true lists the served request too.
func TestQueryAPI_runners_leave_out_served_requests(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h := e.handlers
	must(h.RequestRunner(ctx, commands.RequestRunner{RunnerID: "web-pool-1", Egg: "web", RunnerType: "apex", Provider: "local", Region: "local", Reason: "pool below min_count"}))
	must(h.DeployRunner(ctx, commands.DeployRunner{RunnerID: "web-pool-1", PlanID: "p-1", InstanceID: "i-1"}))
	must(h.ChangeRunnerState(ctx, commands.ChangeRunnerState{RunnerID: "web-pool-1", To: "IDLE", Reason: "first heartbeat"}))
	for _, job := range []int64{1, 2} {
		id := []string{"", "web-job-1", "web-job-2"}[job]
		must(h.RequestRunner(ctx, commands.RequestRunner{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "local", Region: "local", JobID: job, Reason: "pending job"}))
	}
	// Job 1 goes to the pool runner; its request ends.
	must(h.AssignJob(ctx, commands.AssignJob{RunnerID: "web-pool-1", JobID: 1, RequestID: "web-job-1", Reason: "free slot"}))
	must(h.AskTermination(ctx, commands.AskTermination{RunnerID: "web-job-1", Reason: "job 1 went to runner web-pool-1"}))
	must(h.TerminateRunner(ctx, commands.TerminateRunner{RunnerID: "web-job-1", Reason: "job 1 went to runner web-pool-1", ServedBy: "web-pool-1"}))
	// Job 2 gets a runner of its own.
	must(h.AssignJob(ctx, commands.AssignJob{RunnerID: "web-job-2", JobID: 2, RequestID: "web-job-2", Reason: "a new runner"}))
	must(h.DeployRunner(ctx, commands.DeployRunner{RunnerID: "web-job-2", PlanID: "p-2", InstanceID: "i-2"}))
	e.mustCatchUp()

	list := func(path string) (ids []string, servedBy map[string]any) {
		t.Helper()
		status, body := e.get(path)
		if status != 200 {
			t.Fatalf("GET %s: %d %v", path, status, body)
		}
		servedBy = map[string]any{}
		for _, it := range body["runners"].([]any) {
			row := it.(map[string]any)
			ids = append(ids, row["id"].(string))
			servedBy[row["id"].(string)] = row["served_by"]
		}
		return ids, servedBy
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/runners", []string{"web-job-2", "web-pool-1"}},
		{"/runners?requests=false", []string{"web-job-2", "web-pool-1"}},
		{"/runners?egg=web", []string{"web-job-2", "web-pool-1"}},
		{"/runners?state=TERMINATED", nil},
		{"/runners?requests=true", []string{"web-job-1", "web-job-2", "web-pool-1"}},
		{"/runners?requests=true&state=TERMINATED", []string{"web-job-1"}},
	} {
		if got, _ := list(tc.path); !slices.Equal(got, tc.want) {
			t.Errorf("GET %s: %v, want %v", tc.path, got, tc.want)
		}
	}
	if _, served := list("/runners?requests=true"); served["web-job-1"] != "web-pool-1" || served["web-job-2"] != nil || served["web-pool-1"] != nil {
		t.Errorf("served_by: %v", served)
	}
	if status, body := e.get("/runners?requests=yes"); status != 400 || body["error"].(map[string]any)["code"] != "EINVALID" {
		t.Errorf("requests=yes: %d %v", status, body)
	}
	// One row is still there by id.
	if status, row := e.get("/runners/web-job-1"); status != 200 || row["served_by"] != "web-pool-1" || row["state"] != "TERMINATED" {
		t.Errorf("GET /runners/web-job-1: %d %v", status, row)
	}
	// The egg's counts are of runners.
	status, st := e.get("/eggs/web/status")
	byState, _ := st["runners_by_state"].(map[string]any)
	if status != 200 || st["runners"] != float64(2) || byState["ACTIVE"] != float64(1) || byState["IDLE"] != float64(1) || byState["TERMINATED"] != nil {
		t.Errorf("GET /eggs/web/status: %d %v", status, st)
	}
}
