package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// scenario appends a fixed history touching every view, interleaving streams.
func (f *fixture) scenario() {
	f.t.Helper()
	for _, e := range everyEvent() {
		f.append(e.stream, e.ev)
	}
	f.append("runner-r2", requested(), deployed(), events.RunnerStateChanged{RunnerID: "r2", From: "ACTIVE", To: "IDLE"})
	resync := eggSynced()
	resync.ConfigHash = "sha256:99"
	f.append("egg-web", resync)
	f.append("nest", events.NestSynced{Commit: "e0f1234", Trigger: "manual"})
}

func TestNewRunner_refuses_missing_dependencies(t *testing.T) {
	f := newFixture(t)
	codec := events.NewCodec(events.NewRegistry())
	tests := []struct {
		name string
		cfg  projections.Config
	}{
		{"no_store", projections.Config{Views: f.views, Codec: codec, Projectors: projections.All()}},
		{"no_views", projections.Config{Store: f.store, Codec: codec, Projectors: projections.All()}},
		{"no_codec", projections.Config{Store: f.store, Views: f.views, Projectors: projections.All()}},
		{"no_projectors", projections.Config{Store: f.store, Views: f.views, Codec: codec}},
		{"nil_projector", projections.Config{Store: f.store, Views: f.views, Codec: codec, Projectors: []projections.Projector{nil}}},
		{"duplicate_projector", projections.Config{Store: f.store, Views: f.views, Codec: codec, Projectors: []projections.Projector{projections.Runners{}, projections.Runners{}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := projections.NewLoop(tc.cfg); errs.Code(err) != errs.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestCatchUp_is_idempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.scenario()
	f.mustCatchUp()
	want := mustSnapshot(t, f.views)
	if len(want.Runners) != 2 || len(want.AuditLogs) == 0 {
		t.Fatalf("scenario built too little: %+v", want)
	}

	f.mustCatchUp()
	mustSameSnapshot(t, mustSnapshot(t, f.views), want)

	for _, name := range ports.AllViews {
		mustSetCheckpoint(t, f.views, name, 0)
		f.mustCatchUp()
		mustSameSnapshot(t, mustSnapshot(t, f.views), want)
	}
	// Every checkpoint back to the middle of the log at once.
	for _, name := range ports.AllViews {
		mustSetCheckpoint(t, f.views, name, 5)
	}
	f.mustCatchUp()
	mustSameSnapshot(t, mustSnapshot(t, f.views), want)

	lag, err := f.runner.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range lag {
		if l != 0 {
			t.Fatalf("%s lags %d after catching up", name, l)
		}
	}
}

func TestLag_counts_positions_behind_the_head(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	head, err := f.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lag, err := f.runner.Lag(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(lag) != len(ports.AllViews) || lag[ports.ViewRunners] != head {
		t.Fatalf("lag %v before catching up, want %d each", lag, head)
	}
	f.mustCatchUp()
	mustSetCheckpoint(t, f.views, ports.ViewAuditLogs, head-3)
	if lag, _ = f.runner.Lag(context.Background()); lag[ports.ViewAuditLogs] != 3 || lag[ports.ViewRunners] != 0 {
		t.Fatalf("lag %v, want 3 for audit_logs only", lag)
	}
}

func TestCatchUp_stops_at_a_gap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pos := f.append("runner-r1", requested(), deployed(), events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "BUSY"})
	// The view has version 1 of the runner but its checkpoint says version 2
	// was seen: version 3 arrives with version 2 missing.
	err := f.views.Batch(ctx, func(tx ports.ViewTx) error {
		if _, err := ports.Runners.In(tx).Put(ctx, provisioning()); err != nil {
			return err
		}
		return tx.SaveCheckpoint(ctx, ports.ViewRunners, pos[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.runner.CatchUp(ctx)
	var gap *projections.GapError
	if !errors.Is(err, projections.ErrGap) || !errors.As(err, &gap) || errs.Code(err) != errs.EINTERNAL {
		t.Fatalf("got %v (code %s), want an EINTERNAL gap error", err, errs.Code(err))
	}
	if gap.Stream != "runner-r1" || gap.Applied != 1 || gap.Got != 3 {
		t.Fatalf("gap %+v", gap)
	}
	if cp := mustCheckpoint(t, f.views, ports.ViewRunners); cp != pos[1] {
		t.Fatalf("runners checkpoint moved to %d past the gap", cp)
	}
	rows := mustSnapshot(t, f.views)
	if len(rows.Runners) != 1 || rows.Runners[0].Version != 1 {
		t.Fatalf("runner row changed at a gap: %+v", rows.Runners)
	}
	// The page was rolled back for every projector, not only the failing one.
	if len(rows.AuditLogs) != 0 || mustCheckpoint(t, f.views, ports.ViewAuditLogs) != 0 {
		t.Fatalf("audit rows of a failed page were kept: %+v", rows.AuditLogs)
	}
}

func TestCatchUp_a_missing_row_ahead_of_version_one_is_a_gap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pos := f.append("plan-p1", planCreated(), events.PlanApplied{PlanID: "p1", RunnerID: "r1"})
	mustSetCheckpoint(t, f.views, ports.ViewDeploymentPlans, pos[0])
	if err := f.runner.CatchUp(ctx); !errors.Is(err, projections.ErrGap) {
		t.Fatalf("got %v, want a gap", err)
	}
}

func TestCatchUp_stops_at_an_undecodable_event(t *testing.T) {
	tests := []struct {
		name    string
		rec     func(*fixture) events.Record
		wantErr any
	}{
		{"unknown_type", func(f *fixture) events.Record {
			r := f.record(events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "BUSY"})
			r.Type = "runner.exploded.v1"
			return r
		}, new(*events.UnknownTypeError)},
		{"corrupt_payload", func(f *fixture) events.Record {
			r := f.record(events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "BUSY"})
			r.Payload = json.RawMessage(`{"runner_id": 17}`)
			return r
		}, new(*events.CorruptPayloadError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			before := f.append("runner-r1", requested(), deployed())
			f.appendRecords("runner-r1", tc.rec(f))
			after := f.append("egg-web", eggSynced())

			err := f.runner.CatchUp(ctx)
			if !errors.As(err, tc.wantErr) || errs.Code(err) != errs.EINVALID {
				t.Fatalf("catch up: %v, want %T", err, tc.wantErr)
			}
			// Everything before the bad event is applied; nothing after it.
			for _, name := range ports.AllViews {
				if cp := mustCheckpoint(t, f.views, name); cp != before[1] {
					t.Fatalf("%s checkpoint %d, want %d (just before the bad event)", name, cp, before[1])
				}
			}
			s := mustSnapshot(t, f.views)
			if len(s.Runners) != 1 || s.Runners[0].State != "ACTIVE" || len(s.EggConfigs) != 0 || len(s.AuditLogs) != 2 {
				t.Fatalf("views after a stop: %+v", s)
			}
			// Again: it stops at the same place, never skipping.
			if err := f.runner.CatchUp(ctx); !errors.As(err, tc.wantErr) {
				t.Fatalf("second catch up: %v", err)
			}
			// Run gives up with the same error instead of retrying forever.
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := f.runner.Run(rctx); !errors.As(err, tc.wantErr) {
				t.Fatalf("run: %v, want %T", err, tc.wantErr)
			}
			if lag, _ := f.runner.Lag(ctx); lag[ports.ViewEggConfigs] != after[0]-before[1] {
				t.Fatalf("lag %v", lag)
			}
		})
	}
}

func TestReplay_equals_live(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// Live: catch up between appends, as a running process would.
	for _, e := range everyEvent() {
		f.append(e.stream, e.ev)
		f.mustCatchUp()
	}
	live := mustSnapshot(t, f.views)

	for _, view := range ports.AllViews {
		if err := projections.Replay(ctx, f.runner, view); err != nil {
			t.Fatalf("replay %s: %v", view, err)
		}
		mustSameSnapshot(t, mustSnapshot(t, f.views), live)
	}

	// A fresh database's views built from the first one's log.
	other := mustOpen(t, filepath.Join(t.TempDir(), "rebuilt.db"))
	rebuilt := mustRunner(t, f.store, other.Views(), f.codec)
	if err := rebuilt.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	mustSameSnapshot(t, mustSnapshot(t, other.Views()), live)

	if err := projections.Replay(ctx, f.runner, "no_such_view"); errs.Code(err) != errs.EINVALID {
		t.Fatalf("replay of an unknown view: %v", err)
	}
}

func TestRun_picks_up_an_append_when_woken(t *testing.T) {
	f := newFixture(t)
	r, err := projections.NewLoop(projections.Config{
		Store: f.store, Views: f.views, Codec: f.codec, Projectors: projections.All(),
		Wake:         f.db.Changed,
		PollInterval: time.Hour, // only the wake-up can make it see the append in time
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// The first append may land before or during Run's first catch-up; the
	// second certainly lands while it waits.
	f.append("runner-r1", requested())
	waitFor(t, func() bool {
		_, ok, _ := ports.Runners.In(f.views.Read()).Get(context.Background(), "r1")
		return ok
	})
	f.append("runner-r2", requested())
	waitFor(t, func() bool {
		_, ok, _ := ports.Runners.In(f.views.Read()).Get(context.Background(), "r2")
		return ok
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

// waitFor polls cond for up to 10 seconds: a bound on a wait, not a timing assertion.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRun_retries_after_a_failure(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pos := f.append("runner-r1", requested(), deployed())
	// A gap: the checkpoint says version 1 was applied but the row is missing.
	mustSetCheckpoint(t, f.views, ports.ViewRunners, pos[0])
	r, err := projections.NewLoop(projections.Config{Store: f.store, Views: f.views, Codec: f.codec, Projectors: projections.All(), PollInterval: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	time.Sleep(20 * time.Millisecond) // let it fail a few times
	// Repair: rebuild the runners view; the running loop then succeeds.
	if err := projections.Replay(ctx, f.runner, ports.ViewRunners); err != nil {
		t.Fatal(err)
	}
	f.append("runner-r1", events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "IDLE"})
	waitFor(t, func() bool {
		row, ok, _ := ports.Runners.In(f.views.Read()).Get(ctx, "r1")
		return ok && row.State == "IDLE"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// Every registered view has its projector in All, named after it, and
// every projector of All writes a registered view.
func TestAll_projects_every_registered_view(t *testing.T) {
	names := map[string]bool{}
	for _, p := range projections.All() {
		if _, ok := ports.DefaultViews().Get(p.Name()); !ok {
			t.Errorf("projector %s writes no registered view", p.Name())
		}
		names[p.Name()] = true
	}
	for _, v := range ports.AllViews {
		if !names[v] {
			t.Errorf("view %s has no projector in projections.All", v)
		}
	}
}
