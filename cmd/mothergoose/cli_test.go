package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// execute runs the mothergoose command tree on args as main does and
// returns its output.
func execute(ctx context.Context, args ...string) (string, error) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// TestHelp_lists_each_subcommands_own_flags: serve's flags are serve's;
// the store and logging flags are shared; replay, migrate and events list
// only what they use.
func TestHelp_lists_each_subcommands_own_flags(t *testing.T) {
	shared := []string{"--store", "--data-dir", "--blob-store", "--log-level", "--log-format"}
	serveOnly := []string{"--listen", "--nest", "--nest-branch", "--nest-auth", "--sync-interval", "--poll-interval",
		"--api-token", "--trigger-token", "--gitlab-api-token", "--unauth-rate", "--unauth-burst",
		"--unauth-total-rate", "--unauth-total-burst", "--unauth-sources", "--break-after", "--plan-retention", "--reconcile-interval"}
	for _, tc := range []struct {
		name       string
		has, lacks []string
	}{
		{"serve", append(append([]string{}, shared...), serveOnly...), nil},
		{"events", append([]string{"--after", "--limit", "--stream"}, shared...), serveOnly},
		{"replay", append([]string{"--view"}, shared...), serveOnly},
		{"migrate", shared, serveOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := execute(context.Background(), tc.name, "--help")
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.has {
				if !strings.Contains(out, f+" ") {
					t.Errorf("%s --help does not list %s:\n%s", tc.name, f, out)
				}
			}
			for _, f := range tc.lacks {
				if strings.Contains(out, f+" ") {
					t.Errorf("%s --help lists %s:\n%s", tc.name, f, out)
				}
			}
		})
	}
	if _, err := execute(context.Background(), "events", "--listen", ":0"); err == nil || !strings.Contains(err.Error(), "unknown flag: --listen") {
		t.Errorf("events --listen: %v", err)
	}
}

// TestStore_default_follows_data_dir: without --store, every subcommand
// opens gosling.db in --data-dir (not .data in the working directory).
func TestStore_default_follows_data_dir(t *testing.T) {
	t.Setenv("MOTHERGOOSE_STORE", "")
	t.Setenv("MOTHERGOOSE_DATA_DIR", "")
	wd := t.TempDir()
	t.Chdir(wd)
	ctx := context.Background()

	dir := filepath.Join(t.TempDir(), "state")
	want := "sqlite://" + filepath.Join(dir, "gosling.db")
	out, err := execute(ctx, "migrate", "--data-dir", dir)
	if err != nil || strings.TrimSpace(out) != "store ready: "+want {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "gosling.db")); err != nil {
		t.Fatalf("migrate --data-dir: %v", err)
	}
	if out, err := execute(ctx, "replay", "--data-dir", dir, "--view", "runners"); err != nil || !strings.Contains(out, "runners rebuilt") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	if out, err := execute(ctx, "events", "--data-dir", dir); err != nil || out != "" {
		t.Fatalf("events on the empty store: %v\n%q", err, out)
	}

	// serve opens the same default and really serves on it.
	dir2 := filepath.Join(t.TempDir(), "serve-state")
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := execute(sctx, "serve", "--data-dir", dir2, "--listen", "127.0.0.1:0", "--log-level", "error",
			"--api-token", "a", "--trigger-token", "b")
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir2, "gosling.db")); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("serve created no gosling.db in --data-dir")
		}
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("serve: %v", err)
	}

	// Nothing went to the working directory's .data.
	if _, err := os.Stat(filepath.Join(wd, ".data")); err == nil {
		t.Error(".data was created in the working directory")
	}
	// The default without --data-dir is still .data/gosling.db.
	if got := defaultConfig().StoreURL(); got != "sqlite://"+filepath.Join(".data", "gosling.db") {
		t.Errorf("default store %s", got)
	}
}
