package loadtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
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

// Done sees every answer of both loops, the open loop's dropped requests too.
func TestDone_sees_every_answer_of_both_loops(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	ctx := context.Background()
	mk := func(int) Request { return Request{Body: []byte("{}")} }
	var mu sync.Mutex
	seen := map[int]int{}
	done := func(a Answer) {
		mu.Lock()
		defer mu.Unlock()
		seen[a.Index]++
	}

	closed := Generator{Client: Client(4), URL: srv.URL, Make: mk, Done: done}.Closed(ctx, 4, 20, 10*time.Second)
	if closed.Status[http.StatusAccepted] != 20 || len(seen) != 20 {
		t.Fatalf("closed loop: statuses %v, Done saw %d requests; want 20 of each", closed.Status, len(seen))
	}

	// One request in flight at most, held by the server until the open loop
	// has dropped the other four (or 5 s passed): Done hears of each.
	clear(seen)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer time.AfterFunc(5*time.Second, unblock).Stop()
	drops := 0
	open := Generator{Client: Client(1), URL: srv.URL + "/slow", Make: mk, Done: func(a Answer) {
		done(a)
		if a.Err != nil {
			if drops++; drops == 4 {
				unblock()
			}
		}
	}}.Open(ctx, 100, 50*time.Millisecond, 1)
	if open.Errors != 4 || open.Status[http.StatusAccepted] != 1 {
		t.Fatalf("open loop: statuses %v, %d errors; want one 202 and 4 dropped", open.Status, open.Errors)
	}
	for i := range 5 {
		if seen[i] != 1 {
			t.Fatalf("open loop: Done saw request %d %d times (all: %v)", i, seen[i], seen)
		}
	}
}
