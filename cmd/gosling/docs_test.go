package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// checkMentions returns the problems of every "BINARY X ..." of text
// (BINARY is root's name) that is code: in a .fly file, in a fenced block
// or a backtick span of Markdown, or on an indented line (help texts, what init prints). A
// mention's subcommand chain (X, then X's subcommands) and its --flags on
// the same line (up to a backtick, #, ;, ), > or |) must exist in root. It
// also returns how many mentions it read.
// (cmd/mothergoose/docs_test.go has a copy: neither main package can import
// the other.)
func checkMentions(root *cobra.Command, name, text string) (problems []string, mentions int) {
	commandMention := regexp.MustCompile(`\b` + regexp.QuoteMeta(root.Name()) + ` ([a-z][a-z-]*)`)
	fenced := false
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		for _, m := range commandMention.FindAllStringSubmatchIndex(line, -1) {
			code := strings.HasSuffix(name, ".fly") || fenced || strings.Count(line[:m[0]], "`")%2 == 1 ||
				(line != strings.TrimLeft(line, " \t") && !strings.HasSuffix(name, ".md"))
			if !code {
				continue
			}
			mentions++
			rest := line[m[2]:]
			if j := strings.IndexAny(rest, "`#;)>|"); j >= 0 {
				rest = rest[:j]
			}
			cmd := root
			for k, w := range strings.Fields(rest) {
				w = strings.TrimRight(w, `"',.:`)
				if strings.HasPrefix(w, "--") {
					flag, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
					if cmd.Flags().Lookup(flag) == nil && cmd.InheritedFlags().Lookup(flag) == nil && flag != "help" {
						problems = append(problems, fmt.Sprintf("%s:%d: %q: %s has no flag --%s", name, i+1, strings.TrimSpace(line), cmd.CommandPath(), flag))
					}
					continue
				}
				if !cmd.HasSubCommands() || (k > 0 && cmd == root) {
					continue // an argument
				}
				sub, _, err := cmd.Find([]string{w})
				if err != nil || sub == cmd {
					problems = append(problems, fmt.Sprintf("%s:%d: %q names %s %s, which does not exist", name, i+1, strings.TrimSpace(line), cmd.CommandPath(), w))
					break
				}
				cmd = sub
			}
		}
	}
	return problems, mentions
}

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
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		texts["help of "+c.CommandPath()] = c.Long + "\n" + c.Example
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	n := 0
	for name, text := range texts {
		problems, m := checkMentions(root, name, text)
		for _, p := range problems {
			t.Error(p)
		}
		n += m
	}
	if n < 20 {
		t.Errorf("only %d mentions of gosling commands found: is the pattern still right?", n)
	}

	// The check itself finds what it should.
	for _, bad := range []string{"run `gosling secrets rotate --all`", "  gosling prune", "`gosling validate --no-such-flag`", "    gosling add robot x"} {
		if problems, _ := checkMentions(root, "probe", bad); len(problems) == 0 {
			t.Errorf("%q passes the check", bad)
		}
	}
	for _, good := range []string{"gosling add egg web --project-id 42 --yes", "`gosling parse --type=egg FILE` prints", "gosling is the CLI", "  gosling completion bash"} {
		if problems, _ := checkMentions(root, "probe", good); len(problems) != 0 {
			t.Errorf("%q fails the check: %v", good, problems)
		}
	}
}
