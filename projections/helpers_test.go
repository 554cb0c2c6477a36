package projections_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// t0 is the first event's OccurredAt; the nth appended event happened n
// seconds (and n nanoseconds) later, and the store records it a millisecond
// after that (its clock is fixed per fixture).
var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func occurredAt(n int) time.Time {
	return t0.Add(time.Duration(n)*time.Second + time.Duration(n))
}

const recordedAt = 24 * time.Hour

// fixture is a real SQLite store with a projector runner over it.
type fixture struct {
	t        *testing.T
	db       *sqlite.DB
	store    ports.EventStore
	views    ports.ViewStore
	codec    *events.Codec
	runner   *projections.Loop
	n        int
	versions map[string]uint64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := mustOpen(t, filepath.Join(t.TempDir(), "x.db"))
	f := &fixture{t: t, db: db, store: db.Events(), views: db.Views(), codec: events.NewCodec(events.NewRegistry()), versions: map[string]uint64{}}
	f.runner = mustRunner(t, f.store, f.views, f.codec)
	return f
}

func mustOpen(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: func() time.Time { return t0.Add(recordedAt) }})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustRunner(t *testing.T, store ports.EventStore, views ports.ViewStore, codec *events.Codec) *projections.Loop {
	t.Helper()
	r, err := projections.NewLoop(projections.Config{Store: store, Views: views, Codec: codec, Projectors: projections.All(), BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// record encodes ev as the nth event of the fixture.
func (f *fixture) record(ev events.Event) events.Record {
	f.t.Helper()
	f.n++
	rec, err := f.codec.Encode(events.Envelope{
		Metadata: events.Metadata{
			ID:            fmt.Sprintf("evt-%04d", f.n),
			OccurredAt:    occurredAt(f.n),
			Actor:         "test",
			CorrelationID: fmt.Sprintf("corr-%d", f.n),
			CausationID:   fmt.Sprintf("cause-%d", f.n),
		},
		Payload: ev,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// append writes evs to stream at its current version and returns their
// global positions.
func (f *fixture) append(stream string, evs ...events.Event) []uint64 {
	f.t.Helper()
	recs := make([]events.Record, len(evs))
	for i, ev := range evs {
		recs[i] = f.record(ev)
	}
	return f.appendRecords(stream, recs...)
}

func (f *fixture) appendRecords(stream string, recs ...events.Record) []uint64 {
	f.t.Helper()
	res, err := f.store.Append(context.Background(), stream, ports.At(f.versions[stream]), recs)
	if err != nil {
		f.t.Fatalf("append to %s: %v", stream, err)
	}
	f.versions[stream] = res.LastVersion
	var out []uint64
	for p := res.FirstPosition; p <= res.LastPosition; p++ {
		out = append(out, p)
	}
	return out
}

func (f *fixture) mustCatchUp() {
	f.t.Helper()
	if err := f.runner.CatchUp(context.Background()); err != nil {
		f.t.Fatalf("catch up: %v", err)
	}
}

// snapshot is every row of every view, in key order.
type snapshot struct {
	Runners         []ports.RunnerRow
	EggConfigs      []ports.EggConfigRow
	SyncHistory     []ports.SyncHistoryRow
	DeploymentPlans []ports.DeploymentPlanRow
	AuditLogs       []ports.AuditLogRow
	EggWebhooks     []ports.EggWebhooksRow
}

func takeSnapshot(views ports.ViewStore) (snapshot, error) {
	ctx := context.Background()
	read := views.Read()
	var s snapshot
	var errs [6]error
	s.Runners, errs[0] = ports.Runners.In(read).List(ctx, ports.Query{})
	s.EggConfigs, errs[1] = ports.EggConfigs.In(read).List(ctx, ports.Query{})
	s.SyncHistory, errs[2] = ports.SyncHistory.In(read).List(ctx, ports.Query{})
	s.DeploymentPlans, errs[3] = ports.DeploymentPlans.In(read).List(ctx, ports.Query{})
	s.AuditLogs, errs[4] = ports.AuditLogs.In(read).List(ctx, ports.Query{})
	s.EggWebhooks, errs[5] = ports.EggWebhooks.In(read).List(ctx, ports.Query{})
	return s, errors.Join(errs[:]...)
}

// mustSnapshot takes a *testing.T or, in property tests, a *rapid.T.
func mustSnapshot(t interface {
	Helper()
	Fatalf(format string, args ...any)
}, views ports.ViewStore) snapshot {
	t.Helper()
	s, err := takeSnapshot(views)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return s
}

// snapshotDiff describes the first view that differs, or returns "".
func snapshotDiff(got, want snapshot) string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("view %s:\n got %+v\nwant %+v", gv.Type().Field(i).Name, g, w)
		}
	}
	return ""
}

func mustSameSnapshot(t *testing.T, got, want snapshot) {
	t.Helper()
	if diff := snapshotDiff(got, want); diff != "" {
		t.Fatal(diff)
	}
}

func mustCheckpoint(t *testing.T, views ports.ViewStore, name string) uint64 {
	t.Helper()
	cp, err := views.Read().Checkpoint(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func mustSetCheckpoint(t *testing.T, views ports.ViewStore, name string, pos uint64) {
	t.Helper()
	err := views.Batch(context.Background(), func(tx ports.ViewTx) error { return tx.SaveCheckpoint(context.Background(), name, pos) })
	if err != nil {
		t.Fatal(err)
	}
}
