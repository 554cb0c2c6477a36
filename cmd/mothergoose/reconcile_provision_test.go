package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/events"
)

// TestServe_a_job_only_the_API_lists_gets_a_runner_Integration is the
// "no lost jobs" promise end to end: real mothergoose, real OpenTofu, real
// agents, and a fake GitLab on 127.0.0.1 whose Jobs API lists pending jobs.
// A job no webhook announced gets a runner through reconciliation alone; a
// job both delivered by webhook and listed gets exactly one.
func TestServe_a_job_only_the_API_lists_gets_a_runner_Integration(t *testing.T) {
	e := newProvEnv(t)
	const apiToken = "glpat-reconcile-provision"
	fake := gitlabtest.NewTLS(t, apiToken)
	// The egg names the fake by host:port; the API is reached over HTTPS,
	// so the binary trusts the fake's certificate.
	t.Setenv("SSL_CERT_FILE", fake.CertFile(t, e.dir))
	secrets := filepath.Join(e.dir, "secrets")
	if err := os.WriteFile(filepath.Join(secrets, "api-token"), []byte(apiToken), 0o600); err != nil {
		t.Fatal(err)
	}
	// The egg on the fake's server; no warm runner, so that each job's
	// runner is one provisioned for it.
	e.nest.Commit(t, map[string]string{
		"Eggs/" + provEgg + "/config.fly": fmt.Sprintf(`egg %q {
  type = "vm"
  cloud { provider = "local" }
  resources {
    cpu    = 1
    memory = 512
    disk   = 10
  }
  runner {
    tags       = ["docker"]
    concurrent = 1
  }
  gitlab {
    server         = %q
    project_id     = %d
    token_secret   = "file://%s/runner-token"
    webhook_secret = "file://%s/webhook-secret"
  }
}
`, provEgg, fake.Host(), provProject, secrets, secrets),
		"UF/config.fly": fmt.Sprintf(`uglyfox {
  runners_condition "e2e" {
    eggs_entities = [%q]
    apex {
      min_count = 0
      max_count = 2
    }
  }
}
`, provEgg),
	})
	e.extraArgs = []string{"--gitlab-api-token", fake.Host() + "=file://" + filepath.Join(secrets, "api-token"), "--reconcile-interval", "300ms"}

	// Job 1 is only listed; job 2 is listed and also delivered by webhook.
	const listedOnly, both = 8_000_001, 8_000_002
	fake.AddJob(gitlabtest.Job{ProjectID: provProject, ID: listedOnly, Tags: []string{"docker"}})
	fake.AddJob(gitlabtest.Job{ProjectID: provProject, ID: both, Tags: []string{"docker"}})
	e.start()
	code, outcome, err := e.jobHookFrom(fake.URL(), both, "pending")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("webhook for job %d: %d %q %v", both, code, outcome, err)
	}

	// Each job ends assigned to a runner whose agent checked in.
	assigned := func(job int64) (runner string, n int) {
		for _, rec := range e.log() {
			if rec.Type != events.RunnerJobAssignedV1 {
				continue
			}
			var p struct {
				RunnerID string `json:"runner_id"`
				JobID    int64  `json:"job_id"`
			}
			if json.Unmarshal(rec.Payload, &p) == nil && p.JobID == job {
				runner, n = p.RunnerID, n+1
			}
		}
		return runner, n
	}
	e.waitUntil("both jobs on runners whose agents are IDLE or BUSY", 3*time.Minute, func() bool {
		rows := e.runners()
		for _, job := range []int64{listedOnly, both} {
			id, _ := assigned(job)
			if r := rows[id]; r == nil || (r["state"] != "IDLE" && r["state"] != "BUSY") {
				return false
			}
		}
		return true
	})
	// More passes list both jobs again (still pending in GitLab): nothing more is asked.
	lists := len(fake.Lists())
	e.waitUntil("three more reconciliation passes", time.Minute, func() bool { return len(fake.Lists()) >= lists+3 })

	recs := e.log()
	streams := byRunner(recs)
	for _, job := range []int64{listedOnly, both} {
		req := fmt.Sprintf("%s-job-%d", provEgg, job)
		if n := count(streams[req], events.RunnerRequestedV1); n != 1 {
			t.Errorf("job %d: %d runner.requested, want 1 (%v)", job, n, streams[req])
		}
		if _, n := assigned(job); n != 1 {
			t.Errorf("job %d: assigned %d times, want once", job, n)
		}
	}
	// The listed-only job's request was made by reconciliation, and no
	// other runner was made: two jobs, two runners.
	requested := 0
	for _, rec := range recs {
		if rec.Type == events.RunnerRequestedV1 {
			requested++
		}
	}
	if requested != 2 {
		t.Errorf("%d runners requested in all, want 2", requested)
	}
	e.stop()
}
