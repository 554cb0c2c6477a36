package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/cmd/internal/docmentions"
)

// TestDocs_name_only_commands_that_exist: the Nest that init writes (every
// file of it and what init prints), the README and gosling's help name
// only gosling subcommands and flags that the command tree has.
func TestDocs_name_only_commands_that_exist(t *testing.T) {
	root := newRootCommand(&App{})
	root.InitDefaultHelpCmd() // added by cobra at Execute
	root.InitDefaultCompletionCmd()
	texts := map[string]string{}
	err := fs.WalkDir(skeleton, "skeleton", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(skeleton, p)
		texts[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	texts["README.md"] = string(readme)
	s := newSession(t)
	texts["init output"] = s.mustRun(0, "init", "nest").stdout
	problems, n := docmentions.CheckAll(root, texts)
	for _, p := range problems {
		t.Error(p)
	}
	if n < 20 {
		t.Errorf("only %d mentions of gosling commands found: is the pattern still right?", n)
	}

	// The check itself finds what it should.
	for _, bad := range []string{"run `gosling secrets rotate --all`", "  gosling prune", "`gosling validate --no-such-flag`", "    gosling add robot x"} {
		if problems, _ := docmentions.Check(root, "probe", bad); len(problems) == 0 {
			t.Errorf("%q passes the check", bad)
		}
	}
	for _, good := range []string{"gosling add egg web --project-id 42 --yes", "`gosling parse --type=egg FILE` prints", "gosling is the CLI", "  gosling completion bash"} {
		if problems, _ := docmentions.Check(root, "probe", good); len(problems) != 0 {
			t.Errorf("%q fails the check: %v", good, problems)
		}
	}
}
