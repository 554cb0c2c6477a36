package vault_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// testClock is the clock shared by a backend and the fake in the renewal
// tests, moved by Advance instead of sleeping.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mustBackend builds a backend of cfg, closed at the end of the test.
func mustBackend(t *testing.T, cfg vault.Config) *vault.Backend {
	t.Helper()
	b, err := vault.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("vault.New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// mustTokenBackend starts a fake and a backend with a never-expiring
// static token.
func mustTokenBackend(t *testing.T) (*vaulttest.Server, *vault.Backend) {
	t.Helper()
	fake := vaulttest.Start(t)
	b := mustBackend(t, vault.Config{Address: fake.URL(), Token: fake.NewToken(vaulttest.TokenOptions{})})
	return fake, b
}

func mustResolve(t *testing.T, b *vault.Backend, uri string) string {
	t.Helper()
	v, err := b.Resolve(context.Background(), uri)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", uri, err)
	}
	return string(v)
}

// wantCode fails unless err carries code and its text contains each of
// parts.
func wantCode(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	if got := errs.Code(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not say %q", err, p)
		}
	}
}
