package gitrepo

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// MaxPacks bounds the clone's packfiles. Every fetch that brings something
// adds one; go-git looks an object up in each pack in turn and, with kept
// descriptors, holds each open, so a long-running MotherGoose would slow
// down and, after about a thousand Nest changes, run out of file
// descriptors. Past MaxPacks, the packs are merged into one.
const MaxPacks = 32

// consolidatePacks merges every pack into one when there are more than
// MaxPacks. It keeps every object, reachable or not: the commit a sync last
// applied is named in the event log, not by a ref, and may be unreachable
// after a force-push, yet the next sync diffs against it. The new pack is
// complete before an old one is removed, so a crash leaves duplicates at
// worst. The storage is reopened afterwards: go-git caches the pack list
// and descriptors of the removed files.
func (r *Repo) consolidatePacks() error {
	old, err := packsOnDisk(r.cfg.Dir)
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: list packs of %s", r.cfg.Dir)
	}
	if len(old) <= MaxPacks {
		return nil
	}
	iter, err := r.storage.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: list objects of %s", r.cfg.Dir)
	}
	seen := map[plumbing.Hash]bool{}
	var all []plumbing.Hash
	err = iter.ForEach(func(o plumbing.EncodedObject) error {
		if h := o.Hash(); !seen[h] {
			seen[h] = true
			all = append(all, h)
		}
		return nil
	})
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: read objects of %s", r.cfg.Dir)
	}
	w, err := r.storage.PackfileWriter()
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: write a pack in %s", r.cfg.Dir)
	}
	if _, err := packfile.NewEncoder(w, r.storage, false).Encode(all, 10); err != nil {
		_ = w.Close() // the encoding error is the one to report
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: merge the packs of %s", r.cfg.Dir)
	}
	if err := w.Close(); err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: merge the packs of %s", r.cfg.Dir)
	}
	// Packs are listed from the directory: go-git caches its list.
	now, err := packsOnDisk(r.cfg.Dir)
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: list packs of %s", r.cfg.Dir)
	}
	merged := slices.DeleteFunc(now, func(h plumbing.Hash) bool { return slices.Contains(old, h) })
	if len(merged) != 1 {
		return errs.Errorf(errs.EINTERNAL, "gitrepo: merging the packs of %s gave %d new packs, want 1", r.cfg.Dir, len(merged))
	}
	for _, h := range old {
		if err := r.storage.DeleteOldObjectPackAndIndex(h, time.Time{}); err != nil {
			return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: remove a merged pack of %s", r.cfg.Dir)
		}
	}
	if err := r.storage.Close(); err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: close %s", r.cfg.Dir)
	}
	st := openStorage(r.cfg.Dir)
	repo, err := git.Open(st, nil)
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: reopen %s", r.cfg.Dir)
	}
	r.repo, r.storage = repo, st
	return nil
}

// packsOnDisk lists the pack hashes in dir's objects/pack.
func packsOnDisk(dir string) ([]plumbing.Hash, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "objects", "pack"))
	if err != nil {
		return nil, err
	}
	var out []plumbing.Hash
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), "pack-")
		if !ok {
			continue
		}
		if name, ok = strings.CutSuffix(name, ".pack"); ok && plumbing.IsHash(name) {
			out = append(out, plumbing.NewHash(name))
		}
	}
	return out, nil
}
