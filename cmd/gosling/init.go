package main

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// skeleton is the Nest that init writes: commented examples that validate
// and are in canonical format (TestSkeleton_* holds them to it).
//
//go:embed all:skeleton
var skeleton embed.FS

// nestDirs are the top-level folders of a Nest; any of them in the target
// directory means a Nest is already there.
var nestDirs = []string{"Eggs", "Jobs", "UF", "MG"}

const (
	initCommitMessage = "gosling init"
	defaultGitName    = "gosling"
	defaultGitEmail   = "gosling@localhost"
)

func initCommand(a *App) *cobra.Command {
	var force, noGit bool
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "create a Nest with commented examples, as a Git repository with a first commit",
		Long: `init writes a Nest into DIR (default: the current directory, created if
missing): Eggs/example-egg/config.fly, Jobs/check-nest.fly,
UF/config.fly and MG/config.fly with comments, a README.md and a .gitignore.
The examples validate as they are. The example egg is a local egg (its runners
are processes on the MotherGoose machine) whose webhook secret and runner
token are files in DIR/.secrets/, which init writes with random values (0600)
unless they exist; .secrets/ is in the .gitignore and never committed. It then runs the equivalent of git init
(branch main, unless DIR is already a repository) and commits the files as
"gosling init", authored by your Git user.name/user.email or
gosling <gosling@localhost>.

init refuses a DIR that already has Eggs/, Jobs/, UF/ or MG/ unless --force,
which overwrites the example files. An existing README.md or .gitignore is
kept unless --force.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.runInit(dir, force, noGit)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "write the examples even where a Nest already exists, overwriting files of the same name")
	c.Flags().BoolVar(&noGit, "no-git", false, "write the files only: no git init, no commit")
	return c
}

func (a *App) runInit(arg string, force, noGit bool) error {
	dir := a.path(arg)
	if !force {
		for _, d := range nestDirs {
			if _, err := os.Lstat(filepath.Join(dir, d)); err == nil {
				return errs.Errorf(errs.ECONFLICT, "%s already holds a Nest (%s/ exists); use --force to write the examples anyway", arg, d)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	written, kept, err := writeSkeleton(dir, force)
	if err != nil {
		return err
	}
	for _, k := range kept {
		fmt.Fprintf(a.Stdout, "kept the existing %s\n", k)
	}
	made, err := writeExampleSecrets(dir)
	if err != nil {
		return fmt.Errorf("the example egg's secrets: %w", err)
	}
	for _, m := range made {
		fmt.Fprintf(a.Stdout, "wrote %s (0600, a random value; not committed: .secrets/ is in .gitignore)\n", filepath.Join(arg, secretsDir, m))
	}
	fmt.Fprintf(a.Stdout, "Created a Nest in %s\n", arg)
	if !noGit {
		hash, err := a.commitInit(dir, written)
		if err != nil {
			return fmt.Errorf("git: %w (the files are written; commit them yourself)", err)
		}
		if hash.IsZero() {
			fmt.Fprintln(a.Stdout, "Nothing new to commit.")
		} else {
			fmt.Fprintf(a.Stdout, "Committed %d files as %q (%s).\n", len(written), initCommitMessage, hash.String()[:12])
		}
	}
	cd := ""
	if arg != "." {
		cd = "  cd " + arg + "\n"
	}
	fmt.Fprintf(a.Stdout, `
Next steps:
%s  gosling add egg my-service --project-id 42   # runners for a GitLab project (--group-id for a group)
  gosling remove egg example-egg --yes          # the example egg, and its eggs_entities entry
  gosling validate                              # check every file
  then adapt UF/ and MG/, commit, and push the Nest to the repository
  MotherGoose syncs from.
`, cd)
	return nil
}

// writeSkeleton writes the embedded Nest into dir and returns the slash
// paths it wrote and those it kept (an existing README.md or .gitignore
// without force).
func writeSkeleton(dir string, force bool) (written, kept []string, err error) {
	root, err := fs.Sub(skeleton, "skeleton")
	if err != nil {
		return nil, nil, err
	}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		inNest := path.Dir(p) != "."
		if _, statErr := os.Lstat(target); statErr == nil && !inNest && !force {
			kept = append(kept, p)
			return nil
		}
		data, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		if p == exampleEggFile {
			data = bytes.ReplaceAll(data, []byte(exampleSecretsPlaceholder), []byte(secretsURIPrefix(dir)))
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := writeFileAtomic(target, data, 0o644, true); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	})
	return written, kept, err
}

// commitInit opens the repository at dir (or creates it, on branch main),
// stages files and commits them. It returns the zero hash when the files
// were already committed as they are.
func (a *App) commitInit(dir string, files []string) (plumbing.Hash, error) {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInitWithOptions(dir, &git.PlainInitOptions{
			InitOptions: git.InitOptions{DefaultBranch: plumbing.Main},
		})
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, f := range files {
		if _, err := wt.Add(f); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("add %s: %w", f, err)
		}
	}
	sig := gitSignature(repo)
	sig.When = a.Now()
	hash, err := wt.Commit(initCommitMessage, &git.CommitOptions{Author: &sig})
	if errors.Is(err, git.ErrEmptyCommit) {
		return plumbing.ZeroHash, nil
	}
	return hash, err
}

// gitSignature is the user from the repository's Git configuration (local,
// then global, then system), or gosling <gosling@localhost>.
func gitSignature(repo *git.Repository) object.Signature {
	sig := object.Signature{Name: defaultGitName, Email: defaultGitEmail}
	cfg, err := repo.ConfigScoped(gitconfig.SystemScope)
	if err != nil {
		return sig
	}
	if cfg.User.Name != "" && cfg.User.Email != "" {
		sig.Name, sig.Email = cfg.User.Name, cfg.User.Email
	}
	return sig
}

// The example egg is a local egg whose secrets are files in the Nest's
// .secrets/ folder: the skeleton names them under a placeholder that init
// replaces with the Nest's absolute path, and init writes them (0600,
// random values) unless they exist. .secrets/ is in the skeleton's
// .gitignore, so they are never committed.
const (
	exampleEggFile            = "Eggs/example-egg/config.fly"
	exampleSecretsPlaceholder = "file:///NEST/.secrets/"
	secretsDir                = ".secrets"
)

// exampleSecretFiles are the files of .secrets/ the example egg names.
var exampleSecretFiles = []string{"example-egg-runner-token", "example-egg-webhook-secret"}

// secretsURIPrefix is "file://<abs dir>/.secrets/"; a directory whose path
// cannot be spelled in a secret URI or an HCL string keeps the placeholder
// (validate then accepts the egg, serve says the secrets do not resolve).
func secretsURIPrefix(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil || !filepath.IsAbs(abs) || filepath.Separator != '/' ||
		strings.ContainsAny(abs, "\"${}%?# \t\n\r") {
		return exampleSecretsPlaceholder
	}
	return "file://" + filepath.ToSlash(abs) + "/" + secretsDir + "/"
}

// writeExampleSecrets creates dir/.secrets (0700) and the example egg's
// secret files that are missing (0600, 32 random bytes in hex); it returns
// the names it wrote.
func writeExampleSecrets(dir string) ([]string, error) {
	sdir := filepath.Join(dir, secretsDir)
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return nil, err
	}
	var made []string
	for _, name := range exampleSecretFiles {
		p := filepath.Join(sdir, name)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		_, werr := f.WriteString(hex.EncodeToString(b)) // no newline: the value is what GitLab is given
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, werr
		}
		made = append(made, name)
	}
	return made, nil
}
