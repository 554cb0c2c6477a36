package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func removeCommand(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "remove egg|bucket NAME",
		Short: "remove an egg or an eggsbucket from the Nest, and from UF/config.fly's eggs_entities",
		Long: `remove deletes Eggs/NAME/ from the Nest found from the current directory
upward (or --nest DIR) and drops NAME from every eggs_entities list of
UF/config.fly, keeping the file's comments and formatting; a runners_condition
whose list would be empty (it needs at least one name) is removed with its
comments. An egg and a bucket live in the same place (Eggs/NAME/config.fly):
remove egg refuses a bucket and remove bucket refuses an egg.

The Nest is checked the way add checks it before anything changes: when the
result would gain an error (say, NAME is also named through a local that
remove cannot edit) nothing is changed and the diagnostics are printed
(exit 1). On a terminal remove asks before it deletes; --yes never asks, and
is required when stdin is not a terminal.

remove does not commit: it prints the git command that does, e.g.
  gosling remove egg example-egg --yes && git commit -am 'remove example-egg'
MotherGoose's next sync of that commit removes the egg and terminates its
runners.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("remove what? egg or bucket")
			}
			return usagef("remove %q: want egg or bucket", args[0])
		},
	}
	c.AddCommand(removeEggCommand(a, false), removeEggCommand(a, true))
	return c
}

type removeFlags struct {
	nest string
	yes  bool
}

func removeEggCommand(a *App, bucket bool) *cobra.Command {
	var f removeFlags
	c := &cobra.Command{
		Use:   "egg NAME",
		Short: "remove Eggs/NAME/ and NAME from UF/config.fly's eggs_entities",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRemoveEgg(cmd.Context(), args[0], &f, bucket)
		},
	}
	if bucket {
		c.Use = "bucket NAME"
		c.Aliases = []string{"eggsbucket"}
		c.Short = "remove the eggsbucket Eggs/NAME/ and NAME from UF/config.fly's eggs_entities"
	}
	c.Flags().StringVar(&f.nest, "nest", "", "the Nest root (default: found from the current directory upward)")
	c.Flags().BoolVarP(&f.yes, "yes", "y", false, "never ask for confirmation (required when stdin is not a terminal)")
	_ = c.MarkFlagDirname("nest")
	return c
}

// ufConfig is the uglyfox file of a Nest, relative to its root.
var ufConfig = filepath.Join("UF", "config.fly")

func (a *App) runRemoveEgg(ctx context.Context, name string, f *removeFlags, bucket bool) error {
	what, other, block, otherBlock := "egg", "bucket", "an egg", "an eggsbucket"
	if bucket {
		what, other, block, otherBlock = "bucket", "egg", "an eggsbucket", "an egg"
	}
	if err := checkLabel(what+" name", name); err != nil {
		return err
	}
	nest, err := a.nestDir(f.nest)
	if err != nil {
		return err
	}
	eggDir := filepath.Join(nest, "Eggs", name)
	haveDir := isDir(eggDir)
	if haveDir {
		if kind := eggKind(filepath.Join(eggDir, "config.fly")); kind != "" && "an "+kind != block {
			return usagef("Eggs/%s/config.fly holds %s, not %s: use gosling remove %s %s", name, otherBlock, block, other, name)
		}
	}

	ufPath := filepath.Join(nest, ufConfig)
	ufSrc, err := os.ReadFile(ufPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	haveUF := err == nil
	var edit entitiesEdit
	if haveUF {
		if edit, err = dropEntity(ufPath, ufSrc, name); err != nil {
			return err
		}
	}
	if !haveDir && len(edit.lists) == 0 {
		return errs.Errorf(errs.ENOTFOUND, "no %s %q in the Nest %s: no Eggs/%s/ and no eggs_entities naming it", what, name, nest, name)
	}

	// Check what the Nest would be, the way add does: the edited file on its
	// own, then the errors the whole Nest would gain.
	if len(edit.lists) > 0 {
		p := fly.NewParser()
		_, diags := p.ParseKind(ctx, fly.KindUglyFox, ufPath, edit.src)
		if diags.HasErrors() {
			a.printDiagnostics(p.Files(), diags)
			fmt.Fprintf(a.Stderr, "nothing changed: %s would not be valid\n", ufPath)
			return errReported
		}
	}
	files, gained, err := nestErrorsAfter(ctx, nest, func(scratch string) error {
		if err := os.RemoveAll(filepath.Join(scratch, "Eggs", name)); err != nil {
			return err
		}
		if len(edit.lists) == 0 {
			return nil
		}
		return writeFile(filepath.Join(scratch, ufConfig), edit.src)
	})
	if err != nil {
		return err
	}
	if len(gained) > 0 {
		a.printDiagnostics(files, gained)
		fmt.Fprintf(a.Stderr, "nothing changed: without %s %q the Nest would not be valid\n", what, name)
		return errReported
	}

	var plan, done []string
	if haveDir {
		what := fmt.Sprintf(" %s%c", eggDir, filepath.Separator)
		plan, done = append(plan, "delete"+what), append(done, "deleted"+what)
	}
	for _, l := range edit.lists {
		what := fmt.Sprintf(" %q from %s's eggs_entities (%s)", name, ufPath, l)
		plan, done = append(plan, "drop"+what), append(done, "dropped"+what)
	}
	if err := a.confirm(ctx, f.yes, plan); err != nil {
		return err
	}
	if err := applyRemoval(eggDir, haveDir, ufPath, edit); err != nil {
		return err
	}
	for _, line := range done {
		fmt.Fprintln(a.Stdout, line)
	}
	fmt.Fprintf(a.Stdout, "nothing is committed; to commit: git -C %s commit -am 'remove %s'\n", shellQuote(nest), name)
	return nil
}

// confirm asks before a removal on a terminal; --yes never asks, and
// without a terminal --yes is required.
func (a *App) confirm(ctx context.Context, yes bool, plan []string) error {
	if yes {
		return nil
	}
	if !a.Interactive {
		return usagef("remove changes the Nest: give --yes (stdin is not a terminal, so it cannot ask)")
	}
	for _, line := range plan {
		fmt.Fprintf(a.Stderr, "  %s\n", line)
	}
	p := a.prompter(ctx, false)
	ans, err := p.ask("Remove? (y/n)", "n", oneOf("y", "n", "yes", "no"))
	if err != nil {
		return err
	}
	if ans == "n" || ans == "no" {
		fmt.Fprintln(a.Stderr, "nothing changed")
		return errReported
	}
	return nil
}

// applyRemoval makes the change: the egg's folder is first renamed to a
// hidden one (the Nest loader skips those), then UF/config.fly is replaced
// atomically (the folder is renamed back if that fails), then the hidden
// folder is deleted.
func applyRemoval(eggDir string, haveDir bool, ufPath string, edit entitiesEdit) error {
	var hidden string
	if haveDir {
		var r [6]byte
		_, _ = rand.Read(r[:])
		hidden = filepath.Join(filepath.Dir(eggDir), "."+filepath.Base(eggDir)+".removed-"+hex.EncodeToString(r[:]))
		if err := os.Rename(eggDir, hidden); err != nil {
			return err
		}
	}
	if len(edit.lists) > 0 {
		perm := fs.FileMode(0o644)
		if fi, err := os.Stat(ufPath); err == nil {
			perm = fi.Mode().Perm()
		}
		if err := writeFileAtomic(ufPath, edit.src, perm, true); err != nil {
			if hidden != "" {
				_ = os.Rename(hidden, eggDir)
			}
			return err
		}
	}
	if hidden != "" {
		return os.RemoveAll(hidden)
	}
	return nil
}

// eggKind is the type of the first top-level block of an Eggs/NAME/config.fly
// ("egg" or "eggsbucket"), or "" when the file is missing or unreadable.
func eggKind(path string) string {
	src, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	f, _ := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if f == nil {
		return ""
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return ""
	}
	for _, b := range body.Blocks {
		if b.Type == "egg" || b.Type == "eggsbucket" {
			return b.Type
		}
	}
	return ""
}

// entitiesEdit is UF/config.fly with a name dropped from its eggs_entities.
type entitiesEdit struct {
	src   []byte
	lists []string // what changed, one line each: `runners_condition "x": removed (it named only NAME)`
}

// dropEntity drops name from every literal eggs_entities list of the
// uglyfox blocks of src, through hclwrite so that comments and formatting
// stay; a runners_condition whose list becomes empty is removed. A list
// that is not a literal (a local, a function) is left alone: the Nest
// check then says whether it still names the egg.
func dropEntity(path string, src []byte, name string) (entitiesEdit, error) {
	f, diags := hclwrite.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return entitiesEdit{}, errs.Errorf(errs.EINVALID, "%s does not parse, fix it first (gosling validate): %s", path, diags.Error())
	}
	var e entitiesEdit
	for _, uf := range f.Body().Blocks() {
		if uf.Type() != "uglyfox" {
			continue
		}
		for _, rc := range uf.Body().Blocks() {
			if rc.Type() != "runners_condition" {
				continue
			}
			attr := rc.Body().GetAttribute("eggs_entities")
			if attr == nil {
				continue
			}
			label := "runners_condition"
			if l := rc.Labels(); len(l) > 0 {
				label += fmt.Sprintf(" %q", l[0])
			}
			out, removed, left := dropFromList(attr.Expr().BuildTokens(nil), name)
			switch {
			case !removed:
			case left == 0:
				uf.Body().RemoveBlock(rc)
				e.lists = append(e.lists, label+": removed, it named only "+name)
			default:
				rc.Body().SetAttributeRaw("eggs_entities", out)
				e.lists = append(e.lists, label)
			}
		}
	}
	if len(e.lists) == 0 {
		return entitiesEdit{src: src}, nil
	}
	out := f.BuildTokens(nil).Bytes() // File.Bytes would format the whole file
	if maxBlankRun(src) < 2 {
		out = collapseBlankLines(out)
	}
	if bytes.Equal(hclwrite.Format(src), src) {
		out = hclwrite.Format(out) // a canonical file stays canonical
	}
	e.src = out
	return e, nil
}

// dropFromList removes the string literal name from the tuple expression
// toks ([ ... ]), with its comma, and with its line (and the comment on it)
// when it stands on a line of its own. It reports whether it removed
// anything and how many elements are left; an expression that is not a
// tuple is returned unchanged.
func dropFromList(toks hclwrite.Tokens, name string) (hclwrite.Tokens, bool, int) {
	n := len(toks)
	if n < 2 || toks[0].Type != hclsyntax.TokenOBrack || toks[n-1].Type != hclsyntax.TokenCBrack {
		return toks, false, 0
	}
	// Split the inside into elements at the top-level commas.
	type elem struct{ start, end, comma int } // [start, end) of its tokens; comma's index or -1
	var elems []elem
	depth, start := 0, 1
	for i := 1; i < n-1; i++ {
		switch toks[i].Type {
		case hclsyntax.TokenOBrack, hclsyntax.TokenOBrace, hclsyntax.TokenOParen, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenCBrack, hclsyntax.TokenCBrace, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd:
			depth--
		case hclsyntax.TokenComma:
			if depth == 0 {
				elems = append(elems, elem{start, i, i})
				start = i + 1
			}
		}
	}
	elems = append(elems, elem{start, n - 1, -1})
	significant := func(e elem) []int {
		var idx []int
		for i := e.start; i < e.end; i++ {
			if t := toks[i].Type; t != hclsyntax.TokenNewline && t != hclsyntax.TokenComment {
				idx = append(idx, i)
			}
		}
		return idx
	}
	drop := make([]bool, n)
	removed, left := false, 0
	lastKept := -1 // index in elems of the last element kept
	for k, e := range elems {
		idx := significant(e)
		if len(idx) == 0 {
			continue // the empty tail after a trailing comma
		}
		if !(len(idx) == 3 && toks[idx[0]].Type == hclsyntax.TokenOQuote &&
			toks[idx[1]].Type == hclsyntax.TokenQuotedLit && string(toks[idx[1]].Bytes) == name &&
			toks[idx[2]].Type == hclsyntax.TokenCQuote) {
			left++
			lastKept = k
			continue
		}
		removed = true
		first, last := idx[0], idx[2]
		if e.comma >= 0 {
			last = e.comma
		}
		// On a line of its own (only a comment may follow it): the whole line goes.
		ownLine := first > 0 && (toks[first-1].Type == hclsyntax.TokenNewline || toks[first-1].Type == hclsyntax.TokenComment)
		if ownLine {
			j := last + 1
			if j < n-1 && toks[j].Type == hclsyntax.TokenComment {
				last = j
			} else if j < n-1 && toks[j].Type == hclsyntax.TokenNewline {
				last = j
			} else {
				ownLine = false
			}
		}
		for i := first; i <= last; i++ {
			drop[i] = true
		}
		switch {
		case ownLine:
		case e.comma < 0 && lastKept >= 0 && elems[lastKept].comma >= 0:
			// ["a", "b"] without "b": the comma before it goes.
			drop[elems[lastKept].comma] = true
		case e.comma >= 0 && last+1 < n:
			// ["a", "b"] without "a": "b" takes "a"'s place.
			toks[last+1].SpacesBefore = toks[first].SpacesBefore
		}
	}
	if !removed {
		return toks, false, left
	}
	var out hclwrite.Tokens
	for i, t := range toks {
		if !drop[i] {
			out = append(out, t)
		}
	}
	return out, true, left
}

// maxBlankRun is the longest run of blank lines in src outside strings.
func maxBlankRun(src []byte) int {
	f, diags := hclwrite.ParseConfig(src, "", hcl.InitialPos)
	if diags.HasErrors() {
		return 0
	}
	best, run := 0, 0
	for _, t := range lineEnds(f.BuildTokens(nil)) {
		if t {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// lineEnds says for each line end of toks (a newline token, or a comment,
// which ends its line) whether the line it ends is blank.
func lineEnds(toks hclwrite.Tokens) []bool {
	var ends []bool
	blank := true
	for _, t := range toks {
		switch {
		case t.Type == hclsyntax.TokenNewline:
			ends = append(ends, blank)
			blank = true
		case t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n")):
			ends = append(ends, false)
			blank = true
		default:
			blank = false
		}
	}
	return ends
}

// collapseBlankLines keeps at most one blank line in a row (a removed block
// leaves the blank lines around it next to each other).
func collapseBlankLines(src []byte) []byte {
	f, diags := hclwrite.ParseConfig(src, "", hcl.InitialPos)
	if diags.HasErrors() {
		return src
	}
	var out hclwrite.Tokens
	blank, prevBlank := true, false
	for _, t := range f.BuildTokens(nil) {
		if t.Type == hclsyntax.TokenNewline {
			if blank && prevBlank {
				continue
			}
			prevBlank, blank = blank, true
			out = append(out, t)
			continue
		}
		if t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n")) {
			prevBlank, blank = false, true
		} else {
			blank = false
		}
		out = append(out, t)
	}
	return out.Bytes()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
