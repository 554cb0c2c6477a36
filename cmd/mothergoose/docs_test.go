package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/cmd/internal/docmentions"
)

// TestDocs_name_only_commands_that_exist: the Nest that gosling init
// writes, the READMEs and mothergoose's help name only mothergoose
// subcommands and flags that its command tree has.
func TestDocs_name_only_commands_that_exist(t *testing.T) {
	root := newRootCommand()
	root.InitDefaultHelpCmd() // added by cobra at Execute
	root.InitDefaultCompletionCmd()
	texts := map[string]string{}
	skel := filepath.Join("..", "gosling", "skeleton")
	err := filepath.WalkDir(skel, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		texts[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"README.md", "adapters/dynamodb/README.md", "modules/compute/README.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		texts[p] = string(b)
	}
	problems, n := docmentions.CheckAll(root, texts)
	for _, p := range problems {
		t.Error(p)
	}
	if n < 5 {
		t.Errorf("only %d mentions of mothergoose commands found: is the pattern still right?", n)
	}
	for _, bad := range []string{"`mothergoose worker`", "`mothergoose events --listen :0`", "  mothergoose serve --no-such-flag"} {
		if problems, _ := docmentions.Check(root, "probe", bad); len(problems) == 0 {
			t.Errorf("%q passes the check", bad)
		}
	}
	for _, good := range []string{"`mothergoose --store S events --limit 20`", "`mothergoose serve --nest PATH|URL`", "mothergoose is the control plane"} {
		if problems, _ := docmentions.Check(root, "probe", good); len(problems) != 0 {
			t.Errorf("%q fails the check: %v", good, problems)
		}
	}
}
