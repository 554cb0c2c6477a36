package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite/sqlitetest"
)

// mothergooseForAgents is the real HTTP API over a real SQLite store on
// 127.0.0.1, with the projector loop running, and one deployed local
// runner r-1 whose credential hash is recorded.
func mothergooseForAgents(t *testing.T, credential string) (url string, getRunner func() map[string]any) {
	t.Helper()
	core := sqlitetest.NewCore(t)
	h, err := httpapi.New(httpapi.Config{
		Handlers: core.Handlers, Views: core.DB.Views(), Events: core.DB.Events(), Secrets: secrets.NewLocal(),
		APIToken: "api-token", TriggerToken: "trigger-token", LastSeen: core.DB.LastSeen(), Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = core.Projections.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	core.DeployLocalRunner(t, "r-1", "web", credential)
	return srv.URL, func() map[string]any {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/runners/r-1", nil)
		req.Header.Set("Authorization", "Bearer api-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var row map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&row); err != nil {
			t.Fatal(err)
		}
		return row
	}
}

// buildGosling builds this binary into a temp dir.
func buildGosling(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the gosling binary with the go tool; skipped under -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "gosling")
	build := exec.Command(goTool, "build", "-ldflags", "-X main.version=v0.0.0-agent", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitRunnerState polls the runner (bounded) until it is in state.
func waitRunnerState(t *testing.T, get func() map[string]any, state string) map[string]any {
	t.Helper()
	var row map[string]any
	for i := 0; i < 600; i++ { // at most 60 s
		if row = get(); row["state"] == state && row["last_heartbeat_at"] != nil {
			return row
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("runner never became %s with a heartbeat: %v", state, row)
	return nil
}

// The agent as a real process, as the local module starts it: the
// GOSLING_* environment and a 0600 credential file; it heartbeats the real
// API, the runner becomes IDLE, and SIGTERM stops it with status 0.
func TestRunnerProcess_heartbeats_until_SIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM is POSIX")
	}
	bin := buildGosling(t)
	const credential = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
	url, getRunner := mothergooseForAgents(t, credential)
	credFile := filepath.Join(t.TempDir(), "r-1.credential")
	if err := os.WriteFile(credFile, []byte(credential), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "runner")
	cmd.Env = []string{
		"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(),
		envMotherGooseURL + "=" + url, envRunnerID + "=r-1", envRunnerName + "=web-r-1", envRunnerType + "=apex",
		envEgg + "=web", envAgentVersion + "=latest", envMaxJobMinutes + "=60", envLabels + `={"egg":"web"}`,
		envSecretURIs + `={"GOSLING_RUNNER_CREDENTIAL":"file://` + credFile + `"}`,
		envHeartbeatInterval + "=200ms", envWorkDir + "=" + t.TempDir(),
	}
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, gone := make(chan error, 1), make(chan struct{})
	go func() { exited <- cmd.Wait(); close(gone) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // fails harmlessly when it has exited
		<-gone
	})

	row := waitRunnerState(t, getRunner, "IDLE")
	if row["agent_version"] != "v0.0.0-agent" {
		t.Errorf("agent version %v, want the binary's", row["agent_version"])
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) || err != nil {
			t.Fatalf("the agent exited with %v after SIGTERM, want 0\n%s", err, log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent did not stop within 30 s of SIGTERM\n%s", log.String())
	}
	if strings.Contains(log.String(), credential) {
		t.Fatalf("the credential is in the agent's log:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "stopping: signal received") {
		t.Errorf("log:\n%s", log.String())
	}
}
