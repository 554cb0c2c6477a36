package uglyfox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// sweepFixture is one SQLite store with the handlers (fenced by its
// leases), the projections and a clock the test moves.
type sweepFixture struct {
	t      *testing.T
	db     *sqlite.DB
	h      *commands.Handlers
	loop   *projections.Loop
	codec  *events.Codec
	clock  atomic.Pointer[time.Time]
	sw     *uglyfox.Sweeper
	n      atomic.Int64
	leases ports.Leases
}

func newSweepFixture(t *testing.T) *sweepFixture {
	t.Helper()
	ctx := context.Background()
	f := &sweepFixture{t: t, codec: events.NewCodec(events.NewRegistry())}
	f.set(t0)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db, f.leases = db, db.Leases()
	newID := func() string { return fmt.Sprintf("0193a1b2-0000-7000-8000-%012d", f.n.Add(1)) }
	if f.h, err = commands.NewHandlers(db.Events(), f.codec, f.now, newID, commands.WithLeases(f.leases)); err != nil {
		t.Fatal(err)
	}
	if f.loop, err = projections.NewLoop(projections.Config{Store: db.Events(), Views: db.Views(), Codec: f.codec, Projectors: projections.All()}); err != nil {
		t.Fatal(err)
	}
	f.sw, err = uglyfox.NewSweeper(uglyfox.SweeperConfig{
		Store: db.Events(), Codec: f.codec, Views: db.Views(), LastSeen: db.LastSeen(),
		Compiler: fly.NewConditionCompiler(), Sender: directSender(f.h), Leases: f.leases, Clock: f.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *sweepFixture) now() time.Time   { return *f.clock.Load() }
func (f *sweepFixture) set(at time.Time) { f.clock.Store(&at) }

func (f *sweepFixture) must(_ ports.AppendResult, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// runner requests and deploys an Apex runner of egg web at the clock's
// time, moves it to state and records a heartbeat at heard (none if zero).
func (f *sweepFixture) runner(id, state string, heard time.Time) {
	f.t.Helper()
	ctx := context.Background()
	f.must(f.h.RequestRunner(ctx, commands.RequestRunner{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", Reason: "min pool"}))
	f.must(f.h.DeployRunner(ctx, commands.DeployRunner{RunnerID: id, PlanID: "p-" + id, InstanceID: "fhm-" + id}))
	if state != "ACTIVE" {
		f.must(f.h.ChangeRunnerState(ctx, commands.ChangeRunnerState{RunnerID: id, To: state, Reason: "agent"}))
	}
	if !heard.IsZero() {
		if err := f.db.LastSeen().Touch(ctx, ports.Heartbeat{RunnerID: id, At: heard, State: state}); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *sweepFixture) catchUp() {
	f.t.Helper()
	if err := f.loop.CatchUp(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// log returns the type and summary of every event after position after.
func (f *sweepFixture) log(after uint64) []string {
	f.t.Helper()
	recs, err := f.db.Events().ReadAll(context.Background(), after, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		env, err := f.codec.Decode(r)
		if err != nil {
			f.t.Fatal(err)
		}
		if env.Actor != uglyfox.Actor {
			f.t.Errorf("event %s by %q, not uglyfox", env.Type, env.Actor)
		}
		out = append(out, projections.Summary(env))
	}
	return out
}

func (f *sweepFixture) position() uint64 {
	f.t.Helper()
	recs, err := f.db.Events().ReadAll(context.Background(), 0, 100000)
	if err != nil {
		f.t.Fatal(err)
	}
	return recs[len(recs)-1].GlobalPosition
}

// The configuration as nest sync records it: a rule reading a local of its file.
var ufConfig = events.UglyFoxConfigSynced{ConfigHash: "sha256:uf1", Commit: "c1", Path: "UF/config.fly", Policies: []string{"old-idle", "old"},
	Settings: &events.UglyFoxSettingsSpec{FailedThreshold: 5, MaxAgeSeconds: 72 * 3600, CheckIntervalSeconds: 60, HeartbeatTimeoutSeconds: 180,
		Rules: []events.UglyFoxRuleSpec{{Name: "old-idle", When: `runner.state == "idle" && runner.age > duration(local.old)`, Action: "terminate",
			Locals: `{"old":"5h"}`},
			{Name: "old", When: `runner.age > duration("5h")`, Action: "terminate"}}}}

// One sweep over a real store appends the decisions' events with their
// causes; a second sweep (before and after the views caught up) appends
// none; a sweep with a token that lost the lease appends nothing and stops.
func TestSweeper_sweeps_once_and_is_fenced(t *testing.T) {
	ctx := context.Background()
	f := newSweepFixture(t)
	if got := f.sw.Interval(); got != uglyfox.UnconfiguredInterval {
		t.Fatalf("interval before any config: %s", got)
	}
	// No configuration: the sweep does nothing.
	if sum, err := f.sw.Sweep(ctx, "", 0); err != nil || sum.ConfigHash != "" || len(sum.Decisions) != 0 {
		t.Fatalf("sweep without config: %+v, %v", sum, err)
	}
	f.must(f.h.SyncUglyFoxConfig(ctx, commands.SyncUglyFoxConfig{Config: ufConfig}))
	f.runner("r-old", "IDLE", t0.Add(6*time.Hour-30*time.Second))
	f.runner("r-busy", "BUSY", t0.Add(6*time.Hour-30*time.Second))
	f.set(t0.Add(5*time.Hour + 50*time.Minute))
	f.runner("r-silent", "IDLE", t0.Add(5*time.Hour+50*time.Minute))
	f.runner("r-ok", "IDLE", t0.Add(6*time.Hour-30*time.Second))
	f.set(t0.Add(6 * time.Hour))
	f.catchUp()
	before := f.position()

	lease, err := f.leases.Acquire(ctx, "uglyfox-sweep", "fox-a", time.Minute, f.now())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := f.sw.Sweep(ctx, "uglyfox-sweep", lease.Token)
	if err != nil {
		t.Fatal(err)
	}
	if f.sw.Interval() != time.Minute || sum.ConfigHash != "sha256:uf1" || sum.Runners != 4 || sum.Sent != 3 || sum.Skipped != 0 {
		t.Fatalf("summary %+v, interval %s", sum, f.sw.Interval())
	}
	got := f.log(before)
	want := []string{
		`UglyFox deferred terminate of runner r-busy until it is idle: rule "old": when runner.age > duration("5h")`,
		`termination of runner r-old asked: uglyfox: rule "old-idle": when runner.state == "idle" && runner.age > duration(local.old)`,
		`runner r-silent missed heartbeat 1 in a row (threshold 3m0s)`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events after the first sweep:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Again, before the views caught up (the same decisions on the same
	// rows: their idempotency keys), then after.
	mid := f.position()
	if _, err := f.sw.Sweep(ctx, "uglyfox-sweep", lease.Token); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	if sum, err := f.sw.Sweep(ctx, "uglyfox-sweep", lease.Token); err != nil || len(sum.Decisions) != 0 {
		t.Fatalf("sweep after catching up: %q, %v", show(sum.Decisions), err)
	}
	if got := f.log(mid); len(got) != 0 {
		t.Fatalf("the second and third sweeps appended:\n%s", strings.Join(got, "\n"))
	}

	// fox-a pauses past its lease; fox-b takes over. r-ok falls silent.
	f.set(t0.Add(6*time.Hour + 5*time.Minute))
	if _, err := f.leases.Acquire(ctx, "uglyfox-sweep", "fox-b", time.Minute, f.now()); err != nil {
		t.Fatal(err)
	}
	end := f.position()
	sum, err = f.sw.Sweep(ctx, "uglyfox-sweep", lease.Token)
	if errs.Code(err) != errs.ECONFLICT || sum.Sent != 0 || len(sum.Decisions) == 0 {
		t.Fatalf("sweep with a lost lease: %+v, %v", sum, err)
	}
	if got := f.log(end); len(got) != 0 {
		t.Fatalf("the stale holder appended:\n%s", strings.Join(got, "\n"))
	}
}

// directSender runs each command at once through h's routes (no bus), so
// that the test sees each outcome: a fenced command refused because the
// lease was lost comes back as ECONFLICT.
func directSender(h *commands.Handlers) commands.Sender {
	routes := map[string]commands.Route{}
	for _, r := range h.Routes() {
		routes[r.Name] = r
	}
	return senderFunc(func(ctx context.Context, cmd commands.Command) error {
		r, ok := routes[cmd.CommandName()]
		if !ok {
			return fmt.Errorf("no route for %s", cmd.CommandName())
		}
		c := r.New()
		reflect.ValueOf(c).Elem().Set(reflect.ValueOf(cmd))
		return r.Handle(ctx, c, cmd.CommandMeta())
	})
}

type senderFunc func(context.Context, commands.Command) error

func (f senderFunc) Send(ctx context.Context, cmd commands.Command) error { return f(ctx, cmd) }
