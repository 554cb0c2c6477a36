package loadtest

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestResultAdd_is_one_run_of_both(t *testing.T) {
	a := Result{Sent: 3, Elapsed: time.Second, Latencies: []time.Duration{1, 5, 9}, Status: map[int]int{202: 3}}
	b := Result{Sent: 2, Elapsed: 3 * time.Second, Latencies: []time.Duration{2, 7}, Status: map[int]int{202: 1, 503: 1}, Errors: 1}
	got := a.Add(b)
	if got.Sent != 5 || got.Elapsed != 4*time.Second || got.Errors != 1 || got.Status[202] != 4 || got.Status[503] != 1 {
		t.Fatalf("sum %+v", got)
	}
	if !slices.Equal(got.Latencies, []time.Duration{1, 2, 5, 7, 9}) || got.Percentile(50) != 5 {
		t.Fatalf("latencies %v, median %v", got.Latencies, got.Percentile(50))
	}
	if got.PerSecond() != 5.0/4 {
		t.Fatalf("rate %v, want 1.25/s", got.PerSecond())
	}
	if len(a.Latencies) != 3 || a.Status[202] != 3 {
		t.Fatalf("Add changed its receiver: %+v", a)
	}
}

func TestPendingJobs_sets_the_build_id_of_a_pending_job(t *testing.T) {
	tpl, err := PendingJobs(filepath.Join("..", "testdata", "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		BuildID     int64  `json:"build_id"`
		BuildStatus string `json:"build_status"`
		ObjectKind  string `json:"object_kind"`
	}
	if err := json.Unmarshal(tpl.Body(5_000_000_007), &got); err != nil {
		t.Fatal(err)
	}
	if got.BuildID != 5_000_000_007 || got.BuildStatus != "pending" || got.ObjectKind != "build" {
		t.Fatalf("body %+v", got)
	}
	if _, err := PendingJobs(filepath.Join("..", "testdata", "nope.json")); err == nil {
		t.Fatal("a missing fixture made a template")
	}
}
