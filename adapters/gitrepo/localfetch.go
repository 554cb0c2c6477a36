package gitrepo

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// A Nest on this machine (file:// or a plain path) is fetched by reading
// its repository directly, as git itself does for local clones, instead of
// speaking the pack protocol: go-git would start git-upload-pack for every
// fetch (a process start for each sync, most of which find nothing new),
// and go-git's in-process upload-pack walks every object of the old commit
// to work out what to send. Reading the branch ref and copying only the
// objects the clone lacks costs a few milliseconds and grows with the size
// of the change, not of the Nest. The first clone is the same copy into an
// empty repository, so a local Nest needs no git installation at all.

// localPath returns the repository path of a file:// URL or plain path.
func localPath(rawURL string) (string, bool) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil || ep.Protocol != "file" {
		return "", false
	}
	return ep.Path, true
}

// cloneLocal makes st a clone of the local origin: an empty repository
// with the origin remote (as a protocol clone records it), then a fetch.
func (r *Repo) cloneLocal(ctx context.Context, st *filesystem.Storage) (*git.Repository, error) {
	path, _ := localPath(r.cfg.URL)
	repo, err := git.Init(st, nil)
	if err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: init %s", r.cfg.Dir)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{
		Name: "origin", URLs: []string{r.cfg.URL},
		Fetch: []config.RefSpec{config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(r.cfg.Branch), r.remote))},
	}); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: record the origin of %s", r.cfg.Dir)
	}
	r.repo, r.storage = repo, st
	if _, err := r.fetchLocal(ctx, path); err != nil {
		return nil, err
	}
	return repo, nil
}

// fetchLocal points origin/<branch> at the origin's branch, first copying
// the objects of the new commits that the clone does not have. It reports
// whether the branch had moved. The origin is opened afresh each time:
// go-git caches a repository's pack indexes, and a push into the origin
// may add packs.
func (r *Repo) fetchLocal(ctx context.Context, path string) (moved bool, err error) {
	src, err := git.PlainOpen(path)
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return false, errs.Wrap(errs.ENOTFOUND, err, "gitrepo: fetch %s: no repository there", path)
		}
		return false, errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: fetch %s", path)
	}
	ref, err := src.Reference(plumbing.NewBranchReferenceName(r.cfg.Branch), true)
	if err != nil {
		return false, classify(err, "fetch %s (branch %s)", path, r.cfg.Branch)
	}
	// The tree of the commit the clone has now: what the new commit
	// shares with it is not looked up object by object.
	var have *object.Tree
	if cur, err := r.repo.Reference(r.remote, true); err == nil {
		if cur.Hash() == ref.Hash() {
			return false, nil // nothing new
		}
		if c, err := object.GetCommit(r.storage, cur.Hash()); err == nil {
			have, _ = c.Tree() // without it, every object is looked up
		}
	}
	if err := copyObjects(ctx, src.Storer, r.storage, ref.Hash(), have); err != nil {
		return false, classify(err, "fetch %s (branch %s)", path, r.cfg.Branch)
	}
	if err := r.storage.SetReference(plumbing.NewHashReference(r.remote, ref.Hash())); err != nil {
		return false, errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: move %s", r.remote)
	}
	return true, nil
}

// copyObjects copies commit and every object it reaches that dst lacks,
// as one packfile, the way a fetch stores what it receives: written whole
// (a temporary file renamed into place with its index) or not at all, and
// one file instead of a loose object each. What to copy is worked out
// first, without writing: go-git forgets its listing of loose objects at
// every write, so interleaving checks and writes would list the directory
// again for every object.
//
// have is the root tree of a commit dst holds (nil for none). The new
// commit's trees are walked beside it: an entry with the hash it has there
// is in dst with everything below it, so only the paths that changed are
// looked up (a changed file in a Nest of 5,000 eggs costs a handful of
// lookups, not 5,000).
func copyObjects(ctx context.Context, src storer.EncodedObjectStorer, dst *filesystem.Storage, commit plumbing.Hash, have *object.Tree) error {
	m := missingObjects{ctx: ctx, src: src, dst: dst, seen: map[plumbing.Hash]bool{}, have: have}
	if err := m.walk(commit, nil); err != nil {
		return err
	}
	if len(m.hashes) == 0 {
		return nil
	}
	w, err := dst.PackfileWriter()
	if err != nil {
		return err
	}
	if _, err := packfile.NewEncoder(w, src, false).Encode(m.hashes, 0); err != nil {
		_ = w.Close() // the encoding error is the one to report
		return err
	}
	return w.Close()
}

// missingObjects collects an object and everything it reaches that dst
// lacks. An object dst has ends the walk below it: objects only ever reach
// dst in packfiles holding everything they reach (clone, fetch, copyObjects).
type missingObjects struct {
	ctx    context.Context
	src    storer.EncodedObjectStorer
	dst    *filesystem.Storage
	seen   map[plumbing.Hash]bool
	hashes []plumbing.Hash
	have   *object.Tree // the root tree of a commit dst holds, or nil
}

// walk collects h and what it reaches that dst lacks. old is the tree of
// dst's commit at the same path when h is a tree (nil if there is none).
func (m *missingObjects) walk(h plumbing.Hash, old *object.Tree) error {
	if m.seen[h] {
		return nil
	}
	m.seen[h] = true
	if err := m.ctx.Err(); err != nil {
		return err
	}
	// Not HasEncodedObject: on a storage opened with ExclusiveAccess,
	// go-git v5 answers "not found" there for every packed object, which
	// would copy the whole history again. EncodedObjectSize looks in the
	// packs, reading an object header at most.
	switch _, err := m.dst.EncodedObjectSize(h); {
	case err == nil:
		return nil
	case !errors.Is(err, plumbing.ErrObjectNotFound):
		return err
	}
	obj, err := m.src.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return err
	}
	m.hashes = append(m.hashes, h)
	switch obj.Type() {
	case plumbing.CommitObject:
		commit, err := object.DecodeCommit(m.src, obj)
		if err != nil {
			return err
		}
		for _, p := range commit.ParentHashes {
			if err := m.walk(p, nil); err != nil {
				return err
			}
		}
		return m.walk(commit.TreeHash, m.have)
	case plumbing.TreeObject:
		tree, err := object.DecodeTree(m.src, obj)
		if err != nil {
			return err
		}
		var had map[string]object.TreeEntry
		if old != nil {
			had = make(map[string]object.TreeEntry, len(old.Entries))
			for _, e := range old.Entries {
				had[e.Name] = e
			}
		}
		for _, e := range tree.Entries {
			if e.Mode == filemode.Submodule {
				continue // a commit of another repository
			}
			prev, ok := had[e.Name]
			if ok && prev.Hash == e.Hash {
				continue // dst has it, and all below it
			}
			var sub *object.Tree
			if ok && prev.Mode == filemode.Dir && e.Mode == filemode.Dir {
				sub, _ = object.GetTree(m.dst, prev.Hash) // without it, the subtree's objects are looked up one by one
			}
			if err := m.walk(e.Hash, sub); err != nil {
				return err
			}
		}
	case plumbing.TagObject:
		tag, err := object.DecodeTag(m.src, obj)
		if err != nil {
			return err
		}
		return m.walk(tag.Target, nil)
	}
	return nil
}
