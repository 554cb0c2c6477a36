// Package gitrepotest builds real Git repositories on disk for tests: a bare
// origin whose commits are written object by object with go-git (no
// worktree, no git binary), fast enough for Nests of thousands of files.
package gitrepotest

import (
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Origin is a bare repository with one branch.
type Origin struct {
	Dir    string // the bare repository
	URL    string // file:// URL of Dir
	Branch string
	repo   *git.Repository
	blobs  map[string]plumbing.Hash // path -> blob of the branch head
	head   plumbing.Hash
	when   time.Time
	known  map[plumbing.Hash]bool // objects written
}

// NewOrigin creates an empty bare repository in a temp directory whose
// HEAD names branch.
func NewOrigin(tb testing.TB, branch string) *Origin {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "origin.git")
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		tb.Fatalf("init origin: %v", err)
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))); err != nil {
		tb.Fatal(err)
	}
	return &Origin{Dir: dir, URL: "file://" + dir, Branch: branch, repo: repo, blobs: map[string]plumbing.Hash{}, known: map[plumbing.Hash]bool{},
		when: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// Commit writes the files in write (path -> content), deletes the paths in
// remove, commits on the branch and returns the commit hash.
func (o *Origin) Commit(tb testing.TB, write map[string]string, remove ...string) string {
	tb.Helper()
	for p, content := range write {
		h, err := o.store(func(obj plumbing.EncodedObject) error {
			obj.SetType(plumbing.BlobObject)
			w, err := obj.Writer()
			if err != nil {
				return err
			}
			if _, err := w.Write([]byte(content)); err != nil {
				return err
			}
			return w.Close()
		})
		if err != nil {
			tb.Fatalf("write blob %s: %v", p, err)
		}
		o.blobs[p] = h
	}
	for _, p := range remove {
		delete(o.blobs, p)
	}
	root, err := o.tree("")
	if err != nil {
		tb.Fatalf("write trees: %v", err)
	}
	o.when = o.when.Add(time.Minute)
	sig := object.Signature{Name: "test", Email: "test@example.com", When: o.when}
	c := &object.Commit{Author: sig, Committer: sig, Message: "commit\n", TreeHash: root}
	if !o.head.IsZero() {
		c.ParentHashes = []plumbing.Hash{o.head}
	}
	h, err := o.store(c.Encode)
	if err != nil {
		tb.Fatalf("write commit: %v", err)
	}
	if err := o.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(o.Branch), h)); err != nil {
		tb.Fatal(err)
	}
	o.head = h
	return h.String()
}

// Rewrite force-moves the branch to a new root commit holding only the
// files in write: an unrelated history, as a force-push of another
// repository's branch leaves it. It returns the new head.
func (o *Origin) Rewrite(tb testing.TB, write map[string]string) string {
	tb.Helper()
	o.blobs, o.head = map[string]plumbing.Hash{}, plumbing.ZeroHash
	return o.Commit(tb, write)
}

// RemoveBranch deletes the branch from the origin, as a push --delete does.
func (o *Origin) RemoveBranch(tb testing.TB) {
	tb.Helper()
	if err := o.repo.Storer.RemoveReference(plumbing.NewBranchReferenceName(o.Branch)); err != nil {
		tb.Fatal(err)
	}
}

// RestoreBranch points the branch at the last commit again.
func (o *Origin) RestoreBranch(tb testing.TB) {
	tb.Helper()
	if err := o.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(o.Branch), o.head)); err != nil {
		tb.Fatal(err)
	}
}

// Head returns the branch head ("" before the first commit).
func (o *Origin) Head() string {
	if o.head.IsZero() {
		return ""
	}
	return o.head.String()
}

func (o *Origin) store(encode func(plumbing.EncodedObject) error) (plumbing.Hash, error) {
	obj := o.repo.Storer.NewEncodedObject()
	if err := encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h := obj.Hash()
	if o.known[h] {
		return h, nil
	}
	o.known[h] = true
	return o.repo.Storer.(storer.EncodedObjectStorer).SetEncodedObject(obj)
}

// tree writes the trees of the files and returns the root's hash.
func (o *Origin) tree(string) (plumbing.Hash, error) {
	files := map[string][]object.TreeEntry{}   // dir -> its files
	dirs := map[string]map[string]bool{"": {}} // dir -> its sub-folder names
	for p, h := range o.blobs {
		dir, name := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		files[dir] = append(files[dir], object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
		for d := dir; d != ""; {
			parent, base := path.Split(d)
			parent = strings.TrimSuffix(parent, "/")
			if dirs[parent] == nil {
				dirs[parent] = map[string]bool{}
			}
			if dirs[parent][base] {
				break
			}
			dirs[parent][base] = true
			d = parent
		}
	}
	var write func(dir string) (plumbing.Hash, error)
	write = func(dir string) (plumbing.Hash, error) {
		entries := slices.Clone(files[dir])
		for name := range dirs[dir] {
			h, err := write(path.Join(dir, name))
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// Git orders entries by name, directories as if they ended in '/'.
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
		t := &object.Tree{Entries: entries}
		return o.store(t.Encode)
	}
	return write("")
}

// Repack packs every object of the origin, as a Git server keeps its
// repositories: serving a fetch from thousands of loose objects would
// measure the test origin, not the client.
func (o *Origin) Repack(tb testing.TB) {
	tb.Helper()
	if err := o.repo.RepackObjects(&git.RepackConfig{}); err != nil {
		tb.Fatalf("repack origin: %v", err)
	}
}
