package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// TestServe_bus_to_views runs the serve composition root on a temp SQLite
// file: commands sent on the bus become events, the live projectors turn
// them into views, and `replay` rebuilds the same views from the log.
func TestServe_bus_to_views(t *testing.T) {
	store := "sqlite://" + filepath.Join(t.TempDir(), "gosling.db")
	cfg := defaultConfig()
	cfg.Store = store
	cfg.LogLevel = "warn"
	cfg.PollInterval = 20 * time.Millisecond
	m := &Main{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	select {
	case <-m.Bus.Running():
	case <-ctx.Done():
		t.Fatal("bus did not start")
	}
	// Commands on different topics run concurrently, so each waits for the
	// previous one's effect to be visible, as a saga would.
	live := sendAndWait(ctx, t, m, commands.RequestRunner{Meta: commands.Meta{Actor: "test"}, RunnerID: "r-1", Egg: "web", RunnerType: "APEX", Provider: "YANDEX", Region: "ru-central1-a", Reason: "min pool"}, "PROVISIONING")
	live = sendAndWait(ctx, t, m, commands.DeployRunner{RunnerID: "r-1", PlanID: "p-1", InstanceID: "fhm-1", Address: "10.0.0.7"}, "ACTIVE")
	if live.InstanceID != "fhm-1" || live.Egg != "web" || live.Version != 2 {
		t.Fatalf("runner view %+v", live)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// replay through the CLI rebuilds the same row.
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--store", store, "--log-level", "warn", "replay", "--view", "runners"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("replay: %v", err)
	}
	st, err := openStorage(ctx, store, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rebuilt, ok, err := st.Views.Read().Runners().Get(ctx, "r-1")
	if err != nil || !ok {
		t.Fatalf("rebuilt row: %v %v", ok, err)
	}
	if !reflect.DeepEqual(rebuilt, live) {
		t.Fatalf("replayed row differs:\n%+v\n%+v", rebuilt, live)
	}

	// events prints the log as JSON records.
	root = newRootCommand()
	out.Reset()
	root.SetOut(&out)
	root.SetArgs([]string{"--store", store, "events", "--stream", "runner-r-1"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var types []string
	for dec.More() {
		var r events.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		types = append(types, r.Type)
	}
	if want := []string{events.RunnerRequestedV1, events.RunnerDeployedV1}; !reflect.DeepEqual(types, want) {
		t.Fatalf("events printed %v, want %v", types, want)
	}
}

func TestConfig_rejects_bad_values(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown_scheme", []string{"--store", "postgres://x", "migrate"}},
		{"bad_log_level", []string{"--log-level", "loud", "migrate"}},
		{"bad_poll", []string{"--poll-interval", "0s", "migrate"}},
		{"unknown_flag", []string{"--nope", "migrate"}},
		{"bad_view", []string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "x.db"), "replay", "--view", "nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := newRootCommand()
			root.SetArgs(tc.args)
			root.SetOut(new(bytes.Buffer))
			err := root.ExecuteContext(context.Background())
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("got %v (exit %d), want a usage error (exit 2)", err, exitCode(err))
			}
		})
	}
}

func sendAndWait(ctx context.Context, t *testing.T, m *Main, cmd commands.Command, state string) ports.RunnerRow {
	t.Helper()
	if err := m.Bus.Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	for {
		row, ok, err := m.storage.Views.Read().Runners().Get(ctx, "r-1")
		if err != nil {
			t.Fatal(err)
		}
		if ok && row.State == state {
			return row
		}
		select {
		case <-ctx.Done():
			t.Fatalf("runner r-1 never reached %s in the view (last: %+v)", state, row)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestServe_syncs_the_Nest runs serve against a Nest repository on disk: the
// first sync puts its egg in the egg_configs view and a SUCCESS row in
// sync_history; a broken commit is recorded as FAILED and leaves the egg as
// it was.
func TestServe_syncs_the_Nest(t *testing.T) {
	egg, err := os.ReadFile(filepath.Join("..", "..", "adapters", "fly", "testdata", "valid", "minimal", "Eggs", "solo", "config.fly"))
	if err != nil {
		t.Fatal(err)
	}
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{"Eggs/solo/config.fly": string(egg)})

	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = 50 * time.Millisecond
	m := &Main{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()

	syncs := func(status string) []ports.SyncHistoryRow {
		rows, err := m.storage.Views.Read().SyncHistory().List(ctx, ports.Query{Eq: map[string]any{"status": status}})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	waitFor(ctx, t, "a successful sync", func() bool { return len(syncs("SUCCESS")) == 1 })
	row, ok, err := m.storage.Views.Read().EggConfigs().Get(ctx, "solo")
	if err != nil || !ok {
		t.Fatalf("egg solo not in egg_configs: %v %v", ok, err)
	}

	origin.Commit(t, map[string]string{"Eggs/solo/config.fly": "egg \"solo\" {\n  type = \"spaceship\"\n}\n"})
	waitFor(ctx, t, "a failed sync", func() bool { return len(syncs("FAILED")) == 1 })
	failed := syncs("FAILED")[0]
	if len(failed.Diagnostics) == 0 || failed.Diagnostics[0].File != "Eggs/solo/config.fly" {
		t.Fatalf("failed sync diagnostics %+v", failed.Diagnostics)
	}
	after, _, err := m.storage.Views.Read().EggConfigs().Get(ctx, "solo")
	if err != nil || !reflect.DeepEqual(after, row) {
		t.Fatalf("a broken commit changed the egg: %+v (was %+v) %v", after, row, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
