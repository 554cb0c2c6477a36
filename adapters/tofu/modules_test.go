package tofu_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// moduleDecl is what a module's .tf files declare.
type moduleDecl struct {
	vars, locals, outputs map[string]bool
	resources             map[string]bool // "type.name"
	exprs                 []hclsyntax.Expression
	where                 map[hclsyntax.Expression]string // expression => "file:line" for messages
}

// mustParseModule parses every .tf file of dir with hclparse (not OpenTofu)
// and collects declarations and every expression.
func mustParseModule(t *testing.T, dir string) moduleDecl {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	m := moduleDecl{vars: map[string]bool{}, locals: map[string]bool{}, outputs: map[string]bool{}, resources: map[string]bool{}, where: map[hclsyntax.Expression]string{}}
	p := hclparse.NewParser()
	for _, fn := range files {
		f, diags := p.ParseHCLFile(fn)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %v", fn, diags)
		}
		body := f.Body.(*hclsyntax.Body)
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				m.vars[b.Labels[0]] = true
			case "output":
				m.outputs[b.Labels[0]] = true
			case "resource":
				m.resources[b.Labels[0]+"."+b.Labels[1]] = true
			case "locals":
				for n := range b.Body.Attributes {
					m.locals[n] = true
				}
			}
		}
		var walk func(blockType string, b *hclsyntax.Body)
		walk = func(blockType string, b *hclsyntax.Body) {
			for _, a := range b.Attributes {
				if (blockType == "variable" && a.Name == "type") || (blockType == "provisioner" && a.Name == "when") {
					continue // a type constraint or a keyword, not an expression
				}
				m.exprs = append(m.exprs, a.Expr)
				m.where[a.Expr] = filepath.Base(fn) + ":" + strconv.Itoa(a.SrcRange.Start.Line)
			}
			for _, blk := range b.Blocks {
				walk(blk.Type, blk.Body)
			}
		}
		walk("", body)
	}
	return m
}

// builtins are reference roots OpenTofu provides.
var builtins = map[string]bool{"path": true, "terraform": true, "self": true, "count": true, "each": true}

// unresolved lists the references that name no declaration of the module.
func (m moduleDecl) unresolved() []string {
	var out []string
	for _, e := range m.exprs {
		for _, tr := range e.Variables() {
			rootName := tr.RootName()
			var attr string
			if len(tr) > 1 {
				if a, ok := tr[1].(hcl.TraverseAttr); ok {
					attr = a.Name
				}
			}
			switch {
			case rootName == "var":
				if !m.vars[attr] {
					out = append(out, m.where[e]+": var."+attr+" is not declared")
				}
			case rootName == "local":
				if !m.locals[attr] {
					out = append(out, m.where[e]+": local."+attr+" is not declared")
				}
			case builtins[rootName]:
			default:
				if !m.resources[rootName+"."+attr] {
					out = append(out, m.where[e]+": "+rootName+"."+attr+" is not a declared resource")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// The checker itself finds what it is meant to find.
func TestModuleReferencesResolve_catches(t *testing.T) {
	dir := t.TempDir()
	src := `variable "a" { type = string }
locals { l = var.a }
output "x" { value = [var.a, var.nope, local.l, local.gone, aws_instance.runner[0].id, path.module] }
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := mustParseModule(t, dir).unresolved()
	want := []string{
		"main.tf:3: aws_instance.runner is not a declared resource",
		"main.tf:3: local.gone is not declared",
		"main.tf:3: var.nope is not declared",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("unresolved:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every var.X, local.X and resource reference in a module resolves to a
// declaration of the same module, so the cloud modules, which cannot be
// initialised offline, are checked as far as parsing allows.
func TestModuleReferencesResolve(t *testing.T) {
	root := filepath.Join(repoRoot(t), "modules", "compute")
	for _, target := range []string{"local", "aws", "yandex"} {
		t.Run(target, func(t *testing.T) {
			m := mustParseModule(t, filepath.Join(root, target))
			for _, p := range m.unresolved() {
				t.Error(p)
			}
			for _, name := range []string{"instance_id", "address", "public_address", "hostname", "labels"} {
				if !m.outputs[name] {
					t.Errorf("output %q of the shared convention is missing", name)
				}
			}
		})
	}
}

// The three modules share one input convention: variables.tf is the same file
// in each, and each adds its target inputs (region first among them) in
// target.tf. The aws and yandex modules share locals.tf too.
func TestModulesShareInputs(t *testing.T) {
	root := filepath.Join(repoRoot(t), "modules", "compute")
	want, err := os.ReadFile(filepath.Join(root, "local", "variables.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"aws", "yandex"} {
		got, err := os.ReadFile(filepath.Join(root, target, "variables.tf"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/variables.tf differs from local/variables.tf", target)
		}
		m := mustParseModule(t, filepath.Join(root, target))
		if !m.vars["region"] {
			t.Errorf("%s declares no region", target)
		}
	}
	// The two cloud modules also share their provider-free locals (labels,
	// agent environment, cloud-init), kept as one file copied into each so
	// that each module stands alone.
	awsLocals, err := os.ReadFile(filepath.Join(root, "aws", "locals.tf"))
	if err != nil {
		t.Fatal(err)
	}
	yandexLocals, err := os.ReadFile(filepath.Join(root, "yandex", "locals.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(yandexLocals, awsLocals) {
		t.Errorf("yandex/locals.tf differs from aws/locals.tf")
	}
	var names []string
	for n := range mustParseModule(t, filepath.Join(root, "local")).outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("local outputs: %v", names)
}
