package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// init's example egg is local, with file:// secrets in <nest>/.secrets/
// that init writes (0600, random, kept on a second init) and .gitignore
// keeps out of the Nest.
func TestInit_example_egg_is_local_with_its_secrets_out_of_git(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	egg, err := os.ReadFile(filepath.Join(nest, "Eggs", "example-egg", "config.fly"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`provider = "local"`, `"file://` + nest + `/.secrets/example-egg-runner-token"`, `"file://` + nest + `/.secrets/example-egg-webhook-secret"`, `#     provider = "yandex"`, `#     provider = "aws"`} {
		if !strings.Contains(string(egg), want) {
			t.Errorf("the example egg lacks %s", want)
		}
	}
	values := map[string]string{}
	for _, name := range exampleSecretFiles {
		p := filepath.Join(nest, ".secrets", name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		if len(b) != 64 {
			t.Errorf("%s holds %d bytes, want 64 hex digits", name, len(b))
		}
		values[name] = string(b)
	}
	if values[exampleSecretFiles[0]] == values[exampleSecretFiles[1]] {
		t.Error("the two secrets are equal")
	}
	gi, _ := os.ReadFile(filepath.Join(nest, ".gitignore"))
	if !strings.Contains(string(gi), "\n.secrets/\n") {
		t.Errorf(".gitignore does not list .secrets/:\n%s", gi)
	}
	if c := mustHeadCommit(t, nest); c.files != 6 { // README.md, .gitignore and the four .fly files
		t.Errorf("the init commit holds %d files, want 6 (no secrets)", c.files)
	}
	// A second init (--force) keeps the values.
	s.mustRun(0, "init", "--force", "--no-git", "nest")
	for name, v := range values {
		if b, _ := os.ReadFile(filepath.Join(nest, ".secrets", name)); string(b) != v {
			t.Errorf("%s changed on a second init", name)
		}
	}
}

func TestAddEgg_provider_local(t *testing.T) {
	s := newSession(t)
	nest := s.mustInit()
	s.mustRun(0, "add", "egg", "dev", "--provider", "local", "--type", "vm", "--project-id", "9", "--yes",
		"--token-secret", "env://DEV_RUNNER_TOKEN", "--webhook-secret", "file:///srv/dev-webhook", "--nest", nest)
	src, err := os.ReadFile(filepath.Join(nest, "Eggs", "dev", "config.fly"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `provider = "local"`) || strings.Contains(string(src), "region") {
		t.Errorf("the local egg:\n%s", src)
	}
	r := s.mustRun(0, "validate", nest)
	if strings.Contains(r.stdout+r.stderr, "warning") {
		t.Errorf("validate warns about a local egg's local secrets:\n%s%s", r.stdout, r.stderr)
	}
}
