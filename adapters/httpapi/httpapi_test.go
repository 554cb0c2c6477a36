package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
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

const (
	apiToken     = "test-api-token"
	triggerToken = "test-trigger-token"
	hookSecret   = "s3cret-webhook"
)

// fakeSync records triggers (the Nest sync itself is tested in cmd/mothergoose).
type fakeSync struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeSync) Trigger(t string) { f.mu.Lock(); f.calls = append(f.calls, t); f.mu.Unlock() }
func (f *fakeSync) triggers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

type env struct {
	t        testing.TB
	core     *sqlitetest.Core
	db       *sqlite.DB
	handlers *commands.Handlers
	proj     *projections.Loop
	srv      *httptest.Server
	handler  http.Handler
	sync     *fakeSync
	lag      func(context.Context) (map[string]uint64, error)
}

// newEnv builds the API over a fresh store; opts adjust its Config.
func newEnv(t testing.TB, opts ...func(*httpapi.Config)) *env {
	t.Helper()
	core := sqlitetest.NewCore(t)
	db, h, proj := core.DB, core.Handlers, core.Projections
	e := &env{t: t, core: core, db: db, handlers: h, proj: proj, sync: &fakeSync{}}
	e.lag = proj.Lag
	t.Setenv("HTTPAPI_TEST_SECRET", hookSecret)
	cfg := httpapi.Config{
		Handlers: h, Views: db.Views(), Events: db.Events(), Secrets: secrets.NewLocal(), Sync: e.sync,
		APIToken: apiToken, TriggerToken: triggerToken, MaxBody: 64 << 10,
		Ready: db.Ping, Lag: func(ctx context.Context) (map[string]uint64, error) { return e.lag(ctx) },
		Registry: prometheus.NewRegistry(), LastSeen: db.LastSeen(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	handler, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = handler
	e.srv = httptest.NewServer(handler)
	t.Cleanup(e.srv.Close)
	e.mustSyncEgg("web", []int64{15, 31537070}, "example.com", []string{"docker", "linux"})
	e.mustSyncEgg("other-host", []int64{1}, "gitlab.example.org", nil)
	e.mustCatchUp()
	return e
}

func (e *env) mustSyncEgg(name string, projects []int64, server string, tags []string) {
	e.t.Helper()
	_, err := e.handlers.SyncEgg(context.Background(), commands.SyncEgg{Config: events.EggSynced{
		Name: name, Kind: "egg", RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a",
		GitLabServer: server, ProjectIDs: projects, Tags: tags, CPU: 2, MemoryGB: 4,
		WebhookSecretURI: "env://HTTPAPI_TEST_SECRET", ConfigHash: "h-" + name, Commit: "c0ffee", Path: "Eggs/" + name + "/config.fly",
	}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) mustCatchUp() {
	e.t.Helper()
	if err := e.proj.CatchUp(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) head() uint64 {
	e.t.Helper()
	h, err := e.db.Events().Head(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

func (e *env) do(method, path string, body []byte, header map[string]string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, out
}

func (e *env) get(path string) (int, map[string]any) {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer " + apiToken})
}

// fixture returns testdata/name with top-level fields overridden.
func fixture(t *testing.T, name string, set map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hookHeaders(uuid, token string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "X-Gitlab-Token": token}
	if uuid != "" {
		h["X-Gitlab-Event-UUID"] = uuid
	}
	return h
}

// pendingJob is the real job.json fixture (project 31537070, gitlab.com),
// moved to example.com and made pending.
func pendingJob(t *testing.T, set map[string]any) []byte {
	t.Helper()
	m := map[string]any{"build_status": "pending", "repository": map[string]any{"homepage": "http://example.com/jsmithy2/release-tools-fake"}}
	for k, v := range set {
		m[k] = v
	}
	return fixture(t, "job.json", m)
}

func TestWebhook_status_codes(t *testing.T) {
	e := newEnv(t)
	big := append([]byte(`{"object_kind":"push","pad":"`), bytes.Repeat([]byte("x"), 70<<10)...)
	big = append(big, []byte(`"}`)...)
	tests := []struct {
		name        string
		body        []byte
		header      map[string]string
		wantStatus  int
		wantOutcome string // "" when nothing may be appended
		wantReason  string
		wantType    string // the last event's type when something is appended
	}{
		{"wrong_content_type", fixture(t, "push.json", nil), map[string]string{"Content-Type": "text/plain", "X-Gitlab-Event-UUID": "u-1", "X-Gitlab-Token": hookSecret}, 415, "", "", ""},
		{"body_over_limit", big, hookHeaders("u-2", hookSecret), 413, "", "", ""},
		{"malformed_json", []byte(`{"object_kind":`), hookHeaders("u-3", hookSecret), 400, "", "", ""},
		{"no_object_kind", []byte(`{"project_id":15}`), hookHeaders("u-4", hookSecret), 400, "", "", ""},
		{"no_delivery_id", fixture(t, "push.json", nil), hookHeaders("", hookSecret), 400, "", "", ""},
		{"bad_token", pendingJob(t, nil), hookHeaders("u-5", "wrong"), 401, "", "", ""},
		{"missing_token", pendingJob(t, nil), map[string]string{"Content-Type": "application/json", "X-Gitlab-Event-UUID": "u-6"}, 401, "", "", ""},
		{"unknown_project", fixture(t, "merge_request.json", nil), hookHeaders("u-7", "whatever"), 202, "ignored", "no egg for project 1 on host example.com", events.WebhookReceivedV1},
		{"pipeline_ignored", fixture(t, "pipeline.json", map[string]any{"project": map[string]any{"id": 15, "web_url": "http://example.com/mike/diaspora"}}), hookHeaders("u-8", hookSecret), 202, "ignored", "event kind pipeline is not acted on", events.WebhookReceivedV1},
		{"push_to_egg_ignored", fixture(t, "push.json", nil), hookHeaders("u-9", hookSecret), 202, "ignored", "event kind push is not acted on", events.WebhookReceivedV1},
		{"finished_job_ignored", fixture(t, "job.json", map[string]any{"repository": map[string]any{"homepage": "http://example.com/x"}}), hookHeaders("u-10", hookSecret), 202, "ignored", "job 3580121225 is success: the job has ended; the provisioner frees its runner slot (or drops its request if it had no runner yet)", events.WebhookReceivedV1},
		{"tag_mismatch_ignored", pendingJob(t, map[string]any{"build_id": 77, "tags": []string{"docker", "gpu"}}), hookHeaders("u-11", hookSecret), 202, "ignored", "tags [gpu] not served by egg web", events.WebhookReceivedV1},
		{"idempotency_key", pendingJob(t, map[string]any{"build_id": 78, "build_status": "running"}), map[string]string{"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": "ik-1", "X-Gitlab-Token": hookSecret}, 202, "ignored", "job 78 is running: neither pending (which asks for a runner) nor ended (which frees its runner slot)", events.WebhookReceivedV1},
		{"pending_job_accepted", pendingJob(t, map[string]any{"tags": []string{"docker"}}), hookHeaders("u-12", hookSecret), 202, "accepted", "", events.WebhookReceivedV1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			status, body := e.do(http.MethodPost, "/webhooks/gitlab", tc.body, tc.header)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %v)", status, tc.wantStatus, body)
			}
			if tc.wantOutcome == "" {
				if e.head() != before {
					t.Fatalf("a rejected delivery appended %d events", e.head()-before)
				}
				errBody, _ := body["error"].(map[string]any)
				if errBody["code"] == nil || errBody["message"] == nil {
					t.Fatalf("no JSON error body: %v", body)
				}
				return
			}
			if body["outcome"] != tc.wantOutcome || body["event_id"] == "" || body["duplicate"] != false {
				t.Fatalf("response %v", body)
			}
			if tc.wantReason != "" && body["reason"] != tc.wantReason {
				t.Fatalf("reason %q, want %q", body["reason"], tc.wantReason)
			}
			recs, err := e.db.Events().ReadAll(context.Background(), before, 10)
			if err != nil {
				t.Fatal(err)
			}
			// The delivery is recorded first; a runner it asks for follows,
			// caused by it, in the same append.
			if len(recs) == 0 || recs[0].Type != tc.wantType || recs[0].ID != body["event_id"] {
				t.Fatalf("appended %+v, want a %s with id %v first", recs, tc.wantType, body["event_id"])
			}
			for _, r := range recs[1:] {
				if r.Type != events.RunnerRequestedV1 || r.CausationID != recs[0].ID || r.CorrelationID != recs[0].CorrelationID {
					t.Fatalf("after the delivery %s appended %+v, want only a runner.requested it caused", recs[0].ID, r)
				}
			}
		})
	}

	// The accepted pending job asked for a runner.
	e.mustCatchUp()
	status, runner := e.get("/runners/web-job-3580121225")
	if status != 200 || runner["state"] != "PROVISIONING" || runner["type"] != "serverless" || runner["job_id"] != float64(3580121225) {
		t.Fatalf("runner %d %v", status, runner)
	}
	if _, tagMismatch := e.get("/runners/web-job-77"); tagMismatch["error"] == nil {
		t.Fatal("a job with unserved tags got a runner")
	}
}

func TestWebhook_duplicate_delivery_appends_once(t *testing.T) {
	e := newEnv(t)
	body := pendingJob(t, nil)
	before := e.head()
	s1, b1 := e.do(http.MethodPost, "/webhooks/gitlab", body, hookHeaders("dup-1", hookSecret))
	s2, b2 := e.do(http.MethodPost, "/webhooks/gitlab", body, hookHeaders("dup-1", hookSecret))
	if s1 != 202 || s2 != 202 || b1["duplicate"] != false || b2["duplicate"] != true || b1["event_id"] != b2["event_id"] || b2["outcome"] != "accepted" {
		t.Fatalf("first %d %v, second %d %v", s1, b1, s2, b2)
	}
	recs, err := e.db.Events().ReadAll(context.Background(), before, 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range recs {
		count[r.Type]++
	}
	if count[events.WebhookReceivedV1] != 1 || count[events.RunnerRequestedV1] != 1 || len(recs) != 2 {
		t.Fatalf("events after two deliveries: %v", count)
	}
	// Another delivery of the same job (a new UUID) does not ask twice.
	s3, b3 := e.do(http.MethodPost, "/webhooks/gitlab", body, hookHeaders("dup-2", hookSecret))
	if s3 != 202 || b3["outcome"] != "ignored" || !strings.Contains(b3["reason"].(string), "already requested") {
		t.Fatalf("redelivered job %d %v", s3, b3)
	}
}

func TestWebhook_push_to_the_Nest_triggers_a_sync(t *testing.T) {
	e := newEnv(t)
	push := fixture(t, "push.json", map[string]any{"project_id": 999, "project": map[string]any{"id": 999, "web_url": "http://example.com/ops/nest"}})
	status, body := e.do(http.MethodPost, "/webhooks/gitlab", push, hookHeaders("nest-1", triggerToken))
	if status != 202 || body["outcome"] != "accepted" {
		t.Fatalf("%d %v", status, body)
	}
	if got := e.sync.triggers(); len(got) != 1 || got[0] != "webhook" {
		t.Fatalf("triggers %v", got)
	}
	// Without the trigger token it is an unknown project: once the egg view
	// has caught up, an answer; before that, 503 so that GitLab retries.
	status, _ = e.do(http.MethodPost, "/webhooks/gitlab", push, hookHeaders("nest-2", "nope"))
	if status != 503 {
		t.Fatalf("unknown project while the egg view lags: %d, want 503", status)
	}
	e.mustCatchUp()
	status, body = e.do(http.MethodPost, "/webhooks/gitlab", push, hookHeaders("nest-2", "nope"))
	if status != 202 || body["outcome"] != "ignored" || len(e.sync.triggers()) != 1 {
		t.Fatalf("%d %v %v", status, body, e.sync.triggers())
	}
}

func TestSyncGit_trigger_auth(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no_header", nil, 401},
		{"wrong_token", map[string]string{"X-Trigger-Auth": "x"}, 401},
		{"api_token_is_not_enough", map[string]string{"X-Trigger-Auth": apiToken}, 401},
		{"right_token", map[string]string{"X-Trigger-Auth": triggerToken}, 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := e.do(http.MethodPost, "/internal/sync-git", nil, tc.header); status != tc.want {
				t.Fatalf("%d %v", status, body)
			}
		})
	}
	if got := e.sync.triggers(); len(got) != 1 || got[0] != "manual" {
		t.Fatalf("triggers %v", got)
	}
}

func TestQueryAPI_auth(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/eggs", "/eggs/web", "/eggs/web/status", "/runners", "/runners/x", "/plans", "/sync-history", "/audit", "/events"} {
		for name, h := range map[string]map[string]string{
			"no_token":    nil,
			"wrong_token": {"Authorization": "Bearer nope"},
			"not_bearer":  {"Authorization": "Basic " + apiToken},
			"trigger":     {"Authorization": "Bearer " + triggerToken},
		} {
			if status, body := e.do(http.MethodGet, path, nil, h); status != 401 || body["error"].(map[string]any)["code"] != "EUNAUTHORIZED" {
				t.Errorf("%s %s: %d %v", path, name, status, body)
			}
		}
	}
	for _, path := range []string{"/health", "/ready", "/metrics"} {
		if status, _ := e.do(http.MethodGet, path, nil, nil); status != 200 {
			t.Errorf("%s without a token: %d", path, status)
		}
	}
	// RFC 9110 11.1: the auth scheme is case-insensitive; spaces or tabs
	// separate it from the token.
	for name, h := range map[string]string{
		"lower_case":  "bearer " + apiToken,
		"upper_case":  "BEARER " + apiToken,
		"mixed_case":  "bEaReR " + apiToken,
		"extra_space": "Bearer   " + apiToken,
		"tab":         "Bearer\t" + apiToken,
	} {
		if status, body := e.do(http.MethodGet, "/eggs", nil, map[string]string{"Authorization": h}); status != 200 {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	for name, h := range map[string]string{
		"no_separator":    "Bearer" + apiToken,
		"scheme_only":     "Bearer",
		"other_scheme":    "Bearers " + apiToken,
		"token_in_scheme": apiToken,
	} {
		if status, _ := e.do(http.MethodGet, "/eggs", nil, map[string]string{"Authorization": h}); status != 401 {
			t.Errorf("%s: %d, want 401", name, status)
		}
	}
}

func TestQueryAPI_views_and_filters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, r := range []commands.RequestRunner{
		{RunnerID: "r-1", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a"},
		{RunnerID: "r-2", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a"},
		{RunnerID: "r-3", Egg: "other-host", RunnerType: "apex", Provider: "aws", Region: "eu-central-1"},
	} {
		if _, err := e.handlers.RequestRunner(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.handlers.DeployRunner(ctx, commands.DeployRunner{RunnerID: "r-2", PlanID: "p-1", InstanceID: "i-1"}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp()

	ids := func(path, key, field string) []string {
		t.Helper()
		status, body := e.get(path)
		if status != 200 {
			t.Fatalf("%s: %d %v", path, status, body)
		}
		var out []string
		for _, it := range body[key].([]any) {
			out = append(out, it.(map[string]any)[field].(string))
		}
		return out
	}
	for _, tc := range []struct {
		path, key, field string
		want             string
	}{
		{"/eggs", "eggs", "name", "other-host,web"},
		{"/runners", "runners", "id", "r-1,r-2,r-3"},
		{"/runners?egg=web", "runners", "id", "r-1,r-2"},
		{"/runners?state=ACTIVE", "runners", "id", "r-2"},
		{"/runners?state=PROVISIONING&egg=web", "runners", "id", "r-1"},
		{"/plans?egg=web", "plans", "plan_id", ""},
	} {
		if got := strings.Join(ids(tc.path, tc.key, tc.field), ","); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
	if status, body := e.get("/runners?state=SLEEPY"); status != 400 || body["error"].(map[string]any)["code"] != "EINVALID" {
		t.Errorf("bad state: %d %v", status, body)
	}
	if status, body := e.get("/eggs/nope"); status != 404 || body["error"].(map[string]any)["code"] != "ENOTFOUND" {
		t.Errorf("unknown egg: %d %v", status, body)
	}
	if status, body := e.get("/runners/nope"); status != 404 {
		t.Errorf("unknown runner: %d %v", status, body)
	}
	status, st := e.get("/eggs/web/status")
	if status != 200 || st["runners"] != float64(2) || st["runners_by_state"].(map[string]any)["ACTIVE"] != float64(1) {
		t.Errorf("egg status %d %v", status, st)
	}
	if status, egg := e.get("/eggs/web"); status != 200 || egg["gitlab_server"] != "example.com" {
		t.Errorf("egg %d %v", status, egg)
	}
	if status, body := e.get("/audit?type=" + events.RunnerRequestedV1); status != 200 || len(body["audit"].([]any)) != 3 {
		t.Errorf("audit %d %v", status, body)
	}
	if status, body := e.get("/sync-history"); status != 200 || len(body["sync_history"].([]any)) != 0 {
		t.Errorf("sync history %d %v", status, body)
	}
}

func TestQueryAPI_events_paging(t *testing.T) {
	e := newEnv(t) // two egg.synced events
	ctx := context.Background()
	for i := range 5 {
		if _, err := e.handlers.RequestRunner(ctx, commands.RequestRunner{RunnerID: "p-" + string(rune('a'+i)), Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	after := "0"
	for page := 0; ; page++ {
		status, body := e.get("/events?limit=3&after=" + after)
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		evs := body["events"].([]any)
		if len(evs) == 0 {
			if body["next_after"] != float64(7) {
				t.Fatalf("empty page next_after %v", body["next_after"])
			}
			break
		}
		if len(evs) > 3 || page > 5 {
			t.Fatalf("page %d has %d events", page, len(evs))
		}
		for _, ev := range evs {
			all = append(all, ev.(map[string]any)["type"].(string))
		}
		after = jsonNumber(body["next_after"])
	}
	if len(all) != 7 || all[0] != events.EggSyncedV1 || all[6] != events.RunnerRequestedV1 {
		t.Fatalf("paged through %v", all)
	}
	status, body := e.get("/events?stream=runner-p-c")
	if status != 200 || len(body["events"].([]any)) != 1 || body["next_after"] != float64(1) {
		t.Fatalf("one stream: %d %v", status, body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "after=-1", "limit=x"} {
		if status, _ := e.get("/events?" + q); status != 400 {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}
}

// TestQueryAPI_after_past_the_end_reads_nothing: after (a position, or a
// version with stream=) at or past 2^63 once wrapped round to the start of
// the log in the SQLite store; a value that is no uint64 is EINVALID.
func TestQueryAPI_after_past_the_end_reads_nothing(t *testing.T) {
	e := newEnv(t) // egg-web and egg-other-host, one event each
	head := e.head()
	for _, path := range []string{
		"/events?after=18446744073709551615",
		"/events?after=9223372036854775808",
		"/events?after=9223372036854775807",
		"/events?after=" + jsonNumber(head),
		"/events?stream=egg-web&after=18446744073709551615",
		"/events?stream=egg-web&after=9223372036854775808",
		"/events?stream=egg-web&after=1",
		"/audit?after=18446744073709551615",
		"/audit?after=9223372036854775808",
	} {
		status, body := e.get(path)
		key := "events"
		if strings.HasPrefix(path, "/audit") {
			key = "audit"
		}
		if status != 200 || len(body[key].([]any)) != 0 {
			t.Errorf("%s: %d %v, want 200 and nothing", path, status, body)
		}
	}
	for _, path := range []string{
		"/events?after=18446744073709551616", "/events?after=-1", "/events?after=1e3", "/events?after=x",
		"/events?stream=egg-web&after=99999999999999999999", "/audit?after=-9223372036854775808",
	} {
		if status, body := e.get(path); status != 400 || body["error"].(map[string]any)["code"] != "EINVALID" {
			t.Errorf("%s: %d %v, want 400 EINVALID", path, status, body)
		}
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestReady_503_while_projections_lag(t *testing.T) {
	e := newEnv(t)
	if status, body := e.do(http.MethodGet, "/ready", nil, nil); status != 200 {
		t.Fatalf("caught up: %d %v", status, body)
	}
	if _, err := e.handlers.RequestRunner(context.Background(), commands.RequestRunner{RunnerID: "lag", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "r"}); err != nil {
		t.Fatal(err)
	}
	status, body := e.do(http.MethodGet, "/ready", nil, nil)
	if status != 503 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "1 events behind") {
		t.Fatalf("lagging: %d %v", status, body)
	}
	e.mustCatchUp()
	if status, body := e.do(http.MethodGet, "/ready", nil, nil); status != 200 {
		t.Fatalf("caught up again: %d %v", status, body)
	}
	if status, _ := e.do(http.MethodGet, "/health", nil, nil); status != 200 {
		t.Fatal("health")
	}
}

func TestMetrics_use_route_templates(t *testing.T) {
	e := newEnv(t)
	e.get("/runners/abc")
	e.get("/runners/def")
	e.do(http.MethodPost, "/webhooks/gitlab", fixture(t, "push.json", nil), hookHeaders("m-1", hookSecret))
	e.do(http.MethodGet, "/no/such/path", nil, nil)
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	for _, want := range []string{
		`http_requests_total{code="404",route="/runners/{id}"} 2`,
		`http_requests_total{code="404",route="unmatched"} 1`,
		`webhooks_total{outcome="ignored"} 1`,
		`http_request_duration_seconds_count{route="/webhooks/gitlab"} 1`,
		`projector_lag_events{projector="runners"} `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "/runners/abc") {
		t.Error("a raw path is a label")
	}
}

func TestNew_refuses_missing_dependencies(t *testing.T) {
	if _, err := httpapi.New(httpapi.Config{}); err == nil {
		t.Fatal("New accepted an empty config")
	}
}

var _ ports.Secrets = secrets.Local{}

// mustPutRunners puts n runner rows straight into the view store: ids
// r-0000.. of egg, states cycling through ACTIVE, IDLE, BUSY.
func (e *env) mustPutRunners(egg string, n int) []string {
	e.t.Helper()
	ctx := context.Background()
	states := []string{"ACTIVE", "IDLE", "BUSY"}
	var ids []string
	err := e.db.Views().Batch(ctx, func(tx ports.ViewTx) error {
		for i := range n {
			id := fmt.Sprintf("%s-r-%04d", egg, i)
			ids = append(ids, id)
			if _, err := ports.Runners.In(tx).Put(ctx, ports.RunnerRow{ID: id, Egg: egg, State: states[i%3], Type: "apex", Version: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// follow GETs path and then every next cursor, collecting field of the
// rows under key, and checks each page's size against limit.
func (e *env) follow(path, key, field string, limit int) []string {
	e.t.Helper()
	var out []string
	url := path
	for n := 0; ; n++ {
		if n > 1000 {
			e.t.Fatalf("%s: more than 1000 pages", path)
		}
		status, body := e.get(url)
		if status != 200 {
			e.t.Fatalf("%s: %d %v", url, status, body)
		}
		rows := body[key].([]any)
		if len(rows) > limit {
			e.t.Fatalf("%s: %d rows, more than %d", url, len(rows), limit)
		}
		for _, it := range rows {
			out = append(out, it.(map[string]any)[field].(string))
		}
		next, _ := body["next"].(string)
		if next == "" {
			if _, present := body["next"]; present {
				e.t.Fatalf("%s: next present but empty", url)
			}
			return out
		}
		if len(rows) != limit {
			e.t.Fatalf("%s: a page of %d rows (limit %d) before the last", url, len(rows), limit)
		}
		u, err := neturl.Parse(path)
		if err != nil {
			e.t.Fatal(err)
		}
		q := u.Query()
		q.Set("cursor", next)
		u.RawQuery = q.Encode()
		url = u.String()
	}
}

// TestQueryAPI_runners_are_paged: /runners once answered every row at once
// (31 MB for 120,000 runners); it now answers 100 by default with a cursor.
func TestQueryAPI_runners_are_paged(t *testing.T) {
	e := newEnv(t)
	ids := e.mustPutRunners("web", 1234)
	others := e.mustPutRunners("other-host", 7)

	status, body := e.get("/runners")
	if status != 200 || len(body["runners"].([]any)) != 100 || body["next"] == nil {
		t.Fatalf("GET /runners: %d, %d rows, next %v; want 100 and a cursor", status, len(body["runners"].([]any)), body["next"])
	}
	all := append(slices.Clone(others), ids...) // other-host-... sorts before web-...
	if got := e.follow("/runners", "runners", "id", 100); !slices.Equal(got, all) {
		t.Fatalf("following cursors gave %d rows, want each of %d once in key order", len(got), len(all))
	}
	if got := e.follow("/runners?limit=1000", "runners", "id", 1000); !slices.Equal(got, all) {
		t.Fatalf("limit=1000: %d rows, want %d", len(got), len(all))
	}
	var active []string
	for i, id := range ids {
		if i%3 == 0 {
			active = append(active, id)
		}
	}
	if got := e.follow("/runners?egg=web&state=ACTIVE&limit=50", "runners", "id", 50); !slices.Equal(got, active) {
		t.Fatalf("filtered paging: %d rows, want %d", len(got), len(active))
	}

	// A row inserted behind the cursor is not read; one ahead of it is, once.
	status, body = e.get("/runners?egg=web&limit=10")
	if status != 200 {
		t.Fatal(status, body)
	}
	next := body["next"].(string)
	err := e.db.Views().Batch(context.Background(), func(tx ports.ViewTx) error {
		for _, id := range []string{"web-r-0000a", "web-r-9999"} {
			if _, err := ports.Runners.In(tx).Put(context.Background(), ports.RunnerRow{ID: id, Egg: "web", State: "IDLE", Version: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rest := e.follow("/runners?egg=web&limit=10&cursor="+next, "runners", "id", 10)
	if want := append(slices.Clone(ids[10:]), "web-r-9999"); !slices.Equal(rest, want) {
		t.Fatalf("after inserts: %d rows, want %d (ending in web-r-9999)", len(rest), len(want))
	}

	status, st := e.get("/eggs/web/status")
	if status != 200 || st["runners"] != float64(1236) || st["runners_by_state"].(map[string]any)["ACTIVE"] != float64(412) {
		t.Errorf("egg status over more than one count page: %d %v", status, st)
	}

	_, eggsBody := e.get("/runners?limit=3")
	eggsCursor := eggsBody["next"].(string)
	for _, q := range []string{
		"limit=1001", "limit=0", "limit=-1", "limit=x", "cursor=", "cursor=%25%25", "cursor=bm90IGpzb24",
		"cursor=" + strings.Repeat("A", 4000),
	} {
		if status, body := e.get("/runners?" + q); status != 400 || body["error"].(map[string]any)["code"] != "EINVALID" {
			t.Errorf("/runners?%s: %d %v, want 400 EINVALID", q, status, body)
		}
	}
	for _, path := range []string{"/eggs", "/plans", "/sync-history", "/audit", "/events"} {
		if status, _ := e.get(path + "?cursor=" + eggsCursor); status != 400 {
			t.Errorf("%s with a /runners cursor: %d, want 400", path, status)
		}
		if status, _ := e.get(path + "?limit=1001"); status != 400 {
			t.Errorf("%s?limit=1001: %d, want 400", path, status)
		}
	}
}

// TestQueryAPI_every_list_is_paged: each list takes limit= and cursor= and
// answers next until its last page.
func TestQueryAPI_every_list_is_paged(t *testing.T) {
	e := newEnv(t) // eggs web and other-host
	ctx := context.Background()
	for i := range 5 {
		e.mustSyncEgg(fmt.Sprintf("egg-%d", i), []int64{int64(100 + i)}, "example.com", nil)
		if _, err := e.handlers.RequestRunner(ctx, commands.RequestRunner{RunnerID: fmt.Sprintf("q-%d", i), Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "r"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.handlers.RecordNestSync(ctx, commands.RecordNestSync{Sync: events.NestSynced{Commit: fmt.Sprintf("c0ffee%d", i), Trigger: "manual", StartedAt: time.Date(2026, 1, 2, 3, 4, i, 0, time.UTC)}}); err != nil {
			t.Fatal(err)
		}
	}
	e.mustCatchUp()
	if got := e.follow("/eggs?limit=2", "eggs", "name", 2); strings.Join(got, ",") != "egg-0,egg-1,egg-2,egg-3,egg-4,other-host,web" {
		t.Errorf("/eggs: %v", got)
	}
	if got := e.follow("/sync-history?limit=2", "sync_history", "commit", 2); strings.Join(got, ",") != "c0ffee4,c0ffee3,c0ffee2,c0ffee1,c0ffee0" {
		t.Errorf("/sync-history (latest first): %v", got)
	}
	if got := e.follow("/audit?type="+events.RunnerRequestedV1+"&limit=2", "audit", "stream", 2); len(got) != 5 || got[0] != "runner-q-0" || got[4] != "runner-q-4" {
		t.Errorf("/audit: %v", got)
	}
	if got := e.follow("/events?limit=4", "events", "type", 4); len(got) != int(e.head()) {
		t.Errorf("/events: %d events, want %d", len(got), e.head())
	}
	if got := e.follow("/events?stream=egg-web&limit=1", "events", "stream", 1); len(got) != 1 {
		t.Errorf("/events?stream=egg-web: %v", got)
	}
	// A stream's cursor does not continue another stream.
	_, body := e.get("/events?limit=1")
	if status, _ := e.get("/events?stream=egg-web&cursor=" + body["next"].(string)); status != 400 {
		t.Errorf("a cursor of the whole log used for a stream: %d, want 400", status)
	}
	if status, _ := e.get("/events?after=1&cursor=" + body["next"].(string)); status != 400 {
		t.Errorf("after= and cursor= both: %d, want 400", status)
	}
	// next_after keeps working beside next.
	_, body = e.get("/audit?limit=2")
	if body["next_after"] != float64(2) || body["next"] == nil {
		t.Errorf("/audit?limit=2: next_after %v next %v", body["next_after"], body["next"])
	}
	_, body = e.get("/audit?after=" + jsonNumber(e.head()))
	if body["next_after"] != float64(e.head()) || body["next"] != nil {
		t.Errorf("/audit after the head: %v", body)
	}
}
