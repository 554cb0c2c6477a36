package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// TestServe_provisions_local_runners_end_to_end_Integration: a Nest with a
// local vm egg (apex min 1, max 2, concurrent 1) gets one agent that
// heartbeats it IDLE; four pending jobs never make more than two runner
// processes, the jobs beyond capacity are queued with a reason and served
// when a job finishes; removing the egg from the Nest stops every process
// and terminates every runner; the log holds each runner's plans and
// lifecycle, and no database file holds a secret value.
func TestServe_provisions_local_runners_end_to_end_Integration(t *testing.T) {
	e := newProvEnv(t)
	e.start()

	// Sample the runner processes every 100 ms while the test runs.
	var (
		mu     sync.Mutex
		peak   int
		creds  = map[string]string{}
		stop   = make(chan struct{})
		polled sync.WaitGroup
	)
	polled.Add(1)
	go func() {
		defer polled.Done()
		for {
			n := 0
			for _, groups := range e.runnerProcs() {
				n += len(groups)
			}
			mu.Lock()
			peak = max(peak, n)
			e.credentials(creds)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	stopPolling := func() {
		select {
		case <-stop:
		default:
			close(stop)
			polled.Wait()
		}
	}
	t.Cleanup(stopPolling)

	// The warm pool: one runner, IDLE from its agent's heartbeats.
	var warm string
	e.waitUntil("one IDLE runner with a heartbeat and one process", 2*time.Minute, func() bool {
		rows := e.runners()
		procs := e.runnerProcs()
		for id, r := range rows {
			if r["state"] == "IDLE" && r["last_heartbeat_at"] != nil && len(procs[id]) == 1 && len(procs) == 1 && len(rows) == 1 {
				warm = id
				return true
			}
		}
		return false
	})

	// Four pending jobs: the warm runner takes one, a second runner is
	// provisioned for another, the other two are queued with the reason.
	jobs := []int64{7_000_001, 7_000_002, 7_000_003, 7_000_004}
	for _, job := range jobs {
		code, outcome, err := e.jobHook(job, "pending")
		if err != nil || code != 202 || outcome != "accepted" {
			t.Fatalf("pending job %d: %d %q %v", job, code, outcome, err)
		}
	}
	reqID := func(job int64) string { return fmt.Sprintf("%s-job-%d", provEgg, job) }
	queued := func(rows map[string]map[string]any) []int64 {
		var out []int64
		for _, job := range jobs {
			if r := rows[reqID(job)]; r != nil && r["state"] == "PROVISIONING" && r["queue_reason"] != nil && r["queue_reason"] != "" {
				out = append(out, job)
			}
		}
		return out
	}
	assignedTo := func(runner string) []int64 {
		var out []int64
		for _, rec := range e.log() {
			if rec.Type != events.RunnerJobAssignedV1 || rec.Stream != "runner-"+runner {
				continue
			}
			var p struct {
				JobID int64 `json:"job_id"`
			}
			if err := json.Unmarshal(rec.Payload, &p); err == nil {
				out = append(out, p.JobID)
			}
		}
		return out
	}
	var second string
	e.waitUntil("two IDLE runners holding a job each and two queued jobs", 3*time.Minute, func() bool {
		rows := e.runners()
		procs := e.runnerProcs()
		idle := 0
		for id, r := range rows {
			if r["state"] == "IDLE" && len(procs[id]) == 1 {
				idle++
				if id != warm {
					second = id
				}
			}
		}
		return idle == 2 && len(procs) == 2 && len(queued(rows)) == 2 && len(assignedTo(warm)) == 1
	})
	rows := e.runners()
	waiting := queued(rows)
	for _, job := range waiting {
		if reason := rows[reqID(job)]["queue_reason"].(string); reason == "" {
			t.Errorf("job %d queued without a reason", job)
		} else {
			t.Logf("job %d queued: %s", job, reason)
		}
	}
	first := assignedTo(warm)[0]

	// The warm runner's job finishes: one queued job is served by it.
	if code, outcome, err := e.jobHook(first, "success"); err != nil || code != 202 {
		t.Fatalf("success of job %d: %d %q %v", first, code, outcome, err)
	}
	e.waitUntil("a queued job assigned to the freed runner", time.Minute, func() bool {
		got := assignedTo(warm)
		return len(got) == 2 && slices.Contains(waiting, got[1]) && len(queued(e.runners())) == 1
	})

	// The egg leaves the Nest (with the UF file that names it).
	e.nest.Commit(t, nil, "Eggs/"+provEgg+"/config.fly", "UF/config.fly")
	e.waitUntil("every runner TERMINATED and every process gone", 3*time.Minute, func() bool {
		if len(e.runnerProcs()) != 0 {
			return false
		}
		for _, r := range e.runners() {
			if r["state"] != "TERMINATED" {
				return false
			}
		}
		return true
	})
	stopPolling()
	if peak > 2 {
		t.Errorf("%d live runner processes at once for an egg of apex max_count 2", peak)
	}

	// The log: each deployed runner was planned, applied, deployed and
	// terminated (its destroy planned and applied too).
	deployed := 0
	for id, types := range byRunner(e.log()) {
		if count(types, events.RunnerTerminatedV1) != 1 {
			t.Errorf("runner %s: %v, want one runner.terminated", id, types)
		}
		if count(types, events.RunnerDeployedV1) == 0 {
			continue
		}
		deployed++
		if count(types, events.PlanCreatedV1) != 2 || count(types, events.PlanAppliedV1) != 2 || count(types, events.RunnerDeployedV1) != 1 {
			t.Errorf("runner %s: %v, want a create and a destroy plan, both applied, and one runner.deployed", id, types)
		}
	}
	if deployed != 2 {
		t.Errorf("%d runners deployed, want 2 (%s and %s)", deployed, warm, second)
	}

	// No secret value in the database files.
	e.stop()
	mu.Lock()
	secrets := maps.Clone(creds)
	mu.Unlock()
	if len(secrets) != 2 {
		t.Errorf("saw %d runner credentials, want 2", len(secrets))
	}
	secrets["the webhook secret"] = e.webhookSecret
	secrets["the runner token"] = e.runnerToken
	e.scanSecrets(secrets)
}

// TestServe_failing_agent_ends_FAILED_Integration: the agent the local
// module starts exits at once (here a usage error of `gosling runner`), so
// every apply fails: each ends in plan.failed with the diagnostics, the
// retries are bounded, the runner ends FAILED with the reason, and no
// process is left behind.
func TestServe_failing_agent_ends_FAILED_Integration(t *testing.T) {
	e := newProvEnv(t)
	e.extraArgs = []string{"--runner-command", filepath.Join(filepath.Dir(e.bin), "gosling") + " runner --interval 1ns"}
	e.start()
	var failed string
	e.waitUntil("a FAILED runner", 2*time.Minute, func() bool {
		for id, r := range e.runners() {
			if r["state"] == "FAILED" {
				failed = id
				return true
			}
		}
		return false
	})
	recs := e.log()
	types := byRunner(recs)[failed]
	if n := count(types, events.PlanFailedV1); n != 3 {
		t.Errorf("runner %s: %d plan.failed, want 3 (the bound): %v", failed, n, types)
	}
	if count(types, events.RunnerDeployedV1) != 0 {
		t.Errorf("runner %s deployed: %v", failed, types)
	}
	if reason, _ := e.runners()[failed]["state_reason"].(string); !strings.Contains(reason, "apply") {
		t.Errorf("FAILED with reason %q, want the apply's error", reason)
	}
	for _, rec := range recs {
		if rec.Type != events.PlanFailedV1 {
			continue
		}
		var p struct {
			Stage       string            `json:"stage"`
			Diagnostics []json.RawMessage `json:"diagnostics"`
		}
		if err := json.Unmarshal(rec.Payload, &p); err != nil || p.Stage != "apply" || len(p.Diagnostics) == 0 {
			t.Errorf("plan.failed %s: stage %q, %d diagnostics (%v)", rec.Stream, p.Stage, len(p.Diagnostics), err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if procs := e.runnerProcs(); len(procs) != 0 {
		t.Errorf("processes left behind: %v", procs)
	}
	e.stop()
}

// TestServe_breaker_stops_a_failing_egg_Integration: an egg whose runner
// command is `false` (min 1) fails every apply; after 3 runners given up
// (FAILED) the breaker stops its provisioning: no new runner and no new
// plan across a wait longer than the retry backoff, and a pending job is
// queued with the reason (GET /runners queue_reason).
func TestServe_breaker_stops_a_failing_egg_Integration(t *testing.T) {
	e := newProvEnv(t)
	e.extraArgs = []string{"--runner-command", "false"}
	e.start()
	failed := func(rows map[string]map[string]any) int {
		n := 0
		for _, r := range rows {
			if r["state"] == "FAILED" {
				n++
			}
		}
		return n
	}
	e.waitUntil("3 FAILED runners", 3*time.Minute, func() bool { return failed(e.runners()) >= 3 })

	const job = 7_100_001
	if code, outcome, err := e.jobHook(job, "pending"); err != nil || code != 202 || outcome != "accepted" {
		t.Fatalf("pending job: %d %q %v", code, outcome, err)
	}
	req := fmt.Sprintf("%s-job-%d", provEgg, job)
	e.waitUntil("the job's request queued by the breaker", time.Minute, func() bool {
		reason, _ := e.runners()[req]["queue_reason"].(string)
		return strings.Contains(reason, "its last 3 runners failed to provision (last error, of runner "+provEgg+"-pool-") &&
			strings.Contains(reason, ": apply: ")
	})
	plans := func() int {
		n := 0
		for _, rec := range e.log() {
			if rec.Type == events.PlanCreatedV1 {
				n++
			}
		}
		return n
	}
	before := plans()
	// Longer than the backoff between two plans of one runner (2 s, 4 s)
	// and than a warm runner's first plan.
	time.Sleep(8 * time.Second)
	if after := plans(); after != before {
		t.Errorf("plan.created went from %d to %d after the breaker tripped", before, after)
	}
	rows := e.runners()
	if n := failed(rows); n != 3 {
		t.Errorf("%d FAILED runners, want 3", n)
	}
	if len(rows) != 4 {
		t.Errorf("%d rows, want the 3 FAILED runners and the request: %v", len(rows), slices.Collect(maps.Keys(rows)))
	}
	if r := rows[req]; r["state"] != "PROVISIONING" {
		t.Errorf("request %s: state %v, want PROVISIONING (queued)", req, r["state"])
	}
	if procs := e.runnerProcs(); len(procs) != 0 {
		t.Errorf("processes left behind: %v", procs)
	}
	e.stop()
}
