package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
	"github.com/polar-gosling/polar-gosling/projections"
)

// Each benchmark measures the store and, in the same run on the same
// machine, a bare SQLite loop with the same durability (WAL,
// synchronous=FULL, one commit per acknowledged write), and reports both
// rates and their ratio.

func benchPayload(i int) events.Record {
	return porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{RunnerID: fmt.Sprintf("r-%d", i), From: "ACTIVE", To: "BUSY", Reason: "job started"})
}

func openBare(b *testing.B, path string) *sql.DB {
	b.Helper()
	d, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	d.SetMaxOpenConns(1)
	if _, err := d.Exec(`CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL,
		type TEXT NOT NULL, occurred_at INTEGER NOT NULL, recorded_at INTEGER NOT NULL, actor TEXT NOT NULL DEFAULT '', correlation_id TEXT NOT NULL DEFAULT '',
		causation_id TEXT NOT NULL DEFAULT '', idempotency_key TEXT NOT NULL DEFAULT '', payload BLOB NOT NULL, UNIQUE (stream, version))`); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// runWriters runs n operations through write from `writers` goroutines and
// returns operations/s.
func runWriters(writers, n int, write func(w, i int) error) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := write(w, i); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// BenchmarkAppendDurable appends from 1 and 16 goroutines, each on its own
// stream with its expected version, in single-event batches (the worst case:
// one fsync shared by at most `writers` events) and in batches of 10. The
// workload is fixed (5,000 events with one writer, 40,000 with 16) so one run
// is a figure. The bare loop commits the same rows with the same durability:
// one transaction per batch, WAL, synchronous=FULL.
func BenchmarkAppendDurable(b *testing.B) {
	for _, c := range []struct{ writers, batch int }{{1, 1}, {16, 1}, {16, 10}} {
		b.Run(fmt.Sprintf("writers=%d/batch=%d", c.writers, c.batch), func(b *testing.B) {
			dir := b.TempDir()
			db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			bare := openBare(b, filepath.Join(dir, "bare.db"))
			n := 5000
			if c.writers > 1 {
				n = 40000
			}
			ops := n / c.batch
			versions := make([]uint64, c.writers)
			recs := make([]events.Record, n)
			for i := range recs {
				recs[i] = benchPayload(i)
			}
			before := db.Events().Stats()
			b.ResetTimer()
			ours, err := runWriters(c.writers, ops, func(w, i int) error {
				res, err := db.Events().Append(context.Background(), fmt.Sprintf("bench-%d", w), ports.At(versions[w]), recs[i*c.batch:(i+1)*c.batch])
				versions[w] = res.LastVersion
				return err
			})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			st := db.Events().Stats()
			groups, syncs := float64(st.Groups-before.Groups), float64(st.Syncs-before.Syncs)
			fsync := (st.SyncTime - before.SyncTime).Seconds() / syncs
			b.ReportMetric(float64(ops)/groups, "appends/group")
			b.ReportMetric((st.CommitTime-before.CommitTime).Seconds()/float64(n)*1e6, "commit_us/event")
			b.ReportMetric(fsync*1e6, "fsync_us")
			// No writer can append faster than one durable append per fsync:
			// the disk alone caps the run at writers*batch/fsync events/s.
			b.ReportMetric(ours*float64(c.batch)/(float64(c.writers*c.batch)/fsync), "x_disk_cap")
			bareVersions := make([]uint64, c.writers)
			bareRate, err := runWriters(c.writers, ops, func(w, i int) error {
				tx, err := bare.Begin()
				if err != nil {
					return err
				}
				for _, r := range recs[i*c.batch : (i+1)*c.batch] {
					bareVersions[w]++
					if _, err := tx.Exec(`INSERT INTO events (event_id, stream, version, type, occurred_at, recorded_at, payload) VALUES (?,?,?,?,?,?,?)`,
						r.ID, fmt.Sprintf("bench-%d", w), bareVersions[w], r.Type, r.OccurredAt.UnixNano(), time.Now().UnixNano(), []byte(r.Payload)); err != nil {
						tx.Rollback()
						return err
					}
				}
				return tx.Commit()
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ours*float64(c.batch), "events/s")
			b.ReportMetric(bareRate*float64(c.batch), "bare_events/s")
			b.ReportMetric(ours/bareRate, "x_bare")
		})
	}
}

// BenchmarkReplay reads and decodes a log of 1,000,000 events (built once,
// outside the timer), against a bare scan of the same rows.
func BenchmarkReplay(b *testing.B) {
	const total = 1_000_000
	path := filepath.Join(b.TempDir(), "replay.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const batch = 1000
	for s := 0; s < total/batch; s++ {
		recs := make([]events.Record, batch)
		for i := range recs {
			recs[i] = benchPayload(s*batch + i)
		}
		if _, err := db.Events().Append(context.Background(), fmt.Sprintf("replay-%d", s%100), ports.Any(), recs); err != nil {
			b.Fatal(err)
		}
	}
	codec := events.NewCodec(events.NewRegistry())
	b.ResetTimer()
	var ours float64
	for range b.N {
		start := time.Now()
		n, err := replayAll(db.Events(), codec)
		if err != nil {
			b.Fatal(err)
		}
		if n != total {
			b.Fatalf("replayed %d of %d", n, total)
		}
		ours = float64(n) / time.Since(start).Seconds()
	}
	b.StopTimer()
	bare := openBare(b, path)
	start := time.Now()
	rows, err := bare.Query(`SELECT position, event_id, stream, version, type, occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key, payload FROM events ORDER BY position`)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var pos, ver, occ, rec int64
		var id, stream, typ, actor, corr, cause, key string
		var payload []byte
		if err := rows.Scan(&pos, &id, &stream, &ver, &typ, &occ, &rec, &actor, &corr, &cause, &key, &payload); err != nil {
			b.Fatal(err)
		}
		n++
	}
	rows.Close()
	bareRate := float64(n) / time.Since(start).Seconds()
	b.ReportMetric(ours, "events/s")
	b.ReportMetric(bareRate, "bare_events/s")
	b.ReportMetric(ours/bareRate, "x_bare")
}

// replayAll reads and decodes the whole log through the pipeline every
// rebuild uses.
func replayAll(s ports.EventStore, codec *events.Codec) (int, error) {
	head, err := s.Head(context.Background())
	if err != nil {
		return 0, err
	}
	n := 0
	err = projections.ReadLog(context.Background(), s, codec, 0, head, 5000, func(envs []events.Envelope) error {
		n += len(envs)
		return nil
	})
	return n, err
}

// BenchmarkRebuildViews rebuilds all five views from a log of 120,000
// events (20,000 runner lifecycles of six events each), the work of
// `mothergoose replay`: read, decode, project, write rows and checkpoints.
func BenchmarkRebuildViews(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "rebuild.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	codec := events.NewCodec(events.NewRegistry())
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	const runners = 20000
	for i := range runners {
		id := fmt.Sprintf("r-%d", i)
		lifecycle := []events.Event{
			events.RunnerRequested{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", Tags: []string{"docker"}, Reason: "pending job"},
			events.RunnerDeployed{RunnerID: id, Egg: "web", PlanID: "p-" + id, RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", InstanceID: "fhm-" + id},
			events.RunnerStateChanged{RunnerID: id, From: "ACTIVE", To: "BUSY", Reason: "job"},
			events.RunnerStateChanged{RunnerID: id, From: "BUSY", To: "IDLE", Reason: "job done"},
			events.RunnerPoolChanged{RunnerID: id, From: "apex", To: "nadir", Reason: "idle"},
			events.RunnerTerminated{RunnerID: id, Reason: "max age"},
		}
		recs := make([]events.Record, len(lifecycle))
		for j, ev := range lifecycle {
			rec, err := codec.Encode(events.Envelope{Metadata: events.Metadata{ID: fmt.Sprintf("%s-%d", id, j), OccurredAt: at.Add(time.Duration(i*6+j) * time.Millisecond), Actor: "bench"}, Payload: ev})
			if err != nil {
				b.Fatal(err)
			}
			recs[j] = rec
		}
		if _, err := db.Events().Append(ctx, "runner-"+id, ports.NoStream(), recs); err != nil {
			b.Fatal(err)
		}
	}
	runner, err := projections.NewLoop(projections.Config{Store: db.Events(), Views: db.Views(), Codec: codec, Projectors: projections.All()})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rate float64
	for range b.N {
		for _, v := range ports.AllViews {
			if err := db.Views().Truncate(ctx, v); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if err := runner.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		rate = float64(runners*6) / time.Since(start).Seconds()
	}
	b.StopTimer()
	rows, err := ports.Runners.In(db.Views().Read()).List(ctx, ports.Query{Eq: map[string]any{"state": "TERMINATED"}})
	if err != nil || len(rows) != runners {
		b.Fatalf("rebuilt %d terminated runners (%v), want %d", len(rows), err, runners)
	}
	b.ReportMetric(rate, "events/s")
}
