package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi/loadtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite/sqlitetest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

const (
	benchClients   = 64
	benchWebhooks  = 20_000
	benchOpenRate  = 5_000
	benchOpenFor   = 2 * time.Second
	benchMaxPhase  = 60 * time.Second
	benchSecretEnv = "HTTPAPI_BENCH_SECRET"
)

// mustBenchServer is the real API on a real SQLite file with one egg (the
// owner of job.json's project), listening on 127.0.0.1:0.
func mustBenchServer(b *testing.B) (string, *sqlite.EventStore) {
	b.Helper()
	b.Setenv(benchSecretEnv, hookSecret)
	return mustBenchServerWith(b, "env://"+benchSecretEnv, secrets.NewLocal())
}

// mustBenchServerWith is mustBenchServer with the egg's webhook secret at
// secretURI, resolved through sec.
func mustBenchServerWith(b *testing.B, secretURI string, sec ports.Secrets) (string, *sqlite.EventStore) {
	b.Helper()
	ctx := context.Background()
	core := sqlitetest.NewCore(b)
	db, h, proj := core.DB, core.Handlers, core.Projections
	if _, err := h.SyncEgg(ctx, commands.SyncEgg{Config: events.EggSynced{
		Name: "release-tools", Kind: "egg", RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a",
		GitLabServer: "gitlab.com", ProjectIDs: []int64{31537070}, Tags: []string{"docker", "linux"}, CPU: 2, MemoryGB: 4,
		WebhookSecretURI: secretURI, ConfigHash: "h", Commit: "c0ffee", Path: "Eggs/release-tools/config.fly",
	}}); err != nil {
		b.Fatal(err)
	}
	if err := proj.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	handler, err := httpapi.New(httpapi.Config{
		Handlers: h, Views: db.Views(), Events: db.Events(), Secrets: sec,
		APIToken: apiToken, TriggerToken: triggerToken, MaxBody: 1 << 20,
		Ready: db.Ping, Lag: proj.Lag, Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	b.Cleanup(srv.Close)
	return srv.URL, db.Events()
}

// mustBareServer reads the body and answers 202, nothing else.
func mustBareServer(b *testing.B) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"event_id":"x","outcome":"accepted","duplicate":false}`))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// benchJobs makes request i a pending Job Hook with its own build id and delivery id.
func benchJobs(b *testing.B, n int) func(int) loadtest.Request {
	b.Helper()
	tpl, err := loadtest.PendingJobs(filepath.Join("testdata", "job.json"))
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]loadtest.Request, n)
	for i := range reqs {
		reqs[i] = loadtest.Request{Body: tpl.Body(int64(5_000_000_000 + i)), Header: map[string]string{
			"Content-Type": "application/json", "X-Gitlab-Event": "Job Hook",
			"X-Gitlab-Event-UUID": uuid.NewString(), "X-Gitlab-Token": hookSecret,
		}}
	}
	return func(i int) loadtest.Request { return reqs[i] }
}

func mustAll202(b *testing.B, what string, r loadtest.Result, want int) {
	b.Helper()
	if r.Errors > 0 || r.Status[http.StatusAccepted] != want {
		b.Fatalf("%s: %d requests, statuses %v, %d errors; want %d answered 202", what, r.Sent, r.Status, r.Errors, want)
	}
}

// cpuTime is the user+system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkWebhooks posts pending Job Hooks through the real HTTP stack with
// durable appends: closed loop (64 keep-alive clients, 20,000 webhooks) and
// the same closed loop against a bare net/http handler answering 202, for
// the ratio; then an open loop at 5,000/s for 2 s. The closed loops run in
// alternating halves (real, bare, real, bare): this VM's speed drifts from
// one second to the next, and interleaving keeps the drift out of the ratio.
func BenchmarkWebhooks(b *testing.B) {
	ctx := context.Background()
	const half = benchWebhooks / 2
	for range b.N {
		b.StopTimer()
		real, store := mustBenchServer(b)
		bare := mustBareServer(b)
		jobs := benchJobs(b, benchWebhooks+int(benchOpenRate*benchOpenFor.Seconds()))
		client := loadtest.Client(benchClients)
		b.StartTimer()

		var closed, baseline loadtest.Result
		var cpuReal, cpuBare time.Duration
		var fsyncs, syncTime, appends, groups float64
		for phase := range 2 {
			from := phase * half
			part := func(i int) loadtest.Request { return jobs(from + i) }
			st0, cpu0 := store.Stats(), cpuTime()
			r := loadtest.Generator{Client: client, URL: real + "/webhooks/gitlab", Make: part}.Closed(ctx, benchClients, half, benchMaxPhase)
			cpuReal += cpuTime() - cpu0
			st := store.Stats()
			mustAll202(b, "closed loop", r, half)
			closed = closed.Add(r)
			fsyncs, syncTime = fsyncs+float64(st.Syncs-st0.Syncs), syncTime+(st.SyncTime-st0.SyncTime).Seconds()
			appends, groups = appends+float64(st.Requests-st0.Requests), groups+float64(st.Groups-st0.Groups)

			client.CloseIdleConnections()
			cpu0 = cpuTime()
			r = loadtest.Generator{Client: client, URL: bare, Make: part}.Closed(ctx, benchClients, half, benchMaxPhase)
			cpuBare += cpuTime() - cpu0
			mustAll202(b, "bare handler", r, half)
			baseline = baseline.Add(r)
			client.CloseIdleConnections()
		}

		offset := func(i int) loadtest.Request { return jobs(benchWebhooks + i) }
		open := loadtest.Generator{Client: client, URL: real + "/webhooks/gitlab", Make: offset}.Open(ctx, benchOpenRate, benchOpenFor, 4*benchClients)
		openN := int(benchOpenRate * benchOpenFor.Seconds())
		if open.Errors > 0 || open.Status[http.StatusAccepted] != openN {
			b.Logf("open loop at %d/s: statuses %v, %d errors (more than %d in flight or no answer)", benchOpenRate, open.Status, open.Errors, 4*benchClients)
		}

		b.ReportMetric(closed.PerSecond(), "webhooks/s")
		b.ReportMetric(baseline.PerSecond(), "bare_req/s")
		b.ReportMetric(closed.PerSecond()/baseline.PerSecond(), "x_bare")
		b.ReportMetric(ms(closed.Percentile(50)), "p50_ms")
		b.ReportMetric(ms(closed.Percentile(99)), "p99_ms")
		b.ReportMetric(open.PerSecond(), "open_req/s")
		b.ReportMetric(ms(open.Percentile(50)), "p50_at_5k_ms")
		b.ReportMetric(ms(open.Percentile(99)), "p99_at_5k_ms")
		b.ReportMetric(ms(baseline.Percentile(99)), "bare_p99_ms")
		// CPU of the whole process (server, store and load generator) per
		// request: on two cores it, more than the disk, bounds webhooks/s.
		b.ReportMetric(float64(cpuReal.Microseconds())/benchWebhooks, "cpu_us/webhook")
		b.ReportMetric(float64(cpuBare.Microseconds())/benchWebhooks, "bare_cpu_us/req")
		// The disk's part: how long each fsync took, and how many
		// deliveries (one append each) shared one.
		b.ReportMetric(syncTime*1e6/fsyncs, "fsync_us")
		b.ReportMetric(appends/groups, "appends/group")
	}
}
