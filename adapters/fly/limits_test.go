package fly_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

// deepConstruct is one way of nesting an expression or block, as a file
// nested depth levels deep.
type deepConstruct struct {
	name string
	src  func(depth int) string
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

func inLocal(expr string) string { return "locals {\n  x = " + expr + "\n}\n" }

// deepConstructs is every construct HCL's parser, or our decoder and
// evaluator, handles by recursing once per level.
var deepConstructs = []deepConstruct{
	{"parentheses", func(n int) string {
		return "egg \"e\" {\n  resources {\n    cpu = " + rep("(", n) + "2" + rep(")", n) + "\n  }\n}\n"
	}},
	{"brackets", func(n int) string { return inLocal(rep("[", n) + rep("]", n)) }},
	{"objects", func(n int) string { return inLocal(rep("{a = ", n) + "1" + rep("}", n)) }},
	{"blocks", func(n int) string { return rep("a {\n", n) + rep("}\n", n) }},
	{"template_interpolations", func(n int) string { return inLocal(rep(`"${`, n) + `"x"` + rep(`}"`, n)) }},
	{"heredocs", func(n int) string { return inLocal(rep("<<EOT\n${", n) + "1" + rep("}\nEOT\n", n)) }},
	{"template_directives", func(n int) string { return inLocal(`"` + rep("%{if true}", n) + "x" + rep("%{endif}", n) + `"`) }},
	{"function_calls", func(n int) string { return inLocal(rep("max(", n) + "1" + rep(")", n)) }},
	{"unary_not", func(n int) string { return inLocal(rep("!", n) + "true") }},
	{"unary_minus", func(n int) string { return inLocal(rep("-", n) + "1") }},
	{"conditionals", func(n int) string { return inLocal(rep("true ? 1 : ", n) + "2") }},
	{"binary_operators", func(n int) string { return inLocal("1" + rep(" + 1", n)) }},
	{"logical_operators_in_when", func(n int) string {
		return "uglyfox {\n  policies {\n    rule \"r\" {\n      when   = runner.age > 1" + rep(" && true", n) + "\n      action = \"terminate\"\n    }\n  }\n}\n"
	}},
	{"for_expressions", func(n int) string { return inLocal(rep("[for x in ", n) + "[1]" + rep(" : x]", n)) }},
	{"indexes", func(n int) string { return "locals {\n  b = [0]\n  x = local.b" + rep("[local.b[0]]", n) + "\n}\n" }},
	{"splats", func(n int) string { return "locals {\n  b = [0]\n  x = local.b" + rep("[*]", n) + "\n}\n" }},
}

// TestParseFile_deep_nesting_is_a_diagnostic: a file nested ~100,000 levels
// deep (the depth that overflowed the stack, a fatal error no recover
// catches) gets one positioned diagnostic and is not parsed. That the test
// binary survives is half the test.
func TestParseFile_deep_nesting_is_a_diagnostic(t *testing.T) {
	for _, c := range deepConstructs {
		t.Run(c.name, func(t *testing.T) {
			src := c.src(100_000)
			p := fly.NewParser()
			file, diags := p.ParseFile(context.Background(), "deep.fly", []byte(src))
			if file != nil || len(diags) != 1 || diags[0].Summary != "Nesting too deep" {
				t.Fatalf("want one Nesting too deep, got file %v and %s", file != nil, fmtDiags(diags))
			}
			if rng := diags[0].Subject; rng == nil || rng.Filename != "deep.fly" || rng.Start.Line < 1 {
				t.Fatalf("diagnostic without position: %#v", diags[0])
			}
			if v, diags := p.ParseKind(context.Background(), fly.KindUglyFox, "deep.fly", []byte(src)); v != nil || !diags.HasErrors() {
				t.Fatal("ParseKind accepted it")
			}
		})
	}
}

// TestParseFile_nesting_limit is exact: MaxNesting levels parse, one more
// is reported where it is crossed.
func TestParseFile_nesting_limit(t *testing.T) {
	// The egg block and resources block are two levels; cpu's parentheses the rest.
	egg := func(parens int) string {
		return "egg \"e\" {\n  resources {\n    cpu = " + rep("(", parens) + "2" + rep(")", parens) + "\n  }\n}\n"
	}
	_, diags := fly.NewParser().ParseFile(context.Background(), "ok.fly", []byte(egg(fly.MaxNesting-2)))
	for _, d := range diags {
		if d.Summary == "Nesting too deep" {
			t.Fatalf("%d levels reported: %s", fly.MaxNesting, fmtDiags(diags))
		}
	}
	_, diags = fly.NewParser().ParseFile(context.Background(), "deep.fly", []byte(egg(fly.MaxNesting-1)))
	want := fmt.Sprintf("deep.fly:3:%d: Nesting too deep", 10+fly.MaxNesting-1)
	if len(diags) != 1 || diagAt(diags[0]) != want {
		t.Fatalf("got %s, want %s", fmtDiags(diags), want)
	}
}

// TestParseFile_nesting_resets_between_expressions: operators of separate
// list elements, arguments and attributes do not add up.
func TestParseFile_nesting_resets_between_expressions(t *testing.T) {
	var b strings.Builder
	b.WriteString("locals {\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  a%d = [%s]\n", i, strings.TrimSuffix(rep("1 + 1 - 1, ", 60), ", "))
	}
	b.WriteString("}\n")
	if _, diags := fly.NewParser().ParseFile(context.Background(), "wide.fly", []byte(b.String())); diags.HasErrors() {
		t.Fatalf("a wide but shallow file: %s", fmtDiags(diags))
	}
}

// TestParseFile_long_chain_of_locals: locals that each use the next are
// resolved recursively; a chain longer than MaxNesting is reported, not
// followed to the end of the stack.
func TestParseFile_long_chain_of_locals(t *testing.T) {
	var b strings.Builder
	b.WriteString("locals {\n")
	const n = 100_000
	for i := range n {
		fmt.Fprintf(&b, "  a%d = local.a%d\n", i, i+1)
	}
	fmt.Fprintf(&b, "  a%d = 1\n}\n", n)
	_, diags := fly.NewParser().ParseFile(context.Background(), "chain.fly", []byte(b.String()))
	if !diags.HasErrors() || diags[0].Summary != "Local values nest too deep" {
		t.Fatalf("got %s", fmtDiags(diags[:min(len(diags), 3)]))
	}
}

// diagAt is "file:line:col: summary".
func diagAt(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return d.Summary
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, d.Summary)
}

func fmtDiags[T interface{ Error() string }](diags []T) string {
	var s []string
	for _, d := range diags {
		s = append(s, d.Error())
	}
	return "[" + strings.Join(s, "; ") + "]"
}

// TestParseFile_too_large: a file over MaxFileSize is one diagnostic and is
// not parsed; a file of 10,000 eggs fits.
func TestParseFile_too_large(t *testing.T) {
	src := []byte("# " + rep("x", fly.MaxFileSize) + "\n")
	file, diags := fly.NewParser().ParseFile(context.Background(), "big.fly", src)
	if file != nil || len(diags) != 1 || diagAt(diags[0]) != "big.fly:1:1: File too large" {
		t.Fatalf("got %s", fmtDiags(diags))
	}
	if n := len(manyBlocks("eggs", 10_000)); n > fly.MaxFileSize {
		t.Errorf("10,000 eggs are %d bytes, over MaxFileSize", n)
	}
}

// TestParseFile_diagnostics_are_capped: a file with thousands of problems
// reports the first MaxDiagnosticsPerFile and one that counts the rest.
func TestParseFile_diagnostics_are_capped(t *testing.T) {
	var b strings.Builder
	b.WriteString("uglyfox {\n  policies {\n")
	const n = 5000
	for range n {
		b.WriteString("    rule \"same\" {\n      when   = runner.age > 1\n      action = \"terminate\"\n    }\n")
	}
	b.WriteString("  }\n}\n")
	_, diags := fly.NewParser().ParseFile(context.Background(), "UF/config.fly", []byte(b.String()))
	if len(diags) != fly.MaxDiagnosticsPerFile+1 {
		t.Fatalf("%d diagnostics, want %d", len(diags), fly.MaxDiagnosticsPerFile+1)
	}
	last := diags[len(diags)-1]
	want := fmt.Sprintf("This file has %d more problems", n-1-fly.MaxDiagnosticsPerFile)
	if last.Summary != "Too many problems" || !strings.HasPrefix(last.Detail, want) || last.Severity != hcl.DiagError {
		t.Fatalf("last diagnostic %s, want %q", diagAt(last), want)
	}
	if diagAt(diags[0]) != "UF/config.fly:7:10: Duplicate rule name" {
		t.Errorf("first diagnostic %s", diagAt(diags[0]))
	}
}

// TestLoad_cancelled: a cancelled context stops LoadNest, Cache.Load and
// ParseFile with one error, and leaves a Cache as it was.
func TestLoad_cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	egg := string(manyBlocks("eggs", 1))
	egg = strings.Replace(egg, "egg-000000", "a", 1)
	if file, diags := fly.NewParser().ParseFile(ctx, "x.fly", []byte(egg)); file != nil || len(diags) != 1 || diags[0].Summary != "Parse cancelled" {
		t.Errorf("ParseFile: %s", fmtDiags(diags))
	}
	dir := t.TempDir()
	writeNest(t, dir, 3, 1)
	if nest, _, diags := fly.LoadNest(ctx, dir); nest != nil || len(diags) != 1 || diags[0].Summary != "Load cancelled" {
		t.Errorf("LoadNest: %s", fmtDiags(diags))
	}
	c := fly.NewCache()
	files := map[string]fly.Source{"Eggs/a/config.fly": {Key: "k1", Src: []byte(egg)}}
	if nest, _, diags := c.Load(context.Background(), files); nest == nil {
		t.Fatalf("Load: %s", fmtDiags(diags))
	}
	files["Eggs/a/config.fly"] = fly.Source{Key: "k2", Src: []byte(egg)}
	if nest, _, diags := c.Load(ctx, files); nest != nil || len(diags) != 1 || diags[0].Summary != "Load cancelled" {
		t.Errorf("Cache.Load: %s", fmtDiags(diags))
	}
	if missing := c.Missing(map[string]string{"Eggs/a/config.fly": "k1"}); len(missing) != 0 {
		t.Errorf("a cancelled load emptied the cache: missing %v", missing)
	}
}

// TestLoadNest_symbolic_links: a link loop or a link to a folder under
// Eggs/ is an error, not silently nothing; a link to a .fly file is read.
func TestLoadNest_symbolic_links(t *testing.T) {
	dir := t.TempDir()
	writeNest(t, dir, 2, 1)
	eggs := filepath.Join(dir, "Eggs")
	mustSymlink(t, "loop", filepath.Join(eggs, "loop"))                                 // itself
	mustSymlink(t, "egg-00000", filepath.Join(eggs, "copy"))                            // a folder
	mustSymlink(t, "../Eggs/egg-00001/config.fly", filepath.Join(dir, "Jobs", "x.fly")) // a file: read through
	_, _, diags := fly.LoadNest(context.Background(), dir)
	var got []string
	for _, d := range diags {
		rel, _ := filepath.Rel(dir, d.Subject.Filename)
		got = append(got, filepath.ToSlash(rel)+": "+d.Summary)
	}
	want := []string{
		"Eggs/copy: Symbolic link to a folder",
		"Eggs/loop: Broken symbolic link",
		"Jobs/x.fly: Missing block", // it holds the egg it links to, read through
		"Jobs/x.fly: Block not allowed in this file",
		"Jobs/x.fly: Duplicate egg name",
		"Jobs/x.fly: GitLab project claimed twice",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create symbolic links here: %v", err)
	}
}
