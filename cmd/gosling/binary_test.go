package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary_must_show builds the gosling binary and runs the sequence the
// issue asks for as real processes, on a "fresh machine" (an empty HOME, so
// no Git identity; stdin not a terminal): init -> validate -> add egg ->
// validate -> fmt --check, and the init commit is in the repository.
func TestBinary_must_show(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gosling binary with the go tool; skipped under -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "gosling")
	build := exec.Command(goTool, "build", "-ldflags", "-X main.version=v0.0.0-test -X main.commit=abc123", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	home, work := t.TempDir(), t.TempDir()
	nest := filepath.Join(t.TempDir(), "n")
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "NO_COLOR=1")
	run := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("gosling %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	run(0, "init", nest)
	if out := run(0, "validate", nest); !strings.Contains(out, "nest OK: 1 egg") {
		t.Errorf("validate after init: %q", out)
	}
	run(0, "add", "egg", "web", "--yes", "--project-id", "42", "--nest", nest)
	if out := run(0, "validate", nest); !strings.Contains(out, "nest OK: 2 eggs") {
		t.Errorf("validate after add: %q", out)
	}
	run(0, "fmt", "--check", nest)

	c := mustHeadCommit(t, nest)
	if c.message != "gosling init" {
		t.Errorf("HEAD is %q, want the init commit", c.message)
	}
	if _, err := os.Stat("/etc/gitconfig"); errors.Is(err, os.ErrNotExist) && c.author != "gosling <gosling@localhost>" {
		t.Errorf("author %q without any Git identity, want gosling <gosling@localhost>", c.author)
	}

	run(2, "add", "egg", "api", "--yes", "--nest", nest) // no project or group: no default
	run(2, "validate", "--format", "xml", nest)
	run(2, "nope")
	if out := run(0, "version"); !strings.Contains(out, "gosling v0.0.0-test (commit abc123, go") {
		t.Errorf("version: %q", out)
	}
	if out := run(0, "completion", "bash"); !strings.Contains(out, "__start_gosling") {
		t.Errorf("completion bash: %.200q", out)
	}
}
