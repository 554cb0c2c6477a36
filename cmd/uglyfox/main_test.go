package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/cmd/internal/docmentions"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

// busSweeper sends one fenced command per sweep through the process's
// command port (the bus), as the real sweep does.
type busSweeper struct {
	name   string
	sender commands.Sender
	sweeps atomic.Int32
}

func (s *busSweeper) Interval() time.Duration { return 50 * time.Millisecond }

func (s *busSweeper) Sweep(ctx context.Context, lease string, token uint64) (uglyfox.Summary, error) {
	s.sweeps.Add(1)
	return uglyfox.Summary{}, s.sender.Send(ctx, commands.RecordSecretAccess{
		Meta:   commands.Meta{Actor: "uglyfox", FenceLease: lease, FenceToken: token},
		Access: events.SecretAccessed{URI: "env://SWEPT_BY_" + s.name, Accessor: "uglyfox", Purpose: "sweep", Outcome: "resolved"},
	})
}

// mustServe opens and runs an uglyfox on the store at path, as holder.
func mustServe(t *testing.T, path, holder string) (*busSweeper, context.CancelFunc, <-chan error) {
	t.Helper()
	cfg := defaultConfig()
	cfg.Store, cfg.Holder, cfg.LeaseTTL, cfg.LogLevel = "sqlite://"+path, holder, 3*time.Second, "error"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sw := &busSweeper{name: holder}
	m := &Main{Config: cfg, Logger: slog.New(slog.DiscardHandler), Sweeper: sw}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	sw.sender = m.Bus
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- m.Run(ctx); m.Close(); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	return sw, cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServe_two_processes_one_sweeps_and_the_other_takes_over: two
// `uglyfox serve` on one SQLite file. One sweeps and its fenced commands
// reach the log through its bus; the other does not sweep. When the first
// stops, it releases the lease and the other takes over at once (well
// within the lease time), and the log shows one holder at a time.
func TestServe_two_processes_one_sweeps_and_the_other_takes_over(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gosling.db")
	a, stopA, doneA := mustServe(t, path, "fox-a")
	waitFor(t, "fox-a sweeps", func() bool { return a.sweeps.Load() >= 2 })
	b, _, _ := mustServe(t, path, "fox-b")
	time.Sleep(300 * time.Millisecond) // several sweep intervals
	if n := b.sweeps.Load(); n != 0 {
		t.Fatalf("fox-b swept %d times while fox-a held the lease", n)
	}
	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	waitFor(t, "fox-b takes over", func() bool { return b.sweeps.Load() >= 1 })
	if took := time.Since(stopped); took > 3*time.Second {
		t.Fatalf("fox-b took over %s after fox-a released, want within the lease time", took)
	}
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, "fox-a's and fox-b's commands in the log", func() bool {
		ra, _ := db.Events().Load(context.Background(), domain.SecretAccessStream("env://SWEPT_BY_fox-a"), 0)
		rb, _ := db.Events().Load(context.Background(), domain.SecretAccessStream("env://SWEPT_BY_fox-b"), 0)
		return len(ra) >= 2 && len(rb) >= 1
	})
	recs, err := db.Events().Load(context.Background(), domain.LeaseStream(uglyfox.DefaultLease), 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	want := []string{events.UglyFoxLeaseAcquiredV1, events.UglyFoxLeaseReleasedV1, events.UglyFoxLeaseAcquiredV1}
	if len(types) != len(want) || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Fatalf("lease log %v, want %v", types, want)
	}
}

// TestConfig_refuses_bad_values: every problem is named at once.
func TestConfig_refuses_bad_values(t *testing.T) {
	cfg := defaultConfig()
	cfg.Store, cfg.LogLevel, cfg.LeaseTTL = "postgres://x", "loud", -1
	err := cfg.Validate()
	for _, want := range []string{"--store", "--log-level", "--lease-ttl"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v: want %s named", err, want)
		}
	}
}

// TestDocs_name_only_commands_that_exist: the README names only uglyfox
// subcommands and flags that exist.
func TestDocs_name_only_commands_that_exist(t *testing.T) {
	root := newRootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	problems, n := docmentions.CheckAll(root, map[string]string{"README.md": string(b)})
	for _, p := range problems {
		t.Error(p)
	}
	if n < 2 {
		t.Errorf("only %d mentions of uglyfox commands in the README", n)
	}
}
