package tofu_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/tofu"
)

// repoRoot walks up from the test's directory to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// tofuBin finds the OpenTofu binary: $TOFU_BIN, then .tools/bin/tofu (what
// make tools builds), then PATH. Without one the test is skipped with the
// reason, except under CI, where it fails: CI always has the binary.
func tofuBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TOFU_BIN"); p != "" {
		return p
	}
	if p := filepath.Join(repoRoot(t), ".tools", "bin", "tofu"); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("tofu"); err == nil {
		return p
	}
	const why = "no OpenTofu binary: set TOFU_BIN, run `make tools` (builds .tools/bin/tofu) or put tofu on PATH"
	if os.Getenv("CI") != "" {
		t.Fatal(why + " (CI is set, so this is a failure)")
	}
	t.Skip(why)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func mustExecutor(t testing.TB, cfg tofu.Config) *tofu.Executor {
	t.Helper()
	if cfg.Binary == "" {
		cfg.Binary = tofuBin(t)
	}
	if cfg.WorkRoot == "" {
		cfg.WorkRoot = t.TempDir()
	}
	if cfg.ModulesDir == "" {
		cfg.ModulesDir = filepath.Join(repoRoot(t), "modules", "compute")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Minute
	}
	e, err := tofu.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// localSpec is a local-target runner whose process is the module's test
// runner script; its pid file is killed in t.Cleanup whatever happens.
func localSpec(t testing.TB, runnerID string) tofu.RunnerSpec {
	t.Helper()
	workDir := t.TempDir()
	pidFile := filepath.Join(workDir, runnerID+".pid")
	t.Cleanup(func() { killPidFile(pidFile) })
	return tofu.RunnerSpec{
		Target:         tofu.TargetLocal,
		Name:           "dev-runner",
		Egg:            "payments-api",
		RunnerID:       runnerID,
		RunnerType:     tofu.Apex,
		CPU:            2,
		MemoryMB:       4096,
		DiskGB:         20,
		Region:         "local",
		Image:          "local",
		Tags:           map[string]string{"team": "payments"},
		MotherGooseURL: "http://127.0.0.1:8080",
		SecretURIs:     map[string]string{"RUNNER_TOKEN": "env://RUNNER_TOKEN"},
		Local: &tofu.LocalTarget{
			WorkDir:       workDir,
			RunnerCommand: filepath.Join(repoRoot(t), "modules", "compute", "local", "tests", "fake-runner.sh"),
		},
	}
}

func pidFileOf(s tofu.RunnerSpec) string {
	return filepath.Join(s.Local.WorkDir, s.RunnerID+".pid")
}

func readPid(t testing.TB, pidFile string) int {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %s: %v", pidFile, err)
	}
	// Whatever the test does next, this process does not outlive it.
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	})
	return pid
}

// groupAlive reports whether any live (non-zombie) process is in process
// group pgid: the runner leads its own group, its children are in it.
func groupAlive(pgid int) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state, ppid, pgrp, ...
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) && pid > 0 {
			return true
		}
	}
	return false
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// envOf is the environment pid was started with.
func envOf(t testing.TB, pid int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatalf("environ of %d: %v", pid, err)
	}
	return strings.Split(string(b), "\x00")
}

func killPidFile(pidFile string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
