package secrets_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// backend is a ports.Secrets whose answers a test sets, counting calls.
type backend struct {
	mu     sync.Mutex
	values map[string]string
	err    error         // answered instead of a value when set
	gate   chan struct{} // when set, each call waits on it
	calls  atomic.Int64
	writes map[string]string
}

func (b *backend) Resolve(ctx context.Context, uri string) ([]byte, error) {
	b.calls.Add(1)
	b.mu.Lock()
	gate := b.gate
	b.mu.Unlock()
	if gate != nil {
		<-gate
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	v, ok := b.values[uri]
	if !ok {
		return nil, errs.Errorf(errs.ENOTFOUND, "secret %s does not exist", uri)
	}
	return []byte(v), nil
}

func (b *backend) Write(_ context.Context, uri string, value []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.writes == nil {
		b.writes = map[string]string{}
	}
	b.writes[uri] = string(value)
	b.values[uri] = string(value)
	return nil
}

func (b *backend) set(uri, v string) { b.mu.Lock(); b.values[uri] = v; b.mu.Unlock() }
func (b *backend) fail(err error)    { b.mu.Lock(); b.err = err; b.mu.Unlock() }

// clock is a controlled time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const lockboxURI = "yc-lockbox://e6q0secret/webhook"

func newCache(t *testing.T, b *backend, log *bytes.Buffer) (*secrets.Cache, *clock, *[]secrets.Access) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	audits := &[]secrets.Access{}
	cfg := secrets.CacheConfig{
		Backend: b, TTL: map[string]time.Duration{"yc-lockbox": time.Minute, "aws-sm": time.Minute},
		NegativeTTL: 5 * time.Second, StaleFor: 2 * time.Minute, Accessor: "mothergoose",
		Audit: func(a secrets.Access) { mu.Lock(); *audits = append(*audits, a); mu.Unlock() },
		Now:   clk.Now,
	}
	if log != nil {
		cfg.Log = slog.New(slog.NewTextHandler(log, nil))
	}
	return secrets.NewCache(cfg), clk, audits
}

func resolve(t *testing.T, c ports.Secrets, uri string) (string, error) {
	t.Helper()
	ctx := ports.WithSecretScope(context.Background(), ports.SecretScope{Purpose: "webhook secret of egg web"})
	v, err := c.Resolve(ctx, uri)
	return string(v), err
}

func TestCache_a_value_is_fetched_once_per_TTL_and_audited_once(t *testing.T) {
	b := &backend{values: map[string]string{lockboxURI: "first-value"}}
	c, clk, audits := newCache(t, b, nil)
	for range 100 {
		if v, err := resolve(t, c, lockboxURI); err != nil || v != "first-value" {
			t.Fatalf("resolve = %q, %v", v, err)
		}
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("backend calls = %d for 100 resolutions within the TTL, want 1", n)
	}
	// Rotation: the new value is picked up at the next refresh.
	b.set(lockboxURI, "second-value")
	if v, _ := resolve(t, c, lockboxURI); v != "first-value" {
		t.Fatalf("within the TTL the cached value is used, got %q", v)
	}
	clk.advance(61 * time.Second)
	if v, _ := resolve(t, c, lockboxURI); v != "second-value" {
		t.Fatalf("after the TTL the rotated value is used, got %q", v)
	}
	if n := b.calls.Load(); n != 2 {
		t.Fatalf("backend calls = %d, want 2", n)
	}
	if len(*audits) != 2 {
		t.Fatalf("audits = %+v, want one per TTL period (2)", *audits)
	}
	a := (*audits)[0]
	if a.URI != lockboxURI || a.Purpose != "webhook secret of egg web" || a.Accessor != "mothergoose" || a.Outcome != "resolved" {
		t.Fatalf("audit = %+v", a)
	}
}

func TestCache_one_fetch_in_flight_per_URI(t *testing.T) {
	gate := make(chan struct{})
	b := &backend{values: map[string]string{lockboxURI: "the-value"}, gate: gate}
	c, _, _ := newCache(t, b, nil)
	var wg sync.WaitGroup
	got := make([]string, 32)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = resolve(t, c, lockboxURI)
		}()
	}
	// Wait until the first call is in the backend, then let it answer.
	deadline := time.Now().Add(5 * time.Second)
	for b.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the others join the flight
	close(gate)
	wg.Wait()
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("backend calls = %d for 32 concurrent resolutions, want 1", n)
	}
	for i, v := range got {
		if v != "the-value" {
			t.Fatalf("caller %d got %q", i, v)
		}
	}
}

func TestCache_a_failure_is_cached_briefly(t *testing.T) {
	b := &backend{values: map[string]string{}}
	c, clk, audits := newCache(t, b, nil)
	for range 10 {
		if _, err := resolve(t, c, lockboxURI); errs.Code(err) != errs.ENOTFOUND {
			t.Fatalf("err = %v, want ENOTFOUND", err)
		}
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("backend calls = %d within the negative TTL, want 1", n)
	}
	b.set(lockboxURI, "now-there")
	clk.advance(6 * time.Second)
	if v, err := resolve(t, c, lockboxURI); err != nil || v != "now-there" {
		t.Fatalf("after the negative TTL: %q, %v", v, err)
	}
	if len(*audits) != 1 || (*audits)[0].Outcome != "failed" {
		t.Fatalf("audits = %+v, want the failure once (the success falls in the same period)", *audits)
	}
}

func TestCache_serves_stale_while_the_backend_is_down_then_fails_then_recovers(t *testing.T) {
	b := &backend{values: map[string]string{lockboxURI: "warm-value"}}
	var log bytes.Buffer
	c, clk, _ := newCache(t, b, &log)
	if v, _ := resolve(t, c, lockboxURI); v != "warm-value" {
		t.Fatal("warm-up failed")
	}
	b.fail(errs.Errorf(errs.EUNAVAILABLE, "connection refused"))
	clk.advance(61 * time.Second) // past the TTL
	for range 5 {
		if v, err := resolve(t, c, lockboxURI); err != nil || v != "warm-value" {
			t.Fatalf("within the stale window: %q, %v", v, err)
		}
	}
	if n := b.calls.Load(); n != 2 {
		t.Fatalf("backend calls = %d: a down backend is asked again after the negative TTL, not per call", n)
	}
	if strings.Count(log.String(), "serving the cached value") != 1 {
		t.Fatalf("the stale stretch is logged once:\n%s", log.String())
	}
	clk.advance(6 * time.Second)
	if _, err := resolve(t, c, lockboxURI); err != nil {
		t.Fatalf("still within the window: %v", err)
	}
	if n := b.calls.Load(); n != 3 {
		t.Fatalf("backend calls = %d, want a retry after the negative TTL", n)
	}
	clk.advance(2 * time.Minute) // past TTL + StaleFor
	if _, err := resolve(t, c, lockboxURI); errs.Code(err) != errs.EUNAVAILABLE {
		t.Fatalf("past the stale window: %v, want EUNAVAILABLE", err)
	}
	b.fail(nil)
	b.set(lockboxURI, "rotated-value")
	clk.advance(6 * time.Second)
	if v, err := resolve(t, c, lockboxURI); err != nil || v != "rotated-value" {
		t.Fatalf("recovery: %q, %v", v, err)
	}
	if strings.Contains(log.String(), "warm-value") || strings.Contains(log.String(), "rotated-value") {
		t.Fatalf("a value reached the log:\n%s", log.String())
	}
}

func TestCache_an_answer_is_not_served_stale(t *testing.T) {
	for _, code := range []string{errs.EUNAUTHORIZED, errs.ENOTFOUND} {
		t.Run(code, func(t *testing.T) {
			b := &backend{values: map[string]string{lockboxURI: "warm-value"}}
			c, clk, _ := newCache(t, b, nil)
			_, _ = resolve(t, c, lockboxURI)
			b.fail(errs.Errorf(code, "no"))
			clk.advance(61 * time.Second)
			if _, err := resolve(t, c, lockboxURI); errs.Code(err) != code {
				t.Fatalf("err = %v, want %s: access revoked or a secret deleted is not a blip", err, code)
			}
		})
	}
}

func TestCache_aws_sm_values_are_kept_per_region(t *testing.T) {
	b := &backend{values: map[string]string{"aws-sm://app/token": "v"}}
	c, _, _ := newCache(t, b, nil)
	for _, region := range []string{"eu-west-1", "us-east-1", "eu-west-1"} {
		ctx := ports.WithSecretScope(context.Background(), ports.SecretScope{Region: region})
		if _, err := c.Resolve(ctx, "aws-sm://app/token"); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.calls.Load(); n != 2 {
		t.Fatalf("backend calls = %d, want one per region", n)
	}
}

func TestCache_uncached_schemes_go_to_the_backend_each_time(t *testing.T) {
	b := &backend{values: map[string]string{"file:///run/s": "file-value"}}
	c, _, audits := newCache(t, b, nil)
	for range 3 {
		if v, _ := resolve(t, c, "file:///run/s"); v != "file-value" {
			t.Fatal(v)
		}
	}
	if n := b.calls.Load(); n != 3 {
		t.Fatalf("backend calls = %d, want 3 (file:// is read at each use)", n)
	}
	if len(*audits) != 1 {
		t.Fatalf("audits = %d, want 1 per period", len(*audits))
	}
}

func TestCache_write_stores_and_is_served_fresh(t *testing.T) {
	b := &backend{values: map[string]string{}}
	c, _, _ := newCache(t, b, nil)
	if err := c.Write(context.Background(), lockboxURI, []byte("glrt-written")); err != nil {
		t.Fatal(err)
	}
	if b.writes[lockboxURI] != "glrt-written" {
		t.Fatalf("backend writes = %v", b.writes)
	}
	if v, _ := resolve(t, c, lockboxURI); v != "glrt-written" || b.calls.Load() != 0 {
		t.Fatalf("resolve after write = %q with %d backend calls, want the written value from the cache", v, b.calls.Load())
	}
}

func TestCache_a_caller_that_gives_up_does_not_fail_the_others(t *testing.T) {
	gate := make(chan struct{})
	b := &backend{values: map[string]string{lockboxURI: "the-value"}, gate: gate}
	c, _, _ := newCache(t, b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Resolve(ctx, lockboxURI); done <- err }()
	for b.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the canceled caller got a value")
	}
	other := make(chan string, 1)
	go func() { v, _ := resolve(t, c, lockboxURI); other <- v }()
	time.Sleep(10 * time.Millisecond)
	close(gate)
	if v := <-other; v != "the-value" {
		t.Fatalf("the other caller got %q", v)
	}
}

func TestCache_String_names_the_cached_schemes(t *testing.T) {
	c := secrets.NewCache(secrets.CacheConfig{Backend: &backend{}, TTL: map[string]time.Duration{"vault": time.Minute, "env": 0, "aws-sm": 5 * time.Minute}})
	if got, want := c.String(), "ttl aws-sm=5m0s,vault=1m0s, negative 5s, stale for 10m0s"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	never := secrets.NewCache(secrets.CacheConfig{Backend: &backend{}, StaleFor: -1})
	if got := never.String(); !strings.HasSuffix(got, "stale for never") {
		t.Fatalf("String = %q", got)
	}
}
