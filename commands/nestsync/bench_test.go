package nestsync

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
)

const benchEggs = 5000

// benchNest is a Nest of n vm eggs, 50 of them named by the UglyFox runners_condition.
func benchNest(n int) map[string]string {
	files := make(map[string]string, n+1)
	var named []string
	for i := range n {
		name := fmt.Sprintf("egg-%05d", i)
		files["Eggs/"+name+"/config.fly"] = eggFile(name, i+1, 2)
		if i%100 == 0 {
			named = append(named, fmt.Sprintf("%q", name))
		}
	}
	files["UF/config.fly"] = ufFile(strings.Join(named, ", "), 1, 5, 0)
	return files
}

// freshSyncer opens a new SQLite store and a Syncer with an empty cache over e's clone.
func (e *env) freshSyncer(b *testing.B) *Syncer {
	b.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	h, err := commands.NewHandlers(db.Events(), e.codec, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() })
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Repo: e.repo, Loader: fly.NewSyncLoader(), Handlers: h, LastSync: StoreLastSync(db.Events(), e.codec), Branch: "main", Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

func mustSynced(b *testing.B, s *Syncer, want string) Result {
	b.Helper()
	r, err := s.Sync(context.Background(), "scheduled")
	if err != nil || r.Status != want {
		b.Fatalf("Sync = %+v, %v; want %s", r, err, want)
	}
	return r
}

// BenchmarkNestSync measures syncs of a Nest of 5,000 eggs in a real Git
// repository into a real SQLite store. Targets: full <= 2 s, one changed
// file <= 100 ms, no change <= 20 ms.
func BenchmarkNestSync(b *testing.B) {
	e := mustEnv(b, benchNest(benchEggs))
	e.origin.Repack(b)

	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := e.freshSyncer(b)
			b.StartTimer()
			if r := mustSynced(b, s, StatusSynced); r.EggsAdded != benchEggs {
				b.Fatalf("added %d eggs", r.EggsAdded)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "full_s")
	})

	// one_change_prefetched is one_change with the commit fetched before
	// the timer starts: the sync's own work (its Fetch finds nothing new),
	// without copying the new objects from the file:// origin.
	for _, bc := range []struct {
		name     string
		prefetch bool
	}{{"one_change", false}, {"one_change_prefetched", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := e.freshSyncer(b)
			mustSynced(b, s, StatusSynced)
			for b.Loop() {
				b.StopTimer()
				e.origin.Commit(b, map[string]string{"Eggs/egg-00042/config.fly": eggFile("egg-00042", 43, nextCPU())})
				if bc.prefetch {
					if _, err := e.repo.Fetch(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if r := mustSynced(b, s, StatusSynced); r.EggsUpdated != 1 {
					b.Fatalf("updated %d eggs", r.EggsUpdated)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "one_change_s")
		})
	}

	b.Run("no_change", func(b *testing.B) {
		s := e.freshSyncer(b)
		mustSynced(b, s, StatusSynced)
		for b.Loop() {
			mustSynced(b, s, StatusUnchanged)
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "no_change_s")
	})
}

// cpuEdits makes every benchmark edit of egg-00042 a real change, across
// sub-benchmarks too (each commit sets a cpu count the file did not have).
var cpuEdits int

func nextCPU() int {
	cpuEdits++
	return 3 + cpuEdits%100
}
