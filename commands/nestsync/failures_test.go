package nestsync

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// nestEvents returns the "nest" stream decoded.
func (e *env) nestEvents(tb testing.TB) []events.Envelope {
	tb.Helper()
	recs, err := e.db.Events().Load(context.Background(), domain.NestStream(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	envs, err := e.codec.DecodeAll(recs)
	if err != nil {
		tb.Fatal(err)
	}
	return envs
}

func (e *env) nestTypes(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, env := range e.nestEvents(tb) {
		out = append(out, env.Type)
	}
	return out
}

// lastFailure returns the last nest.sync_failed of the stream.
func (e *env) lastFailure(tb testing.TB) events.NestSyncFailed {
	tb.Helper()
	envs := e.nestEvents(tb)
	for i := len(envs) - 1; i >= 0; i-- {
		if f, ok := envs[i].Payload.(*events.NestSyncFailed); ok {
			return *f
		}
	}
	tb.Fatal("no nest.sync_failed in the stream")
	return events.NestSyncFailed{}
}

// A failed fetch records its cause, not only what was being done.
func TestFetchFailureRecordsItsCause(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, e *env)
		want    string // in the recorded error
	}{
		{"branch_does_not_exist", func(t *testing.T, e *env) { e.origin.RemoveBranch(t) }, "reference not found"},
		{"path_does_not_exist", func(t *testing.T, e *env) {
			if err := os.RemoveAll(e.origin.Dir); err != nil {
				t.Fatal(err)
			}
		}, "repository does not exist"},
		{"path_is_not_a_repository", func(t *testing.T, e *env) {
			if err := os.RemoveAll(e.origin.Dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(e.origin.Dir, []byte("not a repository"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a directory"},
		{"path_not_readable", func(t *testing.T, e *env) {
			if os.Geteuid() == 0 {
				t.Skip("running as root: file modes do not deny root reads, so an unreadable Nest cannot be made here")
			}
			if err := os.Chmod(filepath.Join(e.origin.Dir, "refs", "heads"), 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(filepath.Join(e.origin.Dir, "refs", "heads"), 0o755) })
		}, "permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
			e.mustSync(t, "manual")
			tc.breakIt(t, e)
			if _, err := e.s.Sync(context.Background(), "scheduled"); err == nil {
				t.Fatal("Sync succeeded")
			}
			f := e.lastFailure(t)
			if !strings.Contains(f.Error, tc.want) || !strings.Contains(f.Error, "gitrepo: fetch") {
				t.Fatalf("recorded error %q, want the cause %q in it", f.Error, tc.want)
			}
			h := e.history(t)
			if last := h[len(h)-1]; last.Status != "FAILED" || last.Error != f.Error {
				t.Fatalf("sync_history row %+v", last)
			}
		})
	}
}

// An https Nest whose URL holds a password, fetched with a token: the
// recorded failure holds neither (nothing listens on the address).
func TestFetchFailureRecordsNoCredential(t *testing.T) {
	const password, token = "pa55-in-the-url-7731", "glpat-token-value-90210"
	e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	e.mustSync(t, "manual")

	// A clone whose origin is the https URL: made as a local clone, then
	// its remote rewritten (Open would try to clone it otherwise).
	url := "https://deploy:" + password + "@127.0.0.1:1/group/nest.git?private_token=" + token
	dir := filepath.Join(t.TempDir(), "https-clone")
	local, err := gitrepo.Open(context.Background(), gitrepo.Config{URL: e.origin.URL, Dir: dir, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	local.Close()
	raw, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := raw.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Remotes["origin"].URLs = []string{url}
	if err := raw.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NEST_TOKEN": token}
	repo, err := gitrepo.Open(context.Background(), gitrepo.Config{URL: url, Dir: dir, Branch: "main", Auth: "env://NEST_TOKEN",
		Secrets: secrets.Local{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	s, err := New(Config{Repo: repo, Loader: fly.NewSyncLoader(), Handlers: e.h, LastSync: StoreLastSync(e.db.Events(), e.codec), Branch: "main", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	_, syncErr := s.Sync(context.Background(), "scheduled")
	if syncErr == nil {
		t.Fatal("Sync of an unreachable https Nest succeeded")
	}
	f := e.lastFailure(t)
	for _, text := range []string{f.Error, syncErr.Error()} {
		if strings.Contains(text, password) || strings.Contains(text, token) {
			t.Fatalf("a credential is in %q", text)
		}
	}
	if !strings.Contains(f.Error, "127.0.0.1:1") || !strings.Contains(f.Error, "gitrepo: fetch") || len(f.Error) > domain.MaxSyncErrorLen {
		t.Fatalf("recorded error %q: want the fetch and its cause", f.Error)
	}
	if h := e.history(t); strings.Contains(h[len(h)-1].Error, password) || strings.Contains(h[len(h)-1].Error, token) {
		t.Fatalf("a credential is in sync_history: %+v", h[len(h)-1])
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A failure that repeats identically is recorded once, then counted: the
// count goes to the log every RepeatFlush and when the outcome changes, and
// sync_history shows it on the failure's row.
func TestRepeatedFailureIsCounted(t *testing.T) {
	e := mustEnv(t, map[string]string{"Eggs/alpha/config.fly": eggFile("alpha", 1, 2)})
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	newSyncer := func() *Syncer {
		s, err := New(Config{Repo: e.repo, Loader: fly.NewSyncLoader(), Handlers: e.h, LastSync: StoreLastSync(e.db.Events(), e.codec),
			Branch: "main", Logger: quietLogger(), Clock: clock.Now, RepeatFlush: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	e.s = newSyncer()
	e.mustSync(t, "manual")
	e.origin.RemoveBranch(t)
	tick := func(trigger string) {
		t.Helper()
		clock.Add(time.Minute)
		if _, err := e.s.Sync(context.Background(), trigger); err == nil {
			t.Fatal("Sync of a missing branch succeeded")
		}
	}
	const (
		synced   = events.NestSyncedV1
		failed   = events.NestSyncFailedV1
		repeated = events.NestSyncFailureRepeatedV1
	)
	wantTypes := func(want ...string) {
		t.Helper()
		if got := e.nestTypes(t); !slices.Equal(got, want) {
			t.Fatalf("nest stream %v, want %v", got, want)
		}
	}

	for range 5 {
		tick("scheduled")
	}
	wantTypes(synced, failed)
	failure := e.nestEvents(t)[1]
	if h := e.history(t); len(h) != 2 || h[1].Repeats != 0 {
		t.Fatalf("sync_history %+v", h)
	}

	// An hour after the failure was recorded, the count goes to the log.
	for range 56 {
		tick("scheduled")
	}
	wantTypes(synced, failed, repeated)
	r := *e.nestEvents(t)[2].Payload.(*events.NestSyncFailureRepeated)
	if r.Count != 60 || r.FailureEventID != failure.ID || r.FailurePosition != failure.GlobalPosition || r.LastAt.Sub(r.FirstAt) != 59*time.Minute {
		t.Fatalf("repeat %+v of failure %s at %d", r, failure.ID, failure.GlobalPosition)
	}
	h := e.history(t)
	if len(h) != 2 || h[1].Repeats != 60 || !h[1].LastAttemptAt.Equal(r.LastAt) || h[1].EventID != failure.ID {
		t.Fatalf("sync_history %+v", h)
	}

	// Three more, then the outcome changes: the count (cumulative) is
	// recorded before the success.
	for range 3 {
		tick("webhook")
	}
	e.origin.RestoreBranch(t)
	clock.Add(time.Minute)
	if r, err := e.s.Sync(context.Background(), "scheduled"); err != nil || r.Status != StatusUnchanged {
		t.Fatalf("sync after the branch came back: %+v, %v", r, err)
	}
	wantTypes(synced, failed, repeated, repeated)
	if r := e.nestEvents(t)[3].Payload.(*events.NestSyncFailureRepeated); r.Count != 63 {
		t.Fatalf("final repeat %+v, want the count 63", r)
	}
	if h := e.history(t); len(h) != 2 || h[1].Repeats != 63 {
		t.Fatalf("sync_history %+v", h)
	}

	// A manual trigger always records; a different failure is recorded.
	e.origin.RemoveBranch(t)
	tick("scheduled")
	tick("manual")
	wantTypes(synced, failed, repeated, repeated, failed, failed)
	if err := os.RemoveAll(e.origin.Dir); err != nil {
		t.Fatal(err)
	}
	tick("scheduled")
	tick("scheduled")
	wantTypes(synced, failed, repeated, repeated, failed, failed, failed)

	// After a restart the first failure is recorded again; Close records
	// what was counted.
	e.s = newSyncer()
	tick("scheduled")
	tick("scheduled")
	wantTypes(synced, failed, repeated, repeated, failed, failed, failed, failed)
	e.s.Close()
	wantTypes(synced, failed, repeated, repeated, failed, failed, failed, failed, repeated)
}

// A Nest whose branch is rewritten to an unrelated history, synced by a
// fresh MotherGoose (empty clone) on the same store: the last synced commit
// is nowhere, so the head is synced in full against what the log holds as
// deployed, and the reason recorded.
func TestRewrittenHistorySyncsInFullAgainstTheLog(t *testing.T) {
	e := mustEnv(t, map[string]string{
		"Eggs/x/config.fly": eggFile("x", 1, 2),
		"Eggs/y/config.fly": eggFile("y", 2, 2),
		"Jobs/rotate.fly":   jobFile,
	})
	a := e.origin.Head()
	if r := e.mustSync(t, "manual"); r.Status != StatusSynced || r.EggsAdded != 2 || r.JobsSynced != 1 {
		t.Fatalf("first sync %+v", r)
	}
	b := e.origin.Rewrite(t, map[string]string{
		"Eggs/y/config.fly": eggFile("y", 2, 4),
		"Eggs/z/config.fly": eggFile("z", 3, 2),
	})

	// A new replica: a fresh clone directory, the same store.
	repo, err := gitrepo.Open(context.Background(), gitrepo.Config{URL: e.origin.URL, Dir: filepath.Join(t.TempDir(), "fresh-clone"), Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	if _, err := repo.Files(context.Background(), a); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("the old commit in the fresh clone: %v, want ENOTFOUND", err)
	}
	e.repo = repo
	e.s = e.newSyncer(t)
	r, err := e.s.Sync(context.Background(), "scheduled")
	if err != nil {
		t.Fatalf("sync after the rewrite: %v", err)
	}
	if r.Status != StatusSynced || r.Commit != b || r.EggsAdded != 1 || r.EggsUpdated != 1 || r.EggsRemoved != 1 || r.JobsSynced != 1 ||
		!strings.Contains(r.FullResyncReason, a) {
		t.Fatalf("result %+v", r)
	}
	if got := changeStrings(r.Changes); !slices.Equal(got, []string{"removed Eggs/x/config.fly", "modified Eggs/y/config.fly", "added Eggs/z/config.fly", "removed Jobs/rotate.fly"}) {
		t.Fatalf("changes %v", got)
	}
	rows := e.eggRows(t)
	if !rows["x"].Removed || rows["y"].Removed || rows["y"].CPU != 4 || rows["y"].Commit != b || rows["z"].Removed || rows["z"].Commit != b {
		t.Fatalf("egg rows %+v", rows)
	}
	job := mustLoadJob(t, e)
	if !job.Removed {
		t.Fatalf("job after the rewrite: %+v, want removed", job)
	}
	h := e.history(t)
	if last := h[len(h)-1]; last.Status != "SUCCESS" || last.Commit != b || last.PreviousCommit != a || last.FullResyncReason != r.FullResyncReason {
		t.Fatalf("sync_history row %+v", last)
	}

	// The next commit diffs against b as usual.
	c := e.origin.Commit(t, map[string]string{"Eggs/z/config.fly": eggFile("z", 3, 6)})
	r2 := e.mustSync(t, "webhook")
	if r2.Status != StatusSynced || r2.Commit != c || r2.Previous != b || r2.FullResyncReason != "" || r2.EggsUpdated != 1 ||
		!slices.Equal(changeStrings(r2.Changes), []string{"modified Eggs/z/config.fly"}) {
		t.Fatalf("next sync %+v", r2)
	}
	// And another fresh replica diffs too: the log's files are b's and c's.
	repo2, err := gitrepo.Open(context.Background(), gitrepo.Config{URL: e.origin.URL, Dir: filepath.Join(t.TempDir(), "fresh-clone-2"), Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo2.Close() })
	e.repo = repo2
	e.s = e.newSyncer(t)
	e.origin.Commit(t, nil, "Eggs/y/config.fly")
	if r3 := e.mustSync(t, "scheduled"); r3.FullResyncReason != "" || r3.EggsRemoved != 1 || !slices.Equal(changeStrings(r3.Changes), []string{"removed Eggs/y/config.fly"}) {
		t.Fatalf("sync on a second fresh replica %+v", r3)
	}
}

func mustLoadJob(t *testing.T, e *env) events.JobSynced {
	t.Helper()
	recs, err := e.db.Events().Load(context.Background(), domain.JobStream("rotate"), 0)
	if err != nil {
		t.Fatal(err)
	}
	envs, err := e.codec.DecodeAll(recs)
	if err != nil || len(envs) == 0 {
		t.Fatalf("job stream: %d events, %v", len(envs), err)
	}
	return *envs[len(envs)-1].Payload.(*events.JobSynced)
}

// unreadableRepo fails every read of one commit with a disk error.
type unreadableRepo struct {
	Repo
	commit string
}

func (r unreadableRepo) Files(ctx context.Context, commit string) (map[string]string, error) {
	if commit == r.commit {
		return nil, errs.Errorf(errs.EUNAVAILABLE, "gitrepo: commit %s: read pack: input/output error", commit)
	}
	return r.Repo.Files(ctx, commit)
}

// Only a commit the repository does not hold leads to a full resync: a
// read error of the last synced commit fails the sync and changes nothing.
func TestUnreadableLastCommitFailsTheSync(t *testing.T) {
	e := mustEnv(t, map[string]string{"Eggs/x/config.fly": eggFile("x", 1, 2), "Eggs/y/config.fly": eggFile("y", 2, 2)})
	a := e.origin.Head()
	e.mustSync(t, "manual")
	e.origin.Commit(t, map[string]string{"Eggs/y/config.fly": eggFile("y", 2, 4)}, "Eggs/x/config.fly")
	s, err := New(Config{Repo: unreadableRepo{Repo: e.repo, commit: a}, Loader: fly.NewSyncLoader(), Handlers: e.h,
		LastSync: StoreLastSync(e.db.Events(), e.codec), Branch: "main", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Sync(context.Background(), "scheduled"); errs.Code(err) != errs.EUNAVAILABLE {
		t.Fatalf("Sync with the last commit unreadable: %v, want EUNAVAILABLE", err)
	}
	if got := e.nestTypes(t); !slices.Equal(got, []string{events.NestSyncedV1, events.NestSyncFailedV1}) {
		t.Fatalf("nest stream %v", got)
	}
	if f := e.lastFailure(t); !strings.Contains(f.Error, "input/output error") {
		t.Fatalf("failure %+v", f)
	}
	if rows := e.eggRows(t); rows["x"].Removed || rows["y"].CPU != 2 {
		t.Fatalf("egg rows changed: %+v", rows)
	}
}
