package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// eggFile is the e2e egg's config.fly with cpu (the Nest change of the
// deploy test), the same as newProvEnv's otherwise.
func (e *provEnv) eggFile(cpu int) string { return e.eggFileWith(cpu, "") }

// eggFileWith is eggFile with extra blocks (a versions block) before gitlab.
func (e *provEnv) eggFileWith(cpu int, extra string) string {
	secrets := filepath.Join(e.dir, "secrets")
	return fmt.Sprintf(`egg %q {
  type = "vm"

  cloud {
    provider = "local"
  }

  resources {
    cpu    = %d
    memory = 512
    disk   = 10
  }

  runner {
    tags       = ["docker", "linux"]
    concurrent = 1
  }
%s
  gitlab {
    server         = "gitlab.com"
    project_id     = %d
    token_secret   = "file://%s/runner-token"
    webhook_secret = "file://%s/webhook-secret"
  }
}
`, provEgg, cpu, extra, provProject, secrets, secrets)
}

// gosling runs the CLI built beside mothergoose against this env.
func (e *provEnv) gosling(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(filepath.Dir(e.bin), "gosling"), append(args, "--server", e.base(), "--token", "test-api-token")...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		e.t.Fatalf("gosling %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// planCreated is the log's plan.created events, by plan id.
func planCreated(recs []logRecord) map[string]events.PlanCreated {
	out := map[string]events.PlanCreated{}
	for _, r := range recs {
		if r.Type != events.PlanCreatedV1 {
			continue
		}
		var p events.PlanCreated
		if err := json.Unmarshal(r.Payload, &p); err == nil {
			out[p.PlanID] = p
		}
	}
	return out
}

// TestServe_deploy_plan_and_rollback_Integration: an egg of apex min 1
// whose runner holds a job gets a new configuration from the Nest (cpu 1 ->
// 2). gosling plan shows the runner to replace and the cpu change, and
// appends nothing; gosling deploy records the deploy, but the runner is not
// replaced while its job runs; once the job ends it is replaced by a
// runner whose plan carries the new configuration hash and the deploy id,
// and the deploy finishes converged. gosling rollback --wait brings the
// runners back to the previous configuration hash, recording
// plan.rolled_back for the runner it replaces.
func TestServe_deploy_plan_and_rollback_Integration(t *testing.T) {
	e := newProvEnv(t)
	e.start()

	var first string
	e.waitUntil("one IDLE runner", 2*time.Minute, func() bool {
		for id, r := range e.runners() {
			if r["state"] == "IDLE" && len(e.runnerProcs()[id]) == 1 {
				first = id
				return true
			}
		}
		return false
	})
	const job = 8_000_001
	if code, outcome, err := e.jobHook(job, "pending"); err != nil || code != 202 || outcome != "accepted" {
		t.Fatalf("pending job: %d %q %v", code, outcome, err)
	}
	e.waitUntil("the job assigned to the runner", time.Minute, func() bool {
		return e.runners()[first]["assigned_jobs"] == float64(1)
	})

	h1 := e.get("/eggs/" + provEgg)["config_hash"].(string)
	e.nest.Commit(t, map[string]string{"Eggs/" + provEgg + "/config.fly": e.eggFile(2)})
	var h2 string
	e.waitUntil("the new configuration synced", time.Minute, func() bool {
		h2, _ = e.get("/eggs/" + provEgg)["config_hash"].(string)
		return h2 != h1
	})

	// gosling plan: the runner to replace (after its job), the cpu change; nothing appended.
	before := len(e.log())
	out, errOut, code := e.gosling("plan", provEgg, "--format", "json")
	if code != 0 {
		t.Fatalf("gosling plan: exit %d: %s", code, errOut)
	}
	var plan struct {
		ToConfigHash string `json:"to_config_hash"`
		Changes      int    `json:"changes"`
		Runners      []struct {
			RunnerID   string `json:"runner_id"`
			Change     string `json:"change"`
			Reason     string `json:"reason"`
			ConfigHash string `json:"config_hash"`
		} `json:"runners"`
		Diffs []struct {
			FromConfigHash string `json:"from_config_hash"`
			Fields         []struct{ Field, From, To string }
		} `json:"diffs"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan json: %v\n%s", err, out)
	}
	if plan.ToConfigHash != h2 || plan.Changes != 1 || len(plan.Runners) != 1 || plan.Runners[0].RunnerID != first || plan.Runners[0].Change != "replace" ||
		!strings.Contains(plan.Runners[0].Reason, "waits until its 1 jobs end") {
		t.Fatalf("plan %+v, want %s replaced after its job, to %s", plan, first, h2)
	}
	cpu := false
	for _, d := range plan.Diffs {
		for _, f := range d.Fields {
			cpu = cpu || (d.FromConfigHash == h1 && f.Field == "cpu" && f.From == "1" && f.To == "2")
		}
	}
	if !cpu {
		t.Fatalf("plan diffs %+v, want cpu 1 -> 2 from %s", plan.Diffs, h1)
	}
	if out, _, _ := e.gosling("plan", provEgg); !strings.Contains(out, "cpu") || !strings.Contains(out, "replace") {
		t.Errorf("gosling plan table:\n%s", out)
	}
	if after := len(e.log()); after != before {
		t.Fatalf("gosling plan changed the log: %d events, then %d", before, after)
	}

	// gosling deploy: recorded and running; the runner holding the job stays.
	out, errOut, code = e.gosling("deploy", provEgg, "--format", "json")
	var dep struct {
		DeployID   string `json:"deploy_id"`
		Status     string `json:"status"`
		ConfigHash string `json:"config_hash"`
	}
	if err := json.Unmarshal([]byte(out), &dep); code != 0 || err != nil || dep.Status != "running" || dep.ConfigHash != h2 {
		t.Fatalf("gosling deploy: exit %d %v: %s %s", code, err, out, errOut)
	}
	for range 20 { // 2 s: the runner with a job is never replaced
		if r := e.runners()[first]; r["state"] == "TERMINATED" || r["state_reason"] != nil && strings.Contains(fmt.Sprint(r["state_reason"]), "replaced") {
			t.Fatalf("runner %s replaced while it held job %d: %v", first, job, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, err := e.jobHook(job, "success"); err != nil || code != 202 {
		t.Fatalf("job success: %d %v", code, err)
	}
	e.waitUntil("the deploy finished", 3*time.Minute, func() bool {
		st := e.get("/eggs/" + provEgg + "/deploys/" + dep.DeployID)
		if st["status"] == "finished" && st["outcome"] != "converged" {
			t.Fatalf("deploy finished %v", st)
		}
		return st["status"] == "finished"
	})
	rows := e.runners()
	if rows[first]["state"] != "TERMINATED" {
		t.Fatalf("runner %s is %v after the deploy", first, rows[first]["state"])
	}
	plans := planCreated(e.log())
	var second, firstPlan, secondPlan string
	for id, p := range plans {
		switch {
		case p.RunnerID == first && p.Action == "create":
			firstPlan = id
			if p.EggConfigHash != h1 {
				t.Errorf("first runner's plan made under %q, want %s", p.EggConfigHash, h1)
			}
		case p.RunnerID != first && p.Action == "create" && p.DeployID == dep.DeployID:
			second, secondPlan = p.RunnerID, id
			if p.EggConfigHash != h2 {
				t.Errorf("the deploy's plan %s made under %q, want %s", id, p.EggConfigHash, h2)
			}
		}
	}
	if second == "" || rows[second]["state"] == "TERMINATED" {
		t.Fatalf("no live runner made by the deploy's plans: %+v", plans)
	}

	// gosling rollback --wait: back to h1, plan.rolled_back for the second runner.
	e.waitUntil("the second runner IDLE", 2*time.Minute, func() bool { return e.runners()[second]["state"] == "IDLE" })
	out, errOut, code = e.gosling("rollback", provEgg, "--wait", "--timeout", "3m", "--poll", "200ms")
	if code != 0 || !strings.Contains(out, "finished: converged") || !strings.Contains(out, "plan ") {
		t.Fatalf("gosling rollback --wait: exit %d\n%s\n%s", code, out, errOut)
	}
	recs := e.log()
	rolled := 0
	for _, r := range recs {
		if r.Type != events.PlanRolledBackV1 {
			continue
		}
		var rb events.PlanRolledBack
		if err := json.Unmarshal(r.Payload, &rb); err != nil {
			t.Fatal(err)
		}
		rolled++
		if rb.PlanID != secondPlan || rb.RunnerID != second || rb.RestoredPlanID != firstPlan || rb.Reason == "" {
			t.Errorf("plan.rolled_back %+v, want %s of %s restoring %s", rb, secondPlan, second, firstPlan)
		}
	}
	if rolled != 1 {
		t.Errorf("%d plan.rolled_back, want 1", rolled)
	}
	live := 0
	for id, r := range e.runners() {
		if r["state"] == "TERMINATED" || r["state"] == "FAILED" || strings.Contains(id, "-job-") {
			continue
		}
		live++
		for _, p := range planCreated(recs) {
			if p.RunnerID == id && p.Action == "create" && p.EggConfigHash != h1 {
				t.Errorf("live runner %s made under %s, want the restored %s", id, p.EggConfigHash, h1)
			}
		}
	}
	if live != 1 {
		t.Errorf("%d live runners after the rollback, want 1", live)
	}
	// The pin holds: a plan shows the way back to the Nest's configuration.
	if p := e.get("/eggs/" + provEgg + "/plan"); p["from_config_hash"] != h1 || p["to_config_hash"] != h2 || p["pinned_to_plan_id"] != firstPlan {
		t.Errorf("plan after the rollback: %v", p)
	}
}
