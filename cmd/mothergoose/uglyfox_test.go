package main

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

type countingSweeper struct{ sweeps atomic.Int32 }

func (s *countingSweeper) Interval() time.Duration { return 20 * time.Millisecond }

func (s *countingSweeper) Sweep(context.Context, string, uint64) (uglyfox.Summary, error) {
	s.sweeps.Add(1)
	return uglyfox.Summary{}, nil
}

// TestServe_runs_uglyfox_in_process: serve sweeps under the UglyFox lease
// (its holder recorded in the lease log) and releases it at the end;
// --uglyfox=false sweeps nothing.
func TestServe_runs_uglyfox_in_process(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "default", false: "uglyfox_false"}[on], func(t *testing.T) {
			cfg := testConfig()
			cfg.Store = "sqlite://" + filepath.Join(t.TempDir(), "gosling.db")
			cfg.LogLevel, cfg.UglyFox = "error", on
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sw := &countingSweeper{}
			m, stop := mustServeMain(ctx, t, &Main{Config: cfg, Sweeper: sw})
			defer m.Close()
			if on {
				for sw.sweeps.Load() < 2 {
					if ctx.Err() != nil {
						t.Fatal("serve did not sweep")
					}
					time.Sleep(10 * time.Millisecond)
				}
			} else {
				time.Sleep(200 * time.Millisecond) // ten sweep intervals
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			recs, err := m.storage.Events.Load(ctx, domain.LeaseStream(uglyfox.DefaultLease), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !on {
				if sw.sweeps.Load() != 0 || len(recs) != 0 {
					t.Fatalf("--uglyfox=false: %d sweeps, %d lease events", sw.sweeps.Load(), len(recs))
				}
				return
			}
			if len(recs) != 2 || recs[0].Type != events.UglyFoxLeaseAcquiredV1 || recs[1].Type != events.UglyFoxLeaseReleasedV1 {
				t.Fatalf("lease log %+v, want acquired then released", recs)
			}
		})
	}
}

// TestConfig_uglyfox_from_env: MOTHERGOOSE_UGLYFOX turns the in-process
// sweep off; a flag wins over it.
func TestConfig_uglyfox_from_env(t *testing.T) {
	t.Setenv("MOTHERGOOSE_UGLYFOX", "false")
	root := newRootCommand()
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if v := serve.Flags().Lookup("uglyfox").DefValue; v != "false" {
		t.Fatalf("--uglyfox default under MOTHERGOOSE_UGLYFOX=false: %s", v)
	}
}
