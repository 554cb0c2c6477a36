package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi/loadtest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The crash test re-runs this test binary as a child that runs the real
// serve Main on a store in a temp dir and prints its address. The parent
// posts pending Job Hooks from 8 goroutines, kills the child with SIGKILL at
// a random moment, restarts it on the same store, and at the end checks
// that every delivery that got a 202 is in the log and the views exactly once.

const (
	crashChildEnv  = "GOSLING_SERVE_CRASH_STORE"
	crashSecretEnv = "GOSLING_CRASH_WEBHOOK_SECRET"
	crashSecret    = "crash-hook-secret"
	crashEgg       = "release-tools" // owns project 31537070 on gitlab.com, as in job.json
)

func TestMain(m *testing.M) {
	if store := os.Getenv(crashChildEnv); store != "" {
		os.Exit(crashChild(store))
	}
	os.Exit(m.Run())
}

// crashChild runs serve until killed (or SIGTERM, or a minute at most).
func crashChild(store string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute) // stops by itself if never killed
	defer cancel()
	cfg := testConfig()
	cfg.Store = store
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	m := &Main{Config: cfg}
	if err := m.Open(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 3
	}
	defer m.Close()
	fmt.Fprintln(os.Stdout, m.Addr())
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 4
	}
	return 0
}

// mustSeedEgg appends the egg the webhooks are for, as a Nest sync would.
func mustSeedEgg(t *testing.T, store string) {
	t.Helper()
	ctx := context.Background()
	st, err := openStorage(ctx, store, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := commands.NewHandlers(st.Events, events.NewCodec(events.NewRegistry()), time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.SyncEgg(ctx, commands.SyncEgg{Config: events.EggSynced{
		Name: crashEgg, Kind: "egg", RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a",
		GitLabServer: "gitlab.com", ProjectIDs: []int64{31537070}, Tags: []string{"docker", "linux"}, CPU: 2, MemoryGB: 4,
		WebhookSecretURI: "env://" + crashSecretEnv, ConfigHash: "h-crash", Commit: "c0ffee", Path: "Eggs/" + crashEgg + "/config.fly",
	}})
	if err != nil {
		t.Fatal(err)
	}
}

type serveChild struct {
	cmd  *exec.Cmd
	addr string
	errb *strings.Builder
}

func mustStartChild(t *testing.T, store string) *serveChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+store, crashSecretEnv+"="+crashSecret)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errb := &strings.Builder{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			addr <- sc.Text()
		}
		close(addr)
		for sc.Scan() {
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			cmd.Wait()
			t.Fatalf("child printed no address: %s", errb.String())
		}
		return &serveChild{cmd: cmd, addr: a, errb: errb}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start: %s", errb.String())
	}
	return nil
}

// crashJobs builds pending Job Hooks from the real job.json, one build id each.
func crashJobs(t *testing.T) loadtest.Template {
	t.Helper()
	tpl, err := loadtest.PendingJobs(filepath.Join("..", "..", "adapters", "httpapi", "testdata", "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

type delivery struct {
	UUID    string
	BuildID int64
	EventID string
}

func hookRequest(tpl loadtest.Template, d delivery) loadtest.Request {
	return loadtest.Request{Body: tpl.Body(d.BuildID), Header: map[string]string{
		"Content-Type": "application/json", "X-Gitlab-Event": "Job Hook",
		"X-Gitlab-Event-UUID": d.UUID, "X-Gitlab-Token": crashSecret,
	}}
}

func TestServe_kill9_keeps_every_accepted_webhook(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test restarts a serve child process several times under load; skipped under -short")
	}
	store := "sqlite://" + filepath.Join(t.TempDir(), "gosling.db")
	mustSeedEgg(t, store)
	tpl := crashJobs(t)
	client := loadtest.Client(8)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))

	const (
		rounds       = 5
		perRound     = 3000 // requests at most per round
		maxRoundLoad = time.Second
	)
	var mu sync.Mutex
	accepted := map[string]delivery{} // by UUID: every delivery that got a 202
	var build int64 = 4_000_000_000
	for round := range rounds {
		child := mustStartChild(t, store)
		// A webhook that arrives before the egg_configs view has caught up
		// is answered 202 "no egg" and recorded as ignored, so the load
		// starts once the child is ready.
		mustWaitReady(t, client, "http://"+child.addr)
		ds := make([]delivery, perRound)
		for i := range ds {
			build++
			ds[i] = delivery{UUID: uuid.NewString(), BuildID: build}
		}
		firstAck := make(chan struct{})
		var once sync.Once
		gen := loadtest.Generator{
			Client: client, URL: "http://" + child.addr + "/webhooks/gitlab",
			Make: func(i int) loadtest.Request { return hookRequest(tpl, ds[i]) },
			Done: func(a loadtest.Answer) {
				if a.Err != nil || a.Status != http.StatusAccepted {
					return
				}
				var out struct {
					EventID   string `json:"event_id"`
					Outcome   string `json:"outcome"`
					Duplicate bool   `json:"duplicate"`
				}
				if err := json.Unmarshal(a.Body, &out); err != nil || out.Outcome != "accepted" || out.Duplicate {
					t.Errorf("round %d: 202 with %s", round, a.Body)
					return
				}
				d := ds[a.Index]
				d.EventID = out.EventID
				mu.Lock()
				accepted[d.UUID] = d
				mu.Unlock()
				once.Do(func() { close(firstAck) })
			},
		}
		done := make(chan loadtest.Result, 1)
		go func() { done <- gen.Closed(context.Background(), 8, perRound, maxRoundLoad) }()
		select {
		case <-firstAck:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: no 202 within 10 s: %s", round, child.errb.String())
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := child.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		res := <-done
		child.cmd.Wait()
		if strings.Contains(child.errb.String(), "open:") {
			t.Fatalf("round %d: child failed: %s", round, child.errb.String())
		}
		client.CloseIdleConnections()
		t.Logf("round %d: %d sent, statuses %v, %d without answer (killed)", round, res.Sent, res.Status, res.Errors)
	}
	if len(accepted) == 0 {
		t.Fatal("no webhook was accepted")
	}

	// Restart, wait for the projections to catch up, redeliver a sample.
	child := mustStartChild(t, store)
	base := "http://" + child.addr
	mustWaitReady(t, client, base)
	// Every redelivery is a duplicate with the original event id (and, as
	// the log check below shows, appends nothing).
	sample := 0
	for _, d := range accepted {
		if sample == 50 {
			break
		}
		sample++
		var got struct {
			EventID   string `json:"event_id"`
			Duplicate bool   `json:"duplicate"`
		}
		status := 0
		gen := loadtest.Generator{Client: client, URL: base + "/webhooks/gitlab", Make: func(int) loadtest.Request { return hookRequest(tpl, d) },
			Done: func(a loadtest.Answer) { status = a.Status; _ = json.Unmarshal(a.Body, &got) }}
		gen.Closed(context.Background(), 1, 1, 10*time.Second)
		if status != http.StatusAccepted || !got.Duplicate || got.EventID != d.EventID {
			t.Fatalf("redelivery of %s: %d duplicate=%v event %s, want 202, true and %s", d.UUID, status, got.Duplicate, got.EventID, d.EventID)
		}
	}
	mustWaitReady(t, client, base)
	child.cmd.Process.Signal(syscall.SIGTERM)
	if err := child.cmd.Wait(); err != nil {
		t.Fatalf("final child: %v: %s", err, child.errb.String())
	}

	// The log: every accepted delivery exactly once, its runner requested exactly once.
	st, err := openStorage(context.Background(), store, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := map[string]bool{}
	received := map[string]int{}  // by webhook stream
	requested := map[string]int{} // by runner stream
	var pos uint64
	for {
		recs, err := st.Events.ReadAll(context.Background(), pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if ids[r.ID] {
				t.Fatalf("event %s appears twice", r.ID)
			}
			ids[r.ID] = true
			switch r.Type {
			case events.WebhookReceivedV1:
				received[r.Stream]++
			case events.RunnerRequestedV1:
				requested[r.Stream]++
			}
			pos = r.GlobalPosition
		}
	}
	for s, n := range received {
		if n != 1 {
			t.Errorf("%s: %d webhook.received events", s, n)
		}
	}
	for s, n := range requested {
		if n != 1 {
			t.Errorf("%s: %d runner.requested events", s, n)
		}
	}
	rows, err := ports.Runners.In(st.Views.Read()).List(context.Background(), ports.Query{})
	if err != nil {
		t.Fatal(err)
	}
	runnerRows := map[string]int{}
	for _, r := range rows {
		runnerRows[r.ID]++
	}
	for _, d := range accepted {
		runner := fmt.Sprintf("%s-job-%d", crashEgg, d.BuildID)
		if n := received[domain.WebhookStream(d.UUID)]; n != 1 {
			t.Errorf("accepted delivery %s: %d webhook.received events", d.UUID, n)
		}
		if n := requested[domain.RunnerStream(runner)]; n != 1 {
			t.Errorf("accepted delivery %s: %d runner.requested events", d.UUID, n)
		}
		if n := runnerRows[runner]; n != 1 {
			t.Errorf("accepted delivery %s: %d rows for runner %s in the view", d.UUID, n, runner)
		}
	}
	t.Logf("%d deliveries accepted over %d kills; log holds %d events, %d webhook.received, %d runner.requested, %d runner rows",
		len(accepted), rounds, len(ids), len(received), len(requested), len(rows))
}

// mustWaitReady polls /ready until 200 (store reachable, projections caught up).
func mustWaitReady(t *testing.T, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 30 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
