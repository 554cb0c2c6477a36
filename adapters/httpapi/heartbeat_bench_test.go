package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi/loadtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite/sqlitetest"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The heartbeat load of the issue: 10,000 runners every 10 s is 1,000/s.
const (
	benchRunners    = 10_000
	benchBeatRate   = 1_000
	benchBeatFor    = 10 * time.Second
	benchBeatClosed = 20_000 // two rounds over every runner
)

func benchCredential(i int) string {
	return fmt.Sprintf("credential-%08d-%s", i, "c0ffee00c0ffee00c0ffee00c0ffee00")
}

func benchRunnerID(i int) string { return fmt.Sprintf("r-%05d", i) }

// mustHeartbeatServer is the real API on a real SQLite file with
// benchRunners deployed local runners, each with its own credential, all
// already IDLE (one heartbeat each), listening on 127.0.0.1:0.
func mustHeartbeatServer(b *testing.B) string {
	b.Helper()
	ctx := context.Background()
	core := sqlitetest.NewCore(b)
	db := core.DB
	// Each runner's requested and deployed events in one append, from 32
	// writers (the store groups their commits).
	work := make(chan int)
	errc := make(chan error, 32)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id := benchRunnerID(i)
				sum := sha256.Sum256([]byte(benchCredential(i)))
				var recs []events.Record
				for _, ev := range []events.Event{
					events.RunnerRequested{RunnerID: id, Egg: "web", RunnerType: domain.RunnerApex.String(), Provider: domain.ProviderLocal.String(), Region: "local"},
					events.RunnerDeployed{RunnerID: id, Egg: "web", RunnerType: domain.RunnerApex.String(), Provider: domain.ProviderLocal.String(), Region: "local",
						PlanID: "p-" + id, InstanceID: "i-" + id, Address: "127.0.0.1", CredentialSHA256: hex.EncodeToString(sum[:])},
				} {
					rec, err := core.Codec.Encode(events.Envelope{Metadata: events.Metadata{ID: uuid.Must(uuid.NewV7()).String(), OccurredAt: time.Now().UTC(), Actor: "bench"}, Payload: ev})
					if err != nil {
						errc <- err
						return
					}
					recs = append(recs, rec)
				}
				if _, err := db.Events().Append(ctx, domain.RunnerStream(id), ports.NoStream(), recs); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := range benchRunners {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if err := core.Projections.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	handler, err := httpapi.New(httpapi.Config{
		Handlers: core.Handlers, Views: db.Views(), Events: db.Events(), Secrets: secrets.NewLocal(), LastSeen: db.LastSeen(),
		APIToken: apiToken, TriggerToken: triggerToken, MaxBody: 1 << 20,
		Ready: db.Ping, Lag: core.Projections.Lag, Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	b.Cleanup(srv.Close)
	// The first heartbeat of each runner moves it ACTIVE -> IDLE (an
	// event); the load measured is the steady state after it.
	r := loadtest.Generator{Client: loadtest.Client(benchClients), URL: srv.URL, Make: beat}.Closed(ctx, benchClients, benchRunners, benchMaxPhase)
	mustAll200(b, "first heartbeats", r, benchRunners)
	if err := core.Projections.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	return srv.URL
}

// beat is request i: a heartbeat of runner i mod benchRunners with its
// credential and a measured load, as the agent sends it.
func beat(i int) loadtest.Request {
	n := i % benchRunners
	return loadtest.Request{
		Path: "/runners/" + benchRunnerID(n) + "/heartbeat",
		Body: []byte(`{"state":"IDLE","running_jobs":[],"version":"v0.4.0","cpu_percent":12.5,"memory_percent":40.25}`),
		Header: map[string]string{
			"Content-Type": "application/json", "Authorization": "Bearer " + benchCredential(n),
		},
	}
}

// mustBareHeartbeatServer decodes the same body and answers 200, nothing else.
func mustBareHeartbeatServer(b *testing.B) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State         string  `json:"state"`
			RunningJobs   []int64 `json:"running_jobs"`
			Version       string  `json:"version"`
			CPUPercent    float64 `json:"cpu_percent"`
			MemoryPercent float64 `json:"memory_percent"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"state":"IDLE"}`))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

func mustAll200(b *testing.B, what string, r loadtest.Result, want int) {
	b.Helper()
	if r.Errors > 0 || r.Status[http.StatusOK] != want {
		b.Fatalf("%s: %d requests, statuses %v, %d errors; want %d answered 200", what, r.Sent, r.Status, r.Errors, want)
	}
}

// BenchmarkHeartbeats posts agents' heartbeats (10,000 runners, each with
// its own credential, already IDLE) through the real HTTP stack: a closed
// loop (64 keep-alive clients, 20,000 heartbeats) against the heartbeat
// endpoint and against a bare handler that only decodes the same body and
// answers 200, in alternating halves (the VM's speed drifts), for the
// ratio; then an open loop at 1,000/s for 10 s (the load: 10,000
// runners every 10 s) for the latency percentiles.
func BenchmarkHeartbeats(b *testing.B) {
	ctx := context.Background()
	const half = benchBeatClosed / 2
	for range b.N {
		b.StopTimer()
		real := mustHeartbeatServer(b)
		bare := mustBareHeartbeatServer(b)
		client := loadtest.Client(benchClients)
		b.StartTimer()

		var closed, baseline loadtest.Result
		for phase := range 2 {
			from := phase * half
			part := func(i int) loadtest.Request { return beat(from + i) }
			r := loadtest.Generator{Client: client, URL: real, Make: part}.Closed(ctx, benchClients, half, benchMaxPhase)
			mustAll200(b, "closed loop", r, half)
			closed = closed.Add(r)
			client.CloseIdleConnections()
			r = loadtest.Generator{Client: client, URL: bare, Make: part}.Closed(ctx, benchClients, half, benchMaxPhase)
			mustAll200(b, "bare handler", r, half)
			baseline = baseline.Add(r)
			client.CloseIdleConnections()
		}

		open := loadtest.Generator{Client: client, URL: real, Make: beat}.Open(ctx, benchBeatRate, benchBeatFor, 4*benchClients)
		openN := int(benchBeatRate * benchBeatFor.Seconds())
		if open.Errors > 0 || open.Status[http.StatusOK] != openN {
			b.Logf("open loop at %d/s: statuses %v, %d errors (more than %d in flight or no answer)", benchBeatRate, open.Status, open.Errors, 4*benchClients)
		}

		b.ReportMetric(closed.PerSecond(), "heartbeats/s")
		b.ReportMetric(baseline.PerSecond(), "bare_req/s")
		b.ReportMetric(closed.PerSecond()/baseline.PerSecond(), "x_bare")
		b.ReportMetric(ms(closed.Percentile(99)), "p99_ms")
		b.ReportMetric(open.PerSecond(), "open_req/s")
		b.ReportMetric(ms(open.Percentile(50)), "p50_at_1k_ms")
		b.ReportMetric(ms(open.Percentile(99)), "p99_at_1k_ms")
		b.ReportMetric(ms(baseline.Percentile(99)), "bare_p99_ms")
	}
}
