package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
)

// The Nest `gosling init` writes (make run's path) has a local example egg
// whose file:// secrets init created: serve resolves them and does not warn
// about the example egg; a sentinel egg whose secret cannot resolve shows
// that the check ran.
func TestServe_does_not_warn_about_the_init_example_egg(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gosling binary with the go tool; skipped under -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build gosling")
	}
	bin := filepath.Join(t.TempDir(), "gosling")
	if out, err := exec.Command(goTool, "build", "-o", bin, "../gosling").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nest := filepath.Join(t.TempDir(), "nest")
	cmd := exec.Command(bin, "init", "--no-git", nest)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gosling init: %v\n%s", err, out)
	}
	files := map[string]string{"Eggs/sentinel/config.fly": eggWithSecret("sentinel", 77, "env://GOSLING_TEST_UNSET_SECRET")}
	for _, f := range []string{"Eggs/example-egg/config.fly", "Jobs/check-nest.fly", "UF/config.fly", "MG/config.fly"} {
		b, err := os.ReadFile(filepath.Join(nest, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	if !strings.Contains(files["Eggs/example-egg/config.fly"], `"file://`+nest+`/.secrets/example-egg-webhook-secret"`) {
		t.Fatalf("the example egg does not name its secret file:\n%s", files["Eggs/example-egg/config.fly"])
	}
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, files)

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := &lockedBuffer{}
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() { stopRun(); <-done; _ = m.Close() }()

	waitFor(ctx, t, "the sentinel's warning", func() bool {
		return strings.Contains(strings.Join(logs.warnings(), "\n"), " egg=sentinel ")
	})
	if w := strings.Join(logs.warnings(), "\n"); strings.Contains(w, "example-egg") {
		t.Fatalf("serve warns about the init example egg:\n%s", w)
	}
}
