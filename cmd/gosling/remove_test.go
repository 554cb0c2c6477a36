package main

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mustSnapshot is every file of the Nest outside .git, path to content.
func mustSnapshot(t *testing.T, nest string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(nest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(nest, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// removeNestUF is the UF/config.fly the remove cases start from: the
// Nest has the eggs example-egg, web, api and solo and the bucket shared.
const removeNestUF = `# UglyFox.
uglyfox {
  # The examples' pools.
  runners_condition "default" {
    eggs_entities = ["example-egg", "web"] # the example ones

    apex {
      min_count = 1
    }
  }

  # The API's own pool.
  runners_condition "api" {
    eggs_entities = [
      "api", # first
      "shared",
    ]
  }

  # A pool of one.
  runners_condition "solo" {
    eggs_entities = ["solo"]
  }

  policies {
    rule "old" {
      when   = runner.age > duration("1h")
      action = "terminate"
    }
  }
}
`

// mustRemoveNest makes the Nest of removeNestUF in a new session.
func mustRemoveNest(t *testing.T) (*session, string) {
	t.Helper()
	s := newSession(t)
	nest := s.mustInit()
	for i, egg := range []string{"web", "api", "solo", "lonely"} {
		s.mustRun(0, "add", "egg", egg, "--yes", "--nest", "nest", "--type", "vm", "--provider", "local", "--project-id", string(rune('1'+i)))
	}
	s.mustRun(0, "add", "bucket", "shared", "--yes", "--nest", "nest", "--type", "vm", "--provider", "local",
		"--repo", "one=gitlab.com:project:100")
	mustWrite(t, filepath.Join(nest, "UF", "config.fly"), removeNestUF)
	s.mustRun(0, "validate", "nest")
	return s, nest
}

func TestRemoveEgg(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// prepare changes the Nest before the run (nil: as mustRemoveNest made it).
		prepare  func(t *testing.T, nest string)
		wantCode int
		// wantUF is UF/config.fly after the run: removeNestUF with each
		// pair's first string replaced by its second.
		wantUF     []string
		wantGone   string // the Eggs/ folder that is gone after the run
		wantStderr string
	}{
		{
			name:   "egg_in_no_list_only_its_folder_goes",
			args:   []string{"egg", "lonely"},
			wantUF: nil, wantGone: "lonely",
		},
		{
			name:     "egg_first_in_a_list_with_others",
			args:     []string{"egg", "example-egg"},
			wantUF:   []string{`["example-egg", "web"]`, `["web"]`},
			wantGone: "example-egg",
		},
		{
			name:     "egg_last_in_a_list_with_others",
			args:     []string{"egg", "web"},
			wantUF:   []string{`["example-egg", "web"]`, `["example-egg"]`},
			wantGone: "web",
		},
		{
			name:     "egg_on_its_own_line_with_a_comment",
			args:     []string{"egg", "api"},
			wantUF:   []string{"      \"api\", # first\n", ""},
			wantGone: "api",
		},
		{
			name:     "last_egg_of_a_list_removes_its_block_and_comment",
			args:     []string{"egg", "solo"},
			wantUF:   []string{"  # A pool of one.\n  runners_condition \"solo\" {\n    eggs_entities = [\"solo\"]\n  }\n\n", ""},
			wantGone: "solo",
		},
		{
			name:     "bucket",
			args:     []string{"bucket", "shared"},
			wantUF:   []string{"      \"shared\",\n", ""},
			wantGone: "shared",
		},
		{
			name: "folder_already_deleted_by_hand",
			args: []string{"egg", "web"},
			prepare: func(t *testing.T, nest string) {
				if err := os.RemoveAll(filepath.Join(nest, "Eggs", "web")); err != nil {
					t.Fatal(err)
				}
			},
			wantUF: []string{`["example-egg", "web"]`, `["example-egg"]`},
		},
		{
			name:       "unknown_egg_changes_nothing",
			args:       []string{"egg", "nope"},
			wantCode:   1,
			wantStderr: `no egg "nope" in the Nest`,
		},
		{
			name: "still_named_through_a_local_changes_nothing",
			args: []string{"egg", "web"},
			prepare: func(t *testing.T, nest string) {
				uf := strings.Replace(removeNestUF, `["example-egg", "web"]`, `["example-egg", local.web]`, 1)
				mustWrite(t, filepath.Join(nest, "UF", "config.fly"), "locals {\n  web = \"web\"\n}\n\n"+uf)
			},
			wantCode:   1,
			wantStderr: "Unknown egg in eggs_entities",
		},
		{
			name:       "egg_asked_for_a_bucket_changes_nothing",
			args:       []string{"egg", "shared"},
			wantCode:   2,
			wantStderr: "gosling remove bucket shared",
		},
		{
			name:       "bucket_asked_for_an_egg_changes_nothing",
			args:       []string{"bucket", "web"},
			wantCode:   2,
			wantStderr: "gosling remove egg web",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, nest := mustRemoveNest(t)
			if tc.prepare != nil {
				tc.prepare(t, nest)
			}
			before := mustSnapshot(t, nest)
			r := s.mustRun(tc.wantCode, append(append([]string{"remove"}, tc.args...), "--nest", "nest", "--yes")...)
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, r)
			}
			after := mustSnapshot(t, nest)
			if tc.wantCode != 0 {
				if !maps.Equal(before, after) {
					t.Errorf("a refused remove changed the Nest")
				}
				return
			}
			if !strings.Contains(r.stdout, "nothing is committed; to commit: git -C ") {
				t.Errorf("stdout does not give the git command:\n%s", r)
			}
			wantUF := before[filepath.Join("UF", "config.fly")]
			if tc.wantUF != nil {
				if !strings.Contains(wantUF, tc.wantUF[0]) {
					t.Fatalf("bad case: %q is not in UF/config.fly", tc.wantUF[0])
				}
				wantUF = strings.Replace(wantUF, tc.wantUF[0], tc.wantUF[1], 1)
			}
			if got := after[filepath.Join("UF", "config.fly")]; got != wantUF {
				t.Errorf("UF/config.fly:\n%s\nwant:\n%s", got, wantUF)
			}
			gone := filepath.Join("Eggs", tc.wantGone) + string(filepath.Separator)
			for p := range before {
				_, kept := after[p]
				if tc.wantGone != "" && strings.HasPrefix(p, gone) == kept {
					t.Errorf("%s: kept %v", p, kept)
				}
			}
			if tc.wantGone != "" && isDir(filepath.Join(nest, gone)) {
				t.Errorf("%s is still there", gone)
			}
			if entries, _ := os.ReadDir(filepath.Join(nest, "Eggs")); slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), ".") }) {
				t.Errorf("a hidden folder is left in Eggs/: %v", entries)
			}
			s.mustRun(0, "validate", "nest")
		})
	}
}

func TestRemoveEgg_confirms(t *testing.T) {
	s, nest := mustRemoveNest(t)
	before := mustSnapshot(t, nest)
	r := s.mustRun(2, "remove", "egg", "web", "--nest", "nest")
	if !strings.Contains(r.stderr, "--yes") {
		t.Errorf("without a terminal and --yes:\n%s", r)
	}
	if r := s.runTerminal("n\n", "remove", "egg", "web", "--nest", "nest"); r.code != 1 || !strings.Contains(r.stderr, "nothing changed") {
		t.Errorf("answered no:\n%s", r)
	}
	if !maps.Equal(before, mustSnapshot(t, nest)) {
		t.Fatal("a removal that was not confirmed changed the Nest")
	}
	r = s.runTerminal("y\n", "remove", "egg", "web", "--nest", "nest")
	if r.code != 0 || !strings.Contains(r.stderr, "delete ") || isDir(filepath.Join(nest, "Eggs", "web")) {
		t.Errorf("answered yes:\n%s", r)
	}
}

// The walk-through of make run: the example Nest without its only egg is
// valid, and the default runners_condition is gone with it.
func TestRemoveEgg_example_nest(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	r := s.mustRun(0, "remove", "egg", "example-egg", "--nest", "nest", "--yes")
	if !strings.Contains(r.stdout, `runners_condition "default": removed`) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	uf := mustRead(t, filepath.Join(nest, "UF", "config.fly"))
	if strings.Contains(uf, "runners_condition") || strings.Contains(uf, "Pool sizes") || strings.Contains(uf, "\n\n\n") {
		t.Errorf("UF/config.fly:\n%s", uf)
	}
	s.mustRun(0, "validate", "nest")
	s.mustRun(0, "fmt", "--check", "nest")
}

func TestDropEntity(t *testing.T) {
	for _, tc := range []struct {
		name, list, drop, want string
		removed                bool
	}{
		{"middle", `["a", "b", "c"]`, "b", `["a", "c"]`, true},
		{"first", `["a", "b", "c"]`, "a", `["b", "c"]`, true},
		{"last", `["a", "b", "c"]`, "c", `["a", "b"]`, true},
		{"last_with_trailing_comma", `["a", "b",]`, "b", `["a", ]`, true},
		{"absent", `["a", "b"]`, "x", `["a", "b"]`, false},
		{"a_prefix_is_not_the_name", `["ab", "b"]`, "a", `["ab", "b"]`, false},
		{"not_a_literal_element", `[local.b, "c"]`, "b", `[local.b, "c"]`, false},
		{"not_a_tuple", `local.all`, "b", `local.all`, false},
		{"multi_line_middle", "[\n  \"a\",\n  \"b\", # bee\n  \"c\"\n]", "b", "[\n  \"a\",\n  \"c\"\n]", true},
		{"multi_line_last_without_comma", "[\n  \"a\",\n  \"b\"\n]", "b", "[\n  \"a\",\n]", true},
		{"not_canonical_stays_so", `[ "a" ,  "b" ]`, "a", `[ "b" ]`, true},
		{"two_on_one_line", "[\n  \"a\", \"b\",\n  \"c\",\n]", "a", "[\n  \"b\",\n  \"c\",\n]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "uglyfox {\n  runners_condition \"x\" {\n    eggs_entities = " + tc.list + "\n  }\n  runners_condition \"y\" {\n    eggs_entities = [\"z\"]\n  }\n}\n"
			e, err := dropEntity("UF/config.fly", []byte(src), tc.drop)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(src, tc.list, tc.want, 1)
			if got := string(e.src); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			if removed := len(e.lists) > 0; removed != tc.removed {
				t.Errorf("removed = %v, want %v", removed, tc.removed)
			}
		})
	}
}
