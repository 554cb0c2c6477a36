package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// result is one in-process run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// session runs gosling commands in-process in a working directory, with
// stdin either not a terminal or a fake terminal fed from a string.
type session struct {
	t   *testing.T
	dir string
}

func newSession(t *testing.T) *session {
	t.Helper()
	return &session{t: t, dir: t.TempDir()}
}

func (s *session) run(args ...string) result {
	s.t.Helper()
	return s.runWithInput("", false, args...)
}

// runTerminal runs with stdin as a terminal that types input.
func (s *session) runTerminal(input string, args ...string) result {
	s.t.Helper()
	return s.runWithInput(input, true, args...)
}

func (s *session) runWithInput(input string, terminal bool, args ...string) result {
	s.t.Helper()
	var stdout, stderr bytes.Buffer
	a := &App{
		Stdin: strings.NewReader(input), Stdout: &stdout, Stderr: &stderr,
		Interactive: terminal, Dir: s.dir,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := a.Run(ctx, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (s *session) mustRun(want int, args ...string) result {
	s.t.Helper()
	r := s.run(args...)
	if r.code != want {
		s.t.Fatalf("gosling %s: want exit %d, got\n%s", strings.Join(args, " "), want, r)
	}
	return r
}

// mustInit creates a Nest in the session directory ("nest") and returns its path.
func (s *session) mustInit() string {
	s.t.Helper()
	s.mustRun(0, "init", "nest")
	return filepath.Join(s.dir, "nest")
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// skeletonFiles are the .fly files init writes, with the kind of each.
var skeletonFiles = []struct {
	path   string
	kind   fly.Kind
	golden string
}{
	{"Eggs/example-egg/config.fly", fly.KindEgg, "example-egg"},
	{"Jobs/check-nest.fly", fly.KindJob, "check-nest"},
	{"UF/config.fly", fly.KindUglyFox, "uglyfox"},
	{"MG/config.fly", fly.KindMotherGoose, "mothergoose"},
}

func TestSkeleton_is_canonical_and_valid(t *testing.T) {
	n := 0
	err := fs.WalkDir(skeleton, "skeleton", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".fly") {
			return err
		}
		n++
		src, err := fs.ReadFile(skeleton, p)
		if err != nil {
			return err
		}
		if got := hclwrite.Format(src); !bytes.Equal(got, src) {
			t.Errorf("%s is not in canonical format; hclwrite.Format gives:\n%s", p, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(skeletonFiles) {
		t.Fatalf("skeleton has %d .fly files, skeletonFiles lists %d", n, len(skeletonFiles))
	}
	for _, f := range skeletonFiles {
		src, err := fs.ReadFile(skeleton, "skeleton/"+f.path)
		if err != nil {
			t.Fatal(err)
		}
		p := fly.NewParser()
		if _, diags := p.ParseKind(context.Background(), f.kind, f.path, src); len(diags) > 0 {
			t.Errorf("%s: the example must have no diagnostic at all:\n%s", f.path, diags.Error())
		}
	}
}

func TestInit_writes_a_valid_committed_nest(t *testing.T) {
	s := newSession(t)
	r := s.mustRun(0, "init", "nest")
	if !strings.Contains(r.stdout, "Next steps") || !strings.Contains(r.stdout, "gosling add egg") {
		t.Errorf("init does not print next steps:\n%s", r.stdout)
	}
	nest := filepath.Join(s.dir, "nest")
	for _, f := range []string{"README.md", ".gitignore", "Eggs/example-egg/config.fly", "Jobs/check-nest.fly", "UF/config.fly", "MG/config.fly"} {
		if _, err := os.Stat(filepath.Join(nest, f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	r = s.mustRun(0, "validate", "nest")
	if want := "nest OK: 1 egg, 0 buckets, 1 job, uglyfox, 1 mothergoose"; !strings.Contains(r.stdout, want) {
		t.Errorf("validate summary %q, want %q", r.stdout, want)
	}
	s.mustRun(0, "fmt", "--check", "nest")

	c := mustHeadCommit(t, nest)
	if c.message != "gosling init" {
		t.Errorf("commit message %q", c.message)
	}
	if c.files != 6 {
		t.Errorf("init commit holds %d files, want 6", c.files)
	}
	if c.author == "" {
		t.Error("commit has no author")
	}
}

type commitInfo struct {
	message, author string
	files           int
}

// mustHeadCommit reads HEAD of the repository at dir with go-git.
func mustHeadCommit(t *testing.T, dir string) commitInfo {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	if head.Name().Short() != "main" {
		t.Errorf("branch %s, want main", head.Name().Short())
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := tree.Files().ForEach(func(*object.File) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return commitInfo{message: c.Message, author: c.Author.Name + " <" + c.Author.Email + ">", files: n}
}

func TestInit_refuses_an_existing_nest_unless_force(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	mustWrite(t, filepath.Join(nest, "README.md"), "mine\n")
	r := s.mustRun(1, "init", "nest")
	if !strings.Contains(r.stderr, "already holds a Nest") {
		t.Errorf("stderr %q", r.stderr)
	}
	s.mustRun(0, "init", "--force", "nest")
	if got := mustRead(t, filepath.Join(nest, "README.md")); got == "mine\n" {
		t.Error("--force kept README.md")
	}
}

func TestInit_keeps_an_existing_readme(t *testing.T) {
	s := newSession(t)
	mustWrite(t, filepath.Join(s.dir, "nest", "README.md"), "mine\n")
	r := s.mustRun(0, "init", "--no-git", "nest")
	if got := mustRead(t, filepath.Join(s.dir, "nest", "README.md")); got != "mine\n" {
		t.Errorf("README.md overwritten: %q", got)
	}
	if !strings.Contains(r.stdout, "kept the existing README.md") {
		t.Errorf("stdout %q", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "nest", ".git")); err == nil {
		t.Error("--no-git made a repository")
	}
}

func TestAddEgg_with_yes_takes_defaults(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	r := s.mustRun(0, "add", "egg", "payments-api", "--yes", "--project-id", "42", "--nest", "nest", "--tags", "docker,linux")
	file := filepath.Join(nest, "Eggs", "payments-api", "config.fly")
	if !strings.Contains(r.stdout, file) {
		t.Errorf("stdout %q does not name %s", r.stdout, file)
	}
	got := mustRead(t, file)
	for _, want := range []string{`egg "payments-api"`, `type = "serverless"`, `provider = "yandex"`, `region   = "ru-central1-a"`,
		`server     = "gitlab.com"`, `project_id = 42`, `cpu    = 2`, `memory = 4096`, `tags       = ["docker", "linux"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("file lacks %q:\n%s", want, got)
		}
	}
	r = s.mustRun(0, "validate", "nest")
	if !strings.Contains(r.stdout, "2 eggs") {
		t.Errorf("validate: %q", r.stdout)
	}
	s.mustRun(0, "fmt", "--check", "nest")
}

func TestAdd_finds_the_nest_upward(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	s.dir = filepath.Join(nest, "Eggs", "example-egg")
	s.mustRun(0, "add", "job", "cleanup", "--yes", "--schedule", "@daily", "--script", "echo hi")
	if _, err := os.Stat(filepath.Join(nest, "Jobs", "cleanup.fly")); err != nil {
		t.Fatal(err)
	}
	r := s.mustRun(0, "validate")
	if !strings.Contains(r.stdout, "2 jobs") {
		t.Errorf("validate from inside the Nest: %q", r.stdout)
	}
}

func TestAddEgg_prompts_on_a_terminal(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	// type (an invalid answer first), provider, region (default), server
	// (default), project ID (empty: group), group ID.
	input := "kvm\nvm\naws\n\n\n\n789\n"
	r := s.runTerminal(input, "add", "egg", "team-a", "--nest", "nest", "--cpu", "4")
	if r.code != 0 {
		t.Fatalf("add with prompts:\n%s", r)
	}
	for _, want := range []string{"Runner type (serverless|vm) [serverless]: ", `want serverless or vm`, "Cloud provider (yandex|aws|local) [yandex]: ",
		"Region or zone [eu-central-1]: ", "GitLab server [gitlab.com]: ", "GitLab group ID: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("prompts lack %q:\n%s", want, r.stderr)
		}
	}
	got := mustRead(t, filepath.Join(nest, "Eggs", "team-a", "config.fly"))
	for _, want := range []string{`type = "vm"`, `provider = "aws"`, `"eu-central-1"`, `group_id = 789`, `cpu    = 4`, `disk   = 20`} {
		if !strings.Contains(got, want) {
			t.Errorf("file lacks %q:\n%s", want, got)
		}
	}
	s.mustRun(0, "validate", "nest")
	s.mustRun(0, "fmt", "--check", "nest")
}

func TestAdd_yes_never_prompts(t *testing.T) {
	s := newSession(t)
	s.mustInit()
	r := s.runTerminal("vm\n", "add", "egg", "quiet", "--nest", "nest", "--yes", "--group-id", "7")
	if r.code != 0 || strings.Contains(r.stderr, "[") {
		t.Fatalf("--yes on a terminal:\n%s", r)
	}
}

func TestAdd_prompt_input_ends(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	r := s.runTerminal("vm\n", "add", "egg", "cut", "--nest", "nest")
	if r.code != 2 || !strings.Contains(r.stderr, "input ended") {
		t.Fatalf("want a usage error when the terminal closes:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(nest, "Eggs", "cut")); err == nil {
		t.Error("an aborted add wrote something")
	}
}

func TestAdd_refuses_an_existing_file(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	file := filepath.Join(nest, "Eggs", "example-egg", "config.fly")
	before := mustRead(t, file)
	r := s.mustRun(1, "add", "egg", "example-egg", "--yes", "--project-id", "1", "--nest", "nest")
	if !strings.Contains(r.stderr, "already exists") {
		t.Errorf("stderr %q", r.stderr)
	}
	if mustRead(t, file) != before {
		t.Fatal("a refused add changed the file")
	}
	s.mustRun(0, "add", "egg", "example-egg", "--yes", "--project-id", "1", "--nest", "nest", "--force")
	if !strings.Contains(mustRead(t, file), "project_id = 1") {
		t.Fatal("--force did not replace the file")
	}
	s.mustRun(0, "validate", "nest")
}

func TestAdd_usage_errors_exit_2(t *testing.T) {
	s := newSession(t)
	s.mustInit()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no_project_or_group", []string{"add", "egg", "x", "--yes", "--nest", "nest"}, "--project-id or --group-id is required"},
		{"both_project_and_group", []string{"add", "egg", "x", "--project-id", "1", "--group-id", "2", "--nest", "nest"}, "not both"},
		{"bad_type", []string{"add", "egg", "x", "--yes", "--project-id", "1", "--type", "kvm", "--nest", "nest"}, "--type"},
		{"bad_provider", []string{"add", "egg", "x", "--yes", "--project-id", "1", "--provider", "gcp", "--nest", "nest"}, "--provider"},
		{"bad_region", []string{"add", "egg", "x", "--yes", "--project-id", "1", "--region", "mars-1", "--nest", "nest"}, "--region"},
		{"bad_tag", []string{"add", "egg", "x", "--yes", "--project-id", "1", "--tags", "a b", "--nest", "nest"}, "--tags"},
		{"bad_secret", []string{"add", "egg", "x", "--yes", "--project-id", "1", "--token-secret", "plaintext", "--nest", "nest"}, "--token-secret"},
		{"bad_name", []string{"add", "egg", "Bad_Name", "--yes", "--project-id", "1", "--nest", "nest"}, "egg name"},
		{"not_a_number", []string{"add", "egg", "x", "--yes", "--cpu", "many", "--nest", "nest"}, "invalid argument"},
		{"unknown_flag", []string{"add", "egg", "x", "--nope"}, "unknown flag"},
		{"missing_name", []string{"add", "egg"}, "accepts 1 arg"},
		{"unknown_kind", []string{"add", "chicken", "x"}, "want egg, bucket or job"},
		{"bare_add", []string{"add"}, "add what?"},
		{"bucket_without_repo", []string{"add", "bucket", "b", "--yes", "--nest", "nest"}, "--repo is required"},
		{"bucket_bad_repo", []string{"add", "bucket", "b", "--repo", "api=gitlab.com:42", "--nest", "nest"}, "NAME=SERVER:project:ID"},
		{"job_bad_schedule", []string{"add", "job", "j", "--yes", "--schedule", "every day", "--nest", "nest"}, "--schedule"},
		{"not_a_nest", []string{"add", "egg", "x", "--yes", "--project-id", "1", "--nest", "."}, "not a Nest"},
		{"unknown_command", []string{"hatch"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.run(tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want exit 2 mentioning %q, got\n%s", tc.want, r)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(s.dir, "nest", "Eggs", "x")); err == nil {
		t.Error("a usage error wrote something")
	}
}

func TestAdd_invalid_result_writes_nothing(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	r := s.mustRun(1, "add", "egg", "huge", "--yes", "--project-id", "1", "--cpu", "1000", "--nest", "nest")
	if !strings.Contains(r.stderr, "nothing written") || !strings.Contains(r.stderr, "cpu") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(nest, "Eggs", "huge")); err == nil {
		t.Error("an invalid egg left Eggs/huge behind")
	}
}

func TestAdd_refuses_what_would_break_the_nest(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	// example-egg already claims project 12345 on gitlab.com: the new file
	// alone is fine, the Nest with it is not.
	r := s.mustRun(1, "add", "egg", "web", "--yes", "--project-id", "12345", "--nest", "nest")
	if !strings.Contains(r.stderr, "claimed") || !strings.Contains(r.stderr, "nothing written") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(nest, "Eggs", "web")); err == nil {
		t.Error("Eggs/web was written")
	}
	// An error elsewhere in the Nest does not block a good file.
	mustWrite(t, filepath.Join(nest, "Jobs", "broken.fly"), "job \"broken\" {}\n")
	s.mustRun(0, "add", "egg", "web", "--yes", "--project-id", "7", "--nest", "nest")
	// Nor when --nest names the Nest in another spelling than the one the
	// Nest's files are listed under.
	s.mustRun(0, "add", "job", "later", "--yes", "--nest", nest+string(filepath.Separator))
	// A refusal under that spelling names the Nest's files as they are.
	r = s.mustRun(1, "add", "egg", "web2", "--yes", "--project-id", "7", "--nest", nest+string(filepath.Separator))
	want, sep := filepath.Join(nest, "Eggs", "web2", "config.fly"), string(filepath.Separator)
	if !strings.Contains(r.stderr, want+":") || strings.Contains(r.stderr, sep+sep) {
		t.Fatalf("stderr names the refused file otherwise than %s:\n%s", want, r.stderr)
	}
}

func TestValidate_single_file(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	r := s.mustRun(0, "validate", filepath.Join(nest, "MG", "config.fly"))
	if !strings.Contains(r.stdout, `OK: mothergoose "main", uglyfox_deployment "main-uf"`) {
		t.Errorf("stdout %q", r.stdout)
	}
	s.mustRun(2, "validate", filepath.Join(nest, "nope.fly"))
}

func TestAddBucket_and_job_validate(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	s.mustRun(0, "add", "bucket", "shared", "--yes", "--nest", "nest", "--type", "vm", "--provider", "aws",
		"--repo", "api=gitlab.com:project:12346", "--repo", "team-a=gitlab.internal.net:group:67")
	script := "set -eu\ngosling secrets rotate --all\necho \"done ${USER}\"\n"
	s.mustRun(0, "add", "job", "rotate", "--yes", "--nest", "nest", "--schedule", "*/15 * * * *", "--timeout", "5m",
		"--script", script, "--tags", "nest-admin")
	job := mustRead(t, filepath.Join(nest, "Jobs", "rotate.fly"))
	if !strings.Contains(job, "<<-EOT") || !strings.Contains(job, "$${USER}") {
		t.Errorf("a multi-line script is not an escaped heredoc:\n%s", job)
	}
	r := s.mustRun(0, "validate", "nest")
	if !strings.Contains(r.stdout, "1 bucket") || !strings.Contains(r.stdout, "2 jobs") {
		t.Errorf("validate: %q", r.stdout)
	}
	s.mustRun(0, "fmt", "--check", "nest")

	// The script reads back exactly (heredocs add the final newline).
	r = s.mustRun(0, "parse", "--type=job", filepath.Join("nest", "Jobs", "rotate.fly"))
	if !strings.Contains(r.stdout, `"set -eu\ngosling secrets rotate --all\necho \"done ${USER}\"\n"`) {
		t.Errorf("parsed script differs:\n%s", r.stdout)
	}
}

func TestAddBucket_prompts_for_repositories(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	input := "\n\n\n" + "bad\n" + "api=gitlab.com:project:1\n" + "web=gitlab.com:project:2\n\n"
	r := s.runTerminal(input, "add", "bucket", "pair", "--nest", "nest")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	got := mustRead(t, filepath.Join(nest, "Eggs", "pair", "config.fly"))
	if !strings.Contains(got, `repo "api"`) || !strings.Contains(got, `repo "web"`) {
		t.Errorf("file:\n%s", got)
	}
	s.mustRun(0, "validate", "nest")
}

// positionRE matches the position of the skeleton egg's type attribute
// (line 9, the value at column 10) as a diagnostic starts its line:
// ".../Eggs/example-egg/config.fly:9:10: error: ".
var positionRE = regexp.MustCompile(`(?m)^\S*Eggs/example-egg/config\.fly:9:10: error: `)

func TestValidate_broken_file_exits_1_with_position(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	file := filepath.Join(nest, "Eggs", "example-egg", "config.fly")
	src := strings.Replace(mustRead(t, file), `type = "vm"`, `type = "mainframe"`, 1)
	mustWrite(t, file, src)
	r := s.mustRun(1, "validate", "nest")
	if !positionRE.MatchString(r.stderr) {
		t.Errorf("stderr has no position:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "mainframe") {
		t.Errorf("stderr does not quote the bad value:\n%s", r.stderr)
	}
	// The single file gives the same verdict.
	s.mustRun(1, "validate", file)

	// A syntax error too.
	mustWrite(t, file, "egg \"example-egg\" {\n  type = \n}\n")
	r = s.mustRun(1, "validate", "nest")
	if !strings.Contains(r.stderr, "config.fly:2:10: error: Invalid expression") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestValidate_json(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	r := s.mustRun(0, "validate", "--format", "json", "nest")
	var ok validateReport
	if err := json.Unmarshal([]byte(r.stdout), &ok); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if !ok.Valid || ok.Errors != 0 || ok.Summary == "" {
		t.Errorf("report %+v", ok)
	}

	file := filepath.Join(nest, "UF", "config.fly")
	mustWrite(t, file, strings.Replace(mustRead(t, file), `"example-egg"`, `"no-such-egg"`, 1))
	r = s.mustRun(1, "validate", "--format=json", "nest")
	var bad validateReport
	if err := json.Unmarshal([]byte(r.stdout), &bad); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if bad.Valid || bad.Errors == 0 || len(bad.Diagnostics) == 0 || !strings.Contains(string(bad.Diagnostics), "no-such-egg") {
		t.Errorf("report %+v", bad)
	}
	s.mustRun(2, "validate", "--format", "yaml", "nest")
}

func TestValidate_explain(t *testing.T) {
	s := newSession(t)
	r := s.mustRun(0, "validate", "--explain")
	if !strings.Contains(r.stdout, "egg") || !strings.Contains(r.stdout, "project_id") {
		t.Errorf("explain:\n%s", r.stdout)
	}
}

func TestFmt_rewrites_and_is_idempotent(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	file := filepath.Join(nest, "Jobs", "ugly.fly")
	mustWrite(t, file, "job \"ugly\" {\nschedule=\"@daily\"\n    timeout     =   \"5m\"\nscript=\"echo hi\"\nrunner {\ntype=\"vm\"\n}\n}\n")
	r := s.mustRun(1, "fmt", "--check", "nest")
	if strings.TrimSpace(r.stdout) != file {
		t.Errorf("--check lists %q, want only %s", r.stdout, file)
	}
	r = s.mustRun(0, "fmt", "nest")
	if strings.TrimSpace(r.stdout) != file {
		t.Errorf("fmt rewrote %q, want only %s", r.stdout, file)
	}
	got := mustRead(t, file)
	if !strings.Contains(got, "  schedule = \"@daily\"\n  timeout  = \"5m\"") {
		t.Errorf("not formatted:\n%s", got)
	}
	s.mustRun(0, "fmt", "--check", "nest")
	r = s.mustRun(0, "fmt", "nest")
	if r.stdout != "" {
		t.Errorf("a second fmt rewrote %q", r.stdout)
	}
	s.mustRun(0, "validate", "nest")
}

func TestFmt_leaves_a_syntax_error_untouched(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	file := filepath.Join(nest, "Jobs", "broken.fly")
	src := "job \"broken\" {\n  schedule =\n"
	mustWrite(t, file, src)
	r := s.mustRun(1, "fmt", "nest")
	if !strings.Contains(r.stderr, "broken.fly:2:13: error: ") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if mustRead(t, file) != src {
		t.Error("fmt changed a file it could not parse")
	}
}

// TestParse_prints_one_compiler_line_per_diagnostic: a file with two
// errors gives two "FILE:LINE:COL: error: SUMMARY: DETAIL" lines on stderr,
// at the positions of the two bad values, each followed by its source line.
func TestParse_prints_one_compiler_line_per_diagnostic(t *testing.T) {
	s := newSession(t)
	file := filepath.Join(s.dir, "two.fly")
	mustWrite(t, file, `egg "two" {
  type = "mainframe"

  cloud {
    provider = "yandex"
    region   = "ru-central1-a"
  }

  resources {
    cpu    = 0
    memory = 4096
    disk   = 20
  }

  runner {
    tags       = ["docker"]
    concurrent = 1
  }

  gitlab {
    server     = "gitlab.com"
    project_id = 42
  }
}
`)
	r := s.mustRun(1, "parse", "--type=egg", "two.fly")
	if r.stdout != "" {
		t.Errorf("stdout: %q", r.stdout)
	}
	var heads []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, file+":") {
			heads = append(heads, l)
		}
	}
	// "mainframe" starts at line 2, column 10; the 0 of cpu at line 10, column 14.
	if len(heads) != 2 ||
		!strings.HasPrefix(heads[0], file+":2:10: error: ") || !strings.Contains(heads[0], `"mainframe"`) ||
		!strings.HasPrefix(heads[1], file+":10:14: error: ") {
		t.Fatalf("want two diagnostics at %s:2:10 and :10:14, got:\n%s", file, r.stderr)
	}
	for _, h := range heads {
		// summary: detail, on the one line
		if rest := strings.TrimPrefix(h[len(file):], ":"); strings.Count(rest, ": ") < 3 {
			t.Errorf("no detail on the line: %q", h)
		}
	}
	for _, src := range []string{"\n   2:   type = \"mainframe\"\n", "\n  10:     cpu    = 0\n"} {
		if !strings.Contains(r.stderr, src) {
			t.Errorf("stderr lacks the snippet %q:\n%s", src, r.stderr)
		}
	}
}

func TestParse_golden(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	for _, f := range skeletonFiles {
		t.Run(f.golden, func(t *testing.T) {
			r := s.mustRun(0, "parse", "--type="+string(f.kind), filepath.Join(nest, filepath.FromSlash(f.path)))
			var doc map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, r.stdout)
			}
			if doc["kind"] != string(f.kind) || doc["schema_version"] == nil {
				t.Errorf("kind %v, schema_version %v", doc["kind"], doc["schema_version"])
			}
			// File names in the output depend on the temp dir.
			got := strings.ReplaceAll(r.stdout, nest, "NEST")
			golden := filepath.Join("testdata", f.golden+".golden.json")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := mustRead(t, golden); got != want {
				t.Errorf("parse output differs from %s (go test -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestParse_errors(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	egg := filepath.Join(nest, "Eggs", "example-egg", "config.fly")
	s.mustRun(2, "parse", egg)
	s.mustRun(2, "parse", "--type=chicken", egg)
	s.mustRun(2, "parse", "--type=egg")
	r := s.mustRun(1, "parse", "--type=job", egg)
	if r.stdout != "" || r.stderr == "" {
		t.Errorf("an egg parsed as a job:\n%s", r)
	}
}

func TestCompletion_bash(t *testing.T) {
	s := newSession(t)
	r := s.mustRun(0, "completion", "bash")
	if !strings.Contains(r.stdout, "__start_gosling") {
		t.Errorf("no bash completion script:\n%.300s", r.stdout)
	}
	r = s.mustRun(0, "__complete", "add", "egg", "x", "--provider", "")
	if !strings.Contains(r.stdout, "yandex") || !strings.Contains(r.stdout, "aws") {
		t.Errorf("--provider completion:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	s := newSession(t)
	r := s.mustRun(0, "version")
	if !strings.HasPrefix(r.stdout, "gosling ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version: %q", r.stdout)
	}
	s.mustRun(2, "version", "extra")
}

func TestHelp_without_arguments(t *testing.T) {
	s := newSession(t)
	r := s.mustRun(0)
	if !strings.Contains(r.stdout, "Available Commands") {
		t.Errorf("help:\n%s", r.stdout)
	}
}

func TestAdd_prompt_gives_up_when_interrupted(t *testing.T) {
	s := newSession(t)
	s.mustInit()
	stdin, w := io.Pipe() // a terminal nobody types on
	defer w.Close()
	var stdout, stderr bytes.Buffer
	a := &App{Stdin: stdin, Stdout: &stdout, Stderr: &stderr, Interactive: true, Dir: s.dir}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- a.Run(ctx, []string{"add", "egg", "web", "--nest", "nest"}) }()
	cancel() // what main's signal context does on Ctrl-C
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("add kept waiting for an answer after the interrupt")
	}
}

// TestHostile_deep_nesting_is_exit_1: validate, fmt and parse of a file
// nested 100,000 levels deep report it as invalid (exit 1, with its
// position) instead of dying of a stack overflow (exit 2).
func TestHostile_deep_nesting_is_exit_1(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	file := filepath.Join(nest, "Eggs", "example-egg", "config.fly")
	const n = 100_000
	mustWrite(t, file, "egg \"example-egg\" {\n  resources {\n    cpu = "+strings.Repeat("(", n)+"2"+strings.Repeat(")", n)+"\n  }\n}\n")
	for _, args := range [][]string{
		{"validate", "nest"},
		{"validate", file},
		{"fmt", "--check", "nest"},
		{"parse", "--type=egg", file},
	} {
		r := s.mustRun(1, args...)
		if !strings.Contains(r.stderr, "Nesting too deep") || !strings.Contains(r.stderr, "config.fly:3:109: error: Nesting too deep: ") {
			t.Errorf("gosling %s: stderr:\n%.2000s", strings.Join(args, " "), r.stderr)
		}
	}
}

// TestValidate_interrupted_exits_1: a validate whose context ends (the
// first SIGINT or SIGTERM, see main) stops and says so, exit 1, not 2.
func TestValidate_interrupted_exits_1(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	for _, target := range []string{nest, filepath.Join(nest, "UF", "config.fly")} {
		var stdout, stderr bytes.Buffer
		a := &App{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Dir: s.dir}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		code := a.Run(ctx, []string{"validate", target})
		if code != 1 || !strings.Contains(stderr.String(), "interrupted: the check of "+target+" did not finish") {
			t.Errorf("validate %s: exit %d, stderr:\n%s", target, code, stderr.String())
		}
		if strings.Contains(stderr.String(), "--help") || strings.Contains(stdout.String(), "OK") {
			t.Errorf("validate %s: stdout %q, stderr:\n%s", target, stdout.String(), stderr.String())
		}
	}
}
