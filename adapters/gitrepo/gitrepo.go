// Package gitrepo reads the Nest repository with go-git: clone and fetch over
// file:// (or a plain path), https (a token as basic auth) and ssh (a deploy
// key), diff two commits and read the .fly files of one commit.
//
// The local clone is bare: there is no worktree to reset or to drift. Every
// read goes through git objects of one named commit (Diff, ReadFiles,
// ReadAll, Files), so a sync sees exactly one commit, whatever is pushed
// meanwhile. Fetch moves refs/remotes/origin/<branch> (forced, so a rewritten
// branch is followed) and returns the commit it points at.
//
// A Repo serialises its own operations (go-git's on-disk storage is not
// meant for concurrent use); it is safe to share.
package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Config says which repository to read and how.
type Config struct {
	// URL of the Nest: file:///path or a plain path, https://host/group/nest.git,
	// ssh://git@host/group/nest.git or git@host:group/nest.git.
	URL string
	// Dir is the local (bare) clone; it is created on first Open.
	Dir string
	// Branch to follow (default "main").
	Branch string
	// Auth is the secret URI of the credential: an access token for https,
	// a PEM private key (deploy key) for ssh. Empty means anonymous.
	Auth string
	// User is the https user name sent with the token (default "oauth2", as
	// GitLab expects; GitHub accepts "x-access-token") or the ssh user
	// (default "git").
	User string
	// Secrets resolves Auth; required when Auth is set.
	Secrets ports.Secrets
}

// Change actions.
const (
	Added    = "added"
	Modified = "modified"
	Removed  = "removed"
)

// Change is one .fly file that differs between two commits. Hash is the blob
// at the newer commit ("" when removed).
type Change struct {
	Path   string
	Action string
	Hash   string
}

// Repo is an opened Nest repository.
type Repo struct {
	mu      sync.Mutex
	cfg     Config
	repo    *git.Repository
	storage *filesystem.Storage
	auth    transport.AuthMethod
	remote  plumbing.ReferenceName
	// known are the credential values this Repo holds (the resolved token
	// or key, a password written into the URL): scrub removes them from
	// every error it returns.
	known []string
}

// Open opens the local clone in cfg.Dir, cloning cfg.URL into it first when
// it holds no repository. A clone of another URL in Dir is an EINVALID error.
func Open(ctx context.Context, cfg Config) (*Repo, error) {
	var known []string
	r, err := open(ctx, cfg, &known)
	return r, scrub(err, known)
}

func open(ctx context.Context, cfg Config, known *[]string) (*Repo, error) {
	if ep, err := transport.NewEndpoint(cfg.URL); err == nil && ep.Password != "" {
		*known = append(*known, ep.Password)
	}
	if cfg.URL == "" || cfg.Dir == "" {
		return nil, errs.Errorf(errs.EINVALID, "gitrepo: URL and Dir are required")
	}
	if cfg.Branch == "" {
		cfg.Branch = "main"
	}
	auth, secret, err := newAuth(ctx, cfg.URL, cfg.Auth, cfg.User, cfg.Secrets)
	if secret != "" {
		*known = append(*known, secret)
	}
	if err != nil {
		return nil, err
	}
	r := &Repo{cfg: cfg, auth: auth, remote: plumbing.NewRemoteReferenceName("origin", cfg.Branch), known: *known}
	st := openStorage(cfg.Dir)
	repo, err := git.Open(st, nil)
	switch {
	case err == nil:
		rem, err := repo.Remote("origin")
		if err != nil {
			_ = st.Close() // the open failed; its error is the one to report
			return nil, errs.Wrap(errs.EINVALID, err, "gitrepo: %s has no origin remote", cfg.Dir)
		}
		if urls := rem.Config().URLs; len(urls) == 0 || urls[0] != cfg.URL {
			_ = st.Close() // the open failed; its error is the one to report
			return nil, errs.Errorf(errs.EINVALID, "gitrepo: %s is a clone of %v, not %s", cfg.Dir, urls, redact(cfg.URL))
		}
	case errors.Is(err, git.ErrRepositoryNotExists):
		_ = st.Close() // reopened by the clone below
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: create %s", cfg.Dir)
		}
		st = openStorage(cfg.Dir)
		if _, local := localPath(cfg.URL); local {
			repo, err = r.cloneLocal(ctx, st)
		} else {
			repo, err = git.CloneContext(ctx, st, nil, &git.CloneOptions{
				URL: cfg.URL, Auth: auth, RemoteName: "origin",
				ReferenceName: plumbing.NewBranchReferenceName(cfg.Branch), SingleBranch: true, Tags: git.NoTags,
			})
			if err != nil {
				err = classify(err, "clone %s (branch %s)", redact(cfg.URL), cfg.Branch)
			}
		}
		if err != nil {
			_ = st.Close()            // the open failed; its error is the one to report
			_ = os.RemoveAll(cfg.Dir) // a failed clone leaves a partial repository behind
			return nil, err
		}
	default:
		_ = st.Close() // the open failed; its error is the one to report
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "gitrepo: open %s", cfg.Dir)
	}
	r.repo, r.storage = repo, st
	return r, nil
}

// openStorage opens the clone's object and ref storage with kept
// descriptors and exclusive access: go-git otherwise reopens the packfile
// for every object it reads.
func openStorage(dir string) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(),
		filesystem.Options{ExclusiveAccess: true, KeepDescriptors: true})
}

// Close releases the clone's open files.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.storage.Close()
}

// classify turns a go-git error into a coded one.
func classify(err error, format string, args ...any) error {
	msg := "gitrepo: " + fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, plumbing.ErrReferenceNotFound), errors.Is(err, transport.ErrRepositoryNotFound),
		errors.Is(err, transport.ErrEmptyRemoteRepository), errors.Is(err, git.NoMatchingRefSpecError{}):
		return errs.Wrap(errs.ENOTFOUND, err, "%s", msg)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return errs.Wrap(errs.EUNAUTHORIZED, err, "%s", msg)
	case errors.Is(err, transport.ErrInvalidAuthMethod):
		return errs.Wrap(errs.EINVALID, err, "%s", msg)
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "%s", msg)
}

// redact drops credentials written into a URL.
func redact(u string) string {
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		if at := strings.Index(rest, "@"); at >= 0 && (!strings.Contains(rest, "/") || at < strings.Index(rest, "/")) {
			return scheme + "://***@" + rest[at+1:]
		}
	}
	return u
}

// NewAuth builds the transport credentials for rawURL from the secret
// secretURI: a token as basic auth for http(s), a PEM private key for ssh,
// nothing for file:// and plain paths (a secret given there is EINVALID).
func NewAuth(ctx context.Context, rawURL, secretURI, user string, secrets ports.Secrets) (transport.AuthMethod, error) {
	auth, secret, err := newAuth(ctx, rawURL, secretURI, user, secrets)
	return auth, scrub(err, []string{secret})
}

// newAuth is NewAuth that also returns the resolved credential's value,
// for scrub ("" when none was resolved).
func newAuth(ctx context.Context, rawURL, secretURI, user string, secrets ports.Secrets) (transport.AuthMethod, string, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, "", errs.Wrap(errs.EINVALID, err, "gitrepo: URL %q", redact(rawURL))
	}
	if secretURI == "" {
		return nil, "", nil
	}
	if secrets == nil {
		return nil, "", errs.Errorf(errs.EINVALID, "gitrepo: auth %s needs a secrets backend", secretURI)
	}
	switch ep.Protocol {
	case "http", "https":
		tok, err := secrets.Resolve(ports.WithSecretScope(ctx, ports.SecretScope{Purpose: "Nest access token"}), secretURI)
		if err != nil {
			return nil, "", err
		}
		if user == "" {
			user = "oauth2"
		}
		t := strings.TrimSpace(string(tok))
		if t == "" {
			return nil, "", errs.Errorf(errs.EINVALID, "gitrepo: token secret %s is empty", secretURI)
		}
		return &http.BasicAuth{Username: user, Password: t}, t, nil
	case "ssh":
		key, err := secrets.Resolve(ports.WithSecretScope(ctx, ports.SecretScope{Purpose: "Nest deploy key"}), secretURI)
		if err != nil {
			return nil, "", err
		}
		if user == "" {
			user = ep.User
		}
		if user == "" {
			user = "git"
		}
		pk, err := ssh.NewPublicKeys(user, key, "")
		if err != nil {
			// The parse error says what is wrong with the key, not what it holds.
			return nil, string(key), errs.Errorf(errs.EINVALID, "gitrepo: ssh key secret %s is not a usable unencrypted PEM private key", secretURI)
		}
		return pk, string(key), nil
	default:
		return nil, "", errs.Errorf(errs.EINVALID, "gitrepo: %s URLs take no credentials, but auth %s was given", ep.Protocol, secretURI)
	}
}

// scrubbedError is an error's text with the credentials removed; Unwrap
// still reaches the original for errors.Is and errors.As.
type scrubbedError struct {
	text string
	err  error
}

func (e *scrubbedError) Error() string { return e.text }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub returns err with every credential removed from its text (the
// values in known, URL userinfo and query values, see domain.Redact),
// keeping its code and its chain for errors.Is. Every error a Repo returns
// goes through it: callers record the text (nest.sync_failed) and log it.
func scrub(err error, known []string) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		return &scrubbedError{text: domain.Redact(err.Error(), known...), err: err}
	}
	out := &errs.Error{Code: e.Code, Message: domain.Redact(e.Message, known...)}
	if e.Err != nil {
		out.Err = &scrubbedError{text: domain.Redact(e.Err.Error(), known...), err: e.Err}
	}
	return out
}

// Fetch brings origin/<branch> up to date and returns the commit it points at.
func (r *Repo) Fetch(ctx context.Context) (_ string, err error) {
	defer func() { err = scrub(err, r.known) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	if path, ok := localPath(r.cfg.URL); ok {
		moved, err := r.fetchLocal(ctx, path)
		if err != nil {
			return "", err
		}
		return r.afterFetch(moved)
	}
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(r.cfg.Branch), r.remote))
	err = r.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: r.auth, Tags: git.NoTags, Force: true})
	upToDate := errors.Is(err, git.NoErrAlreadyUpToDate)
	if err != nil && !upToDate {
		return "", classify(err, "fetch %s (branch %s)", redact(r.cfg.URL), r.cfg.Branch)
	}
	return r.afterFetch(!upToDate)
}

// afterFetch keeps the clone's packfiles few (only a fetch that brought
// something adds one), then returns the head.
func (r *Repo) afterFetch(fetched bool) (string, error) {
	if fetched {
		if err := r.consolidatePacks(); err != nil {
			return "", err
		}
	}
	return r.headLocked()
}

// Head returns the commit origin/<branch> pointed at after the last fetch.
func (r *Repo) Head(ctx context.Context) (_ string, err error) {
	defer func() { err = scrub(err, r.known) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.headLocked()
}

func (r *Repo) headLocked() (string, error) {
	ref, err := r.repo.Reference(r.remote, true)
	if err != nil {
		return "", classify(err, "branch %s", r.cfg.Branch)
	}
	return ref.Hash().String(), nil
}

func (r *Repo) tree(commit string) (*object.Tree, error) {
	if !plumbing.IsHash(commit) {
		return nil, errs.Errorf(errs.EINVALID, "gitrepo: %q is not a commit hash", commit)
	}
	c, err := r.repo.CommitObject(plumbing.NewHash(commit))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		// The clone does not hold it: never fetched, or no longer on the
		// branch (a rewritten history). Only the commit itself: a tree or
		// blob missing under a commit that is there is a broken clone.
		return nil, errs.Wrap(errs.ENOTFOUND, err, "gitrepo: commit %s", commit)
	}
	if err != nil {
		return nil, classify(err, "commit %s", commit)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, classify(err, "tree of %s", commit)
	}
	return t, nil
}

// IsFly reports whether a repository path is a .fly file.
func IsFly(p string) bool { return strings.HasSuffix(p, ".fly") }

// Diff returns the .fly files that differ between commits from and to,
// sorted by path. An empty from means the empty tree: every file is added.
func (r *Repo) Diff(ctx context.Context, from, to string) (_ []Change, err error) {
	defer func() { err = scrub(err, r.known) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	toTree, err := r.tree(to)
	if err != nil {
		return nil, err
	}
	var fromTree *object.Tree
	if from != "" {
		if fromTree, err = r.tree(from); err != nil {
			return nil, err
		}
	}
	var out []Change
	if err := r.diffTrees(ctx, fromTree, toTree, "", &out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// diffTrees appends the .fly files that differ between trees a and b (either
// may be nil), descending only into sub-trees whose hashes differ: a change
// to one file of a Nest of thousands reads a handful of tree objects.
func (r *Repo) diffTrees(ctx context.Context, a, b *object.Tree, prefix string, out *[]Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var ea, eb []object.TreeEntry
	if a != nil {
		ea = a.Entries
	}
	if b != nil {
		eb = b.Entries
	}
	old := make(map[string]object.TreeEntry, len(ea))
	for _, e := range ea {
		old[e.Name] = e
	}
	sub := func(e object.TreeEntry, ok bool) (*object.Tree, error) {
		if !ok || e.Mode != filemode.Dir {
			return nil, nil
		}
		t, err := r.repo.TreeObject(e.Hash)
		if err != nil {
			return nil, classify(err, "tree %s", path.Join(prefix, e.Name))
		}
		return t, nil
	}
	isFly := func(e object.TreeEntry, ok bool) bool { return ok && e.Mode.IsFile() && IsFly(e.Name) }
	visit := func(name string, x object.TreeEntry, hasX bool, y object.TreeEntry, hasY bool) error {
		if hasX && hasY && x.Hash == y.Hash && x.Mode == y.Mode {
			return nil
		}
		p := path.Join(prefix, name)
		switch fx, fy := isFly(x, hasX), isFly(y, hasY); {
		case fx && fy:
			*out = append(*out, Change{Path: p, Action: Modified, Hash: y.Hash.String()})
		case fx:
			*out = append(*out, Change{Path: p, Action: Removed})
		case fy:
			*out = append(*out, Change{Path: p, Action: Added, Hash: y.Hash.String()})
		}
		tx, err := sub(x, hasX)
		if err != nil {
			return err
		}
		ty, err := sub(y, hasY)
		if err != nil {
			return err
		}
		if tx != nil || ty != nil {
			return r.diffTrees(ctx, tx, ty, p, out)
		}
		return nil
	}
	seen := make(map[string]bool, len(eb))
	for _, y := range eb {
		seen[y.Name] = true
		x, hasX := old[y.Name]
		if err := visit(y.Name, x, hasX, y, true); err != nil {
			return err
		}
	}
	for _, x := range ea {
		if !seen[x.Name] {
			if err := visit(x.Name, x, true, object.TreeEntry{}, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// Files returns every .fly file of commit with its blob hash, without
// reading the blobs.
func (r *Repo) Files(ctx context.Context, commit string) (_ map[string]string, err error) {
	defer func() { err = scrub(err, r.known) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := r.tree(commit)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = walkTree(ctx, r.repo, t, "", func(p string, e object.TreeEntry) error {
		out[p] = e.Hash.String()
		return nil
	})
	return out, err
}

// walkTree calls fn for every regular .fly file under t.
func walkTree(ctx context.Context, repo *git.Repository, t *object.Tree, prefix string, fn func(string, object.TreeEntry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, e := range t.Entries {
		p := path.Join(prefix, e.Name)
		switch {
		case e.Mode == filemode.Dir:
			sub, err := repo.TreeObject(e.Hash)
			if err != nil {
				return classify(err, "tree %s", p)
			}
			if err := walkTree(ctx, repo, sub, p, fn); err != nil {
				return err
			}
		case e.Mode.IsFile() && IsFly(p):
			if err := fn(p, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadAll returns the content of every .fly file of commit.
func (r *Repo) ReadAll(ctx context.Context, commit string) (_ map[string][]byte, err error) {
	defer func() { err = scrub(err, r.known) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := r.tree(commit)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	err = walkTree(ctx, r.repo, t, "", func(p string, e object.TreeEntry) error {
		b, err := r.blob(e.Hash)
		if err != nil {
			return classify(err, "read %s at %s", p, commit)
		}
		out[p] = b
		return nil
	})
	return out, err
}

// ReadFiles returns the content of paths at commit. A path missing from the
// commit is an ENOTFOUND error.
func (r *Repo) ReadFiles(ctx context.Context, commit string, paths []string) (_ map[string][]byte, err error) {
	defer func() { err = scrub(err, r.known) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := r.tree(commit)
	if err != nil {
		return nil, err
	}
	res := resolver{repo: r.repo, trees: map[string]map[string]object.TreeEntry{}}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := res.find(t, p)
		if err != nil {
			return nil, errs.Wrap(errs.ENOTFOUND, err, "gitrepo: %s not in %s", p, commit)
		}
		b, err := r.blob(h)
		if err != nil {
			return nil, classify(err, "read %s at %s", p, commit)
		}
		out[p] = b
	}
	return out, nil
}

// resolver finds files of one commit's tree, keeping every folder it
// opened by name so that many paths cost one read per folder.
type resolver struct {
	repo  *git.Repository
	trees map[string]map[string]object.TreeEntry // folder -> its entries by name
}

func (res *resolver) entries(dir string, root *object.Tree) (map[string]object.TreeEntry, error) {
	if m, ok := res.trees[dir]; ok {
		return m, nil
	}
	t := root
	if dir != "" {
		parentDir, name := path.Split(dir)
		parent, err := res.entries(strings.TrimSuffix(parentDir, "/"), root)
		if err != nil {
			return nil, err
		}
		e, ok := parent[name]
		if !ok || e.Mode != filemode.Dir {
			return nil, object.ErrDirectoryNotFound
		}
		if t, err = res.repo.TreeObject(e.Hash); err != nil {
			return nil, err
		}
	}
	m := make(map[string]object.TreeEntry, len(t.Entries))
	for _, e := range t.Entries {
		m[e.Name] = e
	}
	res.trees[dir] = m
	return m, nil
}

func (res *resolver) find(root *object.Tree, p string) (plumbing.Hash, error) {
	dir, name := path.Split(p)
	m, err := res.entries(strings.TrimSuffix(dir, "/"), root)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	e, ok := m[name]
	if !ok || !e.Mode.IsFile() {
		return plumbing.ZeroHash, object.ErrFileNotFound
	}
	return e.Hash, nil
}

func (r *Repo) blob(h plumbing.Hash) ([]byte, error) {
	b, err := r.repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	buf := make([]byte, 0, b.Size)
	w := &sliceWriter{buf}
	if _, err := io.Copy(w, rd); err != nil {
		return nil, err
	}
	return w.b, nil
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// ChangedFiles is Diff as a map: path -> blob hash at to, "" for a file
// removed at to (commands/nestsync's Repo).
func (r *Repo) ChangedFiles(ctx context.Context, from, to string) (map[string]string, error) {
	changes, err := r.Diff(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(changes))
	for _, c := range changes {
		out[c.Path] = c.Hash
	}
	return out, nil
}
