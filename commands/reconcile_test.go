package commands_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Reconciliation against the fake GitLab on 127.0.0.1 through the real
// client-go adapter, over a real SQLite store and views, beside the real
// webhook decision.

const reconcileToken = "glpat-reconcile-token"

type reconcileEnv struct {
	fake  *gitlabtest.Server
	store ports.EventStore
	views ports.ViewStore
	h     *commands.Handlers
	w     *commands.Webhooks
	r     *commands.Reconciler
	logs  *syncBuffer
	now   time.Time
}

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

// newReconcileEnv serves eggs (GitLabServer "" is the fake's URL) with an
// API token for the fake's server only.
func newReconcileEnv(t *testing.T, maxPages int, eggs ...ports.EggConfigRow) *reconcileEnv {
	t.Helper()
	ctx := context.Background()
	t.Setenv("GITLAB_TEST_TOKEN", reconcileToken)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &reconcileEnv{fake: gitlabtest.New(t, reconcileToken), store: db.Events(), views: db.Views(), logs: &syncBuffer{}, now: t0}
	e.h = mustHandlers(t, e.store)
	if err := e.views.Batch(ctx, func(tx ports.ViewTx) error {
		for _, egg := range eggs {
			if egg.GitLabServer == "" {
				egg.GitLabServer = e.fake.URL()
			}
			egg.Version = 1
			if _, err := ports.EggConfigs.In(tx).Put(ctx, egg); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := gitlab.NewJobs(gitlab.Config{Secrets: secrets.NewLocal(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	host := commands.ServerHostOf(e.fake.URL())
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	if e.r, err = commands.NewReconciler(commands.ReconcilerConfig{
		Handlers: e.h, Views: e.views, GitLab: jobs, APITokens: map[string]string{host: "env://GITLAB_TEST_TOKEN"},
		MaxPages: maxPages, Now: func() time.Time { return e.now }, Logger: log,
	}); err != nil {
		t.Fatal(err)
	}
	dir, err := commands.NewEggViews(e.views, e.store, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if e.w, err = commands.NewWebhooks(commands.WebhooksConfig{
		Handlers: e.h, Eggs: dir, Secrets: fakeSecrets{"env://HOOK": hookToken}, Limiter: &fakeLimiter{}, TriggerToken: "trigger",
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *reconcileEnv) pass(t *testing.T) commands.ReconcileSummary {
	t.Helper()
	sum, err := e.r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// hook delivers a pending Job Hook for job of project from the fake server.
func (e *reconcileEnv) hook(t *testing.T, id string, project, job int64) commands.DeliveryOutcome {
	t.Helper()
	out, err := e.w.ReceiveDelivery(context.Background(), commands.ReceiveDelivery{
		ID: id, Event: "Job Hook", Token: hookToken,
		Payload: commands.HookPayload{
			ObjectKind: "build", ProjectID: project, BuildID: job, BuildStatus: "pending", Tags: []string{"docker"},
			Project: &commands.HookProject{WebURL: e.fake.URL() + "/acme/web"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *reconcileEnv) runnerEvents(t *testing.T, egg string, job int64) []events.Envelope {
	t.Helper()
	return mustLoad(t, e.store, fmt.Sprintf("runner-%s-job-%d", egg, job))
}

var (
	projectEgg = ports.EggConfigRow{
		Name: "web", ProjectIDs: []int64{15}, Tags: []string{"docker", "linux"},
		RunnerType: "SERVERLESS", Provider: "YANDEX", Region: "ru-central1-a", WebhookSecretURI: "env://HOOK",
	}
	groupEgg = ports.EggConfigRow{
		Name: "team", GroupIDs: []int64{9}, Tags: []string{"docker"},
		RunnerType: "SERVERLESS", Provider: "YANDEX", Region: "ru-central1-a", WebhookSecretURI: "env://HOOK",
	}
)

func TestReconcile_requests_a_job_no_webhook_asked_for_once(t *testing.T) {
	e := newReconcileEnv(t, 0, projectEgg)
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 42, Tags: []string{"docker", "docker"}})
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 43, Tags: []string{"gpu"}})
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 44, Status: "running", Tags: []string{"docker"}})

	sum := e.pass(t)
	if sum.Requested != 1 || sum.Pending != 2 || sum.NotServed != 1 || sum.Seen != 0 {
		t.Fatalf("first pass %+v", sum)
	}
	envs := e.runnerEvents(t, "web", 42)
	req, ok := envs[0].Payload.(*events.RunnerRequested)
	if len(envs) != 1 || !ok || envs[0].Actor != commands.ReconcileActor || req.JobID != 42 || strings.Join(req.Tags, ",") != "docker" ||
		!strings.Contains(req.Reason, "reconciliation") {
		t.Fatalf("runner stream %+v", envs)
	}
	if n := len(e.runnerEvents(t, "web", 43)) + len(e.runnerEvents(t, "web", 44)); n != 0 {
		t.Fatalf("%d events for the unserved or running job", n)
	}
	if !strings.Contains(e.logs.String(), "reconciliation pass") || !strings.Contains(e.logs.String(), "requested=1") {
		t.Fatalf("no summary logged:\n%s", e.logs.String())
	}

	// A second pass asks for nothing more.
	head := mustHead(t, e.store)
	if sum := e.pass(t); sum.Requested != 0 || sum.Seen != 1 {
		t.Fatalf("second pass %+v", sum)
	}
	// The job's webhook, arriving late, asks for no second runner.
	out := e.hook(t, "late-1", 15, 42)
	if out.RunnerRequested || out.Status != commands.DeliveryIgnored || !strings.Contains(out.Reason, "already requested") {
		t.Fatalf("late webhook %+v", out)
	}
	if got := mustHead(t, e.store); got != head+1 {
		t.Fatalf("appended %d events after the first pass, want 1 (the ignored delivery)", got-head)
	}
	if n := len(e.runnerEvents(t, "web", 42)); n != 1 {
		t.Fatalf("runner stream has %d events", n)
	}
}

func TestReconcile_skips_a_job_the_webhook_requested(t *testing.T) {
	e := newReconcileEnv(t, 0, projectEgg)
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 42, Tags: []string{"docker"}})
	if out := e.hook(t, "d-1", 15, 42); !out.RunnerRequested {
		t.Fatalf("webhook %+v", out)
	}
	head := mustHead(t, e.store)
	if sum := e.pass(t); sum.Requested != 0 || sum.Seen != 1 {
		t.Fatalf("pass %+v", sum)
	}
	envs := e.runnerEvents(t, "web", 42)
	if mustHead(t, e.store) != head || len(envs) != 1 || envs[0].Actor != "gitlab:webhook" {
		t.Fatalf("the pass appended: runner stream %+v", envs)
	}
}

func TestReconcile_walks_a_group_eggs_projects(t *testing.T) {
	e := newReconcileEnv(t, 0, projectEgg, groupEgg)
	e.fake.AddProject(9, 20)
	e.fake.AddProject(9, 21)
	e.fake.AddProject(9, 15) // also the project egg's: a webhook from it finds "web"
	e.fake.AddJob(gitlabtest.Job{ProjectID: 20, ID: 200, Tags: []string{"docker"}})
	e.fake.AddJob(gitlabtest.Job{ProjectID: 21, ID: 210, Tags: []string{"docker"}})
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 150, Tags: []string{"docker"}})

	sum := e.pass(t)
	if sum.Requested != 3 || sum.Projects != 3 || sum.Seen != 0 {
		t.Fatalf("pass %+v", sum)
	}
	for _, c := range []struct {
		egg string
		job int64
		n   int
	}{{"team", 200, 1}, {"team", 210, 1}, {"web", 150, 1}, {"team", 150, 0}} {
		if got := len(e.runnerEvents(t, c.egg, c.job)); got != c.n {
			t.Errorf("runner-%s-job-%d has %d events, want %d", c.egg, c.job, got, c.n)
		}
	}
}

func TestReconcile_pages_within_the_bound(t *testing.T) {
	tests := []struct {
		name          string
		maxPages      int
		wantRequested int
		wantTruncated int
	}{
		{name: "all_pages", maxPages: 0, wantRequested: 150},
		{name: "one_page_per_pass", maxPages: 1, wantRequested: 100, wantTruncated: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newReconcileEnv(t, tc.maxPages, projectEgg)
			for id := int64(1); id <= 150; id++ {
				e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: id, Tags: []string{"linux"}})
			}
			sum := e.pass(t)
			if sum.Requested != tc.wantRequested || sum.Truncated != tc.wantTruncated {
				t.Fatalf("pass %+v", sum)
			}
		})
	}
}

func TestReconcile_429_pauses_the_server(t *testing.T) {
	e := newReconcileEnv(t, 0, projectEgg)
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 42, Tags: []string{"docker"}})
	e.fake.Throttle(1, 30)
	if sum := e.pass(t); sum.Failed != 1 || sum.Requested != 0 {
		t.Fatalf("throttled pass %+v", sum)
	}
	if !strings.Contains(e.logs.String(), "retry_after=30s") {
		t.Fatalf("the pause is not logged:\n%s", e.logs.String())
	}
	calls := e.fake.Calls()
	e.now = e.now.Add(29 * time.Second)
	if sum := e.pass(t); sum.Paused != 1 || sum.Eggs != 0 || e.fake.Calls() != calls {
		t.Fatalf("pass within Retry-After %+v (GitLab asked %d times)", sum, e.fake.Calls()-calls)
	}
	e.now = e.now.Add(2 * time.Second)
	if sum := e.pass(t); sum.Requested != 1 || sum.Paused != 0 {
		t.Fatalf("pass after Retry-After %+v", sum)
	}
}

func TestReconcile_skips_an_egg_without_an_API_token_logging_once(t *testing.T) {
	other := projectEgg
	other.Name, other.GitLabServer, other.ProjectIDs = "elsewhere", "gitlab.example.com", []int64{99}
	e := newReconcileEnv(t, 0, other)
	for range 2 {
		if sum := e.pass(t); sum.Skipped != 1 || sum.Eggs != 0 {
			t.Fatalf("pass %+v", sum)
		}
	}
	if n := strings.Count(e.logs.String(), "reconciliation skips egg"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, e.logs.String())
	}
	if e.fake.Calls() != 0 {
		t.Fatal("GitLab was asked")
	}
}

func TestNewReconciler_refuses_missing_dependencies(t *testing.T) {
	e := newReconcileEnv(t, 0)
	jobs, _ := gitlab.NewJobs(gitlab.Config{Secrets: secrets.NewLocal()})
	full := commands.ReconcilerConfig{Handlers: e.h, Views: e.views, GitLab: jobs}
	for name, mod := range map[string]func(*commands.ReconcilerConfig){
		"no_handlers":    func(c *commands.ReconcilerConfig) { c.Handlers = nil },
		"no_views":       func(c *commands.ReconcilerConfig) { c.Views = nil },
		"no_gitlab":      func(c *commands.ReconcilerConfig) { c.GitLab = nil },
		"negative_pages": func(c *commands.ReconcilerConfig) { c.MaxPages = -1 },
	} {
		c := full
		mod(&c)
		if _, err := commands.NewReconciler(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReconcile_a_project_GitLab_does_not_know_skips_only_it(t *testing.T) {
	egg := projectEgg
	egg.ProjectIDs = []int64{14, 15} // 14 is not on the fake: 404
	e := newReconcileEnv(t, 0, egg)
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 42, Tags: []string{"docker"}})
	if sum := e.pass(t); sum.Failed != 1 || sum.Requested != 1 {
		t.Fatalf("pass %+v", sum)
	}
	if !strings.Contains(e.logs.String(), "reconciliation cannot list project") || !strings.Contains(e.logs.String(), "code=ENOTFOUND") {
		t.Fatalf("the 404 is not logged:\n%s", e.logs.String())
	}
}

// TestReconcile_GitLab_errors_end_in_a_recorded_outcome drives each
// documented failure of the Jobs API through a pass: each is recorded once
// (egg.reconcile_failed with its code), repeats add nothing, a refused
// token or a missing project is not asked again before the hold ends (a
// 429 before its Retry-After), a 5xx is asked again at the next pass, and
// the first good pass records the recovery.
func TestReconcile_GitLab_errors_end_in_a_recorded_outcome(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		code       string
		wait       time.Duration // retry_after_ms recorded
		askedAgain bool          // the next pass (one interval later) asks GitLab
	}{
		{name: "401", status: 401, code: "EUNAUTHORIZED", wait: commands.DefaultReconcileHold},
		{name: "403", status: 403, code: "EUNAUTHORIZED", wait: commands.DefaultReconcileHold},
		{name: "404", status: 404, code: "ENOTFOUND", wait: commands.DefaultReconcileHold},
		{name: "429", status: 429, code: "EUNAVAILABLE", wait: 5 * time.Minute},
		{name: "500", status: 500, code: "EUNAVAILABLE", askedAgain: true},
		{name: "503", status: 503, code: "EUNAVAILABLE", askedAgain: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newReconcileEnv(t, 0, projectEgg)
			ctx := context.Background()
			if _, err := e.h.SyncEgg(ctx, commands.SyncEgg{Meta: commands.Meta{Actor: "test"}, Config: events.EggSynced{
				Name: "web", Kind: "egg", RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a",
				GitLabServer: e.fake.URL(), ProjectIDs: []int64{15}, CPU: 1, MemoryGB: 1, ConfigHash: "h1", Commit: "c1", Path: "Eggs/web/config.fly",
			}}); err != nil {
				t.Fatal(err)
			}
			e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 42, Tags: []string{"docker"}})
			outcomes := func() []events.Envelope {
				var out []events.Envelope
				for _, env := range mustLoad(t, e.store, "egg-web") {
					if env.Type == events.EggReconcileFailedV1 || env.Type == events.EggReconcileRecoveredV1 {
						out = append(out, env)
					}
				}
				return out
			}
			e.fake.Fail("GET", "/projects/15/jobs", tc.status, -1, 300)
			for range 3 { // three passes, one interval apart: one failure recorded
				calls := e.fake.Calls()
				e.pass(t)
				asked := e.fake.Calls() > calls
				e.now = e.now.Add(time.Minute)
				if len(outcomes()) == 1 && calls > 0 && asked != tc.askedAgain {
					t.Fatalf("a later pass asked GitLab: %v, want %v", asked, tc.askedAgain)
				}
			}
			got := outcomes()
			if len(got) != 1 {
				t.Fatalf("%d outcome events after three failing passes, want 1", len(got))
			}
			f := got[0].Payload.(*events.EggReconcileFailed)
			if f.Code != tc.code || f.Scope != "project 15" || f.RetryAfterMS != tc.wait.Milliseconds() || !strings.Contains(f.Reason, fmt.Sprint(tc.status)) {
				t.Fatalf("recorded %+v", f)
			}
			if strings.Contains(f.Reason, reconcileToken) {
				t.Fatal("the token is in the recorded reason")
			}
			if len(runnerRequests(t, e)) != 0 {
				t.Fatal("a failing pass requested a runner")
			}
			// GitLab heals; once the hold (or Retry-After) is over, a pass
			// requests the job and records the recovery.
			e.fake.Heal()
			e.now = e.now.Add(tc.wait)
			if sum := e.pass(t); sum.Requested != 1 {
				t.Fatalf("pass after healing %+v", sum)
			}
			got = outcomes()
			if len(got) != 2 || got[1].Type != events.EggReconcileRecoveredV1 {
				t.Fatalf("outcomes after healing: %d, last %s", len(got), got[len(got)-1].Type)
			}
			e.pass(t)
			if len(outcomes()) != 2 {
				t.Fatal("a second good pass recorded again")
			}
		})
	}
}

func runnerRequests(t *testing.T, e *reconcileEnv) []events.Envelope {
	t.Helper()
	return e.runnerEvents(t, "web", 42)
}

// TestReconcile_a_new_configuration_ends_the_hold: the operator fixes the
// egg (a new config hash) and the next pass asks GitLab at once.
func TestReconcile_a_new_configuration_ends_the_hold(t *testing.T) {
	e := newReconcileEnv(t, 0, projectEgg)
	e.fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 42, Tags: []string{"docker"}})
	e.fake.Fail("GET", "/projects/15/jobs", 403, 1, 0)
	e.pass(t)
	calls := e.fake.Calls()
	if sum := e.pass(t); sum.Held != 1 || e.fake.Calls() != calls {
		t.Fatalf("held pass %+v asked GitLab %d times", sum, e.fake.Calls()-calls)
	}
	row := projectEgg
	row.GitLabServer, row.ConfigHash, row.Version = e.fake.URL(), "h2", 2
	if err := e.views.Batch(context.Background(), func(tx ports.ViewTx) error {
		_, err := ports.EggConfigs.In(tx).Put(context.Background(), row)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if sum := e.pass(t); sum.Held != 0 || sum.Requested != 1 {
		t.Fatalf("pass after a new configuration %+v", sum)
	}
}
