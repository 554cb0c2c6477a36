package vault_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
)

// The backend renews lazily and starts no goroutine: once it and the fake
// are closed, the goroutine count is back where it was.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()

	fake, err := vaulttest.New()
	if err != nil {
		t.Fatal(err)
	}
	clock := newTestClock()
	fake.SetClock(clock.Now)
	fake.Put("secret", "app", "token", "v")
	fake.AddAppRole("", "role-1", "secret-1", vaulttest.TokenOptions{TTL: time.Minute, Renewable: true})
	b, err := vault.New(context.Background(), vault.Config{Address: fake.URL(), RoleID: "role-1", SecretID: "secret-1", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := b.Resolve(context.Background(), appURI); err != nil {
			t.Fatal(err)
		}
		clock.Advance(45 * time.Second)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	fake.Close()

	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
