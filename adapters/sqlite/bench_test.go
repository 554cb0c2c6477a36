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

// runWriters runs n events through write from `writers` goroutines and returns events/s.
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

func BenchmarkAppendDurable(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			dir := b.TempDir()
			db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			bare := openBare(b, filepath.Join(dir, "bare.db"))
			n := max(b.N, 2000)
			versions := make([]uint64, writers)
			recs := make([]events.Record, n)
			for i := range recs {
				recs[i] = benchPayload(i)
			}
			b.ResetTimer()
			ours, err := runWriters(writers, n, func(w, i int) error {
				res, err := db.Events().Append(context.Background(), fmt.Sprintf("bench-%d", w), ports.At(versions[w]), recs[i:i+1])
				versions[w] = res.LastVersion
				return err
			})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			bareVersions := make([]uint64, writers)
			bareRate, err := runWriters(writers, n, func(w, i int) error {
				bareVersions[w]++
				r := recs[i]
				_, err := bare.Exec(`INSERT INTO events (event_id, stream, version, type, occurred_at, recorded_at, payload) VALUES (?,?,?,?,?,?,?)`,
					r.ID, fmt.Sprintf("bench-%d", w), bareVersions[w], r.Type, r.OccurredAt.UnixNano(), time.Now().UnixNano(), []byte(r.Payload))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ours, "events/s")
			b.ReportMetric(bareRate, "bare_events/s")
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
