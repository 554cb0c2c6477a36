package main

// The deployment flow's figures (issue 11, Performance): cold provisioning
// on the local target, warm assignment and a burst, each through the real
// serve composition root (Main on an embedded SQLite store in a temp dir,
// real OpenTofu, real `gosling runner` agents built from this tree), with a
// bare baseline measured in the same run. Every runner process is found by
// its environment (GOSLING_MOTHERGOOSE_URL names this run's server) and
// killed at cleanup, even on failure. Nothing here asserts a timing; the
// burst fails only when an egg has more live runners than its max_count, a
// job ends neither assigned nor queued, or a runner process outlives its
// runner.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

const benchHookSecretEnv = "GOSLING_BENCH_WEBHOOK_SECRET"

// BenchmarkColdProvision times a pending Job Hook's 202 to the new runner's
// first heartbeat (its row IDLE) on the local target ("ours"), against the
// bare path: `tofu init && tofu apply` of the files adapters/tofu renders
// for the same runner (in a separate directory) plus the agent's start to
// its first heartbeat at a trivial 127.0.0.1 HTTP server ("bare"). Rounds
// alternate which goes first; the figures are the medians of 5 rounds.
// x_bare is ours/bare; the target is <= 1.3. deploy_s is the 202 to
// runner.deployed; the rest of ours is the agent's first accepted heartbeat
// and its runner.state_changed reaching the view.
func BenchmarkColdProvision(b *testing.B) {
	env := newBenchEnv(b)
	const rounds = 5
	s := env.serve(b, "", 4)
	s.seedEgg(b, "cold", 7001, 0, rounds*b.N, 1)
	bare := env.bareCompute(b)
	var ours, bareT, deploy []time.Duration
	job := int64(1000)
	runOurs := func() {
		job++
		id := fmt.Sprintf("cold-job-%d", job)
		t0 := s.hook(b, 7001, job, "pending")
		s.waitRunnerState(b, id, provisioner.StateIdle, 3*time.Minute)
		ours = append(ours, time.Since(t0))
		if at := s.tail.deployedAt(id); !at.IsZero() {
			deploy = append(deploy, at.Sub(t0))
		}
		b.Logf("ours %s: %s, IDLE in the view +%d ms", id, s.tail.timeline(id, t0), ours[len(ours)-1].Milliseconds())
	}
	n := 0
	runBare := func() {
		n++
		bareT = append(bareT, bare.initApplyHeartbeat(b, fmt.Sprintf("bare-%d", n)))
	}
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			if r%2 == 0 {
				runOurs()
				runBare()
			} else {
				runBare()
				runOurs()
			}
		}
	}
	// Medians: one round slowed by the other jobs on the VM does not move them.
	o, bb := percentile(ours, 0.5), percentile(bareT, 0.5)
	b.ReportMetric(o.Seconds(), "ours_s")
	b.ReportMetric(bb.Seconds(), "bare_s")
	b.ReportMetric(o.Seconds()/bb.Seconds(), "x_bare")
	b.ReportMetric(percentile(deploy, 0.5).Seconds(), "deploy_s")
}

// BenchmarkWarmAssign times a pending Job Hook's 202 to the
// runner.job_assigned that gives the job to the egg's idle runner (the log
// is followed as the store appends), over 200 jobs one after the other; a
// success Job Hook frees the runner's slot after each. The target is
// p99 <= 100 ms. hook_p50_ms is the Job Hook round trip itself.
func BenchmarkWarmAssign(b *testing.B) {
	env := newBenchEnv(b)
	s := env.serve(b, "", 4)
	s.seedEgg(b, "warm", 7101, 1, 1, 1)
	s.waitEggIdle(b, "warm", 3*time.Minute)
	const (
		jobs     = 200
		maxTotal = 2 * time.Minute
	)
	var lat, rtt []time.Duration
	job := int64(5000)
	start := time.Now()
	for i := 0; i < b.N*jobs && time.Since(start) < maxTotal; i++ {
		job++
		sent := time.Now()
		t0 := s.hook(b, 7101, job, "pending")
		rtt = append(rtt, t0.Sub(sent))
		at := s.tail.waitAssigned(b, job, 30*time.Second)
		lat = append(lat, max(0, at.Sub(t0)))
		s.hook(b, 7101, job, "success")
	}
	b.ReportMetric(float64(len(lat)), "jobs")
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
	b.ReportMetric(ms(percentile(rtt, 0.50)), "hook_p50_ms")
}

// BenchmarkBurst posts 200 pending Job Hooks over 20 eggs of apex
// max_count 3 from 8 clients, samples the live agent processes of every egg
// every 100 ms while the provisioner works, and ends when every job is
// assigned or queued and every egg has its 3 runners deployed. It fails if
// an egg ever has more than 3 live runners, a job is left undecided, the
// live processes are not exactly the deployed runners, or a process
// outlives the teardown (every egg removed: every runner destroyed).
// applies_per_s is the create applies over the wall time (each one a full
// init + plan + apply with --max-applies 4); bare_applies_per_s is serial
// `tofu apply` of pre-made plans of the same module, half before and half
// after the burst.
func BenchmarkBurst(b *testing.B) {
	const (
		eggs    = 20
		maxApex = 3
		jobs    = 200
		clients = 8
		bareN   = 4
	)
	env := newBenchEnv(b)
	bare := env.bareCompute(b)
	var bareT time.Duration
	bareApplies := func(from, to int) {
		for i := from; i < to; i++ {
			bareT += bare.applySaved(b, fmt.Sprintf("bare-apply-%d", i))
		}
	}
	bareApplies(0, bareN/2)

	s := env.serve(b, "", 4)
	eggName := func(i int) string { return fmt.Sprintf("burst-%02d", i) }
	for i := range eggs {
		s.seedEgg(b, eggName(i), int64(8000+i), 0, maxApex, 1)
	}
	s.waitReady(b)

	// The sampler: live agents per egg, from the process table.
	var (
		sampleMu sync.Mutex
		peak     = map[string]int{}
		samples  int
	)
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			per := map[string]int{}
			for _, a := range env.agents(s.url) {
				per[a.egg]++
			}
			sampleMu.Lock()
			samples++
			for egg, c := range per {
				peak[egg] = max(peak[egg], c)
			}
			sampleMu.Unlock()
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	b.Cleanup(func() { stopSampling(); <-sampled })

	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := s.tryHook(int64(8000+i%eggs), int64(20000+i), "pending"); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	posted := time.Since(start)

	want := eggs * min(maxApex, jobs/eggs)
	decided := func() (int, int, int) {
		s.tail.mu.Lock()
		defer s.tail.mu.Unlock()
		assigned, queued := 0, 0
		for i := range jobs {
			j := int64(20000 + i)
			switch {
			case !s.tail.assigned[j].IsZero():
				assigned++
			case s.tail.queued[j]:
				queued++
			}
		}
		return assigned, queued, len(s.tail.deployed)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		a, q, d := decided()
		if a+q == jobs && d >= want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 5 minutes: %d jobs assigned, %d queued of %d; %d runners deployed of %d\n%s", a, q, jobs, d, want, s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	wall := time.Since(start)
	assigned, queued, deployed := decided()
	applies := s.tail.createApplies()

	// Every deployed runner's agent runs, and nothing else does.
	settle := time.Now().Add(30 * time.Second)
	for {
		live := map[string]bool{}
		for _, a := range env.agents(s.url) {
			live[a.runner] = true
		}
		s.tail.mu.Lock()
		dep := maps.Clone(s.tail.deployed)
		s.tail.mu.Unlock()
		if maps.Equal(live, dep) {
			break
		}
		if time.Now().After(settle) {
			b.Fatalf("live agent processes %v are not the deployed runners %v", slices.Sorted(maps.Keys(live)), slices.Sorted(maps.Keys(dep)))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Teardown: every egg removed, every runner destroyed, no process left.
	tdStart := time.Now()
	for i := range eggs {
		if _, err := s.m.Handlers.RemoveEgg(context.Background(), commands.RemoveEgg{Meta: commands.Meta{Actor: "bench"}, Name: eggName(i), Commit: "bench", Reason: "bench teardown"}); err != nil {
			b.Fatal(err)
		}
	}
	deadline = time.Now().Add(4 * time.Minute)
	for {
		left := len(env.agents(s.url))
		if left == 0 && s.tail.terminatedAll() {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("teardown: %d agent processes still live after 4 minutes\n%s", left, s.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	teardown := time.Since(tdStart)
	stopSampling()
	<-sampled
	bareApplies(bareN/2, bareN)

	sampleMu.Lock()
	worst := 0
	for egg, p := range peak {
		worst = max(worst, p)
		if p > maxApex {
			b.Errorf("egg %s had %d live runner processes at once (max_count %d)", egg, p, maxApex)
		}
	}
	sampleMu.Unlock()
	for i := range eggs {
		if p := s.m.Provisioner.Peak(eggName(i)); p > maxApex {
			b.Errorf("egg %s: the provisioner counted %d live runners at once (max_count %d)", eggName(i), p, maxApex)
		}
	}
	if b.Failed() {
		b.FailNow()
	}
	b.Logf("%d jobs posted in %v; %d assigned, %d queued; %d runners deployed (%d create applies); %d process samples; teardown %v",
		jobs, posted.Round(time.Millisecond), assigned, queued, deployed, applies, samples, teardown.Round(time.Millisecond))
	b.ReportMetric(wall.Seconds(), "wall_s")
	b.ReportMetric(float64(applies)/wall.Seconds(), "applies_per_s")
	b.ReportMetric(float64(bareN)/bareT.Seconds(), "bare_applies_per_s")
	b.ReportMetric(float64(applies)/wall.Seconds()/(float64(bareN)/bareT.Seconds()), "x_bare")
	b.ReportMetric(float64(worst), "peak_per_egg")
	b.ReportMetric(teardown.Seconds(), "teardown_s")
}

// benchEnv is what every benchmark here needs: OpenTofu, the modules and a
// gosling binary built from this tree.
type benchEnv struct {
	tofu, gosling, modules string
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	if runtime.GOOS != "linux" {
		benchSkip(b, "the runner processes are found through /proc: Linux only")
	}
	root := repoRootTB(b)
	bin := benchTofuBin(b, root)
	out := filepath.Join(b.TempDir(), "gosling")
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("go is needed on PATH to build the gosling agent: %v", err)
	}
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/gosling")
	cmd.Dir = root
	if raw, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/gosling: %v\n%s", err, raw)
	}
	b.Setenv(benchHookSecretEnv, "bench-hook-secret")
	return &benchEnv{tofu: bin, gosling: out, modules: filepath.Join(root, "modules", "compute")}
}

// benchTofuBin is $TOFU_BIN, else .tools/bin/tofu, else tofu on PATH; the
// benchmark is skipped with the reason when there is none.
func benchTofuBin(b *testing.B, root string) string {
	b.Helper()
	if p := os.Getenv("TOFU_BIN"); p != "" {
		return p
	}
	if p := filepath.Join(root, ".tools", "bin", "tofu"); isExec(p) {
		return p
	}
	if p, err := exec.LookPath("tofu"); err == nil {
		return p
	}
	benchSkip(b, "no OpenTofu binary: set TOFU_BIN, run `make tools` (builds .tools/bin/tofu) or put tofu on PATH")
	return ""
}

// benchSkip skips with the reason printed: go test -bench shows a skipped
// benchmark's log only with -v, and make bench is read without.
func benchSkip(b *testing.B, why string) {
	b.Helper()
	fmt.Printf("skipped %s: %s\n", b.Name(), why)
	b.Skip(why)
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func repoRootTB(b testing.TB) string {
	b.Helper()
	wd, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			b.Fatalf("no go.mod above %s", wd)
		}
	}
}

// agent is one live `gosling runner` process of a run.
type agent struct {
	pid           int
	runner, egg   string
	isAgentBinary bool
}

// processes lists the processes whose environment names url as
// GOSLING_MOTHERGOOSE_URL: the agents, their /bin/sh parents and the
// create provisioner's shell while it runs.
func (e *benchEnv) processes(url string) []agent {
	dirs, _ := os.ReadDir("/proc")
	want := []byte("GOSLING_MOTHERGOOSE_URL=" + url + "\x00")
	var out []agent
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(raw, want) {
			continue
		}
		a := agent{pid: pid}
		for _, kv := range bytes.Split(raw, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("GOSLING_RUNNER_ID=")); ok {
				a.runner = string(v)
			} else if v, ok := bytes.CutPrefix(kv, []byte("GOSLING_EGG=")); ok {
				a.egg = string(v)
			}
		}
		if cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline")); err == nil {
			argv0, _, _ := bytes.Cut(cmdline, []byte{0})
			a.isAgentBinary = string(argv0) == e.gosling
		}
		out = append(out, a)
	}
	return out
}

// agents are the live agent processes of a run, one per runner.
func (e *benchEnv) agents(url string) []agent {
	seen := map[string]bool{}
	var out []agent
	for _, a := range e.processes(url) {
		if a.isAgentBinary && !seen[a.runner] {
			seen[a.runner] = true
			out = append(out, a)
		}
	}
	return out
}

// killAll kills every process of a run and waits (10 s at most) until none is left.
func (e *benchEnv) killAll(b *testing.B, url string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps := e.processes(url)
		if len(ps) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Errorf("%d processes of %s survive SIGKILL", len(ps), url)
			return
		}
		for _, p := range ps {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// benchServe is serve's Main running in this process, and what follows it.
type benchServe struct {
	env    *benchEnv
	m      *Main
	url    string
	client *http.Client
	tail   *logTail
	logbuf *lockedBuffer
	ready  bool // a pending hook waited for the views once
}

// serve opens and runs Main on a fresh store with the provisioner on
// (maxApplies OpenTofu runs at once); everything it started is stopped and
// killed at cleanup.
func (e *benchEnv) serve(b *testing.B, store string, maxApplies int) *benchServe {
	b.Helper()
	dir := b.TempDir()
	cfg := testConfig()
	if store == "" {
		store = "sqlite://" + filepath.Join(dir, "gosling.db")
	}
	cfg.Store = store
	cfg.DataDir = dir
	cfg.Tofu = e.tofu
	cfg.GoslingBin = e.gosling
	cfg.MaxApplies = maxApplies
	cfg.TofuTimeout = 2 * time.Minute
	b.Setenv("MOTHERGOOSE_MODULES_DIR", e.modules)
	logbuf := &lockedBuffer{}
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(logbuf, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		b.Fatal(err)
	}
	s := &benchServe{env: e, m: m, url: "http://" + m.Addr(), logbuf: logbuf,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	b.Cleanup(func() { e.killAll(b, s.url) }) // runs last
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	s.tail = newLogTail()
	tailDone := make(chan struct{})
	go func() { defer close(tailDone); s.tail.run(runCtx, m.storage) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("serve: %v", err)
		}
		<-tailDone
		s.client.CloseIdleConnections()
		_ = m.Close()
	})
	return s
}

func (s *benchServe) logs() string { return "serve log (warn and above):\n" + s.logbuf.String() }

// seedEgg appends a local vm egg, as a Nest sync would.
func (s *benchServe) seedEgg(b *testing.B, name string, project int64, minApex, maxApex, concurrent int) {
	b.Helper()
	_, err := s.m.Handlers.SyncEgg(context.Background(), commands.SyncEgg{Meta: commands.Meta{Actor: "bench"}, Config: events.EggSynced{
		Name: name, Kind: "egg", RunnerType: "apex", Provider: "local", Region: "local",
		GitLabServer: "gitlab.com", ProjectIDs: []int64{project}, Tags: []string{"docker", "linux"}, CPU: 2, MemoryGB: 4,
		MinApex: minApex, MaxApex: maxApex, Concurrent: concurrent,
		WebhookSecretURI: "env://" + benchHookSecretEnv, ConfigHash: "h-" + name, Commit: "bench", Path: "Eggs/" + name + "/config.fly",
	}})
	if err != nil {
		b.Fatal(err)
	}
}

// waitReady waits until the views have caught up (a Job Hook before that
// would find no egg).
func (s *benchServe) waitReady(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.client.Get(s.url + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("serve not ready after 30 s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var jobFixture = sync.OnceValues(func() (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "adapters", "httpapi", "testdata", "job.json"))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
})

// tryHook posts the real Job Hook for job of project with status and
// returns when its 202 (accepted) arrived.
func (s *benchServe) tryHook(project, job int64, status string) (time.Time, error) {
	fixture, err := jobFixture()
	if err != nil {
		return time.Time{}, err
	}
	m := maps.Clone(fixture)
	m["project_id"], m["build_id"], m["build_status"] = project, job, status
	body, _ := json.Marshal(m)
	req, err := http.NewRequest(http.MethodPost, s.url+"/webhooks/gitlab", bytes.NewReader(body))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", "Job Hook")
	req.Header.Set("X-Gitlab-Event-UUID", uuid.NewString())
	req.Header.Set("X-Gitlab-Token", "bench-hook-secret")
	resp, err := s.client.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	at := time.Now()
	var out struct {
		Outcome string `json:"outcome"`
	}
	_ = json.Unmarshal(raw, &out)
	// A finished job's hook is recorded as "ignored" (it asks for no
	// capacity), and the provisioner reads its status from the log.
	if resp.StatusCode != http.StatusAccepted || (status == "pending" && out.Outcome != "accepted") {
		return at, fmt.Errorf("job %d (%s) of project %d: %d %s", job, status, project, resp.StatusCode, raw)
	}
	return at, nil
}

func (s *benchServe) hook(b *testing.B, project, job int64, status string) time.Time {
	b.Helper()
	if status == "pending" {
		s.waitReadyOnce(b)
	}
	at, err := s.tryHook(project, job, status)
	if err != nil {
		b.Fatal(err)
	}
	return at
}

// waitReadyOnce: the first pending hook waits for the views.
func (s *benchServe) waitReadyOnce(b *testing.B) {
	if !s.ready {
		s.waitReady(b)
		s.ready = true
	}
}

// waitRunnerState polls the runners view (every 5 ms) until runner id is in state.
func (s *benchServe) waitRunnerState(b *testing.B, id, state string, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	var row ports.RunnerRow
	for {
		r, ok, err := ports.Runners.In(s.m.storage.Views.Read()).Get(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		if ok && r.State == state {
			return
		}
		row = r
		if time.Now().After(deadline) {
			b.Fatalf("runner %s not %s after %v (row %+v)\n%s\n%s", id, state, limit, row, s.runnerLog(id), s.logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitEggIdle waits until a runner of egg is IDLE.
func (s *benchServe) waitEggIdle(b *testing.B, egg string, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		rows, err := ports.Runners.In(s.m.storage.Views.Read()).List(context.Background(), ports.Query{Eq: map[string]any{"egg": egg, "state": provisioner.StateIdle}})
		if err != nil {
			b.Fatal(err)
		}
		if len(rows) > 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("no IDLE runner of egg %s after %v\n%s", egg, limit, s.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *benchServe) runnerLog(id string) string {
	raw, err := os.ReadFile(filepath.Join(s.m.Config.DataDir, "work", id, "run", id+".log"))
	if err != nil {
		return "runner log: " + err.Error()
	}
	return "runner log:\n" + string(raw)
}

// logTail follows the event log as the store appends and records what the
// benchmarks wait for, with the time it was read.
type logTail struct {
	mu         sync.Mutex
	changed    chan struct{} // closed and replaced after every batch
	assigned   map[int64]time.Time
	queued     map[int64]bool
	deployed   map[string]bool
	deployedT  map[string]time.Time
	terminated map[string]bool
	actions    map[string]string // plan id -> action
	creates    int               // create plans applied
	// steps is each runner's events as read: type and time.
	steps map[string][]step
}

type step struct {
	typ string
	at  time.Time
}

func newLogTail() *logTail {
	return &logTail{changed: make(chan struct{}), assigned: map[int64]time.Time{}, queued: map[int64]bool{},
		deployed: map[string]bool{}, deployedT: map[string]time.Time{}, terminated: map[string]bool{}, actions: map[string]string{}, steps: map[string][]step{}}
}

func (l *logTail) run(ctx context.Context, st *storage) {
	var pos uint64
	for ctx.Err() == nil {
		wake := st.Wake()
		recs, err := st.Events.ReadAll(ctx, pos, 1000)
		if err != nil || len(recs) == 0 {
			select {
			case <-ctx.Done():
			case <-wake:
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		now := time.Now()
		l.mu.Lock()
		for _, r := range recs {
			pos = r.GlobalPosition
			var p struct {
				RunnerID string `json:"runner_id"`
				JobID    int64  `json:"job_id"`
				PlanID   string `json:"plan_id"`
				Action   string `json:"action"`
			}
			switch r.Type {
			case events.RunnerJobAssignedV1, events.RunnerQueuedV1, events.RunnerDeployedV1, events.RunnerTerminatedV1, events.PlanCreatedV1, events.PlanAppliedV1,
				events.RunnerStateChangedV1:
				_ = json.Unmarshal(r.Payload, &p)
			default:
				continue
			}
			if len(l.steps[p.RunnerID]) < 16 {
				l.steps[p.RunnerID] = append(l.steps[p.RunnerID], step{strings.TrimSuffix(r.Type, ".v1"), now})
			}
			switch r.Type {
			case events.RunnerJobAssignedV1:
				if l.assigned[p.JobID].IsZero() {
					l.assigned[p.JobID] = now
				}
			case events.RunnerQueuedV1:
				l.queued[p.JobID] = true
			case events.RunnerDeployedV1:
				l.deployed[p.RunnerID], l.deployedT[p.RunnerID] = true, now
			case events.RunnerTerminatedV1:
				l.terminated[p.RunnerID] = true
			case events.PlanCreatedV1:
				l.actions[p.PlanID] = p.Action
			case events.PlanAppliedV1:
				if l.actions[p.PlanID] == "create" {
					l.creates++
				}
			}
		}
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
}

// waitAssigned returns when job's runner.job_assigned was read.
func (l *logTail) waitAssigned(b *testing.B, job int64, limit time.Duration) time.Time {
	b.Helper()
	timeout := time.After(limit)
	for {
		l.mu.Lock()
		at, ch := l.assigned[job], l.changed
		l.mu.Unlock()
		if !at.IsZero() {
			return at
		}
		select {
		case <-ch:
		case <-timeout:
			b.Fatalf("job %d not assigned after %v", job, limit)
		}
	}
}

func (l *logTail) deployedAt(id string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deployedT[id]
}

// timeline is runner id's events as read, in ms after t0.
func (l *logTail) timeline(id string, t0 time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for _, st := range l.steps[id] {
		parts = append(parts, fmt.Sprintf("%s +%d ms", st.typ, st.at.Sub(t0).Milliseconds()))
	}
	return strings.Join(parts, ", ")
}

func (l *logTail) createApplies() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.creates
}

// terminatedAll: every deployed runner is terminated.
func (l *logTail) terminatedAll() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.deployed {
		if !l.terminated[id] {
			return false
		}
	}
	return true
}

// bareCompute renders runners with adapters/tofu exactly as the
// provisioner does (its Compute port), in its own work root, for agents
// that heartbeat to a trivial 127.0.0.1 server.
type bareCompute struct {
	env     *benchEnv
	compute *tofu.Compute
	exe     *tofu.Executor
	url     string
	mu      sync.Mutex
	first   map[string]chan struct{} // runner id -> closed at its first heartbeat
}

func (e *benchEnv) bareCompute(b *testing.B) *bareCompute {
	b.Helper()
	dir := b.TempDir()
	exe, err := tofu.New(context.Background(), tofu.Config{Binary: e.tofu, ModulesDir: e.modules, WorkRoot: filepath.Join(dir, "work"), Timeout: 2 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	bc := &bareCompute{env: e, exe: exe, first: map[string]chan struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/runners/"), "/heartbeat")
		if r.Method == http.MethodPost && ok {
			bc.mu.Lock()
			if ch := bc.firstOf(id); ch != nil {
				select {
				case <-ch:
				default:
					close(ch)
				}
			}
			bc.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"state":"IDLE"}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	bc.url = "http://" + ln.Addr().String()
	b.Cleanup(func() { e.killAll(b, bc.url) })
	b.Cleanup(func() { _ = srv.Close() })
	bc.compute, err = tofu.NewCompute(tofu.ComputeConfig{Executor: exe, PlansDir: filepath.Join(dir, "plans"), MotherGooseURL: bc.url, RunnerCommand: e.gosling + " runner"})
	if err != nil {
		b.Fatal(err)
	}
	return bc
}

// firstOf is the channel of runner id (mu held).
func (bc *bareCompute) firstOf(id string) chan struct{} {
	ch := bc.first[id]
	if ch == nil {
		ch = make(chan struct{})
		bc.first[id] = ch
	}
	return ch
}

// prepare renders (and, untimed, plans) runner id as the provisioner
// would, and returns its workspace directory.
func (bc *bareCompute) prepare(b *testing.B, id string) string {
	b.Helper()
	ctx := context.Background()
	uri, _, err := bc.compute.Credential(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	spec := provisioner.Spec{RunnerID: id, Egg: "bare", RunnerType: "apex", Provider: "local", Region: "local", CPU: 2, MemoryMB: 4096,
		SecretURIs: map[string]string{"GOSLING_RUNNER_CREDENTIAL": uri}}
	if _, err := bc.compute.Plan(ctx, spec, false); err != nil {
		b.Fatal(err)
	}
	return bc.exe.Dir(id)
}

func (bc *bareCompute) tofuCmd(b *testing.B, dir string, args ...string) {
	b.Helper()
	cmd := exec.Command(bc.env.tofu, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, tofu.CLIConfigFile), "CHECKPOINT_DISABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("bare tofu %s: %v\n%s", args[0], err, out)
	}
}

func (bc *bareCompute) waitHeartbeat(b *testing.B, id string) {
	b.Helper()
	bc.mu.Lock()
	ch := bc.firstOf(id)
	bc.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		b.Fatalf("bare runner %s: no heartbeat within a minute", id)
	}
}

// initApplyHeartbeat times `tofu init && tofu apply` of runner id's
// rendered files (from a fresh .terraform) and its agent's first heartbeat,
// then kills the agent (untimed).
func (bc *bareCompute) initApplyHeartbeat(b *testing.B, id string) time.Duration {
	b.Helper()
	dir := bc.prepare(b, id)
	for _, p := range []string{".terraform", tofu.PlanFile} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	bc.tofuCmd(b, dir, "init", "-input=false", "-no-color")
	bc.tofuCmd(b, dir, "apply", "-input=false", "-no-color", "-auto-approve")
	bc.waitHeartbeat(b, id)
	took := time.Since(start)
	b.Logf("bare %s: init + apply + first heartbeat %d ms", id, took.Milliseconds())
	bc.env.killAll(b, bc.url)
	return took
}

// applySaved times a bare `tofu apply` of runner id's saved plan (made
// untimed, as the provisioner makes it), then kills the agent (untimed).
func (bc *bareCompute) applySaved(b *testing.B, id string) time.Duration {
	b.Helper()
	dir := bc.prepare(b, id)
	start := time.Now()
	bc.tofuCmd(b, dir, "apply", "-input=false", "-no-color", tofu.PlanFile)
	took := time.Since(start)
	bc.env.killAll(b, bc.url)
	return took
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
