package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox/lockboxtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
	"github.com/polar-gosling/polar-gosling/domain"
)

// cloudEgg is an egg of provider in region on project, its webhook secret
// at uri ("" leaves the provider's conventional URI).
func cloudEgg(name, provider, region string, project int64, uri string) string {
	secret := ""
	if uri != "" {
		secret = fmt.Sprintf("    webhook_secret = %q\n", uri)
	}
	return fmt.Sprintf(`egg %q {
  type = "serverless"

  cloud {
    provider = %q
    region   = %q
  }

  runner {
    tags = ["docker", "linux"]
  }

  gitlab {
    server         = "gitlab.com"
    project_id     = %d
%s  }
}
`, name, provider, region, project, secret)
}

// TestServe_webhook_secrets_in_each_cloud_backend: serve resolves eggs'
// webhook secrets in Lockbox (gRPC), Secrets Manager (JSON 1.1) and Vault
// (KV v2), each a fake on 127.0.0.1 reached through the backends' standard
// environment: a Job Hook with the right token is accepted and one with a
// wrong token refused; each backend is asked once for many webhooks (the
// cache) and each URI audited once; with Vault killed after the first
// resolution the webhooks keep working for the stale window, then answer
// 503, and work again once Vault is back, without a restart; no value is
// in the log, the database or any file of the data directory.
func TestServe_webhook_secrets_in_each_cloud_backend(t *testing.T) {
	const (
		lockboxValue = "lockbox-hook-value-7f3a"
		awsValue     = "awssm-hook-value-91c2"
		vaultValue   = "vault-hook-value-d04e"
		lockboxID    = "e6q0webhook0secret01"
	)
	lb := lockboxtest.Start(t)
	lb.AllowToken("iam-token-for-serve")
	lb.Put(lockboxID, "webhook-secret", lockboxValue)
	sm := awssmtest.Start(t)
	// The aws egg leaves webhook_secret out: the Nest's convention.
	awsURI := domain.DefaultSecretURI(domain.ProviderAWS, "gitlab.com", "aws-egg", domain.SecretKeyWebhookSecret)
	awsName := strings.TrimSuffix(strings.TrimPrefix(awsURI, "aws-sm://"), "/"+domain.SecretKeyWebhookSecret)
	sm.Put(awsName, domain.SecretKeyWebhookSecret, awsValue)
	vt := vaulttest.Start(t)
	vt.Put("kv", "gitlab/vault-egg", "webhook-secret", vaultValue)
	for k, v := range map[string]string{
		"YC_IAM_TOKEN": "iam-token-for-serve", "YC_LOCKBOX_PAYLOAD_ENDPOINT": lb.Addr(), "YC_LOCKBOX_ENDPOINT": lb.Addr(),
		"YC_METADATA_URL": "http://127.0.0.1:1", "YC_SERVICE_ACCOUNT_KEY_FILE": "",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(), "AWS_ACCESS_KEY_ID": "AKIDSERVE", "AWS_SECRET_ACCESS_KEY": "serve-secret-key",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"VAULT_ADDR":                  vt.URL(), "VAULT_TOKEN": vt.NewToken(vaulttest.TokenOptions{}),
	} {
		t.Setenv(k, v)
	}

	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{
		"Eggs/lockbox-egg/config.fly": cloudEgg("lockbox-egg", "yandex", "ru-central1-a", 101, "yc-lockbox://"+lockboxID+"/webhook-secret"),
		"Eggs/aws-egg/config.fly":     cloudEgg("aws-egg", "aws", "eu-west-1", 102, ""),
		"Eggs/vault-egg/config.fly":   cloudEgg("vault-egg", "yandex", "ru-central1-a", 103, "vault://kv/gitlab/vault-egg/webhook-secret"),
	})
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = time.Hour
	cfg.SecretTTL = []string{"vault=1s"}
	cfg.SecretStaleFor = 3 * time.Second
	cfg.SecretNegativeTTL = 200 * time.Millisecond
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	m, stop := mustServeMain(ctx, t, &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer m.Close()
	c := apiClient{t: t, base: "http://" + m.Addr()}
	waitFor(ctx, t, "the three eggs", func() bool { return len(listOf(c.get("/eggs"), "eggs", "name")) == 3 })

	n := 0
	hook := func(project int64, token string) (int, map[string]any) {
		t.Helper()
		n++
		return c.hook("job.json", map[string]any{"build_status": "pending", "project_id": project, "build_id": 7_000_000 + n},
			fmt.Sprintf("cloud-secrets-%d", n), token)
	}
	eggs := []struct {
		name    string
		project int64
		value   string
	}{{"lockbox-egg", 101, lockboxValue}, {"aws-egg", 102, awsValue}, {"vault-egg", 103, vaultValue}}
	for _, e := range eggs {
		for range 5 {
			if status, body := hook(e.project, e.value); status != http.StatusAccepted || body["outcome"] != "accepted" {
				t.Fatalf("%s, right token: %d %v", e.name, status, body)
			}
		}
		if status, body := hook(e.project, e.value+"-wrong"); status != http.StatusUnauthorized {
			t.Fatalf("%s, wrong token: %d %v, want 401", e.name, status, body)
		}
	}
	// The start-up check and 6 webhooks each: one backend call for the
	// 5-minute TTL of Lockbox and Secrets Manager.
	if got := lb.Calls(lockboxtest.MethodGet); got != 1 {
		t.Errorf("Lockbox PayloadService.Get calls = %d, want 1", got)
	}
	if got := sm.Calls("GetSecretValue"); got != 1 {
		t.Errorf("Secrets Manager GetSecretValue calls = %d, want 1", got)
	}
	// The region Secrets Manager was asked in is the egg's.
	if sigs := sm.Signatures(); len(sigs) == 0 || sigs[0].Region != "eu-west-1" {
		t.Errorf("Secrets Manager signatures %+v, want the egg's region eu-west-1", sigs)
	}
	// One secret.accessed per URI, naming what for and who, not the value.
	for _, uri := range []string{"yc-lockbox://" + lockboxID + "/webhook-secret", awsURI} {
		evs := c.get("/events?stream=" + domain.SecretAccessStream(uri))["events"].([]any)
		waitFor(ctx, t, "the access of "+uri, func() bool {
			evs = c.get("/events?stream=" + domain.SecretAccessStream(uri))["events"].([]any)
			return len(evs) > 0
		})
		if len(evs) != 1 {
			t.Fatalf("%s: %d secret.accessed events, want 1: %v", uri, len(evs), evs)
		}
		data := fmt.Sprint(evs[0])
		if !strings.Contains(data, "webhook secret of egg") || !strings.Contains(data, "mothergoose") || !strings.Contains(data, "resolved") {
			t.Fatalf("%s: access %s", uri, data)
		}
	}

	// Vault goes down right after a fresh fetch (the TTL is 1s).
	time.Sleep(1100 * time.Millisecond)
	// The fetch happens within this request: its value is fresh until
	// 1s after, and served stale until 3s later.
	beforeFetch := time.Now()
	if status, _ := hook(103, vaultValue); status != http.StatusAccepted {
		t.Fatalf("vault egg before the outage: %d", status)
	}
	fetched := time.Now()
	vt.Stop()
	for time.Since(fetched) < 2500*time.Millisecond {
		if status, body := hook(103, vaultValue); status != http.StatusAccepted {
			t.Fatalf("vault down %s after the fetch, within TTL + stale window (4s): %d %v", time.Since(fetched).Round(time.Millisecond), status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(ctx, t, "503 once the stale window is over", func() bool {
		status, _ := hook(103, vaultValue)
		return status == http.StatusServiceUnavailable
	})
	if since := time.Since(beforeFetch); since < 4*time.Second {
		t.Fatalf("503 %s after the fetch: the stale window is TTL 1s + 3s", since)
	}
	if err := vt.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the vault egg's webhooks accepted again", func() bool {
		status, _ := hook(103, vaultValue)
		return status == http.StatusAccepted
	})
	if !strings.Contains(logs.String(), "serving the cached value") {
		t.Errorf("the stale stretch is not logged:\n%s", logs.String())
	}
	// The metrics count the backends' fetches, the stale ones apart.
	resp, err := http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(raw)
	for name, atLeast := range map[string]float64{
		`secret_fetches_total{outcome="resolved",scheme="yc-lockbox"}`: 1,
		`secret_fetches_total{outcome="stale",scheme="vault"}`:         1,
		`secret_fetches_total{outcome="failed",scheme="vault"}`:        1,
	} {
		if v, ok := metricValue(metrics, name); !ok || v < atLeast {
			t.Errorf("%s = %v (found %v), want at least %v", name, v, ok, atLeast)
		}
	}
	if v, _ := metricValue(metrics, `secret_fetches_total{outcome="resolved",scheme="yc-lockbox"}`); v != 1 {
		t.Errorf("Lockbox fetched %v times, want 1 (the cache)", v)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	scanForValues(t, logs.String(), dir, lockboxValue, awsValue, vaultValue)
}

// scanForValues fails when any value is in the log or in any file under
// dir (the database, its WAL, plans, state files, workspaces).
func scanForValues(t *testing.T, log, dir string, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(log, v) {
			t.Errorf("a secret value is in the log")
		}
	}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, v := range values {
			if strings.Contains(string(b), v) {
				t.Errorf("a secret value is in %s", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no file under %s to scan", dir)
	}
}

// TestServe_provisions_with_a_cloud_webhook_secret_Integration: a real
// `mothergoose serve` (real OpenTofu, real agents) whose egg's webhook
// secret is in Vault: its warm runner is planned, applied and heartbeats
// IDLE, a pending job signed with the Vault value is accepted and a wrong
// one refused; then no byte of the value is in the database, any plan,
// state file or workspace, or serve's log.
func TestServe_provisions_with_a_cloud_webhook_secret_Integration(t *testing.T) {
	e := newProvEnv(t)
	vt := vaulttest.Start(t)
	vt.Put("kv", "gitlab/"+provEgg, "webhook-secret", e.webhookSecret)
	t.Setenv("VAULT_ADDR", vt.URL()) // the child inherits the environment
	t.Setenv("VAULT_TOKEN", vt.NewToken(vaulttest.TokenOptions{}))
	src := e.eggFile(1)
	fileURI := "file://" + filepath.Join(e.dir, "secrets", "webhook-secret")
	if !strings.Contains(src, fileURI) {
		t.Fatalf("the egg has no %s", fileURI)
	}
	e.nest.Commit(t, map[string]string{"Eggs/" + provEgg + "/config.fly": strings.Replace(src, fileURI, "vault://kv/gitlab/"+provEgg+"/webhook-secret", 1)})
	// The file the egg no longer names goes: only Vault has the value.
	if err := os.Remove(filepath.Join(e.dir, "secrets", "webhook-secret")); err != nil {
		t.Fatal(err)
	}
	e.start()
	defer e.stop()
	e.waitUntil("one IDLE runner", 2*time.Minute, func() bool {
		for _, r := range e.runners() {
			if r["state"] == "IDLE" {
				return true
			}
		}
		return false
	})
	if code, outcome, err := e.jobHook(4242, "pending"); err != nil || code != http.StatusAccepted || outcome != "accepted" {
		t.Fatalf("a job signed with the Vault value: %d %s %v", code, outcome, err)
	}
	right := e.webhookSecret
	e.webhookSecret = "wrong-" + right
	if code, _, err := e.jobHook(4243, "pending"); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("a job with a wrong token: %d %v, want 401", code, err)
	}
	e.stop()
	plans, _ := filepath.Glob(filepath.Join(e.dataDir, "plans", "*.tfplan"))
	states, _ := filepath.Glob(filepath.Join(e.workDir, "*", "terraform.tfstate"))
	if len(plans) == 0 || len(states) == 0 {
		t.Fatalf("plans %v, states %v: the scan would miss them", plans, states)
	}
	logs, _ := filepath.Glob(filepath.Join(e.dir, "mothergoose-*.log"))
	var all strings.Builder
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	if !strings.Contains(all.String(), "vault://kv/gitlab/"+provEgg+"/webhook-secret") && !strings.Contains(all.String(), "provisioner ready") {
		t.Fatalf("serve's log is empty: %q", all.String())
	}
	scanForValues(t, all.String(), e.dataDir, right)
}
