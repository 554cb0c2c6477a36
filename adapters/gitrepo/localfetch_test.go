package gitrepo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// worktreeOrigin is a repository with a worktree, as an operator's Nest
// checkout (gosling init) is, committed to through go-git's worktree.
type worktreeOrigin struct {
	dir  string
	repo *git.Repository
	when time.Time
}

func newWorktreeOrigin(t *testing.T) *worktreeOrigin {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "nest")
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	return &worktreeOrigin{dir: dir, repo: repo, when: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (o *worktreeOrigin) commit(t *testing.T, files map[string]string) string {
	t.Helper()
	wt, err := o.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		full := filepath.Join(o.dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	o.when = o.when.Add(time.Minute)
	sig := &object.Signature{Name: "op", Email: "op@example.com", When: o.when}
	h, err := wt.Commit("change", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// reset moves the branch (and worktree) back to commit, as a rewrite of
// the branch before a force-push does.
func (o *worktreeOrigin) reset(t *testing.T, commit string) {
	t.Helper()
	wt, err := o.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: plumbing.NewHash(commit), Mode: git.HardReset}); err != nil {
		t.Fatal(err)
	}
}

func TestFetch_local_worktree_origin_follows_new_and_rewritten_commits(t *testing.T) {
	ctx := context.Background()
	// No git binary is needed for a local Nest: none is on this PATH.
	t.Setenv("PATH", t.TempDir())
	o := newWorktreeOrigin(t)
	c1 := o.commit(t, map[string]string{"Eggs/a/config.fly": "a1", "Eggs/b/config.fly": "b1"})
	// A plain path, as --nest takes it.
	r, err := gitrepo.Open(ctx, gitrepo.Config{URL: o.dir, Dir: filepath.Join(t.TempDir(), "clone"), Branch: "main"})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	if head, err := r.Fetch(ctx); err != nil || head != c1 {
		t.Fatalf("Fetch = %s, %v; want %s", head, err, c1)
	}

	c2 := o.commit(t, map[string]string{"Eggs/a/config.fly": "a2", "Jobs/new/j.fly": "j"})
	if head, err := r.Fetch(ctx); err != nil || head != c2 {
		t.Fatalf("Fetch after a commit = %s, %v; want %s", head, err, c2)
	}
	changes, err := r.Diff(ctx, c1, c2)
	if err != nil || len(changes) != 2 || changes[0].Path != "Eggs/a/config.fly" || changes[1].Path != "Jobs/new/j.fly" {
		t.Fatalf("Diff c1..c2 = %v, %v", changes, err)
	}
	// Everything c2 reaches is in the clone: every file reads.
	all, err := r.ReadAll(ctx, c2)
	if err != nil || string(all["Eggs/a/config.fly"]) != "a2" || string(all["Eggs/b/config.fly"]) != "b1" || string(all["Jobs/new/j.fly"]) != "j" {
		t.Fatalf("ReadAll c2 = %v, %v", all, err)
	}

	// The branch is rewritten: c3's parent is c1, not c2.
	o.reset(t, c1)
	c3 := o.commit(t, map[string]string{"Eggs/b/config.fly": "b3"})
	if head, err := r.Fetch(ctx); err != nil || head != c3 {
		t.Fatalf("Fetch after a rewrite = %s, %v; want %s", head, err, c3)
	}
	changes, err = r.Diff(ctx, c2, c3)
	if err != nil || len(changes) != 3 {
		t.Fatalf("Diff c2..c3 = %v, %v; want a, b modified and j removed", changes, err)
	}
	// Nothing new: the head stays.
	if head, err := r.Fetch(ctx); err != nil || head != c3 {
		t.Fatalf("Fetch with nothing new = %s, %v", head, err)
	}
}

func TestFetch_local_origin_errors_leave_the_clone_usable(t *testing.T) {
	ctx := context.Background()
	o := gitrepotest.NewOrigin(t, "main")
	c1 := o.Commit(t, map[string]string{"UF/config.fly": "u1"})
	r := mustOpen(t, o)
	if _, err := r.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	c2 := o.Commit(t, map[string]string{"UF/config.fly": "u2", "Eggs/x/config.fly": "x"})

	// A cancelled fetch copies nothing it should not and moves no ref.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Fetch(cancelled); err == nil {
		t.Fatal("a fetch with a cancelled context succeeded")
	}
	if head, err := r.Head(ctx); err != nil || head != c1 {
		t.Fatalf("Head after a cancelled fetch = %s, %v; want %s", head, err, c1)
	}
	if head, err := r.Fetch(ctx); err != nil || head != c2 {
		t.Fatalf("Fetch after the cancelled one = %s, %v; want %s", head, err, c2)
	}

	// The origin loses its branch, then disappears.
	gone, err := git.PlainOpen(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Storer.RemoveReference(plumbing.NewBranchReferenceName("main")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Fetch(ctx); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("Fetch of a deleted branch: %v, want ENOTFOUND", err)
	}
	if err := os.RemoveAll(o.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Fetch(ctx); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("Fetch of a removed origin: %v, want ENOTFOUND", err)
	}
	if files, err := r.ReadFiles(ctx, c2, []string{"Eggs/x/config.fly"}); err != nil || string(files["Eggs/x/config.fly"]) != "x" {
		t.Fatalf("ReadFiles after failed fetches = %v, %v", files, err)
	}
}

// A fetch copies what is new, not the history again: after one changed
// file of many, the pack it adds is a small fraction of the clone's first.
func TestFetch_local_origin_copies_only_new_objects(t *testing.T) {
	ctx := context.Background()
	o := gitrepotest.NewOrigin(t, "main")
	files := map[string]string{}
	for i := range 300 {
		files[fmt.Sprintf("Eggs/egg-%03d/config.fly", i)] = incompressible(i, 1000)
	}
	o.Commit(t, files)
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := gitrepo.Open(ctx, gitrepo.Config{URL: o.URL, Dir: dir, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := r.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	before := packs(t, dir)
	c2 := o.Commit(t, map[string]string{"Eggs/egg-042/config.fly": "changed"})
	if head, err := r.Fetch(ctx); err != nil || head != c2 {
		t.Fatalf("Fetch = %s, %v; want %s", head, err, c2)
	}
	after := packs(t, dir)
	var first, added int64
	for name, size := range after {
		if _, ok := before[name]; ok {
			first += size
		} else {
			added += size
		}
	}
	if len(after) != len(before)+1 || added == 0 || added*10 > first {
		t.Fatalf("packs before %v, after %v: want one new pack under a tenth of the clone's (%d bytes), got %d", before, after, first, added)
	}
}

// packs returns the clone's pack files and their sizes.
func packs(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		st, err := os.Stat(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = st.Size()
	}
	return out
}

// incompressible is n pseudo-random letters, different for each seed.
func incompressible(seed, n int) string {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return string(b)
}

// Every fetch that brings something adds a pack; past MaxPacks they are
// merged, keeping every object: a commit a force-push left unreachable
// (the one a sync last applied, say) still reads.
func TestFetch_merges_packs_and_keeps_unreachable_commits(t *testing.T) {
	ctx := context.Background()
	o := newWorktreeOrigin(t)
	first := o.commit(t, map[string]string{"Eggs/a/config.fly": "a0"})
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := gitrepo.Open(ctx, gitrepo.Config{URL: o.dir, Dir: dir, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// A commit that the branch will lose.
	lost := o.commit(t, map[string]string{"Eggs/lost/config.fly": "only here"})
	if head, err := r.Fetch(ctx); err != nil || head != lost {
		t.Fatalf("Fetch = %s, %v", head, err)
	}
	o.reset(t, first)
	most := 0
	var head string
	for i := range gitrepo.MaxPacks + 8 {
		c := o.commit(t, map[string]string{"Eggs/a/config.fly": fmt.Sprintf("a%d", i+1)})
		if head, err = r.Fetch(ctx); err != nil || head != c {
			t.Fatalf("Fetch %d = %s, %v; want %s", i, head, err, c)
		}
		most = max(most, len(packs(t, dir)))
	}
	if n := len(packs(t, dir)); most > gitrepo.MaxPacks+1 || n >= gitrepo.MaxPacks {
		t.Fatalf("%d packs at most, %d at the end; want them merged past %d", most, n, gitrepo.MaxPacks)
	}
	files, err := r.ReadFiles(ctx, lost, []string{"Eggs/lost/config.fly"})
	if err != nil || string(files["Eggs/lost/config.fly"]) != "only here" {
		t.Fatalf("ReadFiles of the unreachable commit after merging = %v, %v", files, err)
	}
	if changes, err := r.Diff(ctx, lost, head); err != nil || len(changes) != 2 {
		t.Fatalf("Diff from the unreachable commit = %v, %v", changes, err)
	}
	all, err := r.ReadAll(ctx, head)
	if err != nil || string(all["Eggs/a/config.fly"]) != fmt.Sprintf("a%d", gitrepo.MaxPacks+8) {
		t.Fatalf("ReadAll of the head = %v, %v", all, err)
	}
}
