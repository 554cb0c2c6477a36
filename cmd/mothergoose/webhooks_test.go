package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
)

// TestServe_installs_and_removes_an_eggs_webhook: serve, with an API token
// for the fake GitLab and an explicit --public-url, installs exactly one
// hook on the egg's project after the sync (job events, our URL, the
// egg's webhook secret as token), says so in GET /eggs/{name}/webhooks,
// and removes it when the egg leaves the Nest.
func TestServe_installs_and_removes_an_eggs_webhook(t *testing.T) {
	t.Setenv("GOSLING_TEST_WEBHOOK_SECRET", "hook-secret-value")
	t.Setenv("GOSLING_TEST_GITLAB_TOKEN", "glpat-serve-hooks")
	fake := gitlabtest.NewTLS(t, "glpat-serve-hooks")
	fake.AddProject(0, 15)
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{"Eggs/hooked/config.fly": eggFly("hooked", "gitlab.example.com", 15)})

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = time.Hour
	cfg.Tofu = filepath.Join(dir, "no-tofu")
	cfg.ReconcileInterval = 0
	cfg.WebhookCheckInterval = time.Hour // only start and syncs install
	cfg.PublicURL = "https://mg.example.com/"
	cfg.GitLabAPITokens = []string{"gitlab.example.com=env://GOSLING_TEST_GITLAB_TOKEN"}
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, stop := mustServeMain(ctx, t, &Main{Config: cfg, GitLabHTTP: dialing(t, fake)})
	defer m.Close()
	c := apiClient{t: t, base: "http://" + m.Addr()}

	status := func() map[string]any {
		code, body := c.do(http.MethodGet, "/eggs/hooked/webhooks", nil, map[string]string{"Authorization": "Bearer test-api-token"})
		if code != http.StatusOK { // not synced yet
			return nil
		}
		hooks, _ := body["hooks"].([]any)
		if len(hooks) != 1 {
			return nil
		}
		h, _ := hooks[0].(map[string]any)
		return h
	}
	waitFor(ctx, t, "the hook recorded installed", func() bool { return status()["status"] == "installed" })
	hooks := fake.Hooks("project", 15)
	if len(hooks) != 1 {
		t.Fatalf("%d hooks on project 15: %+v", len(hooks), hooks)
	}
	h := hooks[0]
	if h.URL != "https://mg.example.com/webhooks/gitlab" || !h.JobEvents || h.PushEvents || !h.EnableSSLVerification || h.Token != "hook-secret-value" {
		t.Fatalf("hook %+v", h)
	}
	if s := status(); s["hook_id"] != float64(h.ID) || s["owner_kind"] != "project" || s["owner_id"] != float64(15) || s["url"] != h.URL {
		t.Fatalf("status %+v", s)
	}

	origin.Commit(t, nil, "Eggs/hooked/config.fly")
	if code, body := c.do(http.MethodPost, "/internal/sync-git", nil, map[string]string{"X-Trigger-Auth": "test-trigger-token"}); code != http.StatusAccepted {
		t.Fatalf("sync-git: %d %v", code, body)
	}
	waitFor(ctx, t, "the hook removed", func() bool { return len(fake.Hooks("project", 15)) == 0 && status()["status"] == "removed" })
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
