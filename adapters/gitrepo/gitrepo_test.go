package gitrepo_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
	cryptossh "golang.org/x/crypto/ssh"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func mustOpen(t *testing.T, o *gitrepotest.Origin) *gitrepo.Repo {
	t.Helper()
	r, err := gitrepo.Open(context.Background(), gitrepo.Config{URL: o.URL, Dir: filepath.Join(t.TempDir(), "clone"), Branch: o.Branch})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestCloneFetchDiffRead(t *testing.T) {
	ctx := context.Background()
	o := gitrepotest.NewOrigin(t, "main")
	c1 := o.Commit(t, map[string]string{
		"Eggs/a/config.fly": "a1", "Eggs/b/config.fly": "b1", "Jobs/j.fly": "j1", "README.md": "hello",
	})
	r := mustOpen(t, o)
	head, err := r.Fetch(ctx)
	if err != nil || head != c1 {
		t.Fatalf("Fetch = %s, %v; want %s", head, err, c1)
	}
	all, err := r.ReadAll(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || string(all["Eggs/a/config.fly"]) != "a1" || all["README.md"] != nil {
		t.Fatalf("ReadAll = %v", all)
	}

	c2 := o.Commit(t, map[string]string{"Eggs/a/config.fly": "a2", "Eggs/c/config.fly": "c1", "README.md": "changed"}, "Jobs/j.fly")
	if head, err := r.Head(ctx); err != nil || head != c1 {
		t.Fatalf("Head before fetch = %s, %v; want %s", head, err, c1)
	}
	head, err = r.Fetch(ctx)
	if err != nil || head != c2 {
		t.Fatalf("Fetch after commit = %s, %v; want %s", head, err, c2)
	}
	changes, err := r.Diff(ctx, c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Action+" "+c.Path)
	}
	want := []string{"modified Eggs/a/config.fly", "added Eggs/c/config.fly", "removed Jobs/j.fly"}
	if !slices.Equal(got, want) {
		t.Fatalf("Diff = %v, want %v (README.md ignored)", got, want)
	}
	files, err := r.ReadFiles(ctx, c2, []string{"Eggs/a/config.fly", "Eggs/c/config.fly"})
	if err != nil || string(files["Eggs/a/config.fly"]) != "a2" || string(files["Eggs/c/config.fly"]) != "c1" {
		t.Fatalf("ReadFiles = %v, %v", files, err)
	}
	// Reads are of the named commit, not of the newest one.
	old, err := r.ReadFiles(ctx, c1, []string{"Eggs/a/config.fly"})
	if err != nil || string(old["Eggs/a/config.fly"]) != "a1" {
		t.Fatalf("ReadFiles at c1 = %v, %v", old, err)
	}
	if _, err := r.ReadFiles(ctx, c2, []string{"Jobs/j.fly"}); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("ReadFiles of a removed file: %v, want ENOTFOUND", err)
	}
	blobs, err := r.Files(ctx, c2)
	if err != nil || len(blobs) != 3 || blobs["Eggs/a/config.fly"] != changes[0].Hash {
		t.Fatalf("Files = %v, %v", blobs, err)
	}
	first, err := r.Diff(ctx, "", c2)
	if err != nil || len(first) != 3 || first[0].Action != gitrepo.Added {
		t.Fatalf("Diff from nothing = %v, %v", first, err)
	}
	if none, err := r.Diff(ctx, c2, c2); err != nil || len(none) != 0 {
		t.Fatalf("Diff of a commit with itself = %v, %v", none, err)
	}
}

func TestReopenExistingClone(t *testing.T) {
	ctx := context.Background()
	o := gitrepotest.NewOrigin(t, "main")
	c1 := o.Commit(t, map[string]string{"UF/config.fly": "u"})
	dir := filepath.Join(t.TempDir(), "clone")
	if _, err := gitrepo.Open(ctx, gitrepo.Config{URL: o.URL, Dir: dir, Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	r, err := gitrepo.Open(ctx, gitrepo.Config{URL: o.URL, Dir: dir, Branch: "main"})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if head, err := r.Fetch(ctx); err != nil || head != c1 {
		t.Fatalf("Fetch = %s, %v", head, err)
	}
	other := gitrepotest.NewOrigin(t, "main")
	other.Commit(t, map[string]string{"UF/config.fly": "u"})
	if _, err := gitrepo.Open(ctx, gitrepo.Config{URL: other.URL, Dir: dir, Branch: "main"}); errs.Code(err) != errs.EINVALID {
		t.Fatalf("open a clone of another URL: %v, want EINVALID", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	o := gitrepotest.NewOrigin(t, "main")
	o.Commit(t, map[string]string{"UF/config.fly": "u"})
	tests := []struct {
		name   string
		url    string
		branch string
		code   string
	}{
		{name: "missing_repository", url: "file://" + filepath.Join(t.TempDir(), "nope"), branch: "main", code: errs.ENOTFOUND},
		{name: "missing_branch", url: o.URL, branch: "develop", code: errs.ENOTFOUND},
		{name: "bad_url", url: "ht!tp://bad url", branch: "main", code: errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clone")
			_, err := gitrepo.Open(ctx, gitrepo.Config{URL: tc.url, Dir: dir, Branch: tc.branch})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if tc.code != "" && errs.Code(err) != tc.code {
				t.Fatalf("Open: %v, want %s", err, tc.code)
			}
			if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
				t.Fatalf("a failed clone left %s behind", dir)
			}
		})
	}
}

func writeSecret(t *testing.T, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

func TestNewAuth(t *testing.T) {
	ctx := context.Background()
	sec := secrets.NewLocal()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := cryptossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyURI := writeSecret(t, pem.EncodeToMemory(block))
	tokenURI := writeSecret(t, []byte("glpat-token\n"))

	t.Run("https_token", func(t *testing.T) {
		a, err := gitrepo.NewAuth(ctx, "https://gitlab.com/ops/nest.git", tokenURI, "", sec)
		ba, ok := a.(*http.BasicAuth)
		if err != nil || !ok || ba.Username != "oauth2" || ba.Password != "glpat-token" {
			t.Fatalf("NewAuth = %#v, %v", a, err)
		}
	})
	t.Run("https_user", func(t *testing.T) {
		a, err := gitrepo.NewAuth(ctx, "https://github.com/ops/nest.git", tokenURI, "x-access-token", sec)
		if ba, ok := a.(*http.BasicAuth); err != nil || !ok || ba.Username != "x-access-token" {
			t.Fatalf("NewAuth = %#v, %v", a, err)
		}
	})
	for _, u := range []string{"ssh://git@gitlab.com/ops/nest.git", "git@gitlab.com:ops/nest.git"} {
		t.Run("ssh_key_"+u[:3], func(t *testing.T) {
			a, err := gitrepo.NewAuth(ctx, u, keyURI, "", sec)
			pk, ok := a.(*ssh.PublicKeys)
			if err != nil || !ok || pk.User != "git" || pk.Signer == nil {
				t.Fatalf("NewAuth = %#v, %v", a, err)
			}
		})
	}
	cases := []struct {
		name, url, secret, code string
	}{
		{name: "ssh_malformed_key", url: "ssh://git@gitlab.com/ops/nest.git", secret: writeSecret(t, []byte("not a key")), code: errs.EINVALID},
		{name: "https_missing_secret", url: "https://gitlab.com/ops/nest.git", secret: "env://GOSLING_NO_SUCH_VAR_42", code: errs.ENOTFOUND},
		{name: "https_empty_token", url: "https://gitlab.com/ops/nest.git", secret: writeSecret(t, []byte(" \n")), code: errs.EINVALID},
		{name: "file_with_auth", url: "file:///tmp/nest", secret: tokenURI, code: errs.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := gitrepo.NewAuth(ctx, tc.url, tc.secret, "", sec); errs.Code(err) != tc.code {
				t.Fatalf("NewAuth: %v, want %s", err, tc.code)
			}
		})
	}
	if a, err := gitrepo.NewAuth(ctx, "https://gitlab.com/ops/nest.git", "", "", nil); err != nil || a != nil {
		t.Fatalf("anonymous NewAuth = %v, %v", a, err)
	}
}

// A commit the clone does not hold (a fresh clone after the branch was
// rewritten) is ENOTFOUND, which nestsync tells apart from a read error.
func TestCommitNotInTheClone_is_ENOTFOUND(t *testing.T) {
	ctx := context.Background()
	o := gitrepotest.NewOrigin(t, "main")
	old := o.Commit(t, map[string]string{"Eggs/a/config.fly": "a"})
	o.Rewrite(t, map[string]string{"Eggs/b/config.fly": "b"})
	r, err := gitrepo.Open(ctx, gitrepo.Config{URL: o.URL, Dir: filepath.Join(t.TempDir(), "clone"), Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Files(ctx, old); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("Files of a commit not in the clone: %v, want ENOTFOUND", err)
	}
	if _, err := r.ChangedFiles(ctx, old, o.Head()); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("ChangedFiles from a commit not in the clone: %v, want ENOTFOUND", err)
	}
}
