package tofu_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
)

// A killed MotherGoose can leave a runner process that its interrupted
// create apply started but the workspace state never recorded (the
// module's local-exec shell outlives tofu). Its retry must not fail with
// "runner already running" (the crash test found it ending FAILED with the
// process left running), and a destroy, which finds no resource in the
// state, must not leave it running either.
func TestCompute_stops_a_runner_process_the_state_does_not_hold_Integration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs OpenTofu applies (skipped under -short)")
	}
	dir := t.TempDir()
	exe := mustExecutor(t, tofu.Config{WorkRoot: filepath.Join(dir, "work")})
	compute, err := tofu.NewCompute(tofu.ComputeConfig{Executor: exe, PlansDir: filepath.Join(dir, "plans"),
		MotherGooseURL: "http://127.0.0.1:9", RunnerCommand: "sleep 600"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		destroy bool
	}{{"create_starts_it_anew", false}, {"destroy_stops_it", true}} {
		t.Run(tc.name, func(t *testing.T) {
			id := "stray-" + strconv.FormatBool(tc.destroy)
			uri, _, err := compute.Credential(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// The stray: its own session, its pid where the module keeps it.
			pidFile := filepath.Join(exe.Dir(id), "run", id+".pid")
			if err := os.MkdirAll(filepath.Dir(pidFile), 0o750); err != nil {
				t.Fatal(err)
			}
			stray := exec.Command("sleep", "600")
			stray.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := stray.Start(); err != nil {
				t.Fatal(err)
			}
			gone := make(chan struct{})
			go func() { _ = stray.Wait(); close(gone) }()
			t.Cleanup(func() { _ = syscall.Kill(-stray.Process.Pid, syscall.SIGKILL); <-gone; killPidFile(pidFile) })
			if err := os.WriteFile(pidFile, []byte(strconv.Itoa(stray.Process.Pid)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}

			spec := provisioner.Spec{RunnerID: id, Egg: "web", RunnerType: "apex", Provider: "local", Region: "local",
				SecretURIs: map[string]string{"GOSLING_RUNNER_CREDENTIAL": uri}}
			p, err := compute.Plan(ctx, spec, tc.destroy)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if _, err := compute.Apply(ctx, id, p); err != nil {
				t.Fatalf("apply: %v", err)
			}
			select {
			case <-gone:
			case <-time.After(10 * time.Second):
				t.Fatal("the stray runner process still runs")
			}
			_, exists, err := compute.Deployed(ctx, id)
			if err != nil || exists != !tc.destroy {
				t.Fatalf("deployed %v (%v), want %v", exists, err, !tc.destroy)
			}
			if !tc.destroy {
				pid := readPid(t, pidFile)
				if pid == stray.Process.Pid || !alive(pid) {
					t.Fatalf("the new runner %d is not running", pid)
				}
				d, err := compute.Plan(ctx, spec, true)
				if err == nil {
					_, err = compute.Apply(ctx, id, d)
				}
				if err != nil {
					t.Fatalf("destroy: %v", err)
				}
			}
		})
	}
}
