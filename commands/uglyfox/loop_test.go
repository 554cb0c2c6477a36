package uglyfox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// t0 (decide_test.go) is also the loop tests' start.

const (
	interval = 10 * time.Second
	ttl      = 30 * time.Second
	step     = time.Second
)

// sweepRecord is one sweep as the fake saw it.
type sweepRecord struct {
	holder     string
	token      uint64
	start, end time.Time // on the test's clock
	valid      bool      // the token held the lease when the sweep began
	err        error
}

// sweepLog collects the sweeps of every process and notices overlaps in
// real time (an in-flight counter), not only on the fake clock.
type sweepLog struct {
	mu       sync.Mutex
	sweeps   []sweepRecord
	inFlight atomic.Int32
	overlaps atomic.Int32
	// busy counts sweeps running and not paused: the test moves the clock
	// only when none is, so that a sweep sees the time it started at.
	busy atomic.Int32
}

func (s *sweepLog) all() []sweepRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sweepRecord(nil), s.sweeps...)
}

func (s *sweepLog) count(holder string) int {
	n := 0
	for _, r := range s.all() {
		if r.holder == holder {
			n++
		}
	}
	return n
}

// fakeSweeper is one process's sweep: it checks its token against the
// lease, sends one command fenced by it (a secret access record, whose
// stream needs no history), and records what happened. pause, when set,
// blocks the first sweep until closed, ignoring ctx: a process paused
// (GC, SIGSTOP) in the middle of a sweep.
type fakeSweeper struct {
	holder   string
	leases   ports.Leases
	handlers *commands.Handlers
	clock    *fakeClock
	log      *sweepLog
	pause    chan struct{}
	paused   chan struct{} // closed when the pause began
	n        atomic.Int32
}

func (f *fakeSweeper) Interval() time.Duration { return interval }

func (f *fakeSweeper) Sweep(ctx context.Context, lease string, token uint64) (uglyfox.Summary, error) {
	if f.log.inFlight.Add(1) > 1 {
		f.log.overlaps.Add(1)
	}
	defer f.log.inFlight.Add(-1)
	f.log.busy.Add(1)
	defer f.log.busy.Add(-1)
	start := f.clock.Now()
	valid := f.leases.Check(ctx, lease, token, start) == nil
	if f.n.Add(1) == 1 && f.pause != nil {
		f.log.busy.Add(-1)
		close(f.paused)
		<-f.pause
		f.log.busy.Add(1)
	}
	time.Sleep(2 * time.Millisecond) // real time, so that a second sweeper would overlap
	_, err := f.handlers.RecordSecretAccess(context.WithoutCancel(ctx), commands.RecordSecretAccess{
		Meta:   commands.Meta{Actor: "uglyfox", FenceLease: lease, FenceToken: token},
		Access: events.SecretAccessed{URI: "env://SWEPT_BY_" + f.holder, Accessor: "uglyfox", Purpose: "sweep", Outcome: "resolved"},
	})
	f.log.mu.Lock()
	f.log.sweeps = append(f.log.sweeps, sweepRecord{holder: f.holder, token: token, start: start, end: f.clock.Now(), valid: valid, err: err})
	f.log.mu.Unlock()
	return uglyfox.Summary{}, err
}

// noRelease is a lease store that never sees a release, as when the
// holder is killed with SIGKILL.
type noRelease struct{ ports.Leases }

func (noRelease) Release(context.Context, string, string, uint64) error { return nil }

// unrecordedRelease is a recorder whose release is never recorded, as
// when the holder is killed with SIGKILL.
type unrecordedRelease struct{ uglyfox.LeaseRecorder }

func (unrecordedRelease) RecordLeaseReleased(context.Context, commands.RecordLeaseReleased) (ports.AppendResult, error) {
	return ports.AppendResult{}, nil
}

// flakyLeases fails every Acquire while down is set, as a store that is
// away.
type flakyLeases struct {
	ports.Leases
	down *atomic.Bool
}

func (f flakyLeases) Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (ports.Lease, error) {
	if f.down.Load() {
		return ports.Lease{}, errs.Errorf(errs.EUNAVAILABLE, "the store is away")
	}
	return f.Leases.Acquire(ctx, name, holder, ttl, now)
}

// process is one UglyFox process on its own handle of the shared file.
type process struct {
	sweeper *fakeSweeper
	cancel  context.CancelFunc
	done    chan error
}

type fixture struct {
	t     *testing.T
	path  string
	clock *fakeClock
	log   *sweepLog
	ids   atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, path: filepath.Join(t.TempDir(), "gosling.db"), clock: newFakeClock(t0), log: &sweepLog{}}
}

func (f *fixture) open() *sqlite.DB {
	f.t.Helper()
	db, err := sqlite.Open(context.Background(), f.path, sqlite.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { db.Close() })
	return db
}

func (f *fixture) handlers(db *sqlite.DB) *commands.Handlers {
	f.t.Helper()
	h, err := commands.NewHandlers(db.Events(), events.NewCodec(events.NewRegistry()), f.clock.Now,
		func() string { return fmt.Sprintf("id-%d", f.ids.Add(1)) }, commands.WithLeases(db.Leases()))
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// start runs a process called holder; killable makes its release vanish.
func (f *fixture) start(holder string, killable bool, pause chan struct{}) *process {
	return f.startWith(holder, killable, pause, nil)
}

// startWith is start with a switch that makes the process's renewals fail.
func (f *fixture) startWith(holder string, killable bool, pause chan struct{}, down *atomic.Bool) *process {
	db := f.open()
	h := f.handlers(db)
	var leases ports.Leases = db.Leases()
	if down != nil {
		leases = flakyLeases{leases, down}
	}
	var recorder uglyfox.LeaseRecorder = h
	if killable {
		leases, recorder = noRelease{leases}, unrecordedRelease{h}
	}
	sw := &fakeSweeper{holder: holder, leases: db.Leases(), handlers: h, clock: f.clock, log: f.log, pause: pause, paused: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{sweeper: sw, cancel: cancel, done: make(chan error, 1)}
	go func() {
		p.done <- uglyfox.Run(ctx, uglyfox.LoopConfig{Leases: leases, Holder: holder, TTL: ttl, Sweeper: sw, Recorder: recorder,
			Clock: f.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	f.t.Cleanup(func() { cancel(); <-p.done })
	return p
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatal(err)
		}
		p.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// advance moves the clock step by step (n steps), each time once the
// loops (timers of them) wait on it.
func (f *fixture) advance(timers, n int) {
	for range n {
		f.waitIdle(timers)
		f.clock.Advance(step)
	}
}

// waitIdle waits (bounded) until at least timers calls are pending on the
// clock and no sweep runs: the loops wait on the clock.
func (f *fixture) waitIdle(timers int) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !(f.clock.pending() >= timers && f.log.busy.Load() == 0) {
		if time.Now().After(deadline) {
			f.t.Fatalf("%d calls pending on the clock and %d sweeps running after 10s, want %d and none", f.clock.pending(), f.log.busy.Load(), timers)
		}
		time.Sleep(time.Millisecond)
	}
}

// until advances step by step until cond holds (at most max steps).
func (f *fixture) until(timers, max int, what string, cond func() bool) {
	f.t.Helper()
	for range max {
		if cond() {
			return
		}
		f.advance(timers, 1)
	}
	f.t.Fatalf("%s: not after %d steps of %s", what, max, step)
}

// leaseLog is the lease's recorded history as "event holder token" lines.
func (f *fixture) leaseLog(db *sqlite.DB) []string {
	f.t.Helper()
	recs, err := db.Events().Load(context.Background(), domain.LeaseStream(uglyfox.DefaultLease), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	codec := events.NewCodec(events.NewRegistry())
	var out []string
	for _, r := range recs {
		env, err := codec.Decode(r)
		if err != nil {
			f.t.Fatal(err)
		}
		switch e := env.Payload.(type) {
		case *events.UglyFoxLeaseAcquired:
			out = append(out, fmt.Sprintf("acquired %s %d", e.Holder, e.Token))
		case *events.UglyFoxLeaseReleased:
			out = append(out, fmt.Sprintf("released %s %d", e.Holder, e.Token))
		case *events.UglyFoxLeaseLost:
			out = append(out, fmt.Sprintf("lost %s %d", e.Holder, e.Token))
		}
	}
	return out
}

// TestRun_two_processes_sweep_one_at_a_time_and_fail_over: two loops on
// one SQLite file. Only one sweeps, every sweep runs under the lease's
// current token, no two sweeps overlap; when the holder is killed without
// releasing (kill -9), the other takes over within the lease time; the log
// shows one holder at a time.
func TestRun_two_processes_sweep_one_at_a_time_and_fail_over(t *testing.T) {
	f := newFixture(t)
	a := f.start("fox-a", true, nil)
	f.until(1, 5, "fox-a sweeps", func() bool { return f.log.count("fox-a") > 0 })
	b := f.start("fox-b", false, nil)
	f.advance(2, 70) // 70 s: fox-a sweeps about every 10 s, fox-b never
	if n := f.log.count("fox-a"); n < 6 {
		t.Fatalf("fox-a swept %d times in 70 s, want at least 6", n)
	}
	if n := f.log.count("fox-b"); n != 0 {
		t.Fatalf("fox-b swept %d times while fox-a held the lease", n)
	}

	// kill -9 fox-a: its loop ends, and the release never reaches the store.
	f.waitIdle(2)
	a.stop(t)
	killed := f.clock.Now()
	f.until(1, 60, "fox-b takes over", func() bool { return f.log.count("fox-b") > 0 })
	var first sweepRecord
	for _, r := range f.log.all() {
		if r.holder == "fox-b" {
			first = r
			break
		}
	}
	if took := first.start.Sub(killed); took > ttl+step {
		t.Fatalf("fox-b's first sweep came %s after the kill, want within the lease time %s", took, ttl)
	}
	f.advance(1, 30)
	b.stop(t)

	if n := f.log.overlaps.Load(); n != 0 {
		t.Fatalf("%d sweeps overlapped another", n)
	}
	var last sweepRecord
	for i, r := range f.log.all() {
		if !r.valid || r.err != nil {
			t.Fatalf("sweep %d (%s, token %d) ran outside its lease: valid=%v err=%v", i, r.holder, r.token, r.valid, r.err)
		}
		if r.start.Before(last.end) || r.token < last.token {
			t.Fatalf("sweep %d (%s, token %d at %s) before the end of the previous (%s, token %d at %s)", i, r.holder, r.token, r.start, last.holder, last.token, last.end)
		}
		last = r
	}
	want := []string{"acquired fox-a 1", "lost fox-a 1", "acquired fox-b 2", "released fox-b 2"}
	if got := f.leaseLog(f.open()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lease log %q, want %q", got, want)
	}
}

// TestRun_a_paused_holder_is_fenced: fox-a pauses in the middle of a sweep
// past its lease; fox-b takes over. When fox-a resumes, its command is
// refused (fenced) and appends nothing, and fox-a sweeps no more while
// fox-b holds the lease.
func TestRun_a_paused_holder_is_fenced(t *testing.T) {
	f := newFixture(t)
	pause := make(chan struct{})
	a := f.start("fox-a", false, pause)
	<-a.sweeper.paused
	b := f.start("fox-b", false, nil)
	// fox-a waits on nothing but its sweep's expiry (which it ignores,
	// and which is gone once due).
	f.until(1, 60, "fox-b takes over", func() bool { return f.log.count("fox-b") > 0 })
	close(pause)
	deadline := time.Now().Add(10 * time.Second)
	for f.log.count("fox-a") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("fox-a's paused sweep did not end")
		}
		time.Sleep(time.Millisecond)
	}
	f.advance(2, 40)
	b.stop(t)
	a.stop(t)

	var aSweeps []sweepRecord
	for _, r := range f.log.all() {
		if r.holder == "fox-a" {
			aSweeps = append(aSweeps, r)
		}
	}
	if len(aSweeps) != 1 {
		t.Fatalf("fox-a swept %d times, want only the paused sweep", len(aSweeps))
	}
	if errs.Code(aSweeps[0].err) != errs.ECONFLICT {
		t.Fatalf("fox-a's command after the takeover: %v, want fenced", aSweeps[0].err)
	}
	db := f.open()
	if recs, err := db.Events().Load(context.Background(), domain.SecretAccessStream("env://SWEPT_BY_fox-a"), 0); err != nil || len(recs) != 0 {
		t.Fatalf("fox-a's fenced command appended %d events (%v)", len(recs), err)
	}
	if recs, _ := db.Events().Load(context.Background(), domain.SecretAccessStream("env://SWEPT_BY_fox-b"), 0); len(recs) < 2 {
		t.Fatalf("fox-b's commands appended %d events, want one per sweep", len(recs))
	}
	want := []string{"acquired fox-a 1", "lost fox-a 1", "acquired fox-b 2", "released fox-b 2"}
	if got := f.leaseLog(db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lease log %q, want %q", got, want)
	}
}

// TestRun_a_failed_renewal_stops_sweeping_at_once: while fox-a cannot renew
// (its store is away) it sweeps no more, and says so in the log; when the
// store is back and the lease is still its own (no one took it), it
// resumes under the same token, recorded as acquired again.
func TestRun_a_failed_renewal_stops_sweeping_at_once(t *testing.T) {
	f := newFixture(t)
	var down atomic.Bool
	a := f.startWith("fox-a", false, nil, &down)
	f.until(1, 5, "fox-a sweeps", func() bool { return f.log.count("fox-a") > 0 })
	f.advance(1, 10) // to the next sweep
	down.Store(true)
	before := f.log.count("fox-a")
	// 15 s: a renewal (every 10 s) fails, and the lease (30 s) is still
	// fox-a's in the store when it is back.
	f.advance(1, 15)
	if n := f.log.count("fox-a"); n != before {
		t.Fatalf("fox-a swept %d times without renewing its lease", n-before)
	}
	down.Store(false)
	f.until(1, 20, "fox-a resumes", func() bool { return f.log.count("fox-a") > before })
	a.stop(t)
	want := []string{"acquired fox-a 1", "lost fox-a 1", "acquired fox-a 1", "released fox-a 1"}
	if got := f.leaseLog(f.open()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lease log %q, want %q", got, want)
	}
	for _, r := range f.log.all() {
		if !r.valid || r.err != nil {
			t.Fatalf("a sweep ran outside its lease: %+v", r)
		}
	}
}
