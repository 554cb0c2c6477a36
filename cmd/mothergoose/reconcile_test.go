package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
)

// TestServe_reconciles_a_job_no_webhook_announced: serve, with an API token
// for the fake GitLab the egg lives on, requests a runner for a pending job
// that only the Jobs API lists, once, as mothergoose:reconcile.
func TestServe_reconciles_a_job_no_webhook_announced(t *testing.T) {
	t.Setenv("GOSLING_TEST_WEBHOOK_SECRET", "hook-secret")
	t.Setenv("GOSLING_TEST_GITLAB_TOKEN", "glpat-serve-reconcile")
	fake := gitlabtest.NewTLS(t, "glpat-serve-reconcile")
	fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 77, Tags: []string{"docker"}})
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{"Eggs/lost/config.fly": eggFly("lost", "gitlab.example.com", 15)})

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = time.Hour
	cfg.Tofu = filepath.Join(dir, "no-tofu") // requested runners wait in the queue
	cfg.ReconcileInterval = 50 * time.Millisecond
	cfg.GitLabAPITokens = []string{"gitlab.example.com=env://GOSLING_TEST_GITLAB_TOKEN"}
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, stop := mustServeMain(ctx, t, &Main{Config: cfg, GitLabHTTP: dialing(t, fake)})
	defer m.Close()

	codec := events.NewCodec(events.NewRegistry())
	load := func() []events.Envelope {
		recs, err := m.storage.Events.Load(ctx, "runner-lost-job-77", 0)
		if err != nil {
			t.Fatal(err)
		}
		envs, err := codec.DecodeAll(recs)
		if err != nil {
			t.Fatal(err)
		}
		return envs
	}
	waitFor(ctx, t, "the reconciled runner request", func() bool { return len(load()) > 0 })
	// Several more passes ask for nothing more.
	lists := len(fake.Lists())
	waitFor(ctx, t, "more passes", func() bool { return len(fake.Lists()) >= lists+3 })
	requested := 0
	for _, env := range load() {
		if env.Type == events.RunnerRequestedV1 {
			requested++
			if env.Actor != commands.ReconcileActor {
				t.Fatalf("requested by %q", env.Actor)
			}
		}
	}
	if requested != 1 {
		t.Fatalf("%d runner.requested events, want 1", requested)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// dialing is a client that reaches fake (over HTTPS, trusting its
// certificate) whatever host a URL names: eggs name GitLab servers by host
// name alone, on port 443.
func dialing(t *testing.T, fake *gitlabtest.Server) *http.Client {
	t.Helper()
	tr, ok := fake.Client().Transport.(*http.Transport)
	if !ok {
		t.Fatal("the fake's client has no *http.Transport")
	}
	tr = tr.Clone()
	tr.TLSClientConfig.InsecureSkipVerify = true // the certificate names 127.0.0.1 and example.com only
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, fake.Host())
	}
	return &http.Client{Transport: tr}
}

func TestConfig_reconcile_interval(t *testing.T) {
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
	if c := parse(t); c.ReconcileInterval != time.Minute || c.ValidateServe() != nil {
		t.Fatalf("default --reconcile-interval %s (%v), want 1m", c.ReconcileInterval, c.ValidateServe())
	}
	t.Setenv("MOTHERGOOSE_RECONCILE_INTERVAL", "5s")
	if c := parse(t); c.ReconcileInterval != 5*time.Second {
		t.Fatalf("MOTHERGOOSE_RECONCILE_INTERVAL=5s: %s", c.ReconcileInterval)
	}
	if c := parse(t, "--reconcile-interval", "0"); c.ReconcileInterval != 0 || c.ValidateServe() != nil {
		t.Fatalf("--reconcile-interval 0 (disabled): %s (%v)", c.ReconcileInterval, c.ValidateServe())
	}
	t.Setenv("MOTHERGOOSE_RECONCILE_INTERVAL", "often")
	if err := parse(t).ValidateServe(); err == nil || !strings.Contains(err.Error(), "--reconcile-interval") || exitCode(err) != 2 {
		t.Fatalf("unparsable MOTHERGOOSE_RECONCILE_INTERVAL: %v", err)
	}
}

// TestServe_reconcile_interval_0_runs_no_reconciliation: nothing is listed.
func TestServe_reconcile_interval_0_runs_no_reconciliation(t *testing.T) {
	fake := gitlabtest.NewTLS(t, "glpat-x")
	t.Setenv("GOSLING_TEST_GITLAB_TOKEN", "glpat-x")
	cfg := testConfig()
	dir := t.TempDir()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.DataDir, cfg.LogLevel = dir, "error"
	cfg.ReconcileInterval = 0
	cfg.GitLabAPITokens = []string{"gitlab.example.com=env://GOSLING_TEST_GITLAB_TOKEN"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, stop := mustServeMain(ctx, t, &Main{Config: cfg, GitLabHTTP: dialing(t, fake)})
	defer m.Close()
	if m.reconciler != nil {
		t.Fatal("a reconciler was built")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
