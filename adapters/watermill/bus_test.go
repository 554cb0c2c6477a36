package watermill_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/adapters/watermill"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func clock() time.Time { return t0 }

// mustStore opens a fresh SQLite event store in a temp directory.
func mustStore(t *testing.T) ports.EventStore {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Events()
}

func mustHandlers(t *testing.T, store ports.EventStore) *commands.Handlers {
	t.Helper()
	h, err := commands.NewHandlers(store, events.NewCodec(events.NewRegistry()), clock, newID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustLoad(t *testing.T, store ports.EventStore, stream string) []events.Envelope {
	t.Helper()
	recs, err := store.Load(context.Background(), stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	envs, err := events.NewCodec(events.NewRegistry()).DecodeAll(recs)
	if err != nil {
		t.Fatal(err)
	}
	return envs
}

func mustOK(t *testing.T) func(ports.AppendResult, error) ports.AppendResult {
	return func(res ports.AppendResult, err error) ports.AppendResult {
		t.Helper()
		if err != nil {
			t.Fatalf("command failed: %v", err)
		}
		return res
	}
}

var (
	requestRunner = commands.RequestRunner{RunnerID: "r-01", Egg: "web", RunnerType: "APEX", Provider: "YANDEX", Region: "ru-central1-a", Reason: "pending job"}
	deployRunner  = commands.DeployRunner{RunnerID: "r-01", PlanID: "p-01", InstanceID: "fhm1"}
)

// countingStore counts loads and appends and can fail appends.
type countingStore struct {
	ports.EventStore
	loads   atomic.Int32
	appends atomic.Int32
	fail    func(stream string) error
}

func (s *countingStore) Load(ctx context.Context, stream string, after uint64) ([]events.Record, error) {
	s.loads.Add(1)
	return s.EventStore.Load(ctx, stream, after)
}

func (s *countingStore) Append(ctx context.Context, stream string, exp ports.ExpectedVersion, evs []events.Record, opts ...ports.AppendOption) (ports.AppendResult, error) {
	s.appends.Add(1)
	if s.fail != nil {
		if err := s.fail(stream); err != nil {
			return ports.AppendResult{}, err
		}
	}
	return s.EventStore.Append(ctx, stream, exp, evs, opts...)
}

// syncBuffer is a log sink safe for the router's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mustRunBus starts a bus over h and stops it when the test ends.
func mustRunBus(t *testing.T, h *commands.Handlers, logs *syncBuffer, opts ...watermill.BusOption) *watermill.Bus {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bus, err := watermill.NewBus(h.Routes(), logger, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx) }()
	t.Cleanup(func() {
		if err := bus.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-bus.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("bus did not start")
	}
	return bus
}

// waitForStream polls stream until it has n events or the wait runs out.
func waitForStream(t *testing.T, store ports.EventStore, stream string, n int) []events.Envelope {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		envs := mustLoad(t, store, stream)
		if len(envs) >= n {
			return envs
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s has %d events after 10s, want %d", stream, len(envs), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewBus_refuses_nil_dependencies(t *testing.T) {
	h := mustHandlers(t, mustStore(t))
	if _, err := watermill.NewBus(nil, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("accepted no routes")
	}
	if _, err := watermill.NewBus(h.Routes(), nil); err == nil {
		t.Fatal("accepted a nil logger")
	}
	if _, err := watermill.NewBus(h.Routes(), slog.New(slog.DiscardHandler), watermill.WithRetryPolicy(watermill.RetryPolicy{})); err == nil {
		t.Fatal("accepted a retry policy without bounds")
	}
}

func TestBus_end_to_end(t *testing.T) {
	store := mustStore(t)
	bus := mustRunBus(t, mustHandlers(t, store), &syncBuffer{})
	ctx := context.Background()
	cmd := requestRunner
	cmd.Meta = commands.Meta{Actor: "uglyfox", CorrelationID: "corr-7", CausationID: "ev-41"}
	if err := bus.Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	envs := waitForStream(t, store, "runner-r-01", 1)
	got := envs[0]
	if got.Type != events.RunnerRequestedV1 || got.Payload.(*events.RunnerRequested).Egg != "web" {
		t.Fatalf("appended %s %+v", got.Type, got.Payload)
	}
	if got.Actor != "uglyfox" || got.CorrelationID != "corr-7" || got.CausationID != "ev-41" {
		t.Fatalf("meta did not cross the bus: %+v", got.Metadata)
	}
	if got.IdempotencyKey == "" {
		t.Fatal("a bus command was appended without an idempotency key")
	}

	// A command without Meta is correlated with and caused by its message.
	if err := bus.Send(ctx, deployRunner); err != nil {
		t.Fatal(err)
	}
	envs = waitForStream(t, store, "runner-r-01", 2)
	if d := envs[1]; d.Type != events.RunnerDeployedV1 || d.CorrelationID == "" || d.CausationID != d.CorrelationID {
		t.Fatalf("deploy appended as %s with %+v", d.Type, d.Metadata)
	}
}

func TestBus_permanent_errors_are_poisoned_not_retried(t *testing.T) {
	store := &countingStore{EventStore: mustStore(t)}
	h := mustHandlers(t, store)
	logs := &syncBuffer{}
	poisoned := make(chan watermill.PoisonedCommand, 1)
	bus := mustRunBus(t, h, logs, watermill.WithPoisonHandler(func(p watermill.PoisonedCommand) { poisoned <- p }))
	mustOK(t)(h.RequestRunner(context.Background(), requestRunner))
	store.appends.Store(0)
	store.loads.Store(0)

	// PROVISIONING -> BUSY breaks a rule of state: ECONFLICT, never retried.
	cmd := commands.ChangeRunnerState{Meta: commands.Meta{CorrelationID: "corr-9"}, RunnerID: "r-01", To: "BUSY"}
	if err := bus.Send(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-poisoned:
		if p.Name != "runner.change_state" || p.Meta.CorrelationID != "corr-9" || !strings.Contains(p.Reason, "ECONFLICT") {
			t.Fatalf("poisoned %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the illegal command was not poisoned")
	}
	if !strings.Contains(logs.String(), "runner.change_state") {
		t.Fatalf("the poisoned command was not logged:\n%s", logs)
	}
	if loads := store.loads.Load(); loads != 1 {
		t.Fatalf("the command was tried %d times, want once", loads)
	}
	if n := len(mustLoad(t, store, "runner-r-01")); n != 1 || store.appends.Load() != 0 {
		t.Fatalf("stream has %d events after %d appends; want 1 and 0", n, store.appends.Load())
	}
}

func TestBus_transient_errors_are_retried(t *testing.T) {
	store := &countingStore{EventStore: mustStore(t)}
	var mu sync.Mutex
	failures := 2
	store.fail = func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return errs.Errorf(errs.EUNAVAILABLE, "store briefly unavailable")
		}
		return nil
	}
	bus := mustRunBus(t, mustHandlers(t, store), &syncBuffer{}, watermill.WithRetryPolicy(watermill.RetryPolicy{
		MaxRetries: 5, InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, Multiplier: 2, MaxElapsedTime: 5 * time.Second,
	}))
	if err := bus.Send(context.Background(), requestRunner); err != nil {
		t.Fatal(err)
	}
	waitForStream(t, store, "runner-r-01", 1)
	if n := store.appends.Load(); n != 3 {
		t.Fatalf("%d appends, want 2 failures and 1 success", n)
	}
}

func TestBus_Send_honours_context_before_running(t *testing.T) {
	bus, err := watermill.NewBus(mustHandlers(t, mustStore(t)).Routes(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := bus.Send(ctx, requestRunner); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send to a bus that is not running: %v", err)
	}
	if err := bus.Close(); err != nil {
		t.Fatalf("close of a bus that never ran: %v", err)
	}
	if err := bus.Run(context.Background()); err == nil {
		t.Fatal("a closed bus ran")
	}
}

func TestBus_a_panicking_handler_is_poisoned(t *testing.T) {
	poisoned := make(chan watermill.PoisonedCommand, 1)
	routes := []commands.Route{{
		Name:   "runner.request",
		New:    func() commands.Command { return new(commands.RequestRunner) },
		Handle: func(context.Context, commands.Command, commands.Meta) error { panic("boom") },
	}}
	bus, err := watermill.NewBus(routes, slog.New(slog.DiscardHandler), watermill.WithPoisonHandler(func(p watermill.PoisonedCommand) { poisoned <- p }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx) }()
	defer func() { _ = bus.Close(); <-done }()
	<-bus.Running()
	if err := bus.Send(ctx, requestRunner); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-poisoned:
		if p.Name != "runner.request" || !strings.Contains(p.Reason, "boom") {
			t.Fatalf("poisoned %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the panicking command was not poisoned")
	}
}

// TestBus_carries_the_fence: a fenced command crosses the bus with its lease
// and token, so the handler checks them: under the current token it
// appends, under a stale one it is refused (and poisoned, not retried).
func TestBus_carries_the_fence(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	leases := db.Leases()
	l, err := leases.Acquire(ctx, "uglyfox-sweep", "fox-a", time.Hour, clock())
	if err != nil {
		t.Fatal(err)
	}
	h, err := commands.NewHandlers(db.Events(), events.NewCodec(events.NewRegistry()), clock, newID, commands.WithLeases(leases))
	if err != nil {
		t.Fatal(err)
	}
	poisoned := make(chan watermill.PoisonedCommand, 1)
	bus := mustRunBus(t, h, &syncBuffer{}, watermill.WithPoisonHandler(func(p watermill.PoisonedCommand) { poisoned <- p }))
	cmd := requestRunner
	cmd.Meta = commands.Meta{Actor: "uglyfox", FenceLease: "uglyfox-sweep", FenceToken: l.Token}
	if err := bus.Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	waitForStream(t, db.Events(), "runner-r-01", 1)
	stale := deployRunner
	stale.Meta = commands.Meta{Actor: "uglyfox", FenceLease: "uglyfox-sweep", FenceToken: l.Token + 1}
	if err := bus.Send(ctx, stale); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-poisoned:
		if p.Meta.FenceLease != "uglyfox-sweep" || p.Meta.FenceToken != l.Token+1 || !strings.Contains(p.Reason, "fenced") {
			t.Fatalf("poisoned %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stale command was not refused")
	}
	if recs, _ := db.Events().Load(ctx, "runner-r-01", 0); len(recs) != 1 {
		t.Fatalf("%d events, want 1", len(recs))
	}
}
