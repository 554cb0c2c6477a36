package commands_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The webhook installer against the fake GitLab on 127.0.0.1 through the
// real client-go adapter, over a real SQLite store and views.

const (
	installToken = "glpat-install-token"
	hookURL      = "https://mg.example.com/webhooks/gitlab"
)

type installEnv struct {
	fake  *gitlabtest.Server
	store ports.EventStore
	views ports.ViewStore
	h     *commands.Handlers
	i     *commands.WebhookInstaller
	logs  *syncBuffer
	now   time.Time
}

type installOptions struct {
	publicURL string
	noToken   bool
}

func newInstallEnv(t *testing.T, opts installOptions, eggs ...ports.EggConfigRow) *installEnv {
	t.Helper()
	ctx := context.Background()
	t.Setenv("GITLAB_TEST_TOKEN", installToken)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &installEnv{fake: gitlabtest.New(t, installToken), store: db.Events(), views: db.Views(), logs: &syncBuffer{}, now: t0}
	e.fake.AddProject(0, 15)
	e.fake.AddProject(0, 16)
	e.fake.AddGroup(9)
	e.h = mustHandlers(t, e.store)
	for _, egg := range eggs {
		e.put(t, egg)
	}
	jobs, err := gitlab.NewJobs(gitlab.Config{Secrets: fakeSecrets{"env://GITLAB_TEST_TOKEN": installToken}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{commands.ServerHostOf(e.fake.URL()): "env://GITLAB_TEST_TOKEN"}
	if opts.noToken {
		tokens = nil
	}
	if e.i, err = commands.NewWebhookInstaller(commands.WebhookInstallerConfig{
		Handlers: e.h, Views: e.views, GitLab: jobs, Secrets: fakeSecrets{"env://HOOK": hookToken, "env://HOOK2": "rotated-" + hookToken},
		APITokens: tokens, PublicURL: opts.publicURL, BackoffBase: time.Minute, BackoffMax: 4 * time.Minute,
		Now: func() time.Time { return e.now }, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// put writes egg into egg_configs (server: the fake), one version on.
func (e *installEnv) put(t *testing.T, egg ports.EggConfigRow) {
	t.Helper()
	ctx := context.Background()
	if egg.GitLabServer == "" {
		egg.GitLabServer = e.fake.URL()
	}
	if egg.ConfigHash == "" {
		egg.ConfigHash = "sha256:1"
	}
	old, _, err := ports.EggConfigs.In(e.views.Read()).Get(ctx, egg.Name)
	if err != nil {
		t.Fatal(err)
	}
	egg.Version = old.Version + 1
	if err := e.views.Batch(ctx, func(tx ports.ViewTx) error {
		_, err := ports.EggConfigs.In(tx).Put(ctx, egg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func (e *installEnv) pass(t *testing.T) commands.WebhookSummary {
	t.Helper()
	sum, err := e.i.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// hookEvents are the egg's egghooks events.
func (e *installEnv) hookEvents(t *testing.T, egg string) []events.Envelope {
	t.Helper()
	return mustLoad(t, e.store, "egghooks-"+egg)
}

// mustOneHook returns the project's one hook, checked to be ours.
func (e *installEnv) mustOneHook(t *testing.T, kind string, owner int64, token string) gitlabtest.Hook {
	t.Helper()
	hooks := e.fake.Hooks(kind, owner)
	if len(hooks) != 1 {
		t.Fatalf("%s %d has %d hooks: %+v", kind, owner, len(hooks), hooks)
	}
	h := hooks[0]
	if h.URL != hookURL || !h.JobEvents || h.PushEvents || !h.EnableSSLVerification || h.Token != token || h.AlertStatus != "executable" {
		t.Fatalf("%s %d hook %+v", kind, owner, h)
	}
	return h
}

// noGrowth runs a pass and fails when it appends an event or calls GitLab
// beyond one list per owner.
func (e *installEnv) noGrowth(t *testing.T, owners int) {
	t.Helper()
	head, calls := mustHead(t, e.store), e.fake.Calls()
	sum := e.pass(t)
	if got := mustHead(t, e.store); got != head {
		t.Fatalf("a pass over the same state appended %d events (%+v)", got-head, sum)
	}
	if got := e.fake.Calls() - calls; got != owners {
		t.Fatalf("a pass over the same state made %d GitLab calls, want %d lists", got, owners)
	}
}

var hookEgg = ports.EggConfigRow{
	Name: "web", Kind: "egg", ProjectIDs: []int64{15}, Tags: []string{"docker"},
	RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a", WebhookSecretURI: "env://HOOK",
}

func TestWebhookInstaller_creates_once_and_appends_nothing_after(t *testing.T) {
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com/"}, hookEgg)
	if sum := e.pass(t); sum.Created != 1 {
		t.Fatalf("first pass %+v", sum)
	}
	h := e.mustOneHook(t, "project", 15, hookToken)
	envs := e.hookEvents(t, "web")
	ev, ok := envs[0].Payload.(*events.EggWebhookInstalled)
	if len(envs) != 1 || !ok || ev.Action != "created" || ev.HookID != h.ID || ev.URL != hookURL || ev.Kind != "project" || ev.ID != 15 ||
		ev.ConfigHash != "sha256:1" || ev.WebhookSecretURI != "env://HOOK" || envs[0].Actor != commands.WebhookInstallActor {
		t.Fatalf("events %+v", envs)
	}
	e.noGrowth(t, 1)
	e.noGrowth(t, 1)
	mustNoSecretIn(t, e)
}

// mustNoSecretIn fails when the webhook secret's value is in an event or the log.
func mustNoSecretIn(t *testing.T, e *installEnv) {
	t.Helper()
	recs, _, err := ports.ReadPage(context.Background(), e.store, "", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if strings.Contains(string(r.Payload), hookToken) {
			t.Fatalf("event %s holds the webhook secret: %s", r.Type, r.Payload)
		}
	}
	if strings.Contains(e.logs.String(), hookToken) {
		t.Fatalf("the log holds the webhook secret:\n%s", e.logs.String())
	}
}

func TestWebhookInstaller_updates_on_a_new_configuration_or_secret(t *testing.T) {
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
	e.pass(t)
	first := e.mustOneHook(t, "project", 15, hookToken)

	changed := hookEgg
	changed.ConfigHash, changed.WebhookSecretURI = "sha256:2", "env://HOOK2"
	e.put(t, changed)
	if sum := e.pass(t); sum.Updated != 1 || sum.Created != 0 {
		t.Fatalf("pass after the change %+v", sum)
	}
	if h := e.mustOneHook(t, "project", 15, "rotated-"+hookToken); h.ID != first.ID {
		t.Fatalf("a new hook %d instead of an update of %d", h.ID, first.ID)
	}
	envs := e.hookEvents(t, "web")
	ev := envs[len(envs)-1].Payload.(*events.EggWebhookInstalled)
	if ev.Action != "updated" || ev.ConfigHash != "sha256:2" || !strings.Contains(ev.Reason, "configuration changed") || !strings.Contains(ev.Reason, "webhook secret changed") {
		t.Fatalf("update event %+v", ev)
	}
	e.noGrowth(t, 1)
}

func TestWebhookInstaller_mends_what_changed_in_GitLab(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *installEnv, h gitlabtest.Hook)
		reason string
	}{
		{"deleted_is_recreated", func(e *installEnv, h gitlabtest.Hook) { e.fake.DeleteHook(h.ID) }, ""},
		{"disabled_is_re_enabled", func(e *installEnv, h gitlabtest.Hook) {
			e.fake.SetHook(h.ID, func(h *gitlabtest.Hook) { h.AlertStatus = "disabled" })
		}, "GitLab had disabled it (alert_status disabled)"},
		{"temporarily_disabled_is_re_enabled", func(e *installEnv, h gitlabtest.Hook) {
			e.fake.SetHook(h.ID, func(h *gitlabtest.Hook) {
				h.AlertStatus, h.DisabledUntil = "temporarily_disabled", e.now.Add(time.Hour)
			})
		}, "alert_status temporarily_disabled"},
		{"job_events_off_are_on_again", func(e *installEnv, h gitlabtest.Hook) {
			e.fake.SetHook(h.ID, func(h *gitlabtest.Hook) { h.JobEvents, h.PushEvents = false, true })
		}, "job events were off; push events were on"},
		{"url_changed_is_set_back", func(e *installEnv, h gitlabtest.Hook) {
			e.fake.SetHook(h.ID, func(h *gitlabtest.Hook) { h.URL = "https://elsewhere.example.com/" })
		}, "its URL was https://elsewhere.example.com/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
			e.pass(t)
			tc.change(e, e.mustOneHook(t, "project", 15, hookToken))
			sum := e.pass(t)
			if sum.Created+sum.Updated != 1 {
				t.Fatalf("pass after the change %+v", sum)
			}
			e.mustOneHook(t, "project", 15, hookToken)
			envs := e.hookEvents(t, "web")
			ev := envs[len(envs)-1].Payload.(*events.EggWebhookInstalled)
			if tc.reason == "" && ev.Action != "created" || tc.reason != "" && (ev.Action != "updated" || !strings.Contains(ev.Reason, tc.reason)) {
				t.Fatalf("event %+v, want reason %q", ev, tc.reason)
			}
			e.noGrowth(t, 1)
		})
	}
}

func TestWebhookInstaller_bucket_gets_a_hook_per_project_and_group(t *testing.T) {
	bucket := hookEgg
	bucket.Name, bucket.Kind, bucket.ProjectIDs, bucket.GroupIDs = "shared", "bucket", []int64{15, 16}, []int64{9}
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, bucket)
	if sum := e.pass(t); sum.Created != 3 {
		t.Fatalf("pass %+v", sum)
	}
	e.mustOneHook(t, "project", 15, hookToken)
	e.mustOneHook(t, "project", 16, hookToken)
	e.mustOneHook(t, "group", 9, hookToken)
	e.noGrowth(t, 3)

	// A project the bucket no longer names loses its hook.
	bucket.ProjectIDs, bucket.ConfigHash = []int64{15}, "sha256:2"
	e.put(t, bucket)
	if sum := e.pass(t); sum.Removed != 1 || sum.Updated != 2 {
		t.Fatalf("pass after dropping project 16 %+v", sum)
	}
	if n := len(e.fake.Hooks("project", 16)); n != 0 {
		t.Fatalf("project 16 keeps %d hooks", n)
	}
	e.noGrowth(t, 2)
}

func TestWebhookInstaller_removed_egg_loses_its_hooks(t *testing.T) {
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
	e.pass(t)
	e.mustOneHook(t, "project", 15, hookToken)
	removed := hookEgg
	removed.Removed = true
	e.put(t, removed)
	if sum := e.pass(t); sum.Removed != 1 {
		t.Fatalf("pass after removal %+v", sum)
	}
	if n := len(e.fake.Hooks("project", 15)); n != 0 {
		t.Fatalf("%d hooks left", n)
	}
	envs := e.hookEvents(t, "web")
	if ev, ok := envs[len(envs)-1].Payload.(*events.EggWebhookRemoved); !ok || !strings.Contains(ev.Reason, "removed from the Nest") {
		t.Fatalf("last event %+v", envs[len(envs)-1])
	}
	e.pass(t) // finds nothing left: settled
	e.noGrowth(t, 0)
}

// A hook someone already deleted in GitLab is recorded removed (404).
func TestWebhookInstaller_removed_egg_whose_hook_is_gone(t *testing.T) {
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
	e.pass(t)
	e.fake.DeleteHook(e.mustOneHook(t, "project", 15, hookToken).ID)
	removed := hookEgg
	removed.Removed = true
	e.put(t, removed)
	if sum := e.pass(t); sum.Removed != 1 || sum.Failed != 0 {
		t.Fatalf("pass %+v", sum)
	}
	envs := e.hookEvents(t, "web")
	if ev, ok := envs[len(envs)-1].Payload.(*events.EggWebhookRemoved); !ok || !strings.Contains(ev.Reason, "already gone") {
		t.Fatalf("last event %+v", envs[len(envs)-1])
	}
}

func TestWebhookInstaller_skips_without_token_or_public_url(t *testing.T) {
	tests := []struct {
		name   string
		opts   installOptions
		reason string
	}{
		{"no_api_token", installOptions{publicURL: "https://mg.example.com", noToken: true}, "no --gitlab-api-token for 127.0.0.1:"},
		{"no_public_url", installOptions{}, "no --public-url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newInstallEnv(t, tc.opts, hookEgg)
			if sum := e.pass(t); sum.Skipped != 1 {
				t.Fatalf("pass %+v", sum)
			}
			envs := e.hookEvents(t, "web")
			ev, ok := envs[0].Payload.(*events.EggWebhookSkipped)
			if len(envs) != 1 || !ok || !strings.Contains(ev.Reason, tc.reason) {
				t.Fatalf("events %+v", envs)
			}
			e.noGrowth(t, 0)
			if n := strings.Count(e.logs.String(), "webhook installation skips egg"); n != 1 {
				t.Fatalf("skip logged %d times:\n%s", n, e.logs.String())
			}
		})
	}
}

// GitLab's refusals are recorded once each, with what the token needs;
// they are asked again at the next pass (a change may mend them), which
// records nothing while the answer stays the same.
func TestWebhookInstaller_records_refusals_once(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
		reason string
	}{
		{"unauthorized", http.StatusUnauthorized, errs.EUNAUTHORIZED, "api scope and the Maintainer role"},
		{"forbidden", http.StatusForbidden, errs.EUNAUTHORIZED, "api scope and the Maintainer role"},
		{"not_found", http.StatusNotFound, errs.ENOTFOUND, "not found or not visible to the API token (404)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
			e.fake.Fail(http.MethodGet, "/projects/15/hooks", tc.status, -1, 0)
			if sum := e.pass(t); sum.Failed != 1 {
				t.Fatalf("pass %+v", sum)
			}
			envs := e.hookEvents(t, "web")
			ev, ok := envs[0].Payload.(*events.EggWebhookInstallFailed)
			if len(envs) != 1 || !ok || ev.Code != tc.code || !strings.Contains(ev.Reason, tc.reason) || ev.RetryAfterS != 0 {
				t.Fatalf("events %+v", envs)
			}
			calls := e.fake.Calls()
			e.noGrowth(t, 1) // asked again, recorded nothing
			if e.fake.Calls() != calls+1 {
				t.Fatal("not asked again at the next pass")
			}
			e.fake.Heal()
			if sum := e.pass(t); sum.Created != 1 {
				t.Fatalf("pass after the fix %+v", sum)
			}
			e.mustOneHook(t, "project", 15, hookToken)
		})
	}
}

// A 429 pauses the server for its Retry-After; nothing is asked before.
func TestWebhookInstaller_waits_for_Retry_After(t *testing.T) {
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
	e.fake.Throttle(1, 30)
	if sum := e.pass(t); sum.Failed != 1 {
		t.Fatalf("pass %+v", sum)
	}
	envs := e.hookEvents(t, "web")
	ev, ok := envs[0].Payload.(*events.EggWebhookInstallFailed)
	if !ok || ev.Code != errs.EUNAVAILABLE || ev.RetryAfterS != 30 || !strings.Contains(ev.Reason, "429") {
		t.Fatalf("events %+v", envs)
	}
	e.now = e.now.Add(29 * time.Second)
	calls := e.fake.Calls()
	if sum := e.pass(t); sum.Waiting != 1 || e.fake.Calls() != calls {
		t.Fatalf("pass within Retry-After %+v, %d calls", sum, e.fake.Calls()-calls)
	}
	e.now = e.now.Add(2 * time.Second)
	if sum := e.pass(t); sum.Created != 1 {
		t.Fatalf("pass after Retry-After %+v", sum)
	}
	e.mustOneHook(t, "project", 15, hookToken)
}

// GitLab failing (5xx) is tried again at later passes, backing off: 1m,
// then 2m; a success records the hook installed.
func TestWebhookInstaller_backs_off_when_GitLab_fails(t *testing.T) {
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
	e.fake.Fail(http.MethodPost, "/projects/15/hooks", http.StatusInternalServerError, 2, 0)
	if sum := e.pass(t); sum.Failed != 1 {
		t.Fatalf("pass %+v", sum)
	}
	calls := e.fake.Calls()
	e.now = e.now.Add(59 * time.Second)
	if sum := e.pass(t); sum.Waiting != 1 || e.fake.Calls() != calls {
		t.Fatalf("pass within the first backoff %+v", sum)
	}
	head := mustHead(t, e.store)
	e.now = e.now.Add(time.Second)
	if sum := e.pass(t); sum.Failed != 1 || mustHead(t, e.store) != head {
		t.Fatalf("second failure %+v (an identical failure must append nothing)", sum)
	}
	e.now = e.now.Add(time.Minute + 59*time.Second)
	if sum := e.pass(t); sum.Waiting != 1 {
		t.Fatalf("pass within the doubled backoff %+v", sum)
	}
	e.now = e.now.Add(time.Second)
	if sum := e.pass(t); sum.Created != 1 {
		t.Fatalf("pass after the backoff %+v", sum)
	}
	e.mustOneHook(t, "project", 15, hookToken)
	envs := e.hookEvents(t, "web")
	if len(envs) != 2 || envs[0].Type != events.EggWebhookInstallFailedV1 || envs[1].Type != events.EggWebhookInstalledV1 {
		t.Fatalf("events %+v", envs)
	}
}

// A failure after an install, then GitLab answering again with the hook as
// wanted: the hook is recorded verified, without a call that changes it.
func TestWebhookInstaller_verifies_after_a_failure(t *testing.T) {
	e := newInstallEnv(t, installOptions{publicURL: "https://mg.example.com"}, hookEgg)
	e.pass(t)
	e.fake.Fail(http.MethodGet, "/projects/15/hooks", http.StatusBadGateway, 1, 0)
	if sum := e.pass(t); sum.Failed != 1 {
		t.Fatalf("pass %+v", sum)
	}
	e.now = e.now.Add(time.Minute)
	if sum := e.pass(t); sum.Verified != 1 {
		t.Fatalf("pass after GitLab is back %+v", sum)
	}
	e.noGrowth(t, 1)
}
