package fly

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// readTree reads every file under dir into memory, keyed by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diagStrings(ds hcl.Diagnostics, strip string) []string {
	var out []string
	for _, d := range ds {
		file := ""
		if d.Subject != nil {
			file = strings.TrimPrefix(filepath.ToSlash(d.Subject.Filename), strip)
			file += ":" + itoa(d.Subject.Start.Line) + ":" + itoa(d.Subject.Start.Column)
		}
		out = append(out, file+": "+d.Summary+": "+strings.ReplaceAll(d.Detail, strip, ""))
	}
	return out
}

func writeNest(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const memEgg = `egg "%s" {
  type = "vm"
  cloud {
    provider = "yandex"
    region   = "ru-central1-a"
  }
  runner { tags = ["docker"] }
  gitlab {
    server     = "gitlab.com"
    project_id = %d
  }
}
`

func TestLoadNestFilesMatchesLoadNest(t *testing.T) {
	egg := func(name string, id int) string {
		return strings.Replace(strings.Replace(memEgg, "%s", name, 1), "%d", itoa(id), 1)
	}
	nests := map[string]map[string]string{
		"valid": {
			"Eggs/a/config.fly": egg("a", 1),
			"Eggs/b/config.fly": egg("b", 2),
			"UF/config.fly":     "uglyfox {\n  runners_condition \"x\" {\n    eggs_entities = [\"a\"]\n    apex {\n      min_count = 1\n      max_count = 3\n    }\n  }\n}\n",
			"README.md":         "not a fly file",
			".hidden/x.fly":     "garbage {",
		},
		"invalid": {
			"Eggs/a/config.fly": egg("b", 1),   // label mismatch
			"Eggs/c/config.fly": egg("c", 1),   // project claimed twice
			"Eggs/d/config.fly": "egg \"d\" {", // syntax error
			"Stray/x.fly":       egg("x", 3),   // outside the layout
			"UF/config.fly":     "uglyfox {\n  runners_condition \"x\" {\n    eggs_entities = [\"nope\", \"d\"]\n  }\n}\n",
		},
	}
	for name, files := range nests {
		t.Run(name, func(t *testing.T) {
			dir := writeNest(t, files)
			want, _, wantDiags := LoadNest(context.Background(), dir)
			got, _, gotDiags := LoadNestFiles(context.Background(), readTree(t, dir))
			ws, gs := diagStrings(wantDiags, filepath.ToSlash(dir)+"/"), diagStrings(gotDiags, "")
			if strings.Join(ws, "\n") != strings.Join(gs, "\n") {
				t.Fatalf("diagnostics differ\nLoadNest:\n%s\nLoadNestFiles:\n%s", strings.Join(ws, "\n"), strings.Join(gs, "\n"))
			}
			if (want == nil) != (got == nil) {
				t.Fatalf("LoadNest nest %v, LoadNestFiles nest %v", want != nil, got != nil)
			}
			if got != nil && (len(got.Eggs) != len(want.Eggs) || got.UglyFox == nil || got.Eggs["a"].Path != "Eggs/a/config.fly") {
				t.Fatalf("nests differ: %+v vs %+v", got, want)
			}
			if name == "invalid" && len(gotDiags) < 4 {
				t.Fatalf("want every diagnostic, got %v", gs)
			}
		})
	}
}

func TestCacheParsesOnlyChangedFiles(t *testing.T) {
	c := NewCache()
	egg := func(name string, id int) []byte {
		return []byte(strings.Replace(strings.Replace(memEgg, "%s", name, 1), "%d", itoa(id), 1))
	}
	files := map[string]Source{
		"Eggs/a/config.fly": {Key: "k1", Src: egg("a", 1)},
		"Eggs/b/config.fly": {Key: "k2", Src: egg("b", 2)},
	}
	if n, _, diags := c.Load(context.Background(), files); n == nil || diags.HasErrors() {
		t.Fatalf("first load: %v", diags)
	}
	keys := map[string]string{"Eggs/a/config.fly": "k1", "Eggs/b/config.fly": "k3", "Eggs/c/config.fly": "k4"}
	if m := c.Missing(keys); strings.Join(m, ",") != "Eggs/b/config.fly,Eggs/c/config.fly" {
		t.Fatalf("Missing = %v", m)
	}
	// a is cached (no Src); b changed; c is new.
	n, _, diags := c.Load(context.Background(), map[string]Source{
		"Eggs/a/config.fly": {Key: "k1"},
		"Eggs/b/config.fly": {Key: "k3", Src: egg("b", 5)},
		"Eggs/c/config.fly": {Key: "k4", Src: egg("c", 6)},
	})
	if n == nil || diags.HasErrors() || len(n.Eggs) != 3 || n.Eggs["b"].GitLab.ProjectID != 5 || n.Eggs["a"].GitLab.ProjectID != 1 {
		t.Fatalf("second load: %v %+v", diags, n)
	}
	// A file neither cached nor provided is an error, not a silent gap.
	if n, _, diags := c.Load(context.Background(), map[string]Source{"Eggs/z/config.fly": {Key: "k9"}}); n != nil || !diags.HasErrors() {
		t.Fatalf("load without content: %v", diags)
	}
}
