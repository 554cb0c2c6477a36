package nestsync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

func changeStrings(cs []events.FileChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Action+" "+c.Path)
	}
	return out
}

func TestSyncLifecycle(t *testing.T) {
	e := mustEnv(t, map[string]string{
		"Eggs/alpha/config.fly":  eggFile("alpha", 1, 2),
		"Eggs/beta/config.fly":   eggFile("beta", 2, 2),
		"Eggs/gamma/config.fly":  bucketFile("gamma", 10, 11),
		"Eggs/lambda/config.fly": serverlessEggFile("lambda", 3),
		"Jobs/rotate.fly":        jobFile,
		"UF/config.fly":          ufFile(`"alpha", "gamma"`, 2, 8, 1),
		"README.md":              "not a fly file",
	})
	c1 := e.origin.Head()

	t.Run("first_sync", func(t *testing.T) {
		r := e.mustSync(t, "manual")
		if r.Status != StatusSynced || r.Commit != c1 || r.EggsAdded != 4 || r.EggsUpdated != 0 || r.JobsSynced != 1 || !r.UglyFoxSynced {
			t.Fatalf("result %+v", r)
		}
		if len(r.Changes) != 6 || r.Changes[0].Action != "added" {
			t.Fatalf("changes %v, want the 6 .fly files added", changeStrings(r.Changes))
		}
		rows := e.eggRows(t)
		if len(rows) != 4 {
			t.Fatalf("egg_configs has %d rows, want 4", len(rows))
		}
		a, g, l := rows["alpha"], rows["gamma"], rows["lambda"]
		if a.RunnerType != "apex" || a.Provider != "yandex" || a.MinApex != 2 || a.MaxApex != 8 || a.MinNadir != 1 || a.MemoryGB != 4 ||
			a.Commit != c1 || a.Path != "Eggs/alpha/config.fly" || len(a.ConfigHash) != 64 || !slices.Equal(a.ProjectIDs, []int64{1}) {
			t.Fatalf("alpha row %+v", a)
		}
		if g.Kind != "bucket" || !slices.Equal(g.GroupIDs, []int64{10, 11}) || g.GitLabServer != "gitlab.internal.net" || g.MinApex != 2 {
			t.Fatalf("gamma row %+v", g)
		}
		if l.RunnerType != "serverless" || l.Provider != "aws" || l.TokenSecretURI != "env://RUNNER_TOKEN" || l.MinApex != 0 || l.MaxApex != 1 {
			t.Fatalf("lambda row %+v", l)
		}
		if b := rows["beta"]; b.MinApex != 0 || b.MaxApex != 1 || b.MinNadir != 0 {
			t.Fatalf("beta (in no runners_condition) row %+v", b)
		}
		h := e.history(t)
		if len(h) != 1 || h[0].Status != "SUCCESS" || h[0].Commit != c1 || h[0].EggsAdded != 4 || h[0].JobsSynced != 1 || !h[0].UglyFoxSynced || h[0].Trigger != "manual" || len(h[0].Changes) != 6 {
			t.Fatalf("sync_history %+v", h)
		}
		if recs := e.streamLen(t, domain.JobStream("rotate")); recs != 1 {
			t.Fatalf("job stream has %d events", recs)
		}
	})

	t.Run("no_change_appends_nothing", func(t *testing.T) {
		before := e.head(t)
		r := e.mustSync(t, "scheduled")
		if r.Status != StatusUnchanged || e.head(t) != before {
			t.Fatalf("result %+v, log head %d -> %d", r, before, e.head(t))
		}
	})

	c2 := e.origin.Commit(t, map[string]string{"Eggs/beta/config.fly": eggFile("beta", 2, 4), "README.md": "changed"})
	t.Run("one_egg_modified", func(t *testing.T) {
		before := e.head(t)
		r := e.mustSync(t, "webhook")
		if r.Status != StatusSynced || r.EggsAdded != 0 || r.EggsUpdated != 1 || r.EggsRemoved != 0 || r.JobsSynced != 0 || r.UglyFoxSynced {
			t.Fatalf("result %+v", r)
		}
		if got := changeStrings(r.Changes); !slices.Equal(got, []string{"modified Eggs/beta/config.fly"}) {
			t.Fatalf("changes %v", got)
		}
		if appended := e.head(t) - before; appended != 2 { // egg.synced + nest.synced
			t.Fatalf("%d events appended, want 2", appended)
		}
		rows := e.eggRows(t)
		if rows["beta"].CPU != 4 || rows["beta"].Commit != c2 || rows["alpha"].Commit != c1 {
			t.Fatalf("rows beta %+v alpha %+v", rows["beta"], rows["alpha"])
		}
		h := e.history(t)
		if last := h[len(h)-1]; last.Status != "SUCCESS" || last.EggsUpdated != 1 || last.PreviousCommit != c1 || last.Trigger != "webhook" {
			t.Fatalf("last sync_history row %+v", last)
		}
	})

	c3 := e.origin.Commit(t, map[string]string{
		"Eggs/beta/config.fly":  eggFile("beta", 2, 6) + "egg \"broken\" {\n", // syntax error
		"Eggs/alpha/config.fly": eggFile("other", 1, 2),                       // label mismatch
	})
	t.Run("broken_commit_changes_nothing", func(t *testing.T) {
		before := e.eggRows(t)
		headBefore := e.head(t)
		r := e.mustSync(t, "webhook")
		if r.Status != StatusFailed || r.Commit != c3 || len(r.Diagnostics) < 2 {
			t.Fatalf("result %+v", r)
		}
		files := map[string]bool{}
		for _, d := range r.Diagnostics {
			files[d.File] = true
			if d.Line == 0 || d.Column == 0 || (d.Severity != "error" && d.Severity != "warning") || d.Summary == "" {
				t.Fatalf("diagnostic without position: %+v", d)
			}
		}
		if !files["Eggs/alpha/config.fly"] || !files["Eggs/beta/config.fly"] {
			t.Fatalf("diagnostics %+v do not name both files relative to the Nest root", r.Diagnostics)
		}
		if appended := e.head(t) - headBefore; appended != 1 {
			t.Fatalf("%d events appended, want only nest.sync_failed", appended)
		}
		after := e.eggRows(t)
		for name, row := range before {
			if after[name].ConfigHash != row.ConfigHash || after[name].Version != row.Version {
				t.Fatalf("egg %s changed by a broken commit: %+v -> %+v", name, row, after[name])
			}
		}
		h := e.history(t)
		last := h[len(h)-1]
		if last.Status != "FAILED" || last.Commit != c3 || last.PreviousCommit != c2 || len(last.Diagnostics) != len(r.Diagnostics) {
			t.Fatalf("last sync_history row %+v", last)
		}
		// The same broken head again is not recorded again.
		if r := e.mustSync(t, "scheduled"); r.Status != StatusUnchanged || e.head(t) != headBefore+1 {
			t.Fatalf("second sync of the broken head: %+v", r)
		}
	})

	c4 := e.origin.Commit(t, map[string]string{"Eggs/beta/config.fly": eggFile("beta", 2, 6), "Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	t.Run("next_good_commit_syncs", func(t *testing.T) {
		r := e.mustSync(t, "webhook")
		if r.Status != StatusSynced || r.Commit != c4 || r.Previous != c2 || r.EggsUpdated != 1 {
			t.Fatalf("result %+v", r)
		}
		// Changes are against the last synced commit (c2): alpha is back as it was.
		if got := changeStrings(r.Changes); !slices.Equal(got, []string{"modified Eggs/beta/config.fly"}) {
			t.Fatalf("changes %v", got)
		}
		if rows := e.eggRows(t); rows["beta"].CPU != 6 || rows["beta"].Commit != c4 {
			t.Fatalf("beta row %+v", rows["beta"])
		}
	})

	c5 := e.origin.Commit(t, map[string]string{"UF/config.fly": ufFile(`"gamma"`, 2, 8, 1)}, "Eggs/alpha/config.fly", "Jobs/rotate.fly")
	t.Run("egg_and_job_removed", func(t *testing.T) {
		r := e.mustSync(t, "manual")
		if r.Status != StatusSynced || r.EggsRemoved != 1 || r.JobsSynced != 1 || !r.UglyFoxSynced {
			t.Fatalf("result %+v", r)
		}
		rows := e.eggRows(t)
		if a := rows["alpha"]; !a.Removed || a.Commit != c5 {
			t.Fatalf("alpha row %+v, want removed at %s", a, c5)
		}
		if rows["beta"].Removed || rows["gamma"].Removed {
			t.Fatal("other eggs removed")
		}
	})

	t.Run("restart_rebuilds_from_last_commit", func(t *testing.T) {
		e.s = e.newSyncer(t) // empty cache, no memory
		if r := e.mustSync(t, "scheduled"); r.Status != StatusUnchanged {
			t.Fatalf("sync after restart at the synced head: %+v", r)
		}
		e.origin.Commit(t, map[string]string{"Eggs/gamma/config.fly": bucketFile("gamma", 10, 11, 12)}, "Eggs/lambda/config.fly")
		before := e.head(t)
		r := e.mustSync(t, "scheduled")
		if r.Status != StatusSynced || r.EggsUpdated != 1 || r.EggsRemoved != 1 || r.EggsAdded != 0 || e.head(t)-before != 3 {
			t.Fatalf("result %+v, %d events", r, e.head(t)-before)
		}
	})
}

func TestFetchFailureIsRecorded(t *testing.T) {
	e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	e.mustSync(t, "manual")
	if err := removeAll(e.origin.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Sync(context.Background(), "scheduled"); err == nil {
		t.Fatal("Sync of a vanished origin succeeded")
	}
	h := e.history(t)
	if last := h[len(h)-1]; last.Status != "FAILED" || last.Error == "" || last.Commit != "" {
		t.Fatalf("last sync_history row %+v", last)
	}
	if rows := e.eggRows(t); rows["alpha"].Removed {
		t.Fatal("a fetch failure removed eggs")
	}
}

func TestTriggerCoalesces(t *testing.T) {
	e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	var runs atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	e.s.onRun = func() {
		if runs.Add(1) == 1 {
			started <- struct{}{}
			<-release
		}
	}
	e.s.Trigger("webhook")
	<-started
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { e.s.Trigger("webhook") })
	}
	wg.Wait()
	close(release)
	waitIdle(t, e.s)
	if n := runs.Load(); n != 2 {
		t.Fatalf("%d runs for 21 triggers during one run, want 2", n)
	}
	h := e.history(t)
	if len(h) != 1 || h[0].Status != "SUCCESS" {
		t.Fatalf("sync_history %+v, want one success (the second run found nothing new)", h)
	}
	// A trigger after the runs ended starts a new one.
	e.s.Trigger("manual")
	waitIdle(t, e.s)
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d runs, want 3", n)
	}
}

func TestRunSchedule(t *testing.T) {
	e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	var runs atomic.Int32
	e.s.onRun = func() { runs.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.s.RunSchedule(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("RunSchedule returned %v", err)
	}
	waitIdle(t, e.s)
	h := e.history(t)
	if runs.Load() < 3 || len(h) != 1 || h[0].Trigger != "scheduled" {
		t.Fatalf("%d runs, sync_history %+v", runs.Load(), h)
	}
}

func TestSyncRefusesUnknownTrigger(t *testing.T) {
	e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	if _, err := e.s.Sync(context.Background(), "cron"); err == nil || !strings.Contains(err.Error(), "trigger") {
		t.Fatalf("Sync with an unknown trigger: %v", err)
	}
}

func waitIdle(t *testing.T, s *Syncer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s.trigMu.Lock()
		running := s.running
		s.trigMu.Unlock()
		if !running {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("syncer still running")
}

// stricterLoader stands for a parser that got stricter since the last sync:
// it refuses every Nest holding the file refuse.
type stricterLoader struct {
	Loader
	refuse string
}

func (l stricterLoader) LoadNest(ctx context.Context, keys map[string]string, content map[string][]byte) (*domain.Nest, []events.Diagnostic) {
	if _, ok := keys[l.refuse]; ok {
		return nil, []events.Diagnostic{{Severity: "error", Summary: "refused by the stricter parser", File: l.refuse}}
	}
	return l.Loader.LoadNest(ctx, keys, content)
}

// When the last synced commit no longer loads, the sync compares against its
// file list alone; a job whose file the new commit removes is still recorded
// as removed, as an egg is.
func TestSyncWhenTheLastSyncedCommitNoLongerLoads(t *testing.T) {
	e := mustEnv(t, map[string]string{
		"Eggs/alpha/config.fly": eggFile("alpha", 1, 2),
		"Eggs/beta/config.fly":  eggFile("beta", 2, 2),
		"Jobs/rotate.fly":       jobFile,
	})
	if r := e.mustSync(t, "manual"); r.Status != StatusSynced || r.JobsSynced != 1 {
		t.Fatalf("first sync %+v", r)
	}
	e.origin.Commit(t, nil, "Eggs/beta/config.fly", "Jobs/rotate.fly")

	// A restart with the stricter parser: no memory of the last sync's Nest.
	s, err := New(Config{Repo: e.repo, Loader: stricterLoader{Loader: fly.NewSyncLoader(), refuse: "Jobs/rotate.fly"}, Handlers: e.h,
		LastSync: StoreLastSync(e.db.Events(), e.codec), Branch: "main", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	r, err := s.Sync(context.Background(), "manual")
	if err != nil || r.Status != StatusSynced || r.EggsRemoved != 1 || r.JobsSynced != 1 {
		t.Fatalf("sync after the last commit stopped loading: %+v, %v; want beta and rotate removed", r, err)
	}
	if n := e.streamLen(t, domain.JobStream("rotate")); n != 2 {
		t.Fatalf("job stream has %d events, want the sync and the removal", n)
	}
	if rows := e.eggRows(t); !rows["beta"].Removed || rows["alpha"].Removed {
		t.Fatalf("egg rows %+v, want beta removed and alpha kept", rows)
	}
}

// cancellingLoader stands for a shutdown that arrives while a big Nest is
// parsed: it cancels the sync's context and answers as fly's loader does
// when its context ends (one "Load cancelled" error, no Nest).
type cancellingLoader struct {
	Loader
	cancel context.CancelFunc
}

func (l cancellingLoader) LoadNest(ctx context.Context, keys map[string]string, content map[string][]byte) (*domain.Nest, []events.Diagnostic) {
	l.cancel()
	<-ctx.Done()
	return nil, []events.Diagnostic{{Severity: "error", Summary: "Load cancelled"}}
}

// A parse cut short by shutdown is no verdict on the commit: nothing is
// recorded, and the next sync of the same head is carried out, not skipped
// as already failed.
func TestSyncCancelledDuringTheParseRecordsNothing(t *testing.T) {
	e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	before := e.head(t)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(Config{Repo: e.repo, Loader: cancellingLoader{Loader: fly.NewSyncLoader(), cancel: cancel}, Handlers: e.h,
		LastSync: StoreLastSync(e.db.Events(), e.codec), Branch: "main", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if r, err := s.Sync(ctx, "scheduled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sync: %+v, %v; want context.Canceled", r, err)
	}
	if after := e.head(t); after != before {
		t.Fatalf("a cancelled sync appended %d events", after-before)
	}
	s.cfg.Loader = fly.NewSyncLoader()
	if r, err := s.Sync(context.Background(), "scheduled"); err != nil || r.Status != StatusSynced {
		t.Fatalf("sync after the cancelled one: %+v, %v; want synced", r, err)
	}
}
