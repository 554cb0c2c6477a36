package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// pinnedEggConfig is the provisioning tests' egg with a versions block
// pinning tofu.
func (e *provEnv) pinnedEggConfig(tofuVersion string) string {
	return e.eggFileWith(1, fmt.Sprintf("\n  versions {\n    tofu = %q\n  }\n", tofuVersion))
}

// realTofuVersion is the version TOFU_BIN reports.
func realTofuVersion(t *testing.T, tofu string) string {
	t.Helper()
	cmd := exec.Command(tofu, "version", "-json")
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s version -json: %v", tofu, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out[strings.Index(string(out), "{"):], &v); err != nil || v.Version == "" {
		t.Fatalf("%s version -json: %q: %v", tofu, out, err)
	}
	return v.Version
}

// planEvents returns the payloads of the log's plan.created and
// plan.failed events.
func planEvents(recs []logRecord) (created, failed []map[string]any) {
	for _, r := range recs {
		var p map[string]any
		if json.Unmarshal(r.Payload, &p) != nil {
			continue
		}
		switch r.Type {
		case events.PlanCreatedV1:
			created = append(created, p)
		case events.PlanFailedV1:
			failed = append(failed, p)
		}
	}
	return created, failed
}

// TestServe_runs_the_pinned_tofu_Integration: an egg pinning a tofu
// version that is not registered gets plan.failed (stage init, permanent)
// saying so and how to register it, and nothing runs; once it pins the
// registered version (a wrapper script registered with `mothergoose
// binaries add` as the real tofu's version, which logs each call to a
// marker file and execs the real tofu), the runner's plan and apply run
// through the wrapper and plan.created carries the pinned version.
func TestServe_runs_the_pinned_tofu_Integration(t *testing.T) {
	e := newProvEnv(t)
	version := realTofuVersion(t, e.tofu)
	marker := filepath.Join(e.dir, "tofu-calls.log")
	wrapper := filepath.Join(e.dir, "tofu-wrapper")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %q\nexec %q \"$@\"\n", marker, e.tofu)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256Hex([]byte(script))
	if out, err := exec.Command(e.bin, "--data-dir", e.dataDir, "binaries", "add", "--kind", "tofu", "--version", version,
		"--platform", "linux/amd64", "--file", wrapper, "--sha256", sum, "--reason", "pinned-tofu test").CombinedOutput(); err != nil {
		t.Fatalf("binaries add: %v\n%s", err, out)
	}

	// First the egg pins a version nobody registered.
	e.nest.Commit(t, map[string]string{"Eggs/" + provEgg + "/config.fly": e.pinnedEggConfig("1.99.0")})
	e.start()
	want := "egg " + provEgg + " pins tofu 1.99.0, which is not registered for linux/amd64: mothergoose binaries add --kind tofu --version 1.99.0"
	e.waitUntil("plan.failed for the unregistered pin", 2*time.Minute, func() bool {
		_, failed := planEvents(e.log())
		for _, f := range failed {
			if f["stage"] == "init" && f["permanent"] == true && strings.HasPrefix(fmt.Sprint(f["error"]), want) {
				return true
			}
		}
		return false
	})
	created, failed := planEvents(e.log())
	for _, f := range failed {
		if !strings.HasPrefix(fmt.Sprint(f["error"]), want) {
			t.Errorf("plan.failed other than the pin's: %v", f)
		}
	}
	for _, c := range created {
		if c["module"] != nil && c["module"] != "" {
			t.Errorf("a plan was rendered for the unregistered pin: %v", c)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		b, _ := os.ReadFile(marker)
		t.Fatalf("the wrapper ran before the egg pinned it:\n%s", b)
	}

	// Then it pins the registered version: the wrapper runs its plans.
	e.nest.Commit(t, map[string]string{"Eggs/" + provEgg + "/config.fly": e.pinnedEggConfig(version)})
	e.waitUntil("a runner deployed with the pinned tofu", 3*time.Minute, func() bool {
		for _, rec := range e.log() {
			if rec.Type == events.RunnerDeployedV1 {
				return true
			}
		}
		return false
	})
	calls, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("the wrapper never ran: %v", err)
	}
	ran := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
		ran[strings.Fields(line + " x")[0]] = true
	}
	for _, sub := range []string{"version", "init", "plan", "apply"} {
		if !ran[sub] {
			t.Errorf("the wrapper did not run tofu %s; its calls:\n%s", sub, calls)
		}
	}
	created, _ = planEvents(e.log())
	pinned := 0
	for _, c := range created {
		if c["module"] == "local" {
			pinned++
			if c["tofu_version"] != version {
				t.Errorf("plan.created tofu_version %v, want the pin %s", c["tofu_version"], version)
			}
		}
	}
	if pinned == 0 {
		t.Error("no rendered plan.created")
	}
	if b, err := os.ReadFile(filepath.Join(e.dataDir, "tools", "tofu", version, sum[:16], "tofu")); err != nil || sha256Hex(b) != sum {
		t.Errorf("the materialised binary: %v (sha256 %s, want %s)", err, sha256Hex(b), sum)
	}
	e.stop()
}
