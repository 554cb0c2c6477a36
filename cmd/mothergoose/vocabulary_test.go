package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/domain"
)

// flyEgg is an egg file of type typ on provider in region, for a GitLab
// project on gitlab.com, spelled as operators write it.
func flyEgg(name, typ, provider, region string, project int64) string {
	return fmt.Sprintf(`egg %q {
  type = %q
  cloud {
    provider = %q
    region   = %q
  }
  runner { tags = ["docker"] }
  gitlab {
    server         = "gitlab.com"
    project_id     = %d
    webhook_secret = "env://GOSLING_TEST_WEBHOOK_SECRET"
  }
}
`, name, typ, provider, region, project)
}

// TestServe_one_vocabulary: a provider, an egg type and a runner type are
// spelled one way from the .fly file through the events, the views and the
// API: the domain's spelling. Two eggs (serverless on yandex, vm on aws) are
// synced from a Nest, a pending job of each asks for a runner, and every
// layer is read back.
func TestServe_one_vocabulary(t *testing.T) {
	t.Setenv("GOSLING_TEST_WEBHOOK_SECRET", "hook-secret")
	// The .fly spelling is the domain's.
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{
		"Eggs/boxes/config.fly":  flyEgg("boxes", domain.EggServerless.String(), domain.ProviderYandex.String(), "ru-central1-a", 31537070),
		"Eggs/crates/config.fly": flyEgg("crates", domain.EggVM.String(), domain.ProviderAWS.String(), "eu-central-1", 31537071),
	})
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest, cfg.DataDir, cfg.SyncInterval = origin.URL, dir, time.Hour
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, stop := mustServe(ctx, t, cfg)
	defer m.Close()
	c := apiClient{t: t, base: "http://" + m.Addr()}

	cases := []struct {
		egg      string
		project  int64
		provider domain.CloudProvider
		eggType  domain.EggType
	}{
		{"boxes", 31537070, domain.ProviderYandex, domain.EggServerless},
		{"crates", 31537071, domain.ProviderAWS, domain.EggVM},
	}
	waitFor(ctx, t, "the sync", func() bool { return len(listOf(c.get("/eggs"), "eggs", "name")) == 2 })
	for i, tc := range cases {
		runnerType := tc.eggType.RunnerType().String() // serverless, apex
		// The egg: its view (through the API) and its egg.synced event.
		egg := c.get("/eggs/" + tc.egg)
		if egg["provider"] != tc.provider.String() || egg["runner_type"] != runnerType {
			t.Fatalf("GET /eggs/%s: provider %v, runner_type %v; want %s, %s", tc.egg, egg["provider"], egg["runner_type"], tc.provider, runnerType)
		}
		payload := lastPayload(t, c, "egg-"+tc.egg)
		if payload["provider"] != tc.provider.String() || payload["runner_type"] != runnerType {
			t.Fatalf("egg.synced of %s: %v", tc.egg, payload)
		}

		// A pending job asks for a runner: its event and its row.
		uuid := fmt.Sprintf("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f%d", i)
		if status, body := c.hook("job.json", map[string]any{"build_status": "pending", "project_id": tc.project, "build_id": 100 + i}, uuid, "hook-secret"); status != 202 || body["outcome"] != "accepted" {
			t.Fatalf("pending job of %s: %d %v", tc.egg, status, body)
		}
		id := fmt.Sprintf("%s-job-%d", tc.egg, 100+i)
		payload = firstPayload(t, c, "runner-"+id) // runner.requested; the provisioner may append more
		if payload["provider"] != tc.provider.String() || payload["runner_type"] != runnerType {
			t.Fatalf("runner.requested of %s: %v", id, payload)
		}
		waitFor(ctx, t, "the runner row", func() bool {
			status, _ := c.do(http.MethodGet, "/runners/"+id, nil, map[string]string{"Authorization": "Bearer test-api-token"})
			return status == 200
		})
		if row := c.get("/runners/" + id); row["provider"] != tc.provider.String() || row["type"] != runnerType {
			t.Fatalf("GET /runners/%s: %v", id, row)
		}
		// The filter takes the one spelling, and reads the retired one as it.
		for _, spelled := range []string{runnerType, map[string]string{"serverless": "SERVERLESS", "apex": "APEX"}[runnerType]} {
			if got := listOf(c.get("/runners?type="+spelled), "runners", "id"); !slices.Equal(got, []string{id}) {
				t.Fatalf("GET /runners?type=%s: %v, want [%s]", spelled, got, id)
			}
		}
	}
	if status, body := c.do(http.MethodGet, "/runners?type=vm", nil, map[string]string{"Authorization": "Bearer test-api-token"}); status != 400 {
		t.Fatalf("GET /runners?type=vm (an egg type, not a runner type): %d %v", status, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// lastPayload returns the payload of the last event of stream, read through /events.
func lastPayload(t *testing.T, c apiClient, stream string) map[string]any {
	t.Helper()
	evs, _ := c.get("/events?stream=" + stream)["events"].([]any)
	if len(evs) == 0 {
		t.Fatalf("stream %s has no events", stream)
	}
	p, _ := evs[len(evs)-1].(map[string]any)["payload"].(map[string]any)
	return p
}

func firstPayload(t *testing.T, c apiClient, stream string) map[string]any {
	t.Helper()
	evs, _ := c.get("/events?stream=" + stream)["events"].([]any)
	if len(evs) == 0 {
		t.Fatalf("stream %s has no events", stream)
	}
	p, _ := evs[0].(map[string]any)["payload"].(map[string]any)
	return p
}
