package fly_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestParseKind_names(t *testing.T) {
	for _, k := range fly.Kinds {
		got, err := fly.ParseKind(string(k))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	for _, s := range []string{"", "Egg", "bucket", "uglyfox_deployment"} {
		if _, err := fly.ParseKind(s); !errs.Is(err, errs.EINVALID) {
			t.Errorf("ParseKind(%q) error = %v, want EINVALID", s, err)
		}
	}
}

const soloEgg = `egg "solo" {
  type = "vm"
  cloud {
    provider = "aws"
    region   = "eu-west-1"
  }
  gitlab {
    server     = "gitlab.com"
    project_id = 7
  }
}
`

// TestParser_ParseKind_requires_the_kind: the file holds exactly that kind.
func TestParser_ParseKind_requires_the_kind(t *testing.T) {
	job := "job \"j\" {\n  schedule = \"@daily\"\n  script   = \"true\"\n}\n"
	tests := []struct {
		name string
		kind fly.Kind
		src  string
		want []string // "line:col: summary"
	}{
		{"egg_ok", fly.KindEgg, soloEgg, nil},
		{"egg_as_bucket", fly.KindEggsBucket, soloEgg, []string{"1:1: Block not allowed in this file", "1:1: Missing block"}},
		{"two_eggs", fly.KindEgg, soloEgg + strings.Replace(soloEgg, `"solo"`, `"duo"`, 1), []string{"12:1: Extra block"}},
		{"egg_and_job", fly.KindEgg, soloEgg + job, []string{"12:1: Block not allowed in this file"}},
		{"empty_file", fly.KindJob, "# nothing\n", []string{"1:1: Missing block"}},
		{"locals_only_uglyfox", fly.KindUglyFox, "locals {\n  x = 1\n}\n", []string{"1:1: Missing block"}},
		{"mothergoose_needs_one", fly.KindMotherGoose, "uglyfox_deployment \"u\" {\n  mothergoose = \"m\"\n  container \"c\" {\n    image = \"i\"\n  }\n}\n",
			[]string{"1:1: Missing block", "2:17: Unknown mothergoose"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, diags := fly.NewParser().ParseKind(context.Background(), tc.kind, "f.fly", []byte(tc.src))
			got := diagLines(diags, "")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("diagnostics %q, want %q", got, tc.want)
			}
			if (v == nil) != (len(tc.want) > 0) {
				t.Errorf("value %v with diagnostics %q", v, got)
			}
		})
	}
	v, _ := fly.NewParser().ParseKind(context.Background(), fly.KindEgg, "f.fly", []byte(soloEgg))
	egg := v.(domain.EggConfig)
	if egg.GitLab.TokenSecret != "aws-sm://gitlab/gitlab.com/solo/runner-token" || egg.Resources.CPU != 2 {
		t.Errorf("egg = %+v", egg)
	}
	if _, diags := fly.NewParser().ParseKind(context.Background(), "pipeline", "f.fly", []byte(soloEgg)); !diags.HasErrors() {
		t.Error("unknown kind accepted")
	}
}

func TestParser_ParseFile_any_blocks(t *testing.T) {
	src := mustRead(t, filepath.Join("testdata", "valid", "full", "MG", "config.fly"))
	src = append(src, soloEgg...)
	p := fly.NewParser()
	f, diags := p.ParseFile(context.Background(), "mixed.fly", src)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(f.MotherGoose) != 2 || len(f.UglyFoxDeployments) != 1 || len(f.Eggs) != 1 || len(f.Jobs) != 0 {
		t.Errorf("file = %d mothergoose, %d deployments, %d eggs, %d jobs", len(f.MotherGoose), len(f.UglyFoxDeployments), len(f.Eggs), len(f.Jobs))
	}
	if f.MotherGoose[1].Storage.Region != "eu-central-1" {
		t.Errorf("storage region default = %q, want the cloud region", f.MotherGoose[1].Storage.Region)
	}
	if p.Files()["mixed.fly"] == nil {
		t.Error("parser does not keep the file")
	}
	// Parsing the same name again replaces the file (no stale cache).
	if _, diags := p.ParseFile(context.Background(), "mixed.fly", []byte("egg {")); !diags.HasErrors() {
		t.Error("the second parse of the same name returned the first result")
	}
}

func TestWriteDiagnosticsText_snippet(t *testing.T) {
	p := fly.NewParser()
	src := strings.Replace(soloEgg, `project_id = 7`, `project_id = 7
    group_id   = 8`, 1)
	_, diags := p.ParseFile(context.Background(), "Eggs/solo/config.fly", []byte(src))
	var b bytes.Buffer
	if err := fly.WriteDiagnosticsText(&b, p.Files(), diags, 0, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Eggs/solo/config.fly:10:18: error: Conflicting arguments: Set exactly one of project_id", "\n  10:     group_id   = 8\n" + strings.Repeat(" ", 23) + "^\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	var js []fly.DiagnosticJSON
	if err := json.Unmarshal(fly.DiagnosticsJSON(diags), &js); err != nil {
		t.Fatal(err)
	}
	want := fly.DiagnosticJSON{Severity: "error", Summary: "Conflicting arguments", Detail: diags[0].Detail,
		Filename: "Eggs/solo/config.fly", Line: 10, Column: 18, EndLine: 10, EndColumn: 19}
	if len(js) != 1 || js[0] != want {
		t.Errorf("JSON = %+v, want %+v", js, want)
	}
	if got := string(fly.DiagnosticsJSON(nil)); got != "[]" {
		t.Errorf("no diagnostics = %s, want []", got)
	}
	if got := fly.DiagnosticLine(diags[0]); !strings.HasPrefix(got, "Eggs/solo/config.fly:10:18: error: Conflicting arguments: Set exactly one") {
		t.Errorf("line = %q", got)
	}
}

func TestLoadNest_nest_content(t *testing.T) {
	nest, _, diags := fly.LoadNest(context.Background(), filepath.Join("testdata", "valid", "full"))
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
	wantFiles := []string{"Eggs/docs-site/config.fly", "Eggs/payments-api/config.fly", "Eggs/selected-services/config.fly",
		"Jobs/nightly-cleanup.fly", "Jobs/rotate-runner-tokens.fly", "MG/config.fly", "UF/config.fly"}
	if strings.Join(nest.Files, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("files = %q", nest.Files)
	}
	if len(nest.Eggs) != 2 || len(nest.Buckets) != 1 || len(nest.Jobs) != 2 || nest.UglyFox == nil ||
		len(nest.MotherGoose) != 2 || len(nest.UglyFoxDeployments) != 1 {
		t.Fatalf("nest = %+v", nest)
	}
	if p := nest.Eggs["payments-api"].Path; p != "Eggs/payments-api/config.fly" {
		t.Errorf("egg path = %q", p)
	}
	if got := nest.EntityNames(); strings.Join(got, ",") != "docs-site,payments-api,selected-services" {
		t.Errorf("entities = %q", got)
	}
}

func TestLoadNest_missing_and_empty(t *testing.T) {
	nest, _, diags := fly.LoadNest(context.Background(), filepath.Join(t.TempDir(), "absent"))
	if nest != nil || !diags.HasErrors() || diags[0].Summary != "Cannot read Nest" {
		t.Errorf("absent dir: nest %v, diags %v", nest, diags)
	}
	nest, _, diags = fly.LoadNest(context.Background(), t.TempDir())
	if nest == nil || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Summary != "Empty Nest" {
		t.Errorf("empty dir: nest %v, diags %v", nest, diags)
	}
}

// TestExplainSchema_covers_the_schema: the explanation is rendered from the
// parser's tables, so every block, attribute and region appears in it.
func TestExplainSchema_covers_the_schema(t *testing.T) {
	text := fly.ExplainSchema()
	src := string(mustRead(t, filepath.Join("testdata", "valid", "full", "Eggs", "payments-api", "config.fly"))) +
		string(mustRead(t, filepath.Join("testdata", "valid", "full", "Eggs", "selected-services", "config.fly"))) +
		string(mustRead(t, filepath.Join("testdata", "valid", "full", "Jobs", "rotate-runner-tokens.fly"))) +
		string(mustRead(t, filepath.Join("testdata", "valid", "full", "UF", "config.fly"))) +
		string(mustRead(t, filepath.Join("testdata", "valid", "full", "MG", "config.fly")))
	// Every identifier before '=' or '{' in the full corpus is documented.
	inLocals := false
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "locals {":
			inLocals = true
		case inLocals && line == "}":
			inLocals = false
		}
		name, _, ok := strings.Cut(line, " ")
		if inLocals || !ok || name == "" || strings.HasPrefix(name, "#") || strings.ToUpper(name) == name {
			continue // locals and environment variables have free names
		}
		if strings.Contains(line, "=") || strings.HasSuffix(line, "{") {
			if !strings.Contains(text, " "+name+" ") {
				t.Errorf("ExplainSchema does not mention %q", name)
			}
		}
	}
	for _, regions := range domain.KnownRegions {
		for _, r := range regions {
			if !strings.Contains(text, r) {
				t.Errorf("region %s missing", r)
			}
		}
	}
	for _, want := range []string{"1..128; default 2", "512..524288; default 4096", "10..10240; default 20", "1..100; default 1",
		`default "10m"`, "at most 60m for serverless", `1s..10m; default "10m"`, `1..100; default 5`, `default "72h"`, `default "5m"`, `default "3m"`,
		"<scheme>://gitlab/<server>/<owner>/runner-token", "yandex: yc-lockbox, aws: aws-sm", "duration(text)", "runner.since_heartbeat"} {
		if !strings.Contains(text, want) {
			t.Errorf("ExplainSchema lacks %q", want)
		}
	}
}

func TestLoadNest_diagnostic_paths_are_under_dir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Eggs", "solo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Eggs", "solo", "config.fly"), []byte(strings.Replace(soloEgg, "7", "0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, p, diags := fly.LoadNest(context.Background(), dir)
	if len(diags) != 1 || diags[0].Subject.Filename != filepath.Join(dir, "Eggs", "solo", "config.fly") {
		t.Fatalf("diags = %v", diags)
	}
	if p.Files()[diags[0].Subject.Filename] == nil {
		t.Error("the parser does not hold the file of the diagnostic")
	}
}
