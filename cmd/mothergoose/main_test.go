package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// TestServe_bus_to_views runs the serve composition root on a temp SQLite
// file: commands sent on the bus become events, the live projectors turn
// them into views, and `replay` rebuilds the same views from the log.
func TestServe_bus_to_views(t *testing.T) {
	store := "sqlite://" + filepath.Join(t.TempDir(), "gosling.db")
	cfg := testConfig()
	cfg.Store = store
	cfg.LogLevel = "warn"
	cfg.PollInterval = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, stop := mustServe(ctx, t, cfg)
	select {
	case <-m.Bus.Running():
	case <-ctx.Done():
		t.Fatal("bus did not start")
	}
	// Commands on different topics run concurrently, so each waits for the
	// previous one's effect to be visible, as a saga would.
	sendAndWait(ctx, t, m, commands.RequestRunner{Meta: commands.Meta{Actor: "test"}, RunnerID: "r-1", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", Reason: "min pool"}, "PROVISIONING")
	live := sendAndWait(ctx, t, m, commands.DeployRunner{RunnerID: "r-1", PlanID: "p-1", InstanceID: "fhm-1", Address: "10.0.0.7"}, "ACTIVE")
	if live.InstanceID != "fhm-1" || live.Egg != "web" || live.Version != 2 {
		t.Fatalf("runner view %+v", live)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// replay through the CLI rebuilds the same row.
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--store", store, "--log-level", "warn", "replay", "--view", "runners"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("replay: %v", err)
	}
	st, err := openStorage(ctx, store, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rebuilt, ok, err := ports.Runners.In(st.Views.Read()).Get(ctx, "r-1")
	if err != nil || !ok {
		t.Fatalf("rebuilt row: %v %v", ok, err)
	}
	if !reflect.DeepEqual(rebuilt, live) {
		t.Fatalf("replayed row differs:\n%+v\n%+v", rebuilt, live)
	}

	// events prints the log as JSON records.
	root = newRootCommand()
	out.Reset()
	root.SetOut(&out)
	root.SetArgs([]string{"--store", store, "events", "--stream", "runner-r-1"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var types []string
	for dec.More() {
		var r events.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		types = append(types, r.Type)
	}
	if want := []string{events.RunnerRequestedV1, events.RunnerDeployedV1}; !reflect.DeepEqual(types, want) {
		t.Fatalf("events printed %v, want %v", types, want)
	}
}

func TestConfig_rejects_bad_values(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown_scheme", []string{"--store", "postgres://x", "migrate"}},
		{"bad_log_level", []string{"--log-level", "loud", "migrate"}},
		{"bad_poll", []string{"--poll-interval", "0s", "migrate"}},
		{"unknown_flag", []string{"--nope", "migrate"}},
		{"bad_view", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "x.db"), "replay", "--view", "nope"}},
		{"serve_without_tokens", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "y.db"), "--api-token", "", "--trigger-token", "", "serve"}},
		{"serve_same_tokens", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "z.db"), "--api-token", "t", "--trigger-token", "t", "serve"}},
		{"serve_bad_listen", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "w.db"), "--api-token", "a", "--trigger-token", "b", "--listen", "nope", "serve"}},
		{"serve_gitlab_api_token_no_server", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "v.db"), "--api-token", "a", "--trigger-token", "b", "--gitlab-api-token", "=env://GITLAB_API_TOKEN", "serve"}},
		{"serve_unauth_rate_zero", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "t.db"), "--api-token", "a", "--trigger-token", "b", "--unauth-rate", "0", "serve"}},
		{"serve_unauth_burst_negative", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "s.db"), "--api-token", "a", "--trigger-token", "b", "--unauth-total-burst", "-1", "serve"}},
		{"serve_plan_retention_zero", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "v.db"), "--api-token", "a", "--trigger-token", "b", "--plan-retention", "0s", "serve"}},
		{"serve_break_after_zero", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "q.db"), "--api-token", "a", "--trigger-token", "b", "--break-after", "0", "serve"}},
		{"serve_reconcile_interval_negative", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "p.db"), "--api-token", "a", "--trigger-token", "b", "--reconcile-interval", "-1s", "serve"}},
		{"serve_unauth_sources_zero", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "r.db"), "--api-token", "a", "--trigger-token", "b", "--unauth-sources", "0", "serve"}},
		{"serve_gitlab_api_token_twice", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "u.db"), "--api-token", "a", "--trigger-token", "b",
			"--gitlab-api-token", "gitlab.com=env://A", "--gitlab-api-token", "GitLab.com=env://B", "serve"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := newRootCommand()
			root.SetArgs(tc.args)
			root.SetOut(new(bytes.Buffer))
			err := root.ExecuteContext(context.Background())
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("got %v (exit %d), want a usage error (exit 2)", err, exitCode(err))
			}
		})
	}
}

func sendAndWait(ctx context.Context, t *testing.T, m *Main, cmd commands.Command, state string) ports.RunnerRow {
	t.Helper()
	if err := m.Bus.Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	for {
		row, ok, err := ports.Runners.In(m.storage.Views.Read()).Get(ctx, "r-1")
		if err != nil {
			t.Fatal(err)
		}
		if ok && row.State == state {
			return row
		}
		select {
		case <-ctx.Done():
			t.Fatalf("runner r-1 never reached %s in the view (last: %+v)", state, row)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestServe_syncs_the_Nest runs serve against a Nest repository on disk: the
// first sync puts its egg in the egg_configs view and a SUCCESS row in
// sync_history; a broken commit is recorded as FAILED and leaves the egg as
// it was.
func TestServe_syncs_the_Nest(t *testing.T) {
	egg, err := os.ReadFile(filepath.Join("..", "..", "adapters", "fly", "testdata", "valid", "minimal", "Eggs", "solo", "config.fly"))
	if err != nil {
		t.Fatal(err)
	}
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{"Eggs/solo/config.fly": string(egg)})

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, stop := mustServe(ctx, t, cfg)
	defer m.Close()

	syncs := func(status string) []ports.SyncHistoryRow {
		rows, err := ports.SyncHistory.In(m.storage.Views.Read()).List(ctx, ports.Query{Eq: map[string]any{"status": status}})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	waitFor(ctx, t, "a successful sync", func() bool { return len(syncs("SUCCESS")) == 1 })
	row, ok, err := ports.EggConfigs.In(m.storage.Views.Read()).Get(ctx, "solo")
	if err != nil || !ok {
		t.Fatalf("egg solo not in egg_configs: %v %v", ok, err)
	}

	origin.Commit(t, map[string]string{"Eggs/solo/config.fly": "egg \"solo\" {\n  type = \"spaceship\"\n}\n"})
	waitFor(ctx, t, "a failed sync", func() bool { return len(syncs("FAILED")) == 1 })
	failed := syncs("FAILED")[0]
	if len(failed.Diagnostics) == 0 || failed.Diagnostics[0].File != "Eggs/solo/config.fly" {
		t.Fatalf("failed sync diagnostics %+v", failed.Diagnostics)
	}
	after, _, err := ports.EggConfigs.In(m.storage.Views.Read()).Get(ctx, "solo")
	if err != nil || !reflect.DeepEqual(after, row) {
		t.Fatalf("a broken commit changed the egg: %+v (was %+v) %v", after, row, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// testConfig is the default configuration with what serve needs for tests:
// a free port and tokens.
func testConfig() Config {
	cfg := defaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.APIToken = "test-api-token"
	cfg.TriggerToken = "test-trigger-token"
	return cfg
}

func eggFly(name, server string, project int64) string {
	return fmt.Sprintf(`egg %q {
  type = "serverless"

  cloud {
    provider = "yandex"
    region   = "ru-central1"
  }

  runner {
    tags = ["docker", "linux"]
  }

  gitlab {
    server         = %q
    project_id     = %d
    webhook_secret = "env://GOSLING_TEST_WEBHOOK_SECRET"
  }
}
`, name, server, project)
}

// apiClient talks to a serving Main.
type apiClient struct {
	t    *testing.T
	base string
}

func (c apiClient) do(method, path string, body []byte, header map[string]string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, out
}

func (c apiClient) get(path string) map[string]any {
	c.t.Helper()
	status, body := c.do(http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer test-api-token"})
	if status != 200 {
		c.t.Fatalf("GET %s: %d %v", path, status, body)
	}
	return body
}

func (c apiClient) hook(fixture string, set map[string]any, uuid, token string) (int, map[string]any) {
	c.t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "adapters", "httpapi", "testdata", fixture))
	if err != nil {
		c.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		c.t.Fatal(err)
	}
	maps.Copy(m, set)
	body, _ := json.Marshal(m)
	// GitLab's X-Gitlab-Event for the fixture's kind (it must agree).
	event := map[any]string{"build": "Job Hook", "push": "Push Hook", "pipeline": "Pipeline Hook", "merge_request": "Merge Request Hook"}[m["object_kind"]]
	return c.do(http.MethodPost, "/webhooks/gitlab", body, map[string]string{
		"Content-Type": "application/json", "X-Gitlab-Event-UUID": uuid, "X-Gitlab-Token": token, "X-Gitlab-Event": event,
	})
}

func listOf(body map[string]any, key, field string) []string {
	var out []string
	for _, it := range body[key].([]any) {
		out = append(out, fmt.Sprint(it.(map[string]any)[field]))
	}
	return out
}

// TestServe_HTTP_end_to_end runs serve on 127.0.0.1:0 with a temp dir and a
// Nest on disk: a triggered sync brings a new egg, the real GitLab payloads
// are delivered with right and wrong tokens, and the views, the audit trail
// and the status codes are checked through the API.
func TestServe_HTTP_end_to_end(t *testing.T) {
	t.Setenv("GOSLING_TEST_WEBHOOK_SECRET", "hook-secret")
	origin := gitrepotest.NewOrigin(t, "main")
	// push.json is project 15 on example.com; job.json project 31537070 on gitlab.com.
	origin.Commit(t, map[string]string{"Eggs/diaspora/config.fly": eggFly("diaspora", "example.com", 15)})

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = time.Hour // only the first sync and triggered ones
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, stop := mustServe(ctx, t, cfg)
	defer m.Close()
	c := apiClient{t: t, base: "http://" + m.Addr()}

	if status, _ := c.do(http.MethodGet, "/health", nil, nil); status != 200 {
		t.Fatalf("health %d", status)
	}
	eggs := func() []string { return listOf(c.get("/eggs"), "eggs", "name") }
	waitFor(ctx, t, "the first sync", func() bool { return slices.Equal(eggs(), []string{"diaspora"}) })

	// A new egg arrives through a triggered sync.
	origin.Commit(t, map[string]string{"Eggs/release-tools/config.fly": eggFly("release-tools", "gitlab.com", 31537070)})
	if status, _ := c.do(http.MethodPost, "/internal/sync-git", nil, map[string]string{"X-Trigger-Auth": "wrong"}); status != 401 {
		t.Fatalf("sync-git with a wrong token: %d", status)
	}
	if status, body := c.do(http.MethodPost, "/internal/sync-git", nil, map[string]string{"X-Trigger-Auth": "test-trigger-token"}); status != 202 {
		t.Fatalf("sync-git: %d %v", status, body)
	}
	waitFor(ctx, t, "the triggered sync", func() bool { return slices.Equal(eggs(), []string{"diaspora", "release-tools"}) })
	// nest.synced is appended after the egg events, so its row may land a
	// moment after the eggs are visible.
	history := func() []string { return listOf(c.get("/sync-history"), "sync_history", "trigger") }
	waitFor(ctx, t, "two syncs in the history", func() bool { return len(history()) == 2 })
	if hist := history(); hist[0] != "manual" {
		t.Fatalf("sync history triggers %v, want the manual sync first (newest first)", hist)
	}

	// The real Job Hook, pending, with the egg's token.
	const jobUUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	pending := map[string]any{"build_status": "pending"}
	status, first := c.hook("job.json", pending, jobUUID, "hook-secret")
	if status != 202 || first["outcome"] != "accepted" || first["duplicate"] != false {
		t.Fatalf("pending job: %d %v", status, first)
	}
	status, again := c.hook("job.json", pending, jobUUID, "hook-secret")
	if status != 202 || again["duplicate"] != true || again["event_id"] != first["event_id"] {
		t.Fatalf("redelivery: %d %v", status, again)
	}
	if status, body := c.hook("job.json", pending, "another-uuid", "wrong-secret"); status != 401 {
		t.Fatalf("wrong token: %d %v", status, body)
	}
	status, push := c.hook("push.json", nil, "push-uuid-1", "hook-secret")
	if status != 202 || push["outcome"] != "ignored" || push["reason"] != "event kind push is not acted on" {
		t.Fatalf("push to an egg project: %d %v", status, push)
	}

	// The webhook stream holds one event, the log one runner request.
	if evs := c.get("/events?stream=webhook-" + jobUUID)["events"].([]any); len(evs) != 1 {
		t.Fatalf("webhook stream has %d events", len(evs))
	}
	var types []string
	for after := "0"; ; {
		page := c.get("/events?limit=5&after=" + after)
		evs := page["events"].([]any)
		if len(evs) == 0 {
			break
		}
		types = append(types, listOf(page, "events", "type")...)
		after = fmt.Sprint(page["next_after"])
	}
	count := map[string]int{}
	for _, ty := range types {
		count[ty]++
	}
	if count[events.RunnerRequestedV1] != 1 || count[events.WebhookReceivedV1] != 2 || count[events.NestSyncedV1] != 2 || count[events.EggSyncedV1] != 2 {
		t.Fatalf("event log %v", count)
	}

	// The views catch up: a PROVISIONING runner for the job, the audit trail, ready.
	waitFor(ctx, t, "the runner in the view", func() bool {
		return slices.Equal(listOf(c.get("/runners?state=PROVISIONING&egg=release-tools"), "runners", "id"), []string{"release-tools-job-3580121225"})
	})
	waitFor(ctx, t, "ready", func() bool { s, _ := c.do(http.MethodGet, "/ready", nil, nil); return s == 200 })

	// The metrics carry the syncs and the appended events of this run.
	resp, err := http.Get("http://" + m.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`nest_sync_duration_seconds_count{status="synced",trigger="manual"} 1`, `events_appended_total{type="runner.requested.v1"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
	// And the store's: appends were made durable by fsyncs of the WAL.
	for _, name := range []string{"sqlite_appends_total", "sqlite_append_groups_total", "sqlite_wal_fsyncs_total"} {
		v, ok := metricValue(string(metrics), name)
		if !ok || v < 1 {
			t.Fatalf("/metrics has %s = %v (present %v), want at least 1", name, v, ok)
		}
	}
	audit := c.get("/audit?limit=1000")
	if got := listOf(audit, "audit", "type"); !slices.Equal(got, types) {
		t.Fatalf("audit types %v, log %v", got, types)
	}
	if st := c.get("/eggs/release-tools/status"); st["runners"] != float64(1) {
		t.Fatalf("egg status %v", st)
	}
	if status, _ := c.do(http.MethodGet, "/runners", nil, nil); status != 401 {
		t.Fatalf("query without a token: %d", status)
	}

	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := http.Get("http://" + m.Addr() + "/health"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

// mustServe opens m on cfg and runs it in the background; stop ends Run and
// returns what Run returned (it may be called more than once; cleanup calls it).
func mustServe(ctx context.Context, t *testing.T, cfg Config) (*Main, func() error) {
	t.Helper()
	return mustServeMain(ctx, t, &Main{Config: cfg})
}

// mustServeMain is mustServe for a Main built by the test.
func mustServeMain(ctx context.Context, t *testing.T, m *Main) (*Main, func() error) {
	t.Helper()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return m, stop
}

// metricValue reads an unlabelled sample from a Prometheus text exposition.
func metricValue(text, name string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// The limits of unauthenticated webhook deliveries default to the HTTP
// API's, are read from env, and a flag wins over env; an unparsable env
// value is reported by ValidateServe.
func TestConfig_unauthenticated_webhook_limits(t *testing.T) {
	parse := func(t *testing.T, args ...string) Config {
		t.Helper()
		c := defaultConfig()
		c.APIToken, c.TriggerToken = "a", "b"
		cmd := &cobra.Command{Use: "x"}
		bindServeFlags(cmd, &c)
		if err := cmd.Flags().Parse(args); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := parse(t).unauthLimits(); got != httpapi.DefaultUnauthenticatedLimits {
		t.Fatalf("defaults %+v, want %+v", got, httpapi.DefaultUnauthenticatedLimits)
	}
	t.Setenv("MOTHERGOOSE_UNAUTH_RATE", "2.5")
	t.Setenv("MOTHERGOOSE_UNAUTH_TOTAL_BURST", "50")
	c := parse(t, "--unauth-burst", "7", "--unauth-total-rate", "30", "--unauth-sources", "99", "--unauth-total-burst", "60")
	want := httpapi.UnauthenticatedLimits{PerSource: 2.5, PerSourceBurst: 7, Total: 30, TotalBurst: 60, MaxSources: 99}
	if got := c.unauthLimits(); got != want {
		t.Fatalf("limits %+v, want %+v", got, want)
	}
	if err := c.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MOTHERGOOSE_UNAUTH_SOURCES", "many")
	if err := parse(t).ValidateServe(); err == nil || !strings.Contains(err.Error(), "--unauth-sources") {
		t.Fatalf("unparsable MOTHERGOOSE_UNAUTH_SOURCES: %v", err)
	}
}

// --break-after defaults to 3, is read from env, a flag wins, and 0 (or
// an unparsable env value) is refused: the breaker cannot be turned off.
func TestConfig_break_after(t *testing.T) {
	parse := func(t *testing.T, args ...string) Config {
		t.Helper()
		c := defaultConfig()
		c.APIToken, c.TriggerToken = "a", "b"
		cmd := &cobra.Command{Use: "x"}
		bindServeFlags(cmd, &c)
		if err := cmd.Flags().Parse(args); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := parse(t); c.BreakAfter != 3 || c.ValidateServe() != nil {
		t.Fatalf("default --break-after %d (%v), want 3", c.BreakAfter, c.ValidateServe())
	}
	t.Setenv("MOTHERGOOSE_BREAK_AFTER", "5")
	if c := parse(t); c.BreakAfter != 5 {
		t.Fatalf("MOTHERGOOSE_BREAK_AFTER=5: %d", c.BreakAfter)
	}
	if c := parse(t, "--break-after", "1"); c.BreakAfter != 1 || c.ValidateServe() != nil {
		t.Fatalf("--break-after 1 over env: %d (%v)", c.BreakAfter, c.ValidateServe())
	}
	for _, args := range [][]string{{"--break-after", "0"}, {"--break-after", "-2"}} {
		err := parse(t, args...).ValidateServe()
		if err == nil || !strings.Contains(err.Error(), "--break-after (or MOTHERGOOSE_BREAK_AFTER) is "+args[1]+": want at least 1") || exitCode(err) != 2 {
			t.Fatalf("%v: %v, want a usage error naming --break-after", args, err)
		}
	}
	t.Setenv("MOTHERGOOSE_BREAK_AFTER", "never")
	if err := parse(t).ValidateServe(); err == nil || !strings.Contains(err.Error(), "--break-after") {
		t.Fatalf("unparsable MOTHERGOOSE_BREAK_AFTER: %v", err)
	}
}
