package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
	"github.com/polar-gosling/polar-gosling/projections"
)

// previousViewsDDL are the view tables of a file made before view shapes
// were recorded, written out by hand: sync_history without repeats,
// last_attempt_at and full_resync_reason (before 77f085a), runners with a
// column the row no longer has, and no indexes. The log's tables (events,
// idempotency, checkpoints, store_meta) are the ones schema step 1 makes,
// which the previous code made with the same statements.
var previousViewsDDL = []string{
	`CREATE TABLE runners (id TEXT NOT NULL PRIMARY KEY, egg TEXT NOT NULL DEFAULT '', type TEXT NOT NULL DEFAULT '',
		state TEXT NOT NULL DEFAULT '', provider TEXT NOT NULL DEFAULT '', region TEXT NOT NULL DEFAULT '', tags TEXT,
		job_id INTEGER NOT NULL DEFAULT 0, plan_id TEXT NOT NULL DEFAULT '', instance_id TEXT NOT NULL DEFAULT '',
		address TEXT NOT NULL DEFAULT '', hostname TEXT NOT NULL DEFAULT '', gosling_version TEXT NOT NULL DEFAULT '',
		missed_heartbeats INTEGER NOT NULL DEFAULT 0, last_seen_at TEXT NOT NULL DEFAULT '', state_reason TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT '', terminated_at TEXT NOT NULL DEFAULT '',
		legacy_zone TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE egg_configs (name TEXT NOT NULL PRIMARY KEY, kind TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE sync_history (key TEXT NOT NULL PRIMARY KEY, event_id TEXT NOT NULL DEFAULT '', position INTEGER NOT NULL DEFAULT 0,
		status TEXT NOT NULL DEFAULT '', commit_sha TEXT NOT NULL DEFAULT '', previous_commit TEXT NOT NULL DEFAULT '',
		branch TEXT NOT NULL DEFAULT '', "trigger" TEXT NOT NULL DEFAULT '', changes TEXT, eggs_added INTEGER NOT NULL DEFAULT 0,
		eggs_updated INTEGER NOT NULL DEFAULT 0, eggs_removed INTEGER NOT NULL DEFAULT 0, jobs_synced INTEGER NOT NULL DEFAULT 0,
		uglyfox_synced INTEGER NOT NULL DEFAULT 0, diagnostics TEXT, error TEXT NOT NULL DEFAULT '',
		started_at TEXT NOT NULL DEFAULT '', duration_ms INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE deployment_plans (plan_id TEXT NOT NULL PRIMARY KEY, status TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE audit_logs (key TEXT NOT NULL PRIMARY KEY, summary TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0)`,
	// Rows the log does not produce, under checkpoints at the head: kept,
	// they would stay in the views for good.
	`INSERT INTO runners (id, state, legacy_zone, version) VALUES ('ghost', 'ACTIVE', 'a', 3)`,
	`INSERT INTO sync_history (key, status, version) VALUES ('00000000000000000001', 'FAILED', 1)`,
	`INSERT INTO audit_logs (key, summary, version) VALUES ('00000000000000000001', 'old summary', 1)`,
}

// mustPreviousFile makes a file as the release before view shapes left it:
// the log written by the appender, then the new bookkeeping tables dropped
// and the views replaced by previousViewsDDL, with every projector's
// checkpoint at the head.
func mustPreviousFile(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gosling.db")
	db := mustOpenWith(t, path, sqlite.Options{Logger: discard()})
	codec := events.NewCodec(events.NewRegistry())
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	seq := 0
	appendAll := func(stream string, evs ...events.Event) {
		recs := make([]events.Record, len(evs))
		for i, ev := range evs {
			seq++
			rec, err := codec.Encode(events.Envelope{Metadata: events.Metadata{ID: fmt.Sprintf("evt-%03d", seq), OccurredAt: at.Add(time.Duration(seq) * time.Second), Actor: "test"}, Payload: ev})
			if err != nil {
				t.Fatal(err)
			}
			recs[i] = rec
		}
		if _, err := db.Events().Append(ctx, stream, ports.NoStream(), recs); err != nil {
			t.Fatal(err)
		}
	}
	appendAll("nest-main", events.NestSyncFailed{Commit: "c1", Trigger: "schedule", Error: "fetch failed"},
		events.NestSyncFailureRepeated{FailureEventID: "evt-001", FailurePosition: 1, Count: 3, LastAt: at.Add(time.Hour)})
	appendAll("runner-r1", events.RunnerRequested{RunnerID: "r1", Egg: "web", RunnerType: "APEX", Provider: "YANDEX", Region: "ru-central1-a", Tags: []string{"docker"}},
		events.RunnerDeployed{RunnerID: "r1", Egg: "web", PlanID: "p1", InstanceID: "fhm1"})
	appendAll("egg-web", events.EggSynced{Name: "web", Kind: "egg", RunnerType: "APEX", Provider: "YANDEX", Region: "ru-central1-a", Commit: "c2", Path: "Eggs/web/config.fly"})
	appendAll("plan-p1", events.PlanCreated{PlanID: "p1", RunnerID: "r1", Egg: "web", Action: "create", Module: "local"})
	head, err := db.Events().Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw := mustRaw(t, path)
	stmts := []string{`DROP TABLE schema_migrations`, `DROP TABLE view_shapes`, `DELETE FROM checkpoints`,
		`INSERT INTO store_meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value`}
	for _, v := range ports.AllViews {
		stmts = append(stmts, `DROP TABLE `+v, fmt.Sprintf(`INSERT INTO checkpoints (projector, position) VALUES ('%s', %d)`, v, head))
	}
	for _, stmt := range append(stmts, previousViewsDDL...) {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
	return path
}

func mustRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// viewsSnapshot is every row of every default view.
func viewsSnapshot(t *testing.T, views ports.ViewStore) map[string][]ports.ViewRow {
	t.Helper()
	out := map[string][]ports.ViewRow{}
	for _, v := range ports.DefaultViews().All() {
		rows, err := views.Read().Table(v).List(context.Background(), ports.Query{})
		if err != nil {
			t.Fatal(err)
		}
		out[v.Name()] = rows
	}
	return out
}

// The startup path of serve (open the store, run the projector loop) on a
// file of the previous release: its schema steps run, every view is
// emptied and rebuilt from the log (its shape was not recorded), the
// rebuild is logged per view with both shapes, the rows the log does not
// produce are gone, and each view equals its replay.
func TestOpen_file_of_the_previous_release_is_migrated_and_its_views_rebuilt(t *testing.T) {
	ctx := context.Background()
	path := mustPreviousFile(t)
	var logs bytes.Buffer
	db := mustOpenWith(t, path, sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, v := range ports.DefaultViews().All() {
		if v.Name() == ports.ViewEggWebhooks || v.Name() == ports.ViewBinaryVersions {
			continue // newer than that release: its table is created, not rebuilt
		}
		line := fmt.Sprintf(`view=%s old_shape="none recorded" new_shape=%s+sqlite.1`, v.Name(), v.Shape())
		if !strings.Contains(logs.String(), line) {
			t.Errorf("no log line with %s in:\n%s", line, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `steps="1 (log tables`) {
		t.Errorf("schema steps not logged:\n%s", logs.String())
	}
	loop, err := projections.NewLoop(projections.Config{Store: db.Events(), Views: db.Views(), Codec: events.NewCodec(events.NewRegistry()), Projectors: projections.All()})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.CatchUp(ctx); err != nil {
		t.Fatalf("projector loop on the migrated file: %v", err)
	}
	live := viewsSnapshot(t, db.Views())
	if _, ghost, _ := ports.Runners.In(db.Views().Read()).Get(ctx, "ghost"); ghost {
		t.Fatal("a row the log does not produce survived the rebuild")
	}
	failure, ok, err := ports.SyncHistory.In(db.Views().Read()).Get(ctx, ports.PositionKey(1))
	if err != nil || !ok || failure.Repeats != 3 || failure.Error != "fetch failed" {
		t.Fatalf("sync_history row 1 after the rebuild: %+v, %v, %v", failure, ok, err)
	}
	if r, ok, err := ports.Runners.In(db.Views().Read()).Get(ctx, "r1"); err != nil || !ok || r.State != "ACTIVE" {
		t.Fatalf("runner r1 after the rebuild: %+v, %v, %v", r, ok, err)
	}
	for _, v := range ports.AllViews {
		if err := projections.Replay(ctx, loop, v); err != nil {
			t.Fatal(err)
		}
	}
	if replayed := viewsSnapshot(t, db.Views()); !reflect.DeepEqual(replayed, live) {
		t.Fatalf("views differ from their replay:\n got %+v\nwant %+v", live, replayed)
	}
	// Opening it again changes nothing and logs nothing.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	again := mustOpenWith(t, path, sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if logs.Len() != 0 {
		t.Fatalf("second open logged:\n%s", logs.String())
	}
	if got := viewsSnapshot(t, again.Views()); !reflect.DeepEqual(got, live) {
		t.Fatal("views changed at the second open")
	}
}

// Only a view whose shape changed is rebuilt: the others keep their rows and checkpoints.
func TestOpen_rebuilds_only_the_view_whose_shape_changed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gosling.db")
	db := mustOpenWith(t, path, sqlite.Options{Views: porttest.ContractViews(), Logger: discard()})
	err := db.Views().Batch(ctx, func(tx ports.ViewTx) error {
		for _, v := range porttest.ContractViews().All() {
			if _, err := tx.Table(v).Put(ctx, porttest.GenerateRow(v, "k1", 1, true)); err != nil {
				return err
			}
			if err := tx.SaveCheckpoint(ctx, v.Name(), 10); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The next release registers the probes with another row: same view name, other columns.
	changed := ports.NewView[widerProbe](ports.ViewSpec{Name: porttest.Probes.Name(), Key: "id"})
	views, err := ports.DefaultViews().With(changed.Def())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	db = mustOpenWith(t, path, sqlite.Options{Views: views, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	want := fmt.Sprintf(`view=%s old_shape=%s+sqlite.1 new_shape=%s+sqlite.1`, changed.Name(), porttest.Probes.Def().Shape(), changed.Def().Shape())
	if !strings.Contains(logs.String(), want) || strings.Count(logs.String(), "view shape changed") != 1 {
		t.Fatalf("want one rebuild logged with %s, got:\n%s", want, logs.String())
	}
	if rows, err := changed.In(db.Views().Read()).List(ctx, ports.Query{}); err != nil || len(rows) != 0 {
		t.Fatalf("changed view after open: %d rows, %v", len(rows), err)
	}
	if cp := mustCheckpointOf(t, db, changed.Name()); cp != 0 {
		t.Fatalf("checkpoint of the changed view %d, want 0", cp)
	}
	for _, v := range ports.DefaultViews().All() {
		if _, ok, err := db.Views().Read().Table(v).Get(ctx, "k1"); err != nil || !ok {
			t.Fatalf("%s lost its row: %v, %v", v.Name(), ok, err)
		}
		if cp := mustCheckpointOf(t, db, v.Name()); cp != 10 {
			t.Fatalf("%s checkpoint %d, want 10", v.Name(), cp)
		}
	}
}

// widerProbe is porttest.ProbeRow with one more column, as a later release
// might register it.
type widerProbe struct {
	ID      string `db:"id"`
	Zone    string `db:"zone"`
	Version uint64 `db:"version"`
}

func (r widerProbe) RowKey() string     { return r.ID }
func (r widerProbe) RowVersion() uint64 { return r.Version }

func mustCheckpointOf(t *testing.T, db *sqlite.DB, projector string) uint64 {
	t.Helper()
	cp, err := db.Views().Read().Checkpoint(context.Background(), projector)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// A file at schema step N opened by code that knows steps up to M > N runs
// N+1..M, once; code older than the file refuses it, naming the step.
func TestOpen_runs_missing_schema_steps_and_refuses_newer_files(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gosling.db")
	db := mustOpenWith(t, path, sqlite.Options{Logger: discard()})
	if _, err := db.Events().Append(ctx, "s", ports.NoStream(), []events.Record{porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{RunnerID: "x", To: "IDLE"})}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	step := sqlite.AddMigrationForTest(t, "test: a table of a later release",
		`CREATE TABLE IF NOT EXISTS later (k TEXT PRIMARY KEY)`, `INSERT INTO later (k) VALUES ('once') ON CONFLICT DO NOTHING`)
	var logs bytes.Buffer
	db = mustOpenWith(t, path, sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), fmt.Sprintf(`steps="%d (test: a table of a later release)"`, step)) {
		t.Fatalf("step %d not logged as applied:\n%s", step, logs.String())
	}
	if head, err := db.Events().Head(ctx); err != nil || head != 1 {
		t.Fatalf("log after the step: head %d, %v", head, err)
	}
	db.Close()
	mustOpenWith(t, path, sqlite.Options{Logger: discard()}).Close() // the step is not run again
	raw := mustRaw(t, path)
	var n, steps int
	if err := raw.QueryRow(`SELECT count(*) FROM later`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows of the step's table: %d, %v", n, err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&steps); err != nil || steps != step {
		t.Fatalf("schema_migrations has %d steps, %v; want %d", steps, err, step)
	}
	raw.Close()

	// A file that records a step this release does not know.
	raw = mustRaw(t, path)
	if _, err := raw.Exec(`INSERT INTO schema_migrations (step, name, applied_at) VALUES (?, 'from the future', '')`, step+5); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err := sqlite.Open(ctx, path, sqlite.Options{Logger: discard()})
	if !errors.Is(err, sqlite.ErrNewerSchema) || errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), "from the future") {
		t.Fatalf("open of a newer file: %v, want EINVALID ErrNewerSchema naming the step", err)
	}
}
