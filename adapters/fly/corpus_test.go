package fly_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

var update = flag.Bool("update", false, "rewrite testdata/golden and the .diags expectations from the current output (review the diff)")

// diagLines formats diagnostics as the .diags files hold them, one per
// line: "line:col: summary", "warning: " before a warning's summary, and the
// file (relative to root) first when root is a Nest.
func diagLines(diags hcl.Diagnostics, root string) []string {
	out := make([]string, 0, len(diags))
	for _, d := range diags {
		sev := ""
		if d.Severity == hcl.DiagWarning {
			sev = "warning: "
		}
		if d.Subject == nil {
			out = append(out, sev+d.Summary)
			continue
		}
		pos := fmt.Sprintf("%d:%d: ", d.Subject.Start.Line, d.Subject.Start.Column)
		if root != "" {
			rel, err := filepath.Rel(root, d.Subject.Filename)
			if err != nil {
				rel = d.Subject.Filename
			}
			pos = filepath.ToSlash(rel) + ":" + pos
		}
		out = append(out, pos+sev+d.Summary)
	}
	return out
}

// TestInvalidCorpus checks that each file (ParseFile) or Nest (LoadNest)
// of testdata/invalid yields exactly the diagnostics of its .diags file:
// all of them, in order, with positions. Cases named warn_* have warnings
// only and must still load.
func TestInvalidCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "invalid")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && !strings.HasSuffix(name, ".fly") {
			continue
		}
		cases++
		name = strings.TrimSuffix(name, ".fly")
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, e.Name())
			var diags hcl.Diagnostics
			var got []string
			if e.IsDir() {
				nest, _, d := fly.LoadNest(context.Background(), path)
				diags, got = d, diagLines(d, path)
				if (nest == nil) != d.HasErrors() {
					t.Errorf("LoadNest returned nest %v with errors %v", nest != nil, d.HasErrors())
				}
			} else {
				src, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				f, d := fly.NewParser().ParseFile(context.Background(), e.Name(), src)
				diags, got = d, diagLines(d, "")
				if (f == nil) != d.HasErrors() {
					t.Errorf("ParseFile returned file %v with errors %v", f != nil, d.HasErrors())
				}
			}
			wantWarningsOnly := strings.HasPrefix(name, "warn_")
			if diags.HasErrors() == wantWarningsOnly {
				t.Errorf("errors: %v, want %v", diags.HasErrors(), !wantWarningsOnly)
			}
			expPath := filepath.Join(dir, name+".diags")
			if *update {
				if err := os.WriteFile(expPath, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			raw, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			want := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
			if !slices.Equal(got, want) {
				t.Errorf("diagnostics differ\n got:\n  %s\nwant:\n  %s\nfull:\n%s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), fullText(diags))
			}
			for _, d := range diags {
				if d.Detail == "" {
					t.Errorf("%s: no detail", fly.DiagnosticLine(d))
				}
			}
		})
	}
	if cases < 25 {
		t.Errorf("%d invalid cases, want at least 25", cases)
	}
}

func fullText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("  " + fly.DiagnosticLine(d) + "\n")
	}
	return b.String()
}

// TestValidNests loads each Nest of testdata/valid without any diagnostic.
func TestValidNests(t *testing.T) {
	for _, name := range []string{"full", "minimal"} {
		t.Run(name, func(t *testing.T) {
			nest, p, diags := fly.LoadNest(context.Background(), filepath.Join("testdata", "valid", name))
			if len(diags) > 0 {
				var b strings.Builder
				_ = fly.WriteDiagnosticsText(&b, p.Files(), diags, 100, false)
				t.Fatalf("diagnostics:\n%s", b.String())
			}
			if nest == nil {
				t.Fatal("no nest")
			}
		})
	}
}
