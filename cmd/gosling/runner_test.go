package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const agentCredential = "feedface" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"

// fakeMotherGoose records heartbeats; answer decides each reply from the
// heartbeat's number (1-based).
type fakeMotherGoose struct {
	srv    *httptest.Server
	mu     sync.Mutex
	beats  []heartbeatBody
	auths  []string
	paths  []string
	answer func(n int) int
	seen   chan int
}

func newFakeMotherGoose(t *testing.T, answer func(n int) int) *fakeMotherGoose {
	t.Helper()
	f := &fakeMotherGoose{answer: answer, seen: make(chan int, 1000)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var hb heartbeatBody
		if err := json.Unmarshal(raw, &hb); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.beats = append(f.beats, hb)
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.paths = append(f.paths, r.Method+" "+r.URL.Path)
		n := len(f.beats)
		f.mu.Unlock()
		status := f.answer(n)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		switch status {
		case http.StatusOK:
			fmt.Fprintf(w, `{"state":%q}`, hb.State)
		case http.StatusGone:
			fmt.Fprint(w, `{"error":{"code":"ECONFLICT","message":"runner r-1 is terminated"}}`)
		default:
			fmt.Fprint(w, `{"error":{"code":"EUNAVAILABLE","message":"try later"}}`)
		}
		f.seen <- n
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// waitBeats waits (bounded) until n heartbeats arrived.
func (f *fakeMotherGoose) waitBeats(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case got := <-f.seen:
			if got >= n {
				return
			}
		case <-deadline:
			t.Fatalf("fewer than %d heartbeats within 30 s", n)
		}
	}
}

func agentEnv(url string, extra map[string]string) func(string) (string, bool) {
	env := map[string]string{
		envMotherGooseURL: url, envRunnerID: "r-1", envRunnerName: "web-r-1", envRunnerType: "apex", envEgg: "web",
		envAgentVersion: "latest", envMaxJobMinutes: "60", envLabels: `{"egg":"web"}`,
		envSecretURIs:           `{"GOSLING_RUNNER_CREDENTIAL":"env://TEST_AGENT_CREDENTIAL"}`,
		"TEST_AGENT_CREDENTIAL": agentCredential + "\n",
		envHeartbeatInterval:    "100ms", "PATH": "",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

// runAgentUntil runs `gosling runner args...` in-process; stop may cancel
// its context (given its log so far) and returns; then the agent must end.
func runAgentUntil(t *testing.T, env func(string) (string, bool), stop func(cancel context.CancelFunc, log func() string), args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	w := &syncWriter{w: &stderr}
	a := &App{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: w, LookupEnv: env}
	codec := make(chan int, 1)
	go func() { codec <- a.Run(ctx, append([]string{"runner"}, args...)) }()
	stop(cancel, w.String)
	select {
	case code := <-codec:
		return code, w.String()
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not stop within 30 s")
		return 0, ""
	}
}

func TestRunner_heartbeats_with_its_credential_and_stops_on_cancel(t *testing.T) {
	mg := newFakeMotherGoose(t, func(int) int { return http.StatusOK })
	code, log := runAgentUntil(t, agentEnv(mg.srv.URL, nil), func(cancel context.CancelFunc, _ func() string) {
		mg.waitBeats(t, 3)
		cancel()
	})
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, log)
	}
	mg.mu.Lock()
	defer mg.mu.Unlock()
	for i, hb := range mg.beats {
		if mg.auths[i] != "Bearer "+agentCredential || mg.paths[i] != "POST /runners/r-1/heartbeat" {
			t.Fatalf("heartbeat %d: %s with Authorization %q", i, mg.paths[i], mg.auths[i])
		}
		if hb.State != "IDLE" || hb.Version == "" || hb.RunningJobs == nil || len(hb.RunningJobs) != 0 {
			t.Fatalf("heartbeat %d: %+v, want IDLE with a version and no jobs", i, hb)
		}
	}
	if strings.Contains(log, agentCredential) || strings.Contains(log, "feedface") {
		t.Fatalf("the credential is in the log:\n%s", log)
	}
	for _, want := range []string{"gitlab-runner is not installed", "heartbeat accepted", "stopping: signal received", "credential_uri=env://TEST_AGENT_CREDENTIAL"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestRunner_stops_when_told_the_runner_is_terminated(t *testing.T) {
	mg := newFakeMotherGoose(t, func(n int) int {
		if n >= 3 {
			return http.StatusGone
		}
		return http.StatusOK
	})
	code, log := runAgentUntil(t, agentEnv(mg.srv.URL, nil), func(context.CancelFunc, func() string) {})
	if code != 0 || !strings.Contains(log, "runner is terminated") {
		t.Fatalf("exit %d, want 0 after 410\n%s", code, log)
	}
	mg.mu.Lock()
	defer mg.mu.Unlock()
	if len(mg.beats) != 3 {
		t.Fatalf("%d heartbeats, want 3 (nothing after the 410)", len(mg.beats))
	}
}

func TestRunner_retries_while_mothergoose_fails(t *testing.T) {
	mg := newFakeMotherGoose(t, func(n int) int {
		switch n {
		case 1:
			return http.StatusUnauthorized // not recorded as deployed yet
		case 2:
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	code, log := runAgentUntil(t, agentEnv(mg.srv.URL, nil), func(cancel context.CancelFunc, _ func() string) {
		mg.waitBeats(t, 4)
		cancel()
	})
	if code != 0 || !strings.Contains(log, "heartbeat failed; retrying") || !strings.Contains(log, "failures=2") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if strings.Contains(log, agentCredential) {
		t.Fatalf("the credential is in the log:\n%s", log)
	}
}

func TestRunner_unreachable_mothergoose_is_retried_until_stopped(t *testing.T) {
	mg := newFakeMotherGoose(t, func(int) int { return http.StatusOK })
	url := mg.srv.URL
	mg.srv.Close() // nothing listens there now
	code, log := runAgentUntil(t, agentEnv(url, nil), func(cancel context.CancelFunc, log func() string) {
		for i := 0; i < 1500 && strings.Count(log(), "heartbeat failed") < 2; i++ { // at most 30 s
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	})
	if code != 0 || strings.Count(log, "heartbeat failed") < 2 || !strings.Contains(log, "stopping: signal received") {
		t.Fatalf("exit %d, want 0 after two failed heartbeats\n%s", code, log)
	}
}

func TestRunner_configuration_errors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]string
		args  []string
		want  string
	}{
		{"no_url", map[string]string{envMotherGooseURL: ""}, nil, "MotherGoose URL"},
		{"no_runner_id", map[string]string{envRunnerID: ""}, nil, "no runner id"},
		{"no_credential_uri", map[string]string{envSecretURIs: `{}`}, nil, "no runner credential"},
		{"secret_uris_not_json", map[string]string{envSecretURIs: `[`}, nil, "not a JSON object"},
		{"interval_not_a_duration", map[string]string{envHeartbeatInterval: "soon"}, nil, "not a duration"},
		{"credential_unset", map[string]string{"TEST_AGENT_CREDENTIAL": ""}, []string{"--credential-uri", "env://UNSET_VAR"}, "UNSET_VAR is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := agentEnv("http://127.0.0.1:1", tc.extra)
			if _, set := tc.extra[envMotherGooseURL]; set {
				env = agentEnv("", tc.extra)
			}
			code, log := runAgentUntil(t, env, func(context.CancelFunc, func() string) {}, tc.args...)
			if code == 0 || !strings.Contains(log, tc.want) {
				t.Fatalf("exit %d, want a failure saying %q:\n%s", code, tc.want, log)
			}
		})
	}
}

func TestSumMetric_reads_the_exposition_format(t *testing.T) {
	const page = `# HELP gitlab_runner_jobs The number of running builds.
# TYPE gitlab_runner_jobs gauge
gitlab_runner_jobs{executor_stage="docker_run",runner="abc123",stage="step_script",state="running",system_id="s_0a1b"} 2
gitlab_runner_jobs{executor_stage="x}y",runner="a\"b",stage="",state="running",system_id="s"} 1 1700000000000
# HELP gitlab_runner_jobs_total Total jobs.
# TYPE gitlab_runner_jobs_total counter
gitlab_runner_jobs_total{runner="abc123",system_id="s_0a1b"} 40
gitlab_runner_concurrent 4
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		switch r.URL.Path {
		case "/busy":
			io.WriteString(w, page)
		case "/idle":
			io.WriteString(w, "# TYPE gitlab_runner_jobs gauge\ngitlab_runner_concurrent 4\ngitlab_runner_jobs_total{runner=\"a\"} 40\n")
		case "/bad":
			io.WriteString(w, "gitlab_runner_jobs{state=\"running\" 1\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		path  string
		want  float64
		fails bool
	}{{"/busy", 3, false}, {"/idle", 0, false}, {"/bad", 0, true}, {"/missing", 0, true}} {
		got, err := readRunningJobs(ctx, srv.Client(), srv.URL+tc.path)
		if (err != nil) != tc.fails || got != tc.want {
			t.Errorf("%s: %v, %v; want %v (fails %v)", tc.path, got, err, tc.want, tc.fails)
		}
	}
}

func TestTOMLString(t *testing.T) {
	for in, want := range map[string]string{
		`plain`: `"plain"`, `a"b\c`: `"a\"b\\c"`, "new\nline\x7f": `"new\u000Aline\u007F"`, "ü": `"ü"`,
	} {
		if got := tomlString(in); got != want {
			t.Errorf("tomlString(%q) = %s, want %s", in, got, want)
		}
	}
}

// A fake gitlab-runner (a shell script) stands in for the real one, which
// cannot be installed here: the agent writes config.toml with the token
// and its metrics address, starts it with run --config, and stops it with
// SIGTERM before it exits itself.
func TestRunner_runs_and_stops_gitlab_runner(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake gitlab-runner is a POSIX shell script")
	}
	dir, work := t.TempDir(), t.TempDir()
	marks := filepath.Join(dir, "marks")
	script := filepath.Join(dir, "gitlab-runner")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
echo "args $*" >>"`+marks+`"
trap 'echo stopped >>"`+marks+`"; exit 0' TERM
while :; do sleep 0.05; done
`), 0o755); err != nil {
		t.Fatal(err)
	}
	mg := newFakeMotherGoose(t, func(int) int { return http.StatusOK })
	env := agentEnv(mg.srv.URL, map[string]string{
		envSecretURIs:       `{"GOSLING_RUNNER_CREDENTIAL":"env://TEST_AGENT_CREDENTIAL","GOSLING_RUNNER_TOKEN":"env://TEST_RUNNER_TOKEN"}`,
		"TEST_RUNNER_TOKEN": "glrt-secret-token",
		envGitLabURL:        "https://gitlab.example.com",
	})
	code, log := runAgentUntil(t, env, func(cancel context.CancelFunc, _ func() string) {
		mg.waitBeats(t, 2)
		cancel()
	}, "--gitlab-runner", script, "--work-dir", work)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	raw, err := os.ReadFile(marks)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(work, "config.toml")
	if want := "args run --config " + cfgPath + " --working-directory " + work + "\nstopped\n"; string(raw) != want {
		t.Fatalf("fake gitlab-runner saw:\n%s\nwant:\n%s", raw, want)
	}
	fi, err := os.Stat(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config.toml mode %v, want 0600", fi.Mode().Perm())
	}
	toml, _ := os.ReadFile(cfgPath)
	for _, want := range []string{`token = "glrt-secret-token"`, `url = "https://gitlab.example.com"`, `name = "web-r-1"`, `listen_address = "127.0.0.1:`} {
		if !strings.Contains(string(toml), want) {
			t.Errorf("config.toml lacks %s:\n%s", want, toml)
		}
	}
	if strings.Contains(log, "glrt-secret-token") || strings.Contains(log, agentCredential) {
		t.Fatalf("a secret is in the log:\n%s", log)
	}
	// The fake serves no metrics: the agent says so and reports IDLE.
	if !strings.Contains(log, "gitlab-runner started") || !strings.Contains(log, "metrics cannot be read") {
		t.Errorf("log:\n%s", log)
	}
}

func TestRunner_gitlab_runner_without_a_token_is_not_started(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake gitlab-runner is a POSIX shell script")
	}
	dir := t.TempDir()
	marks := filepath.Join(dir, "marks")
	script := filepath.Join(dir, "gitlab-runner")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho started >>\""+marks+"\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mg := newFakeMotherGoose(t, func(int) int { return http.StatusOK })
	code, log := runAgentUntil(t, agentEnv(mg.srv.URL, map[string]string{envGitLabRunner: script}), func(cancel context.CancelFunc, _ func() string) {
		mg.waitBeats(t, 1)
		cancel()
	}, "--work-dir", t.TempDir())
	if code != 0 || !strings.Contains(log, "no runner token is configured") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if _, err := os.Stat(marks); err == nil {
		t.Fatal("gitlab-runner was started without a token")
	}
}

// A new runner's agent starts before MotherGoose records it as deployed:
// those first refusals (401, 404) are retried at once, not after the
// interval, while any other failure, or a refusal once a heartbeat was
// accepted, backs off.
func TestRunner_retries_a_new_runner_soon_until_it_is_recorded(t *testing.T) {
	for _, tc := range []struct {
		name        string
		n           int
		notRecorded bool
		since       time.Duration
		lo, hi      time.Duration
	}{
		{"not_recorded_yet", 3, true, time.Second / 2, notRecordedFastRetry / 2, notRecordedFastRetry},
		{"not_recorded_after_the_fast_window", 3, true, notRecordedFastWindow, notRecordedRetry / 2, notRecordedRetry},
		{"not_recorded_after_the_window", 3, true, notRecordedWindow, 10 * time.Second, 40 * time.Second},
		{"other_failure", 1, false, time.Second, 2500 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				if d := retryWait(5*time.Second, tc.n, tc.notRecorded, tc.since); d < tc.lo || d > tc.hi {
					t.Fatalf("retryWait = %v, want %v..%v", d, tc.lo, tc.hi)
				}
			}
		})
	}
	if d := retryWait(50*time.Millisecond, 1, true, 0); d > 50*time.Millisecond {
		t.Fatalf("a refusal is retried after %v, more than the 50ms interval", d)
	}

	// Through the agent, with the default 5 s interval: three 401s, then
	// accepted, well within one interval.
	mg := newFakeMotherGoose(t, func(n int) int {
		if n <= 3 {
			return []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusUnauthorized}[n-1]
		}
		return http.StatusOK
	})
	start := time.Now()
	code, log := runAgentUntil(t, agentEnv(mg.srv.URL, map[string]string{envHeartbeatInterval: "5s"}), func(cancel context.CancelFunc, _ func() string) {
		mg.waitBeats(t, 4)
		cancel()
	})
	if took := time.Since(start); code != 0 || took > 3*time.Second {
		t.Fatalf("exit %d after %v, want 0 within 3 s (three quick retries)\n%s", code, took, log)
	}
}
