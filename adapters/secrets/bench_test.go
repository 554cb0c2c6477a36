package secrets_test

import (
	"context"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/ports"
)

// BenchmarkResolve is what a webhook pays to check its egg's secret: a
// cloud-scheme URI answered from the cache (the backend asked once per
// TTL), against the bare baseline of an uncached env:// lookup (the local
// backend reading the process environment), in the same run. The figures
// are ns per resolution and their ratio (x_env: how many env lookups one
// cached resolution costs).
func BenchmarkResolve(b *testing.B) {
	const n = 2_000_000
	const env = "SECRETS_BENCH_ENV"
	b.Setenv(env, "bench-secret-value")
	local := secrets.NewLocal()
	cache := secrets.NewCache(secrets.CacheConfig{
		Backend:  &backend{values: map[string]string{lockboxURI: "bench-secret-value"}},
		Accessor: "bench", Audit: func(secrets.Access) {}, Redactions: secrets.NewRedactions(),
	})
	ctx := ports.WithSecretScope(context.Background(), ports.SecretScope{Purpose: "webhook secret of egg bench", Region: "ru-central1-a"})
	measure := func(s ports.Secrets, uri string) time.Duration {
		start := time.Now()
		for range n {
			if _, err := s.Resolve(ctx, uri); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	for range b.N {
		// Alternating halves keep this VM's drift out of the ratio.
		var envT, cacheT time.Duration
		for range 2 {
			envT += measure(local, "env://"+env)
			cacheT += measure(cache, lockboxURI)
		}
		envNs := float64(envT.Nanoseconds()) / (2 * n)
		cacheNs := float64(cacheT.Nanoseconds()) / (2 * n)
		b.ReportMetric(cacheNs, "cached_ns/op")
		b.ReportMetric(envNs, "env_ns/op")
		b.ReportMetric(cacheNs/envNs, "x_env")
	}
}
