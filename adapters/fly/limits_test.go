package fly_test

import (
	"context"
	"fmt"
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
