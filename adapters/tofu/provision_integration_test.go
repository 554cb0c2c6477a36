package tofu_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
)

// provEnv is a provisioner over a real SQLite store, real OpenTofu and the
// local module.
type provEnv struct {
	t        *testing.T
	dbPath   string
	db       *sqlite.DB
	h        *commands.Handlers
	codec    *events.Codec
	workRoot string
	egg      string
}

func newProvEnv(t *testing.T, egg, runnerCommand string) *provEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs OpenTofu applies (skipped under -short)")
	}
	dir := t.TempDir()
	e := &provEnv{t: t, dbPath: filepath.Join(dir, "gosling.db"), workRoot: filepath.Join(dir, "work"), egg: egg, codec: events.NewCodec(events.NewRegistry())}
	exe := mustExecutor(t, tofu.Config{WorkRoot: e.workRoot})
	db, err := sqlite.Open(context.Background(), e.dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	if e.h, err = commands.NewHandlers(db.Events(), e.codec, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() }); err != nil {
		t.Fatal(err)
	}
	compute, err := tofu.NewCompute(tofu.ComputeConfig{Executor: exe, PlansDir: filepath.Join(dir, "plans"), MotherGooseURL: "http://127.0.0.1:9", RunnerCommand: runnerCommand})
	if err != nil {
		t.Fatal(err)
	}
	p, err := provisioner.New(provisioner.Config{Store: db.Events(), Codec: e.codec, Handlers: e.h, Compute: compute, MaxApplies: 4, Timeout: 3 * time.Minute,
		Policy: provisioner.Policy{MaxFailures: 3, Backoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond},
		Wake:   db.Changed, PollInterval: 100 * time.Millisecond, NewID: func() string { return uuid.Must(uuid.NewV7()).String() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("provisioner: %v", err)
		}
		// Whatever a failed test left running goes too.
		for _, pid := range e.processes() {
			_ = killGroup(pid)
		}
		db.Close()
	})
	return e
}

func killGroup(pid int) error {
	p, err := os.FindProcess(-pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// processes returns the pids of the live processes of the env's egg, found
// by their GOSLING_EGG and GOSLING_RUNNER_ID environment.
func (e *provEnv) processes() []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, []byte("GOSLING_RUNNER_ID=")) {
			continue
		}
		if !bytes.Contains(env, []byte("\x00GOSLING_EGG="+e.egg+"\x00")) && !bytes.HasPrefix(env, []byte("GOSLING_EGG="+e.egg+"\x00")) {
			continue
		}
		// Only the runner itself (the session leader started by setsid), not a zombie.
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 4 && f[0] != "Z" && f[3] == f[2] {
			var pid int
			fmt.Sscan(filepath.Base(d), &pid)
			if fmt.Sprint(pid) == f[2] { // its own process group
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func (e *provEnv) syncEgg(min, max int) {
	e.t.Helper()
	_, err := e.h.SyncEgg(context.Background(), commands.SyncEgg{Config: events.EggSynced{
		Name: e.egg, Kind: "egg", RunnerType: "apex", Provider: "local", Region: "local", GitLabServer: "gitlab.example.com",
		ProjectIDs: []int64{42}, Tags: []string{"docker"}, CPU: 1, MemoryGB: 1, MinApex: min, MaxApex: max, Concurrent: 1,
		TokenSecretURI: "env://RUNNER_TOKEN", ConfigHash: fmt.Sprintf("h-%d-%d", min, max), Commit: "c1", Path: "Eggs/" + e.egg + "/config.fly",
	}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// requestJob is what the webhook appends for a pending Job Hook.
func (e *provEnv) requestJob(job int64) {
	e.t.Helper()
	_, err := e.h.RequestRunner(context.Background(), commands.RequestRunner{RunnerID: fmt.Sprintf("%s-job-%d", e.egg, job), Egg: e.egg,
		RunnerType: "apex", Provider: "local", Region: "local", Tags: []string{"docker"}, JobID: job, Reason: fmt.Sprintf("GitLab job %d is pending", job)})
	if err != nil {
		e.t.Fatal(err)
	}
}

// streams returns the event types of every runner stream of the log.
func (e *provEnv) streams() map[string][]string {
	e.t.Helper()
	recs, err := e.db.Events().ReadAll(context.Background(), 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	plans := map[string]string{}
	out := map[string][]string{}
	for _, r := range recs {
		if strings.HasPrefix(r.Stream, "runner-") {
			out[r.Stream] = append(out[r.Stream], r.Type)
		}
		if strings.HasPrefix(r.Stream, "plan-") {
			env, err := e.codec.Decode(r)
			if err != nil {
				e.t.Fatal(err)
			}
			var runner string
			switch p := env.Payload.(type) {
			case *events.PlanCreated:
				runner = p.RunnerID
				plans[r.Stream] = runner
			default:
				runner = plans[r.Stream]
			}
			out["runner-"+runner] = append(out["runner-"+runner], r.Type)
		}
	}
	return out
}

// dump, when set, logs the state of the test when a wait times out.
var dump func()

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			if dump != nil {
				dump()
			}
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func has(types []string, t string) int {
	n := 0
	for _, x := range types {
		if x == t {
			n++
		}
	}
	return n
}

func TestProvisioner_local_runners_come_and_go_Integration(t *testing.T) {
	e := newProvEnv(t, "web", "sleep 600")
	dump = func() {
		for s, types := range e.streams() {
			t.Logf("%s: %v", s, types)
		}
		t.Logf("processes: %v", e.processes())
	}
	defer func() { dump = nil }()
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // never more than max_count processes at any moment
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			if n := int64(len(e.processes())); n > peak.Load() {
				peak.Store(n)
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	e.syncEgg(1, 2)
	waitUntil(t, "the warm runner's process", 2*time.Minute, func() bool { return len(e.processes()) == 1 })

	credentials := map[string]string{}
	readCredentials := func() {
		ids, _ := filepath.Glob(filepath.Join(e.workRoot, "*", "credential"))
		for _, f := range ids {
			if b, err := os.ReadFile(f); err == nil {
				credentials[f] = string(b)
				if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
				}
			}
		}
	}
	readCredentials()

	for job := int64(1); job <= 4; job++ {
		e.requestJob(job)
	}
	// The warm runner never heartbeats here (no agent), so it takes no job:
	// job 1 gets a new runner (the second, the max), jobs 2-4 are queued.
	waitUntil(t, "two processes and three queued requests", 2*time.Minute, func() bool {
		queued := 0
		for _, types := range e.streams() {
			if has(types, events.RunnerQueuedV1) > 0 {
				queued++
			}
		}
		return len(e.processes()) == 2 && queued == 3
	})
	readCredentials()

	if _, err := e.h.RemoveEgg(context.Background(), commands.RemoveEgg{Name: "web", Commit: "c2", Reason: "file removed"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "every runner terminated and every process gone", 2*time.Minute, func() bool {
		if len(e.processes()) != 0 {
			return false
		}
		for s, types := range e.streams() {
			if has(types, events.RunnerRequestedV1) == 1 && types[len(types)-1] != events.RunnerTerminatedV1 && has(types, events.RunnerTerminatedV1) == 0 {
				_ = s
				return false
			}
		}
		return true
	})
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d live processes at once for an egg of max_count 2", p)
	}
	deployed := 0
	for s, types := range e.streams() {
		if has(types, events.RunnerTerminatedV1) != 1 {
			t.Errorf("%s: %v, want one runner.terminated", s, types)
		}
		if has(types, events.RunnerDeployedV1) == 0 {
			continue
		}
		deployed++
		for _, want := range []string{events.PlanCreatedV1, events.PlanAppliedV1, events.RunnerDeployedV1, events.RunnerTerminatedV1} {
			if has(types, want) == 0 {
				t.Errorf("%s: no %s in %v", s, want, types)
			}
		}
		if has(types, events.PlanCreatedV1) != 2 || has(types, events.PlanAppliedV1) != 2 {
			t.Errorf("%s: want a create and a destroy plan, both applied: %v", s, types)
		}
	}
	if deployed != 2 {
		t.Errorf("%d runners deployed, want 2", deployed)
	}
	// No credential in the log, the views or the WAL.
	if len(credentials) != 2 {
		t.Fatalf("saw %d credentials, want 2", len(credentials))
	}
	files, _ := filepath.Glob(e.dbPath + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for path, cred := range credentials {
			if bytes.Contains(b, []byte(cred)) {
				t.Errorf("%s holds the credential of %s", f, path)
			}
		}
	}
	if left, _ := filepath.Glob(filepath.Join(e.workRoot, "*", "terraform.tfstate")); len(left) != 0 {
		t.Errorf("workspaces left after termination: %v", left)
	}
}

func TestProvisioner_failing_apply_ends_FAILED_Integration(t *testing.T) {
	e := newProvEnv(t, "bad", "false")
	e.syncEgg(1, 1)
	var runner string
	waitUntil(t, "the runner FAILED", 2*time.Minute, func() bool {
		for s, types := range e.streams() {
			if has(types, events.RunnerStateChangedV1) > 0 {
				runner = s
				return true
			}
		}
		return false
	})
	types := e.streams()[runner]
	if n := has(types, events.PlanFailedV1); n != 3 {
		t.Errorf("%s: %d plan.failed, want 3 (the bound): %v", runner, n, types)
	}
	if has(types, events.RunnerDeployedV1) != 0 {
		t.Errorf("%s deployed: %v", runner, types)
	}
	recs, err := e.db.Events().Load(context.Background(), "runner-"+strings.TrimPrefix(runner, "runner-"), 0)
	if err != nil {
		t.Fatal(err)
	}
	last, err := e.codec.Decode(recs[len(recs)-1])
	if err != nil {
		t.Fatal(err)
	}
	if sc, ok := last.Payload.(*events.RunnerStateChanged); !ok || sc.To != "FAILED" || !strings.Contains(sc.Reason, "apply") {
		t.Fatalf("last event %+v, want FAILED with the reason", last.Payload)
	}
	// A plan.failed carries the diagnostics.
	all, _ := e.db.Events().ReadAll(context.Background(), 0, 10000)
	diags := false
	for _, r := range all {
		if r.Type == events.PlanFailedV1 && bytes.Contains(r.Payload, []byte(`"diagnostics"`)) {
			diags = true
		}
	}
	if !diags {
		t.Error("no plan.failed carries diagnostics")
	}
	time.Sleep(300 * time.Millisecond)
	if p := e.processes(); len(p) != 0 {
		t.Fatalf("processes left behind: %v", p)
	}
}
