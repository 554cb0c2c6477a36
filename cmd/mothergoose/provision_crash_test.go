package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// TestServe_provisioning_survives_kill9_Integration kills the real
// mothergoose binary with SIGKILL at random moments while pending jobs
// arrive, jobs finish and runners are terminated (so applies and destroys
// run), restarts it on the same data dir, and checks after each restart,
// once things settle (bounded wait), that no runner exists twice, every
// live runner process has a live runner row and every live row a process,
// no workspace is locked, and every accepted pending job is assigned,
// provisioned or queued with a reason.
func TestServe_provisioning_survives_kill9_Integration(t *testing.T) {
	e := newProvEnv(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
	const rounds = 10
	var (
		accepted []int64            // every pending job answered 202 accepted
		finished = map[int64]bool{} // jobs a success Job Hook ended
		build    = int64(8_000_000)
	)
	e.start()
	e.settle(0, accepted, finished)
	for round := 1; round <= rounds; round++ {
		// Load: the jobs held by runners finish, one live runner is
		// terminated, two new jobs are pending.
		for _, job := range e.heldJobs() {
			if code, _, err := e.jobHook(job, "success"); err == nil && code == 202 {
				finished[job] = true
			}
		}
		rows := e.runners()
		var live []string
		for id, r := range rows {
			if r["state"] == "IDLE" || r["state"] == "ACTIVE" {
				live = append(live, id)
			}
		}
		sort.Strings(live)
		if len(live) > 0 {
			id := live[rng.IntN(len(live))]
			status, body, err := e.do(http.MethodPost, "/runners/"+id+"/terminate", nil, map[string]string{"Authorization": "Bearer test-api-token"})
			if err != nil || status != 202 {
				t.Fatalf("round %d: terminate %s: %d %v %v", round, id, status, body, err)
			}
		}
		for range 2 {
			build++
			code, outcome, err := e.jobHook(build, "pending")
			if err == nil && code == 202 && outcome == "accepted" {
				accepted = append(accepted, build)
			} else if err == nil && code != 202 {
				t.Fatalf("round %d: pending job %d: %d %q", round, build, code, outcome)
			}
		}
		time.Sleep(500*time.Millisecond + time.Duration(rng.IntN(2500))*time.Millisecond)
		e.kill()
		e.start()
		e.settle(round, accepted, finished)
	}
	// What the kills cut short, as the log tells it.
	interrupted, plans, failed := 0, 0, map[string]int{}
	for _, rec := range e.log() {
		switch rec.Type {
		case events.PlanCreatedV1:
			plans++
		case events.PlanFailedV1:
			var p struct {
				Stage string `json:"stage"`
				Error string `json:"error"`
			}
			_ = json.Unmarshal(rec.Payload, &p)
			if strings.HasPrefix(p.Error, "interrupted") {
				interrupted++
			} else {
				failed[p.Stage+": "+firstLine(p.Error)]++
			}
		}
	}
	e.stop()
	t.Logf("%d kills; %d pending jobs accepted, %d finished; %d plans, %d interrupted by a kill, other failures %v",
		rounds, len(accepted), len(finished), plans, interrupted, failed)
}

// heldJobs are the jobs assigned to runners and not finished, from the log.
func (e *provEnv) heldJobs() []int64 {
	held := map[int64]bool{}
	for _, rec := range e.log() {
		var p struct {
			JobID     int64  `json:"job_id"`
			JobStatus string `json:"job_status"`
		}
		_ = json.Unmarshal(rec.Payload, &p)
		switch rec.Type {
		case events.RunnerJobAssignedV1:
			held[p.JobID] = true
		case events.WebhookReceivedV1:
			if p.JobStatus == "success" {
				delete(held, p.JobID)
			}
		}
	}
	out := make([]int64, 0, len(held))
	for j := range held {
		out = append(out, j)
	}
	slices.Sort(out)
	return out
}

// settle waits (bounded) until the invariants hold, and fails with every
// violation seen last when they do not.
func (e *provEnv) settle(round int, accepted []int64, finished map[int64]bool) {
	e.t.Helper()
	var problems []string
	deadline := time.Now().Add(90 * time.Second)
	for {
		problems = e.violations(accepted, finished)
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("round %d: after 90 s the invariants do not hold:\n  %s", round, strings.Join(problems, "\n  "))
}

func (e *provEnv) violations(accepted []int64, finished map[int64]bool) []string {
	var out []string
	procs := e.runnerProcs()
	rows := e.runners()
	liveRows := 0
	for id, groups := range procs {
		if len(groups) > 1 {
			out = append(out, fmt.Sprintf("runner %s runs %d times (process groups %v)", id, len(groups), groups))
		}
		r := rows[id]
		switch {
		case r == nil:
			out = append(out, fmt.Sprintf("process of runner %s has no runner row", id))
		case r["state"] != "ACTIVE" && r["state"] != "IDLE" && r["state"] != "BUSY":
			out = append(out, fmt.Sprintf("process of runner %s whose row is %v", id, r["state"]))
		}
	}
	for id, r := range rows {
		switch r["state"] {
		case "ACTIVE", "IDLE", "BUSY":
			liveRows++
			if len(procs[id]) == 0 {
				out = append(out, fmt.Sprintf("runner %s is %v with no process", id, r["state"]))
			}
		case "PROVISIONING":
			if q, _ := r["queue_reason"].(string); q == "" {
				out = append(out, fmt.Sprintf("runner %s is PROVISIONING and not queued (in flight)", id))
			}
		case "FAILED":
			out = append(out, fmt.Sprintf("runner %s FAILED: %v", id, r["state_reason"]))
		}
	}
	if liveRows > 2 {
		out = append(out, fmt.Sprintf("%d live runners for an egg of apex max_count 2", liveRows))
	}
	if locks, _ := filepath.Glob(filepath.Join(e.workDir, "*", ".terraform.tfstate.lock.info")); len(locks) > 0 {
		out = append(out, fmt.Sprintf("workspaces left locked: %v", locks))
	}
	if len(out) > 0 {
		return out // the job check reads the whole log: only when the rest holds
	}
	assigned := map[int64]bool{}
	for _, rec := range e.log() {
		if rec.Type != events.RunnerJobAssignedV1 {
			continue
		}
		var p struct {
			JobID int64 `json:"job_id"`
		}
		_ = json.Unmarshal(rec.Payload, &p)
		assigned[p.JobID] = true
	}
	for _, job := range accepted {
		r := rows[fmt.Sprintf("%s-job-%d", provEgg, job)]
		switch {
		case r == nil:
			out = append(out, fmt.Sprintf("accepted job %d has no request row", job))
		case assigned[job] || finished[job]:
		case r["state"] == "PROVISIONING" && r["queue_reason"] != nil && r["queue_reason"] != "":
		default:
			out = append(out, fmt.Sprintf("accepted job %d is neither assigned nor queued: row %v", job, r))
		}
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 160 {
		line = line[:160]
	}
	return line
}
