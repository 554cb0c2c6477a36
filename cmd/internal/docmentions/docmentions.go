// Package docmentions checks that the commands a text names exist: the
// docs tests of gosling and mothergoose hold the README, the skeleton Nest
// and the help texts to their cobra command trees with it, so a doc cannot
// name a subcommand or flag that a binary does not have.
package docmentions

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Check returns the problems of every "BINARY X ..." of text
// (BINARY is root's name) that is code: in a .fly file, in a fenced block
// or a backtick span of Markdown, or on an indented line (help texts, what init prints). A
// mention's subcommand chain (X, then X's subcommands) and its --flags on
// the same line (up to a backtick, #, ;, ), > or |) must exist in root. It
// also returns how many mentions it read.
func Check(root *cobra.Command, name, text string) (problems []string, mentions int) {
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

// CheckAll checks texts (name -> text) and the Long and Example help of
// every command of root's tree, returning every problem (sorted) and how
// many mentions were read in all.
func CheckAll(root *cobra.Command, texts map[string]string) (problems []string, mentions int) {
	all := maps.Clone(texts)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		all["help of "+c.CommandPath()] = c.Long + "\n" + c.Example
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for name, text := range all {
		p, m := Check(root, name, text)
		problems = append(problems, p...)
		mentions += m
	}
	slices.Sort(problems)
	return problems, mentions
}
