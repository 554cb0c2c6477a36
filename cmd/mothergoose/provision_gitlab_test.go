package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
)

const gitlabAPIToken = "glpat-e2e-registration"

// newGitLabProvEnv is a deployment whose egg lives on a fake GitLab that
// MotherGoose has an API token for.
func newGitLabProvEnv(t *testing.T) (*provEnv, *gitlabtest.Server) {
	t.Helper()
	// A Nest names the server by host name alone, reached over HTTPS on
	// 443: the egg's server is example.com (a name the fake's certificate
	// holds), reached through a CONNECT proxy (HTTPS_PROXY; loopback
	// addresses, MotherGoose's own, are never proxied) that tunnels to the
	// fake, whose certificate serve trusts through SSL_CERT_FILE.
	fake := gitlabtest.NewTLS(t, gitlabAPIToken)
	t.Setenv("HTTPS_PROXY", connectProxy(t, fake.Host()))
	fake.AddProject(0, provProject)
	cert := filepath.Join(t.TempDir(), "gitlab-ca.pem")
	if err := os.WriteFile(cert, fake.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", cert)
	t.Setenv("E2E_GITLAB_API_TOKEN", gitlabAPIToken)
	e := newProvEnvOn(t, "example.com")
	e.extraArgs = append(e.extraArgs, "--gitlab-api-token", "example.com=env://E2E_GITLAB_API_TOKEN", "--reconcile-interval", "500ms")
	return e, fake
}

// connectProxy is an HTTP CONNECT proxy on 127.0.0.1 that tunnels every
// connection to target; it returns its URL.
func connectProxy(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			_, _ = io.Copy(up, buf)
			up.Close()
		}()
		_, _ = io.Copy(conn, up)
		conn.Close()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// liveRegistered returns the egg's live rows that carry a GitLab runner, by id.
func (e *provEnv) liveRegistered() map[string]int64 {
	out := map[string]int64{}
	for id, r := range e.runners() {
		if r["state"] == "TERMINATED" || r["state"] == "FAILED" {
			continue
		}
		if g, ok := r["gitlab_runner_id"].(float64); ok && g > 0 {
			out[id] = int64(g)
		}
	}
	return out
}

// TestServe_registers_runners_with_GitLab_Integration: the pool runner gets
// exactly one GitLab runner with the egg's tags and type, shown on its row;
// terminating it deletes that GitLab runner; the token GitLab handed out
// appears in no event, view, plan file, workspace file but its own secret,
// state file or log line.
func TestServe_registers_runners_with_GitLab_Integration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs OpenTofu and mothergoose serve")
	}
	e, fake := newGitLabProvEnv(t)
	e.start()

	var first string
	e.waitUntil("an IDLE runner registered with GitLab", 2*time.Minute, func() bool {
		for id, r := range e.runners() {
			if r["state"] == "IDLE" && r["gitlab_registration"] == "registered" {
				first = id
				return true
			}
		}
		return false
	})
	gl := fake.Runners()
	row := e.get("/runners/" + first)
	if len(gl) != 1 || row["gitlab_runner_id"] != float64(gl[0].ID) {
		t.Fatalf("GitLab holds %+v; row %v", gl, row)
	}
	g := gl[0]
	if g.Type != "project_type" || g.ProjectIDs[0] != provProject || strings.Join(g.Tags, ",") != "docker,linux" || g.RunUntagged ||
		g.Description != provisioner.Description(first, provEgg) || g.MaximumTimeout != 3600 {
		t.Fatalf("GitLab runner %+v", g)
	}

	// Terminate it: its GitLab runner goes; the warm pool brings another.
	if status, body, err := e.do(http.MethodPost, "/runners/"+first+"/terminate", []byte(`{"reason":"e2e"}`),
		map[string]string{"Authorization": "Bearer test-api-token", "Content-Type": "application/json"}); err != nil || status/100 != 2 {
		t.Fatalf("terminate: %d %v %v", status, body, err)
	}
	e.waitUntil("the first runner's GitLab runner deleted", 2*time.Minute, func() bool {
		r := e.get("/runners/" + first)
		return r["state"] == "TERMINATED" && r["gitlab_registration"] == "deleted"
	})
	for _, g := range fake.Runners() {
		if provisioner.RunnerOf(g.Description) == first {
			t.Fatalf("GitLab still holds %+v", g)
		}
	}
	var types []string
	for _, rec := range e.log() {
		types = append(types, rec.Type)
	}
	for _, want := range []string{events.RunnerGitLabRegisteredV1, events.RunnerGitLabPausedV1, events.RunnerGitLabDeleteOwedV1, events.RunnerGitLabDeletedV1} {
		if count(types, want) == 0 {
			t.Fatalf("no %s in the log", want)
		}
	}

	// The replacement is registered too (its workspace, with its state and
	// its token file, is scanned below).
	e.waitUntil("the replacement IDLE and registered", 2*time.Minute, func() bool {
		for id, r := range e.runners() {
			if id != first && r["state"] == "IDLE" && r["gitlab_registration"] == "registered" {
				return true
			}
		}
		return false
	})

	// The scan: every view through the API, then every file.
	tokens := fake.Tokens()
	if len(tokens) == 0 {
		t.Fatal("no token to scan for")
	}
	var apiText bytes.Buffer
	for _, path := range []string{"/runners?limit=1000&requests=true", "/plans?limit=1000", "/audit?limit=1000", "/events?limit=1000&after=0"} {
		b, _ := json.Marshal(e.get(path))
		apiText.Write(b)
	}
	for _, tok := range tokens {
		if strings.Contains(apiText.String(), tok) {
			t.Fatalf("the API (events, views) shows a runner token")
		}
	}
	e.stop()
	scanned := 0
	skip := map[string]bool{}
	_ = filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		// The token's own secret files (a live runner's workspace holds it).
		if d.Name() == "gitlab-runner-token" {
			skip[path] = true
			return nil
		}
		if strings.Contains(path, string(filepath.Separator)+"secrets"+string(filepath.Separator)) || strings.Contains(path, ".terraform"+string(filepath.Separator)) {
			return nil // the test's own secret files; providers' binaries
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		scanned++
		for _, tok := range tokens {
			if bytes.Contains(b, []byte(tok)) {
				t.Errorf("%s holds a runner token", strings.TrimPrefix(path, e.dir))
			}
		}
		return nil
	})
	if len(skip) == 0 {
		t.Fatal("no stored token file found: is the token stored where the runner reads it?")
	}
	states, _ := filepath.Glob(filepath.Join(e.workDir, "*", "*.tfstate*"))
	logs, _ := filepath.Glob(filepath.Join(e.dir, "mothergoose-*.log"))
	plans, _ := filepath.Glob(filepath.Join(e.dataDir, "plans", "*"))
	if len(states) == 0 || len(logs) == 0 || len(plans) == 0 || scanned < len(states)+len(logs)+len(plans) {
		t.Fatalf("the scan missed files: %d states, %d logs, %d plans, %d scanned", len(states), len(logs), len(plans), scanned)
	}
}

// TestServe_kill_between_GitLab_create_and_its_record_Integration: GitLab
// creates the runner but its answer is held while MotherGoose is killed
// with SIGKILL; after a restart, GitLab holds exactly one runner for that
// runner id, the recorded one, and no runner of ours without a live row.
func TestServe_kill_between_GitLab_create_and_its_record_Integration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs OpenTofu and mothergoose serve")
	}
	e, fake := newGitLabProvEnv(t)
	release := fake.HoldCreates()
	e.start()
	e.waitUntil("GitLab holding a create's answer", time.Minute, func() bool { return fake.HeldCreates() == 1 })
	e.kill()
	release()
	held := fake.Runners()
	if len(held) != 1 {
		t.Fatalf("GitLab holds %+v before the restart", held)
	}
	victim := provisioner.RunnerOf(held[0].Description)

	e.start()
	e.waitUntil("the runner registered once and IDLE", 2*time.Minute, func() bool {
		r := e.runners()[victim]
		return r != nil && r["state"] == "IDLE" && r["gitlab_registration"] == "registered"
	})
	e.waitUntil("GitLab holding only recorded runners", time.Minute, func() bool {
		live := e.liveRegistered()
		gl := fake.Runners()
		for _, g := range gl {
			id := provisioner.RunnerOf(g.Description)
			if id == "" || live[id] != g.ID {
				return false // an orphan or a duplicate (yet)
			}
		}
		return len(gl) == len(live)
	})
	mine := 0
	for _, g := range fake.Runners() {
		if provisioner.RunnerOf(g.Description) == victim {
			mine++
			if g.ID == held[0].ID {
				t.Fatal("the unrecorded GitLab runner survived")
			}
		}
	}
	if mine != 1 {
		t.Fatalf("%d GitLab runners for %s, want 1", mine, victim)
	}
	var orphans int
	for _, rec := range e.log() {
		if rec.Type == events.RunnerGitLabOrphanDeletedV1 {
			orphans++
		}
	}
	if orphans != 1 {
		t.Fatalf("%d orphan deletions recorded, want 1", orphans)
	}
}
