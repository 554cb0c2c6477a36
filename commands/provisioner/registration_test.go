package provisioner_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

const apiToken = "glpat-provisioner-test"

// memCompute is a compute target that keeps runners in memory; secrets are
// files under dir.
type memCompute struct {
	dir      string
	mu       sync.Mutex
	deployed map[string]bool
	specs    map[string]provisioner.Spec // the last create plan's spec per runner
}

func newMemCompute(t *testing.T) *memCompute {
	return &memCompute{dir: t.TempDir(), deployed: map[string]bool{}, specs: map[string]provisioner.Spec{}}
}

func (c *memCompute) Unavailable(string) string { return "" }
func (c *memCompute) Credential(_ context.Context, id string) (string, string, error) {
	return "file://" + filepath.Join(c.dir, id, "credential"), strings.Repeat("a", 64), nil
}
func (c *memCompute) StoreSecret(_ context.Context, id, provider, name string, value []byte) (string, error) {
	if provider != "local" {
		return "", fmt.Errorf("no secret store for provider %s", provider)
	}
	p := filepath.Join(c.dir, id, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	return "file://" + p, os.WriteFile(p, value, 0o600)
}
func (c *memCompute) Plan(_ context.Context, s provisioner.Spec, destroy bool) (provisioner.PlanResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !destroy {
		c.specs[s.RunnerID] = s
	}
	return provisioner.PlanResult{Module: "local", ConfigHash: "h", SecretURIs: s.SecretURIs, Inputs: map[string]string{"runner_id": s.RunnerID}}, nil
}
func (c *memCompute) Apply(_ context.Context, id string, p provisioner.PlanResult) (provisioner.Deployment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deployed[id] = !c.deployed[id]
	if c.deployed[id] {
		return provisioner.Deployment{InstanceID: "i-" + id}, nil
	}
	return provisioner.Deployment{}, nil
}
func (c *memCompute) Deployed(_ context.Context, id string) (provisioner.Deployment, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return provisioner.Deployment{InstanceID: "i-" + id}, c.deployed[id], nil
}
func (c *memCompute) Workspaces(context.Context) ([]string, error) { return nil, nil }
func (c *memCompute) Forget(context.Context, string) error         { return nil }

func (c *memCompute) spec(id string) provisioner.Spec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.specs[id]
}

type regEnv struct {
	t       *testing.T
	store   ports.EventStore
	h       *commands.Handlers
	fake    *gitlabtest.Server
	compute *memCompute
	cancel  context.CancelFunc
	done    chan error
}

var ids atomic.Int64

func newID() string { return fmt.Sprintf("id-%d", ids.Add(1)) }

// newRegEnv runs a provisioner over a fresh store, with the fake GitLab
// holding project 7 and an egg "web" on it (no pool minimum).
func newRegEnv(t *testing.T, tune func(*provisioner.Config)) *regEnv {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	codec := events.NewCodec(events.NewRegistry())
	h, err := commands.NewHandlers(db.Events(), codec, time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	e := &regEnv{t: t, store: db.Events(), h: h, fake: gitlabtest.New(t, apiToken), compute: newMemCompute(t)}
	e.fake.AddProject(0, 7)
	t.Setenv("PROV_TEST_API_TOKEN", apiToken)
	runners, err := gitlab.NewRunners(gitlab.Config{Secrets: secrets.NewLocal(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.SyncEgg(context.Background(), commands.SyncEgg{Config: events.EggSynced{Name: "web", Kind: "egg", RunnerType: "apex", Provider: "local",
		Region: "local", GitLabServer: e.fake.URL(), ProjectIDs: []int64{7}, Tags: []string{"docker", "linux"}, CPU: 1, MemoryGB: 1,
		MaxApex: 3, MaxJobSeconds: 5400, TokenSecretURI: "env://EGG_RUNNER_TOKEN", ConfigHash: "c1"}}); err != nil {
		t.Fatal(err)
	}
	cfg := provisioner.Config{Store: db.Events(), Codec: codec, Handlers: h, Compute: e.compute, NewID: newID, PollInterval: 10 * time.Millisecond,
		Policy: provisioner.Policy{Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, MaxDeleteBackoff: 200 * time.Millisecond,
		GitLab: runners, APITokens: map[string]string{commands.ServerHostOf(e.fake.URL()): "env://PROV_TEST_API_TOKEN"}}
	if tune != nil {
		tune(&cfg)
	}
	p, err := provisioner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- p.Run(ctx) }()
	t.Cleanup(e.stop)
	return e
}

func (e *regEnv) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

func (e *regEnv) request(id string) {
	e.t.Helper()
	if _, err := e.h.RequestRunner(context.Background(), commands.RequestRunner{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "local", Region: "local", Reason: "test"}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *regEnv) terminate(id string) {
	e.t.Helper()
	if _, err := e.h.AskTermination(context.Background(), commands.AskTermination{RunnerID: id, Reason: "test"}); err != nil {
		e.t.Fatal(err)
	}
}

// log is every event so far.
func (e *regEnv) log() []events.Envelope {
	e.t.Helper()
	recs, err := e.store.ReadAll(context.Background(), 0, 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	codec := events.NewCodec(events.NewRegistry())
	out := make([]events.Envelope, 0, len(recs))
	for _, r := range recs {
		env, err := codec.Decode(r)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

// of is the payloads of type T in the log.
func of[T any](envs []events.Envelope) []T {
	var out []T
	for _, env := range envs {
		if p, ok := any(env.Payload).(*T); ok {
			out = append(out, *p)
		}
	}
	return out
}

func (e *regEnv) waitFor(what string, ok func([]events.Envelope) bool) []events.Envelope {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := e.log()
		if ok(log) {
			return log
		}
		if time.Now().After(deadline) {
			for _, env := range log {
				e.t.Logf("%s %+v", env.Type, env.Payload)
			}
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func has[T any](pred func(T) bool) func([]events.Envelope) bool {
	return func(log []events.Envelope) bool {
		for _, p := range of[T](log) {
			if pred(p) {
				return true
			}
		}
		return false
	}
}

func TestRegistration_creates_one_GitLab_runner_and_deletes_it_after_destroy(t *testing.T) {
	e := newRegEnv(t, nil)
	e.request("web-1")
	log := e.waitFor("web-1 deployed", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
	regs := of[events.RunnerGitLabRegistered](log)
	got := e.fake.Runners()
	if len(regs) != 1 || len(got) != 1 || regs[0].GitLabRunnerID != got[0].ID {
		t.Fatalf("registered %+v, GitLab holds %+v", regs, got)
	}
	g := got[0]
	if g.Type != "project_type" || g.ProjectIDs[0] != 7 || strings.Join(g.Tags, ",") != "docker,linux" || g.RunUntagged ||
		g.MaximumTimeout != 5400 || g.Description != "polar-gosling runner web-1 (egg web)" {
		t.Fatalf("GitLab runner %+v", g)
	}
	uri := e.compute.spec("web-1").SecretURIs["GOSLING_RUNNER_TOKEN"]
	if uri != regs[0].TokenSecretURI || !strings.HasPrefix(uri, "file://") {
		t.Fatalf("the module reads the token from %q, recorded %q", uri, regs[0].TokenSecretURI)
	}
	if b, err := os.ReadFile(strings.TrimPrefix(uri, "file://")); err != nil || string(b) != g.Token {
		t.Fatalf("the stored token is not GitLab's: %v", err)
	}
	if fi, _ := os.Stat(strings.TrimPrefix(uri, "file://")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v", fi.Mode())
	}

	e.terminate("web-1")
	log = e.waitFor("web-1's GitLab runner deleted", has(func(d events.RunnerGitLabDeleted) bool { return d.RunnerID == "web-1" }))
	if n := len(e.fake.Runners()); n != 0 {
		t.Fatalf("%d GitLab runners left", n)
	}
	var order []string
	for _, env := range log {
		switch env.Type {
		case events.RunnerGitLabPausedV1, events.RunnerGitLabDeleteOwedV1, events.RunnerTerminatedV1, events.RunnerGitLabDeletedV1:
			order = append(order, env.Type)
		}
	}
	want := []string{events.RunnerGitLabPausedV1, events.RunnerGitLabDeleteOwedV1, events.RunnerTerminatedV1, events.RunnerGitLabDeletedV1}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("order %v, want %v", order, want)
	}
	assertNoToken(t, log, g.Token)
}

func assertNoToken(t *testing.T, log []events.Envelope, token string) {
	t.Helper()
	codec := events.NewCodec(events.NewRegistry())
	for _, env := range log {
		rec, err := codec.Encode(env)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(rec.Payload), token) {
			t.Fatalf("%s holds the runner token", env.Type)
		}
	}
}

func TestRegistration_waits_for_a_running_job_before_the_destroy(t *testing.T) {
	e := newRegEnv(t, nil)
	e.request("web-1")
	log := e.waitFor("web-1 registered", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
	id := of[events.RunnerGitLabRegistered](log)[0].GitLabRunnerID
	e.fake.SetRunningJob(id, 77, true)
	e.terminate("web-1")
	e.waitFor("a paused GitLab runner waiting for its job", has(func(p events.RunnerGitLabPaused) bool { return p.RunningJobs == 1 }))
	// The wait is recorded once, and nothing is destroyed while GitLab
	// says the job runs (the hold re-asks GitLab every 30s; a few steps pass).
	time.Sleep(300 * time.Millisecond)
	log = e.log()
	if n := len(of[events.RunnerGitLabPaused](log)); n != 1 {
		t.Fatalf("%d paused events, want 1", n)
	}
	if len(of[events.RunnerTerminated](log)) != 0 || len(of[events.RunnerGitLabDeleteOwed](log)) != 0 || !e.fake.Runners()[0].Paused {
		t.Fatal("a runner under a running job was destroyed, or its GitLab runner not paused")
	}
}

func TestRegistration_errors_end_in_recorded_outcomes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		permanent bool
	}{
		{"unauthorized_401", http.StatusUnauthorized, true},
		{"forbidden_403", http.StatusForbidden, true},
		{"not_found_404", http.StatusNotFound, true},
		{"server_error_500", http.StatusInternalServerError, false},
		{"unavailable_503", http.StatusServiceUnavailable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t, nil)
			n := 1
			if tc.permanent {
				n = -1 // GitLab keeps refusing: only one try is made anyway
			}
			e.fake.Fail("POST", "/user/runners", tc.status, n, 0)
			e.request("web-1")
			if tc.permanent {
				log := e.waitFor("web-1 given up", has(func(s events.RunnerStateChanged) bool { return s.RunnerID == "web-1" && s.To == "FAILED" }))
				fails := of[events.PlanFailed](log)
				if len(fails) != 1 || fails[0].Stage != "register" || !fails[0].Permanent {
					t.Fatalf("plan failures %+v, want one permanent register failure", fails)
				}
				if tc.status != http.StatusNotFound && !strings.Contains(fails[0].Error, "create_runner") {
					t.Fatalf("the reason does not name the scope: %s", fails[0].Error)
				}
				time.Sleep(100 * time.Millisecond) // no retry follows
				if c := e.fake.Calls() - len(e.fake.Lists()); c != 1 {
					t.Fatalf("%d GitLab calls besides the sweep's lists, want the one create", c)
				}
				return
			}
			log := e.waitFor("web-1 deployed after a retry", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
			fails := of[events.PlanFailed](log)
			if len(fails) != 1 || fails[0].Stage != "register" || fails[0].Permanent {
				t.Fatalf("plan failures %+v, want one retried register failure", fails)
			}
			if len(e.fake.Runners()) != 1 {
				t.Fatalf("GitLab holds %d runners", len(e.fake.Runners()))
			}
		})
	}
	t.Run("throttled_429", func(t *testing.T) {
		e := newRegEnv(t, nil)
		e.fake.Fail("POST", "/user/runners", http.StatusTooManyRequests, 1, 1)
		start := time.Now()
		e.request("web-1")
		log := e.waitFor("web-1 deployed after Retry-After", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
		if time.Since(start) < time.Second {
			t.Fatal("the create was tried again before Retry-After")
		}
		if n := len(of[events.PlanFailed](log)); n != 0 {
			t.Fatalf("a 429 counted as %d failures", n)
		}
		q := of[events.RunnerQueued](log)
		if len(q) != 1 || !strings.Contains(q[0].Reason, "429") {
			t.Fatalf("queued %+v, want the 429 recorded", q)
		}
	})
	t.Run("group_and_projects_bucket", func(t *testing.T) {
		e := newRegEnv(t, nil)
		e.fake.AddProject(9, 90)
		if _, err := e.h.SyncEgg(context.Background(), commands.SyncEgg{Config: events.EggSynced{Name: "web", Kind: "bucket", RunnerType: "apex", Provider: "local",
			Region: "local", GitLabServer: e.fake.URL(), ProjectIDs: []int64{7}, GroupIDs: []int64{9}, CPU: 1, MemoryGB: 1, MaxApex: 3, ConfigHash: "c2"}}); err != nil {
			t.Fatal(err)
		}
		e.request("web-1")
		log := e.waitFor("web-1 given up", has(func(s events.RunnerStateChanged) bool { return s.RunnerID == "web-1" && s.To == "FAILED" }))
		if f := of[events.PlanFailed](log); len(f) != 1 || !strings.Contains(f[0].Error, "cannot be a group runner and a project runner") {
			t.Fatalf("failures %+v", f)
		}
		if e.fake.Creates() != 0 {
			t.Fatal("a GitLab runner was created for a bucket GitLab cannot hold")
		}
	})
}

func TestRegistration_owed_delete_survives_GitLab_failures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		code   string
	}{
		{"unavailable_503", http.StatusServiceUnavailable, "EUNAVAILABLE"},
		{"unauthorized_401", http.StatusUnauthorized, "EUNAUTHORIZED"},
		{"throttled_429", http.StatusTooManyRequests, "EUNAVAILABLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t, nil)
			e.request("web-1")
			e.waitFor("web-1 deployed", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
			e.fake.Fail("DELETE", "/runners/", tc.status, 3, 0)
			e.terminate("web-1")
			log := e.waitFor("web-1's GitLab runner deleted", has(func(d events.RunnerGitLabDeleted) bool { return d.RunnerID == "web-1" }))
			fails := of[events.RunnerGitLabDeleteFailed](log)
			if len(fails) != 1 || fails[0].Code != tc.code {
				t.Fatalf("delete failures %+v, want one (recorded once) with %s", fails, tc.code)
			}
			if len(e.fake.Runners()) != 0 || len(e.fake.Deletes()) != 1 {
				t.Fatalf("GitLab holds %+v", e.fake.Runners())
			}
		})
	}
}

func TestRegistration_owed_delete_resumes_after_restart(t *testing.T) {
	e := newRegEnv(t, nil)
	e.request("web-1")
	e.waitFor("web-1 deployed", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
	e.fake.Fail("DELETE", "/runners/", http.StatusBadGateway, -1, 0)
	e.terminate("web-1")
	e.waitFor("a failed delete", has(func(f events.RunnerGitLabDeleteFailed) bool { return f.RunnerID == "web-1" }))
	e.stop()
	e.fake.Heal()
	// A new provisioner over the same log owes the delete too.
	codec := events.NewCodec(events.NewRegistry())
	runners, _ := gitlab.NewRunners(gitlab.Config{Secrets: secrets.NewLocal(), Timeout: 2 * time.Second})
	p, err := provisioner.New(provisioner.Config{Store: e.store, Codec: codec, Handlers: e.h, Compute: e.compute, NewID: newID, PollInterval: 10 * time.Millisecond,
		GitLab: runners, APITokens: map[string]string{commands.ServerHostOf(e.fake.URL()): "env://PROV_TEST_API_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- p.Run(ctx) }()
	e.waitFor("web-1's GitLab runner deleted after the restart", has(func(d events.RunnerGitLabDeleted) bool { return d.RunnerID == "web-1" }))
	if len(e.fake.Runners()) != 0 {
		t.Fatalf("GitLab holds %+v", e.fake.Runners())
	}
}

func TestRegistration_sweep_deletes_only_our_orphans(t *testing.T) {
	e := newRegEnv(t, func(c *provisioner.Config) { c.SweepInterval = 50 * time.Millisecond })
	e.request("web-1")
	log := e.waitFor("web-1 deployed", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
	kept := of[events.RunnerGitLabRegistered](log)[0].GitLabRunnerID
	ghost := e.fake.AddRunner(gitlabtest.Runner{Type: "project_type", ProjectIDs: []int64{7}, Description: provisioner.Description("web-gone", "web")})
	dup := e.fake.AddRunner(gitlabtest.Runner{Type: "project_type", ProjectIDs: []int64{7}, Description: provisioner.Description("web-1", "web")})
	foreign := e.fake.AddRunner(gitlabtest.Runner{Type: "project_type", ProjectIDs: []int64{7}, Description: "the team's own runner"})
	log = e.waitFor("two orphans deleted", func(log []events.Envelope) bool { return len(of[events.RunnerGitLabOrphanDeleted](log)) == 2 })
	left := map[int64]bool{}
	for _, g := range e.fake.Runners() {
		left[g.ID] = true
	}
	if !left[kept] || !left[foreign] || left[ghost] || left[dup] {
		t.Fatalf("left %v: want %d (recorded) and %d (not ours) only", left, kept, foreign)
	}
	for _, o := range of[events.RunnerGitLabOrphanDeleted](log) {
		if o.Egg != "web" || o.Reason == "" {
			t.Fatalf("orphan %+v", o)
		}
	}
}

func TestRegistration_without_an_API_token_the_runner_is_unregistered(t *testing.T) {
	e := newRegEnv(t, func(c *provisioner.Config) { c.APITokens = nil })
	e.request("web-1")
	log := e.waitFor("web-1 deployed", has(func(d events.RunnerDeployed) bool { return d.RunnerID == "web-1" }))
	u := of[events.RunnerGitLabUnregistered](log)
	if len(u) != 1 || !strings.Contains(u[0].Reason, "no --gitlab-api-token for 127.0.0.1") {
		t.Fatalf("unregistered %+v", u)
	}
	if got := e.compute.spec("web-1").SecretURIs["GOSLING_RUNNER_TOKEN"]; got != "env://EGG_RUNNER_TOKEN" {
		t.Fatalf("runner token URI %q, want the egg's", got)
	}
	if e.fake.Creates() != 0 {
		t.Fatal("a GitLab runner was created without an API token")
	}
}
