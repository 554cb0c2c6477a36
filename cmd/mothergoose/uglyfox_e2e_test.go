package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// TestServe_UglyFox_lifecycle_Integration is UglyFox end to end on the
// embedded default: mothergoose serve runs the sweep in process, real
// OpenTofu makes local runners whose real agents heartbeat, and a fake
// gitlab-runner (testdata/fakegitlabrunner) lets the test make a runner
// BUSY through the metrics the agent reads.
//
//  1. kill -9 of the warm runner's agent: runner.heartbeat_missed within
//     heartbeat_timeout + check_interval (+ a margin), then the terminate
//     rule destroys it and the pool's minimum brings a replacement;
//  2. a BUSY runner past max_age stays (the decision is recorded deferred)
//     until it is idle, then goes.
func TestServe_UglyFox_lifecycle_Integration(t *testing.T) {
	e := newProvEnv(t)
	fake := buildFakeGitLabRunner(t)
	busyDir := t.TempDir()
	// The agents inherit these through serve, tofu and the local module.
	t.Setenv("GOSLING_GITLAB_RUNNER", fake)
	t.Setenv("FAKE_GITLAB_RUNNER_BUSY_DIR", busyDir)
	const (
		heartbeatTimeout = 10 * time.Second
		checkInterval    = 10 * time.Second
		maxAge           = time.Minute
	)
	e.nest.Commit(t, map[string]string{"UF/config.fly": fmt.Sprintf(`uglyfox {
  pruning {
    check_interval    = "10s"
    heartbeat_timeout = "10s"
    max_age           = "1m"
  }

  runners_condition "e2e" {
    eggs_entities = [%q]

    apex {
      min_count = 1
      max_count = 2
    }
  }

  policies {
    rule "silent" {
      when   = runner.since_heartbeat > duration("15s")
      action = "terminate"
    }
  }
}
`, provEgg)})
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(e.workDir, "*", "run", "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("== agent log %s:\n%s", l, b[max(0, len(b)-3000):])
		}
	})
	e.start()

	idleRunner := func(not string) string {
		var id string
		e.waitUntil("an IDLE runner with one agent", 2*time.Minute, func() bool {
			procs := e.runnerProcs()
			for rid, r := range e.runners() {
				if rid != not && r["state"] == "IDLE" && len(procs[rid]) == 1 {
					id = rid
					return true
				}
			}
			return false
		})
		return id
	}
	first := idleRunner("")

	// 1. kill -9 its agent (not its process group: the fake gitlab-runner
	// it started is left, as after a real crash of the agent).
	agent := agentPID(t, e, first)
	killedAt := time.Now()
	if err := syscall.Kill(agent, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var missedAt time.Time
	e.waitUntil("runner.heartbeat_missed of the killed runner", heartbeatTimeout+checkInterval+time.Minute, func() bool {
		if count(byRunner(e.log())[first], events.RunnerHeartbeatMissedV1) > 0 {
			missedAt = time.Now()
			return true
		}
		return false
	})
	// The bound of the issue: heartbeat_timeout + check_interval, plus a
	// margin for the sweep itself and this poll.
	if took := missedAt.Sub(killedAt); took > heartbeatTimeout+checkInterval+5*time.Second {
		t.Errorf("heartbeat_missed %s after the kill; want within %s", took.Round(time.Second), heartbeatTimeout+checkInterval+5*time.Second)
	}
	e.waitUntil("the killed runner terminated by the rule", 2*time.Minute, func() bool {
		return e.runners()[first]["state"] == "TERMINATED"
	})
	if why := terminationReason(e, first); why == "" || !strings.Contains(why, `rule "silent"`) {
		t.Errorf("the termination's reason %q does not name the rule", why)
	}
	if n := count(byRunner(e.log())[first], events.RunnerHeartbeatMissedV1); n != 1 {
		t.Errorf("%d heartbeat_missed for one silence, want 1", n)
	}
	second := idleRunner(first)

	// 2. BUSY past max_age: deferred, then terminated once idle.
	if err := os.WriteFile(filepath.Join(busyDir, second), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.waitUntil("the second runner BUSY", time.Minute, func() bool { return e.runners()[second]["state"] == "BUSY" })
	e.waitUntil("the decision on the BUSY runner deferred", maxAge+2*checkInterval+time.Minute, func() bool {
		return count(byRunner(e.log())[second], events.UglyFoxDecisionDeferredV1) > 0
	})
	if s := e.runners()[second]["state"]; s != "BUSY" {
		t.Fatalf("a BUSY runner past max_age is %v, want still BUSY", s)
	}
	if err := os.Remove(filepath.Join(busyDir, second)); err != nil {
		t.Fatal(err)
	}
	e.waitUntil("the formerly BUSY runner terminated once idle", 2*checkInterval+time.Minute, func() bool {
		return e.runners()[second]["state"] == "TERMINATED"
	})
	if n := count(byRunner(e.log())[second], events.UglyFoxDecisionDeferredV1); n != 1 {
		t.Errorf("%d decision_deferred for one BUSY stretch, want 1", n)
	}
	idleRunner(second) // and the pool's minimum again
	e.stop()
}

// agentPID finds the `gosling runner` process of runner id among this
// env's processes (the module starts it through a shell in its own session).
func agentPID(t *testing.T, e *provEnv, id string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err1 := os.ReadFile(filepath.Join(d, "environ"))
		cmd, err2 := os.ReadFile(filepath.Join(d, "cmdline"))
		if err1 != nil || err2 != nil || !bytes.Contains(env, []byte("GOSLING_RUNNER_ID="+id+"\x00")) || !bytes.Contains(env, []byte(e.workDir+"/")) {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if len(args) >= 2 && filepath.Base(args[0]) == "gosling" && args[1] == "runner" {
			pid, err := strconv.Atoi(filepath.Base(d))
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no gosling runner process for runner %s", id)
	return 0
}

// buildFakeGitLabRunner builds testdata/fakegitlabrunner.
func buildFakeGitLabRunner(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "gitlab-runner")
	if b, err := exec.Command("go", "build", "-o", out, "./testdata/fakegitlabrunner").CombinedOutput(); err != nil {
		t.Fatalf("build the fake gitlab-runner: %v\n%s", err, b)
	}
	return out
}

// terminationReason is the reason of the runner's runner.termination_asked.
func terminationReason(e *provEnv, runner string) string {
	for _, rec := range e.log() {
		if rec.Type != events.RunnerTerminationAskedV1 || rec.Stream != "runner-"+runner {
			continue
		}
		var p struct {
			Reason string `json:"reason"`
		}
		if json.Unmarshal(rec.Payload, &p) == nil {
			return p.Reason
		}
	}
	return ""
}
