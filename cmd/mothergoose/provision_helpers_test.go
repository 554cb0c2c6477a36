package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
)

// The provisioning tests run the real mothergoose binary (built for each
// test, with gosling beside it) on 127.0.0.1 against a Nest in a real
// Git repository on disk, real OpenTofu and modules/compute/local, whose
// runners are real `gosling runner` agents. Every process a test starts
// (mothergoose, and the runner processes found by their environment) is
// killed in t.Cleanup, whatever happens.

const (
	provEgg     = "e2e"
	provProject = 31537070 // job.json's project on gitlab.com
)

// provTofu finds OpenTofu: $TOFU_BIN, then .tools/bin/tofu, then PATH; it
// skips with the reason when there is none (fails under CI, which has it).
func provTofu(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: builds the binaries and runs OpenTofu applies (skipped under -short)")
	}
	if p := os.Getenv("TOFU_BIN"); p != "" {
		return p
	}
	if p, err := filepath.Abs(filepath.Join("..", "..", ".tools", "bin", "tofu")); err == nil {
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
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

// mustBinaries builds mothergoose and gosling into one temp directory.
func mustBinaries(t *testing.T) (mothergoose string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build the binaries")
	}
	dir := t.TempDir()
	if out, err := exec.Command(goTool, "build", "-o", dir+string(filepath.Separator), "../mothergoose", "../gosling").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "mothergoose")
}

// provEnv is one MotherGoose deployment: its data dir, its Nest, its port
// (the same across restarts: the agents keep heartbeating to it).
type provEnv struct {
	t             *testing.T
	dir, dataDir  string
	workDir       string
	tofu, bin     string
	nest          *gitrepotest.Origin
	port          int
	webhookSecret string
	runnerToken   string
	extraArgs     []string // more serve flags
	child         *exec.Cmd
	childExited   chan struct{}
	childLog      string
	starts        int
}

func newProvEnv(t *testing.T) *provEnv {
	t.Helper()
	return newProvEnvOn(t, "gitlab.com")
}

// newProvEnvOn is newProvEnv with the egg on GitLab server (a fake's URL).
func newProvEnvOn(t *testing.T, server string) *provEnv {
	t.Helper()
	tofu := provTofu(t)
	bin := mustBinaries(t)
	dir := t.TempDir()
	e := &provEnv{t: t, dir: dir, dataDir: filepath.Join(dir, "data"), tofu: tofu, bin: bin,
		webhookSecret: "whs-" + randHex(t), runnerToken: "glrt-" + randHex(t)}
	e.workDir = filepath.Join(e.dataDir, "work")
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"webhook-secret": e.webhookSecret, "runner-token": e.runnerToken} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.nest = gitrepotest.NewOrigin(t, "main")
	e.nest.Commit(t, map[string]string{
		"Eggs/" + provEgg + "/config.fly": fmt.Sprintf(`egg %q {
  type = "vm"

  cloud {
    provider = "local"
  }

  resources {
    cpu    = 1
    memory = 512
    disk   = 10
  }

  runner {
    tags       = ["docker", "linux"]
    concurrent = 1
  }

  gitlab {
    server         = %q
    project_id     = %d
    token_secret   = "file://%s/runner-token"
    webhook_secret = "file://%s/webhook-secret"
  }
}
`, provEgg, server, provProject, secrets, secrets),
		"UF/config.fly": fmt.Sprintf(`uglyfox {
  runners_condition "e2e" {
    eggs_entities = [%q]

    apex {
      min_count = 1
      max_count = 2
    }
  }
}
`, provEgg),
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	t.Cleanup(func() {
		e.kill()
		e.killRunners()
		if t.Failed() {
			e.dumpLog()
		}
	})
	return e
}

func randHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func (e *provEnv) base() string { return "http://127.0.0.1:" + strconv.Itoa(e.port) }

// start runs `mothergoose serve` and waits until it is ready.
func (e *provEnv) start() {
	e.t.Helper()
	e.starts++
	e.childLog = filepath.Join(e.dir, fmt.Sprintf("mothergoose-%02d.log", e.starts))
	logf, err := os.Create(e.childLog)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	modules, err := filepath.Abs(filepath.Join("..", "..", "modules", "compute"))
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(e.bin, "--data-dir", e.dataDir, "--log-level", "info", "serve",
		"--listen", "127.0.0.1:"+strconv.Itoa(e.port), "--nest", e.nest.URL, "--sync-interval", "300ms",
		"--poll-interval", "100ms", "--tofu", e.tofu, "--tofu-timeout", "2m", "--max-applies", "4")
	cmd.Args = append(cmd.Args, e.extraArgs...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "MOTHERGOOSE_API_TOKEN=test-api-token", "MOTHERGOOSE_TRIGGER_TOKEN=test-trigger-token",
		"MOTHERGOOSE_MODULES_DIR="+modules,
		// The agents inherit it (through tofu and the module's local-exec).
		"GOSLING_HEARTBEAT_INTERVAL=300ms")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.child = cmd
	exited := make(chan struct{})
	e.childExited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(e.base() + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			e.t.Fatalf("mothergoose exited at start:\n%s", e.readLog())
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("mothergoose not ready after 60 s:\n%s", e.readLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *provEnv) readLog() string {
	b, _ := os.ReadFile(e.childLog)
	return string(b)
}

func (e *provEnv) dumpLog() {
	logs, _ := filepath.Glob(filepath.Join(e.dir, "mothergoose-*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		lines := strings.Split(string(b), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		e.t.Logf("== %s (tail)\n%s", filepath.Base(l), strings.Join(lines, "\n"))
	}
}

// kill sends SIGKILL to mothergoose and waits for it.
func (e *provEnv) kill() {
	if e.child == nil {
		return
	}
	_ = e.child.Process.Kill()
	<-e.childExited
	e.child = nil
}

// stop sends SIGTERM and waits (bounded) for a clean exit.
func (e *provEnv) stop() {
	e.t.Helper()
	if e.child == nil {
		return
	}
	_ = e.child.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.childExited:
	case <-time.After(30 * time.Second):
		e.t.Errorf("mothergoose did not stop within 30 s of SIGTERM")
	}
	e.kill()
}

// runnerProcs returns, per GOSLING_RUNNER_ID, the process groups of the
// live (non-zombie) runner processes of this env's work dir: one per
// runner, unless a runner was started twice.
func (e *provEnv) runnerProcs() map[string][]int {
	out := map[string][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, []byte("GOSLING_RUNNER_ID=")) || !bytes.Contains(env, []byte(e.workDir+"/")) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		// state, ppid, pgrp, session: a runner leads its own session and
		// group (setsid); the module's local-exec shell that starts it has
		// the same environment but is in tofu's group, and is not counted.
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 4 || f[0] == "Z" || f[2] != f[3] {
			continue
		}
		pgid, _ := strconv.Atoi(f[2])
		var id string
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("GOSLING_RUNNER_ID=")); ok {
				id = string(v)
			}
		}
		if !slices.Contains(out[id], pgid) {
			out[id] = append(out[id], pgid)
		}
	}
	return out
}

// killRunners kills every runner process of this env.
func (e *provEnv) killRunners() {
	for range 3 {
		procs := e.runnerProcs()
		if len(procs) == 0 {
			return
		}
		for _, groups := range procs {
			for _, g := range groups {
				_ = syscall.Kill(-g, syscall.SIGKILL)
				_ = syscall.Kill(g, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *provEnv) do(method, path string, body []byte, header map[string]string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, e.base()+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, out, nil
}

func (e *provEnv) get(path string) map[string]any {
	e.t.Helper()
	status, body, err := e.do(http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer test-api-token"})
	if err != nil || status != 200 {
		e.t.Fatalf("GET %s: %d %v %v", path, status, body, err)
	}
	return body
}

// runners returns every row of the egg, by id: runners and the job
// requests other runners served (requests=true), since the invariants
// follow every accepted job to its row.
func (e *provEnv) runners() map[string]map[string]any {
	e.t.Helper()
	out := map[string]map[string]any{}
	for cursor := ""; ; {
		page := e.get("/runners?limit=1000&requests=true&egg=" + provEgg + cursor)
		for _, r := range page["runners"].([]any) {
			row := r.(map[string]any)
			out[row["id"].(string)] = row
		}
		next, _ := page["next"].(string)
		if next == "" {
			return out
		}
		cursor = "&cursor=" + next
	}
}

// logRecord is one event of GET /events.
type logRecord struct {
	Stream  string          `json:"stream"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// log reads the whole log through GET /events.
func (e *provEnv) log() []logRecord {
	e.t.Helper()
	var out []logRecord
	for after := "0"; ; {
		req, _ := http.NewRequest(http.MethodGet, e.base()+"/events?limit=1000&after="+after, nil)
		req.Header.Set("Authorization", "Bearer test-api-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			e.t.Fatalf("GET /events: %d", resp.StatusCode)
		}
		var page struct {
			Events    []logRecord     `json:"events"`
			NextAfter json.RawMessage `json:"next_after"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		if len(page.Events) == 0 {
			return out
		}
		out = append(out, page.Events...)
		after = string(page.NextAfter)
	}
}

// byRunner groups the log's runner and plan events by runner id.
func byRunner(recs []logRecord) map[string][]string {
	plans := map[string]string{}
	out := map[string][]string{}
	for _, r := range recs {
		var p struct {
			RunnerID string `json:"runner_id"`
		}
		_ = json.Unmarshal(r.Payload, &p)
		switch {
		case strings.HasPrefix(r.Stream, "runner-"):
			id := strings.TrimPrefix(r.Stream, "runner-")
			out[id] = append(out[id], r.Type)
		case strings.HasPrefix(r.Stream, "plan-"):
			if p.RunnerID != "" {
				plans[r.Stream] = p.RunnerID
			}
			if id := plans[r.Stream]; id != "" {
				out[id] = append(out[id], r.Type)
			}
		}
	}
	return out
}

func count(types []string, t string) int {
	n := 0
	for _, x := range types {
		if x == t {
			n++
		}
	}
	return n
}

// jobHook posts job.json for build with status (pending, success, ...),
// signed with the egg's webhook secret; it returns the status and outcome.
func (e *provEnv) jobHook(build int64, status string) (int, string, error) {
	return e.jobHookFrom("", build, status)
}

// jobHookFrom posts job.json for build with status as GitLab server
// serverURL sends it (the project's URLs on that server; "": job.json's
// own, gitlab.com), signed with the egg's webhook secret.
func (e *provEnv) jobHookFrom(serverURL string, build int64, status string) (int, string, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "adapters", "httpapi", "testdata", "job.json"))
	if err != nil {
		return 0, "", err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, "", err
	}
	m["build_id"], m["build_status"], m["project_id"] = build, status, provProject
	if repo, ok := m["repository"].(map[string]any); ok && serverURL != "" {
		repo["homepage"] = serverURL + "/group/project"
		repo["git_http_url"] = serverURL + "/group/project.git"
	}
	if p, ok := m["project"].(map[string]any); ok && serverURL != "" {
		p["web_url"], p["homepage"] = serverURL+"/group/project", serverURL+"/group/project"
	}
	body, _ := json.Marshal(m)
	code, out, err := e.do(http.MethodPost, "/webhooks/gitlab", body, map[string]string{
		"Content-Type": "application/json", "X-Gitlab-Event": "Job Hook",
		"X-Gitlab-Event-UUID": fmt.Sprintf("%s-%d-%s-%d", provEgg, build, status, time.Now().UnixNano()), "X-Gitlab-Token": e.webhookSecret,
	})
	outcome, _ := out["outcome"].(string)
	return code, outcome, err
}

// waitUntil polls ok every 100 ms, failing after d with what and the state.
func (e *provEnv) waitUntil(what string, d time.Duration, ok func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			rows := e.runners()
			for id, r := range rows {
				e.t.Logf("row %s: state=%v queue_reason=%v state_reason=%v jobs=%v", id, r["state"], r["queue_reason"], r["state_reason"], r["assigned_jobs"])
			}
			e.t.Logf("processes: %v", e.runnerProcs())
			e.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// credentials reads the runner credentials minted so far (file -> value).
func (e *provEnv) credentials(into map[string]string) {
	files, _ := filepath.Glob(filepath.Join(e.workDir, "*", "credential"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
			into[f] = string(b)
		}
	}
}

// scanSecrets fails naming every database file (the SQLite file, its WAL
// and shared memory) that holds one of the values.
func (e *provEnv) scanSecrets(values map[string]string) {
	e.t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.dataDir, "gosling.db*"))
	if len(files) == 0 {
		e.t.Fatal("no database file to scan")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		for name, v := range values {
			if bytes.Contains(b, []byte(v)) {
				e.t.Errorf("%s holds the secret value of %s", filepath.Base(f), name)
			}
		}
	}
}
