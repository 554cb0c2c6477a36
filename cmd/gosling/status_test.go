package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite/sqlitetest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

const testAPIToken = "gosling-test-token"

// apiServer is the real MotherGoose API over a real SQLite store, on 127.0.0.1.
type apiServer struct {
	t        *testing.T
	url      string
	db       *sqlite.DB
	handlers *commands.Handlers
	proj     *projections.Loop
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	core := sqlitetest.NewCore(t)
	db, h, proj := core.DB, core.Handlers, core.Projections
	handler, err := httpapi.New(httpapi.Config{
		Handlers: h, Views: db.Views(), Events: db.Events(), Secrets: secrets.NewLocal(),
		APIToken: testAPIToken, TriggerToken: "trigger-token", Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &apiServer{t: t, url: srv.URL, db: db, handlers: h, proj: proj}
}

// mustSeed appends two eggs, two runners (one deployed) and a Nest sync: 6 events.
func (s *apiServer) mustSeed() {
	s.t.Helper()
	ctx := context.Background()
	meta := commands.Meta{Actor: "user:alice"}
	for _, name := range []string{"web", "api"} {
		_, err := s.handlers.SyncEgg(ctx, commands.SyncEgg{Meta: meta, Config: events.EggSynced{
			Name: name, Kind: "egg", RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a",
			GitLabServer: "gitlab.example.com", ProjectIDs: []int64{42}, CPU: 2, MemoryGB: 4,
			ConfigHash: "h-" + name, Commit: "c0ffee1234567890", Path: "Eggs/" + name + "/config.fly",
		}})
		mustNoErr(s.t, err)
	}
	for _, id := range []string{"web-job-1", "web-job-2"} {
		_, err := s.handlers.RequestRunner(ctx, commands.RequestRunner{Meta: meta, RunnerID: id, Egg: "web",
			RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a", JobID: 1, Reason: "test"})
		mustNoErr(s.t, err)
	}
	_, err := s.handlers.DeployRunner(ctx, commands.DeployRunner{Meta: meta, RunnerID: "web-job-2", PlanID: "p-1", InstanceID: "i-1"})
	mustNoErr(s.t, err)
	_, err = s.handlers.RecordNestSync(ctx, commands.RecordNestSync{Meta: commands.Meta{Actor: "mothergoose:sync"}, Sync: events.NestSynced{
		Commit: "c0ffee1234567890", Trigger: "manual", EggsAdded: 2, StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationMS: 1500,
	}})
	mustNoErr(s.t, err)
	mustNoErr(s.t, s.proj.CatchUp(ctx))
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCLI runs gosling in-process through run, as main does.
func runCLI(ctx context.Context, args ...string) result {
	var stdout, stderr syncBuffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func mustRunCLI(t *testing.T, want int, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := runCLI(ctx, args...)
	if r.code != want {
		t.Fatalf("gosling %s: want exit %d, got\n%s", strings.Join(args, " "), want, r)
	}
	return r
}

func TestStatus_table_and_json(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed()
	api := []string{"--server", s.url, "--token", testAPIToken}

	r := mustRunCLI(t, 0, append([]string{"status"}, api...)...)
	for _, re := range []string{
		`(?m)^EGGS \(2\)$`,
		`(?m)^NAME\s+KIND\s+TYPE\s+PROVIDER\s+REGION\s+REMOVED$`,
		`(?m)^api\s+egg\s+serverless\s+yandex\s+ru-central1-a\s+no$`,
		`(?m)^web\s+egg\s+serverless\s+yandex\s+ru-central1-a\s+no$`,
		`(?m)^POOLS \(live runners\)$`,
		`(?m)^EGG\s+APEX\s+APEX BUSY\s+NADIR\s+NADIR STOPPED\s+SERVERLESS$`,
		`(?m)^web\s+0\s+0\s+0\s+0\s+2$`,
		`(?m)^api\s+0\s+0\s+0\s+0\s+0$`,
		`(?m)^RUNNERS \(2\)$`,
		`(?m)^PROVISIONING\s+1$`,
		`(?m)^ACTIVE\s+1$`,
		`(?m)^FAILED\s+0$`,
		`(?m)^SUCCESS at 2026-01-02T03:04:05Z \(manual, 1.5s\), commit c0ffee123456: eggs \+2 ~0 -0, jobs 0$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("status output does not match %s:\n%s", re, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "DEFERRED") {
		t.Errorf("status lists deferred decisions when there are none:\n%s", r.stdout)
	}
	if strings.Index(r.stdout, "\napi ") > strings.Index(r.stdout, "\nweb ") {
		t.Errorf("eggs are not sorted by name:\n%s", r.stdout)
	}

	r = mustRunCLI(t, 0, append([]string{"status", "--format", "json"}, api...)...)
	var rep statusReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("status --format json: %v\n%s", err, r.stdout)
	}
	if len(rep.Eggs) != 2 || rep.Eggs[0].Name != "api" || rep.Eggs[1].Type != "serverless" || rep.Runners != 2 ||
		rep.RunnersByState["ACTIVE"] != 1 || rep.Eggs[1].Pools != (statusPools{Serverless: 2}) || rep.RunnersByState["PROVISIONING"] != 1 || rep.LastSync == nil || rep.LastSync.Trigger != "manual" {
		t.Errorf("status json = %+v", rep)
	}
}

// TestStatus_counts_more_runners_than_one_page: /runners answers pages of
// at most 1,000 rows; status follows next to count them all.
func TestStatus_counts_more_runners_than_one_page(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed() // web-job-1 PROVISIONING, web-job-2 ACTIVE
	ctx := context.Background()
	err := s.db.Views().Batch(ctx, func(tx ports.ViewTx) error {
		for i := range 2345 {
			state := "IDLE"
			if i%5 == 0 {
				state = "BUSY"
			}
			if _, err := ports.Runners.In(tx).Put(ctx, ports.RunnerRow{ID: fmt.Sprintf("bulk-%05d", i), Egg: "api", State: state, Version: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	mustNoErr(t, err)
	r := mustRunCLI(t, 0, "status", "--format", "json", "--server", s.url, "--token", testAPIToken)
	var rep statusReport
	mustNoErr(t, json.Unmarshal([]byte(r.stdout), &rep))
	want := map[string]int{"PROVISIONING": 1, "ACTIVE": 1, "IDLE": 1876, "BUSY": 469}
	if rep.Runners != 2347 || !reflect.DeepEqual(rep.RunnersByState, want) {
		t.Fatalf("status: %d runners %v, want 2347 %v", rep.Runners, rep.RunnersByState, want)
	}
}

func TestStatus_empty_server(t *testing.T) {
	s := newAPIServer(t)
	t.Setenv("GOSLING_SERVER", s.url) // the flags' defaults come from the environment
	t.Setenv("GOSLING_TOKEN", testAPIToken)
	r := mustRunCLI(t, 0, "status")
	for _, want := range []string{"EGGS (0)", "RUNNERS (0)", "no Nest sync recorded"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("want %q in\n%s", want, r.stdout)
		}
	}
}

func TestEvents_table_json_stream_and_paging(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed()
	api := []string{"--server", s.url, "--token", testAPIToken}

	r := mustRunCLI(t, 0, append([]string{"events"}, api...)...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 7 || !regexp.MustCompile(`^POSITION\s+TIME\s+STREAM\s+VERSION\s+TYPE\s+ACTOR$`).MatchString(lines[0]) {
		t.Fatalf("events table: want a header and 6 rows, got\n%s", r.stdout)
	}
	row := regexp.MustCompile(`^1\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+egg-web\s+1\s+egg\.synced\.v\d+\s+user:alice$`)
	if !row.MatchString(lines[1]) {
		t.Errorf("first row %q does not match %s", lines[1], row)
	}
	if !regexp.MustCompile(`^6\s+\S+\s+nest\s+1\s+nest\.synced\.v\d+\s+mothergoose:sync$`).MatchString(lines[6]) {
		t.Errorf("last row: %q", lines[6])
	}

	r = mustRunCLI(t, 0, append([]string{"events", "--format", "json"}, api...)...)
	recs := mustJSONLines(t, r.stdout)
	if len(recs) != 6 || recs[0].GlobalPosition != 1 || recs[5].Type == "" || recs[2].Actor != "user:alice" || len(recs[0].Payload) == 0 {
		t.Errorf("events json: %+v", recs)
	}

	r = mustRunCLI(t, 0, append([]string{"events", "--format", "json", "--stream", "runner-web-job-2"}, api...)...)
	recs = mustJSONLines(t, r.stdout)
	if len(recs) != 2 || recs[0].Version != 1 || recs[1].Version != 2 || recs[1].Stream != "runner-web-job-2" {
		t.Errorf("events --stream: %+v", recs)
	}

	// --limit is the page size: events reads on to the end of the log.
	r = mustRunCLI(t, 0, append([]string{"events", "--format", "json", "--after", "2", "--limit", "2"}, api...)...)
	recs = mustJSONLines(t, r.stdout)
	if len(recs) != 4 || recs[0].GlobalPosition != 3 || recs[3].GlobalPosition != 6 {
		t.Errorf("events --after 2 --limit 2: %+v", recs)
	}
	r = mustRunCLI(t, 0, append([]string{"events", "--format", "json", "--stream", "runner-web-job-2", "--limit", "1"}, api...)...)
	if recs = mustJSONLines(t, r.stdout); len(recs) != 2 || recs[1].Version != 2 {
		t.Errorf("events --stream --limit 1: %+v", recs)
	}

	// After past the end of the log (or of a stream) prints nothing: the
	// server once wrapped positions of 2^63 and more round to the start.
	for _, after := range []string{"18446744073709551615", "9223372036854775808"} {
		for _, extra := range [][]string{nil, {"--stream", "runner-web-job-2"}} {
			args := append(append([]string{"events", "--format", "json", "--after", after}, extra...), api...)
			if r := mustRunCLI(t, 0, args...); strings.TrimSpace(r.stdout) != "" {
				t.Errorf("gosling %s printed\n%s", strings.Join(args, " "), r.stdout)
			}
		}
	}
}

func mustJSONLines(t *testing.T, out string) []events.Record {
	t.Helper()
	var recs []events.Record
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var r events.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestEvents_follow_until_interrupted(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"events", "--follow", "--format", "json", "--after", "5", "--server", s.url, "--token", testAPIToken},
			strings.NewReader(""), &stdout, &stderr)
	}()
	waitFor(t, func() bool { return strings.Count(stdout.String(), "\n") == 1 }, "the first page", &stdout)
	_, err := s.handlers.SyncEgg(context.Background(), commands.SyncEgg{Meta: commands.Meta{Actor: "user:bob"}, Config: events.EggSynced{
		Name: "late", Kind: "egg", RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a",
		GitLabServer: "gitlab.example.com", ProjectIDs: []int64{7}, CPU: 2, MemoryGB: 4, ConfigHash: "h", Commit: "c", Path: "Eggs/late/config.fly",
	}})
	mustNoErr(t, err)
	waitFor(t, func() bool { return strings.Contains(stdout.String(), `"stream":"egg-late"`) }, "the appended event", &stdout)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("interrupted --follow: exit %d, stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("--follow did not stop when its context ended")
	}
	recs := mustJSONLines(t, stdout.String())
	if len(recs) != 2 || recs[0].GlobalPosition != 6 || recs[1].GlobalPosition != 7 || recs[1].Actor != "user:bob" {
		t.Errorf("followed events: %+v", recs)
	}
}

func waitFor(t *testing.T, cond func() bool, what string, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; output:\n%s", what, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAPICommands_errors(t *testing.T) {
	s := newAPIServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNoErr(t, err)
	closed := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"status_wrong_token", []string{"status", "--server", s.url, "--token", "wrong"}, 1, "unauthorized: check --token"},
		{"events_no_token", []string{"events", "--server", s.url, "--token", ""}, 1, "unauthorized: check --token"},
		{"status_unreachable", []string{"status", "--server", closed, "--token", testAPIToken}, 1, "connection refused"},
		{"events_unreachable", []string{"events", "--server", closed, "--token", testAPIToken}, 1, "is mothergoose serve running"},
		{"api_error_message_shown", []string{"status", "--server", s.url + "/nope", "--token", testAPIToken}, 1, "ENOTFOUND: no route for GET /nope/eggs"},
		{"bad_format", []string{"status", "--server", s.url, "--format", "xml"}, 2, `--format "xml"`},
		{"bad_server_url", []string{"events", "--server", "ftp://example.com"}, 2, "want an http:// or https:// URL"},
		{"bad_limit", []string{"events", "--server", s.url, "--limit", "0"}, 2, "--limit 0"},
		{"bad_after", []string{"events", "--after", "-1"}, 2, "invalid argument"},
		{"after_over_uint64", []string{"events", "--after", "18446744073709551616"}, 2, "invalid argument"},
		{"after_not_a_number", []string{"events", "--after", "x"}, 2, "invalid argument"},
		{"unknown_flag", []string{"status", "--nope"}, 2, "unknown flag"},
		{"extra_argument", []string{"status", "extra"}, 2, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunCLI(t, tc.code, tc.args...)
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("want %q in stderr, got\n%s", tc.stderr, r)
			}
			if r.code == 1 && strings.Contains(r.stderr, "--help") {
				t.Errorf("a runtime error is not a usage error:\n%s", r)
			}
		})
	}
}

// TestStatusPools_count_live_runners_by_pool: Apex (and its BUSY ones),
// Nadir and serverless runners are counted while live; FAILED and
// TERMINATED ones are not.
func TestStatusPools_count_live_runners_by_pool(t *testing.T) {
	var p statusPools
	for _, r := range []ports.RunnerRow{
		{Type: "apex", State: "IDLE"}, {Type: "apex", State: "BUSY"}, {Type: "apex", State: "PROVISIONING"},
		{Type: "apex", State: "TERMINATED"}, {Type: "apex", State: "FAILED"},
		{Type: "nadir", State: "IDLE"}, {Type: "nadir", State: "STOPPED"}, {Type: "nadir", State: "TERMINATED"},
		{Type: "serverless", State: "BUSY"},
	} {
		p = p.count(r)
	}
	if want := (statusPools{Apex: 3, ApexBusy: 1, Nadir: 2, NadirStopped: 1, Serverless: 1}); p != want {
		t.Fatalf("pools %+v, want %+v", p, want)
	}
}

// TestStatus_shows_deferred_decisions: an UglyFox decision waiting for a
// BUSY runner is listed with its reason, in the table and the JSON.
func TestStatus_shows_deferred_decisions(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed()
	ctx := context.Background()
	meta := commands.Meta{Actor: "uglyfox"}
	_, err := s.handlers.ChangeRunnerState(ctx, commands.ChangeRunnerState{Meta: meta, RunnerID: "web-job-2", To: "BUSY", Reason: "heartbeat: the agent reports BUSY"})
	mustNoErr(t, err)
	_, err = s.handlers.DeferDecision(ctx, commands.DeferDecision{Meta: meta, RunnerID: "web-job-2", Action: "terminate", Reason: "uglyfox: pruning.max_age 1h0m0s: age 2h"})
	mustNoErr(t, err)
	mustNoErr(t, s.proj.CatchUp(ctx))
	api := []string{"--server", s.url, "--token", testAPIToken}
	r := mustRunCLI(t, 0, append([]string{"status"}, api...)...)
	for _, re := range []string{
		`(?m)^DEFERRED \(1: UglyFox decisions waiting for a BUSY runner to be idle\)$`,
		`(?m)^web-job-2\s+web\s+terminate\s+uglyfox: pruning.max_age 1h0m0s: age 2h$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("status output does not match %s:\n%s", re, r.stdout)
		}
	}
	r = mustRunCLI(t, 0, append([]string{"status", "--format", "json"}, api...)...)
	var rep statusReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.DeferredTotal != 1 || len(rep.Deferred) != 1 || rep.Deferred[0] != (statusDeferred{Runner: "web-job-2", Egg: "web", Action: "terminate", Reason: "uglyfox: pruning.max_age 1h0m0s: age 2h"}) {
		t.Errorf("status json deferred = %d %+v", rep.DeferredTotal, rep.Deferred)
	}
}
