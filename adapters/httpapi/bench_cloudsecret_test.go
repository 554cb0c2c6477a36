package httpapi_test

import (
	"context"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi/loadtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
)

// BenchmarkWebhooks_cloud_secret is BenchmarkWebhooks' closed loop for an
// egg whose webhook secret is in Vault (the real KV v2 backend over HTTP to
// the fake on 127.0.0.1, behind the secrets cache with its default TTL, as
// serve resolves it), against the same loop for an egg whose secret is an
// env:// variable read at each webhook, in the same run, alternating
// halves: x_env is the cloud figure over the env figure (target >= 0.9).
// vault_reads is how often the backend was asked for the whole run.
func BenchmarkWebhooks_cloud_secret(b *testing.B) {
	ctx := context.Background()
	const half = benchWebhooks / 2
	for range b.N {
		b.StopTimer()
		vt := vaulttest.Start(b)
		vt.Put("kv", "gitlab/release-tools", "webhook-secret", hookSecret)
		backend, err := vault.New(ctx, vault.Config{Address: vt.URL(), Token: vt.NewToken(vaulttest.TokenOptions{})})
		if err != nil {
			b.Fatal(err)
		}
		cache := secrets.NewCache(secrets.CacheConfig{Backend: backend, Accessor: "bench", Audit: func(secrets.Access) {}, Redactions: secrets.NewRedactions()})
		cloud, _ := mustBenchServerWith(b, "vault://kv/gitlab/release-tools/webhook-secret", cache)
		env, _ := mustBenchServer(b)
		jobs := benchJobs(b, 2*benchWebhooks)
		client := loadtest.Client(benchClients)
		b.StartTimer()

		var cloudR, envR loadtest.Result
		for phase := range 2 {
			from := phase * half
			run := func(url string, offset int) loadtest.Result {
				part := func(i int) loadtest.Request { return jobs(offset + from + i) }
				r := loadtest.Generator{Client: client, URL: url + "/webhooks/gitlab", Make: part}.Closed(ctx, benchClients, half, benchMaxPhase)
				client.CloseIdleConnections()
				return r
			}
			r := run(env, 0)
			mustAll202(b, "env secret", r, half)
			envR = envR.Add(r)
			r = run(cloud, benchWebhooks)
			mustAll202(b, "vault secret", r, half)
			cloudR = cloudR.Add(r)
		}
		b.ReportMetric(cloudR.PerSecond(), "webhooks/s")
		b.ReportMetric(envR.PerSecond(), "env_webhooks/s")
		b.ReportMetric(cloudR.PerSecond()/envR.PerSecond(), "x_env")
		b.ReportMetric(ms(cloudR.Percentile(99)), "p99_ms")
		b.ReportMetric(ms(envR.Percentile(99)), "env_p99_ms")
		b.ReportMetric(float64(vt.Counts().Reads), "vault_reads")
		_ = backend.Close()
	}
}
