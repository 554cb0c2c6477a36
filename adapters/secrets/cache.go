package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Cache defaults. A webhook resolves its egg's secret on every delivery;
// a cloud backend answers in milliseconds and bills or throttles per call,
// so its values are kept for a TTL and refreshed by one fetch, and a
// backend that is briefly down does not fail the webhooks.
const (
	// DefaultCloudTTL is how long a Lockbox, Secrets Manager or Vault
	// value is used before it is fetched again: a rotation is picked up
	// within it.
	DefaultCloudTTL = 5 * time.Minute
	// DefaultNegativeTTL is how long a failed resolution is answered from
	// the cache, so a missing secret does not cost a backend call per
	// webhook.
	DefaultNegativeTTL = 5 * time.Second
	// DefaultStaleFor is how long past its TTL a value is still served
	// while its backend is unavailable (down, throttling, timing out).
	DefaultStaleFor = 10 * time.Minute
	// DefaultFetchTimeout bounds one backend fetch.
	DefaultFetchTimeout = 10 * time.Second
	// defaultAuditPeriod spaces secret.accessed of the schemes read at
	// every use (env, file), which have no TTL to space them.
	defaultAuditPeriod = 5 * time.Minute
)

// DefaultTTLs are the TTLs by scheme: the cloud schemes cached, env:// and
// file:// read at each use (cheap, and a rewritten file takes effect at
// once).
func DefaultTTLs() map[string]time.Duration {
	return map[string]time.Duration{"yc-lockbox": DefaultCloudTTL, "aws-sm": DefaultCloudTTL, "vault": DefaultCloudTTL}
}

// Access is one audited resolution: the URI, what for, and the outcome;
// never the value.
type Access = events.SecretAccessed

// CacheConfig configures a Cache. Backend is required.
type CacheConfig struct {
	Backend ports.Secrets
	// TTL by scheme; a scheme missing or <= 0 is not cached (DefaultTTLs).
	TTL map[string]time.Duration
	// NegativeTTL (default DefaultNegativeTTL), StaleFor (default
	// DefaultStaleFor; negative: never serve stale), FetchTimeout (default
	// DefaultFetchTimeout).
	NegativeTTL, StaleFor, FetchTimeout time.Duration
	// Accessor names this process in the audit ("mothergoose").
	Accessor string
	// Audit receives at most one access per URI per TTL (per
	// defaultAuditPeriod for the schemes not cached); nil: no audit.
	Audit func(Access)
	// Redactions learns every value resolved, for the log handler.
	Redactions *Redactions
	// Observe, when set, is told each backend fetch by scheme and outcome:
	// "resolved", "failed" or "stale" (failed, and the cached value
	// served); a metrics counter.
	Observe func(scheme, outcome string)
	Log     *slog.Logger
	Now     func() time.Time
}

// Cache is the ports.Secrets every caller uses: per-scheme TTL, one
// in-flight fetch per URI, a short negative cache, and serve-stale while a
// backend is unavailable (bounded by StaleFor, logged once per stretch).
type Cache struct {
	cfg   CacheConfig
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]*entry
	audited map[string]time.Time // uri -> when the last access was audited
}

type entry struct {
	value    []byte
	err      error     // a negative entry when set
	fetched  time.Time // when value was fetched
	expires  time.Time // fresh until; a negative entry's end
	retryAt  time.Time // while stale: the next fetch attempt
	staleLog bool      // the stale stretch was logged
}

var (
	_ ports.Secrets      = (*Cache)(nil)
	_ ports.SecretWriter = (*Cache)(nil)
)

// NewCache returns the cache over cfg.Backend.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.TTL == nil {
		cfg.TTL = DefaultTTLs()
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.StaleFor == 0 {
		cfg.StaleFor = DefaultStaleFor
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{cfg: cfg, entries: map[string]*entry{}, audited: map[string]time.Time{}}
}

// key is the cache key: Secrets Manager reads a name in a region, so the
// region is part of an aws-sm key.
func key(ctx context.Context, uri string) string {
	if Scheme(uri) == "aws-sm" {
		if r := ports.SecretScopeOf(ctx).Region; r != "" {
			return uri + "\x00" + r
		}
	}
	return uri
}

// Resolve implements ports.Secrets.
func (c *Cache) Resolve(ctx context.Context, uri string) ([]byte, error) {
	ttl := c.cfg.TTL[Scheme(uri)]
	if ttl <= 0 {
		v, err := c.cfg.Backend.Resolve(ctx, uri)
		if err == nil {
			c.cfg.Redactions.Add(uri, v)
		}
		c.audit(ctx, uri, err, defaultAuditPeriod)
		return v, err
	}
	k := key(ctx, uri)
	now := c.cfg.Now()
	c.mu.Lock()
	e := c.entries[k]
	if e != nil && (now.Before(e.expires) || (e.err == nil && now.Before(e.retryAt) && now.Before(e.expires.Add(c.cfg.StaleFor)))) {
		v, err := e.value, e.err
		c.mu.Unlock()
		return v, err
	}
	c.mu.Unlock()
	// One fetch per key; it runs apart from the first caller's context
	// (bounded by FetchTimeout), so a caller that gives up does not fail
	// the others waiting on the same fetch.
	ch := c.group.DoChan(k, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FetchTimeout)
		defer cancel()
		return c.fetch(fctx, k, uri, ttl)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	}
}

// fetch asks the backend and decides what the cache keeps.
func (c *Cache) fetch(ctx context.Context, k, uri string, ttl time.Duration) ([]byte, error) {
	v, err := c.cfg.Backend.Resolve(ctx, uri)
	now := c.cfg.Now()
	c.mu.Lock()
	old := c.entries[k]
	switch {
	case err == nil:
		if old != nil && old.staleLog {
			c.cfg.Log.Info("secrets backend answers again: fresh value", "uri", uri)
		}
		c.entries[k] = &entry{value: v, fetched: now, expires: now.Add(ttl)}
	case unavailable(err) && old != nil && old.err == nil && c.cfg.StaleFor > 0 && now.Before(old.expires.Add(c.cfg.StaleFor)):
		// Serve the value we have: the backend is down, not the secret
		// gone. Ask again after NegativeTTL, not on every call.
		old.retryAt = now.Add(c.cfg.NegativeTTL)
		c.observe(uri, "stale")
		if !old.staleLog {
			old.staleLog = true
			c.cfg.Log.Warn("secrets backend unavailable: serving the cached value",
				"uri", uri, "fetched_at", old.fetched, "stale_until", old.expires.Add(c.cfg.StaleFor), "reason", errs.Message(err))
		}
		v = old.value
		c.mu.Unlock()
		return v, nil
	default:
		if old != nil && old.err == nil && old.staleLog && unavailable(err) {
			c.cfg.Log.Error("secrets backend still unavailable past the stale window: the secret fails now", "uri", uri, "reason", errs.Message(err))
		}
		c.entries[k] = &entry{err: err, expires: now.Add(c.cfg.NegativeTTL)}
	}
	c.mu.Unlock()
	if err == nil {
		c.cfg.Redactions.Add(uri, v)
		c.observe(uri, "resolved")
	} else {
		c.observe(uri, "failed")
	}
	c.audit(ctx, uri, err, ttl)
	return v, err
}

func (c *Cache) observe(uri, outcome string) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(Scheme(uri), outcome)
	}
}

// Write implements ports.SecretWriter: the backend stores value, and the
// cache holds it fresh (so the next Resolve does not ask again).
func (c *Cache) Write(ctx context.Context, uri string, value []byte) error {
	w, ok := c.cfg.Backend.(ports.SecretWriter)
	if !ok {
		return errs.Errorf(errs.EINVALID, "secret URI %q: no backend here stores secrets", uri)
	}
	c.cfg.Redactions.Add(uri, value)
	if err := w.Write(ctx, uri, value); err != nil {
		return err
	}
	if ttl := c.cfg.TTL[Scheme(uri)]; ttl > 0 {
		now := c.cfg.Now()
		c.mu.Lock()
		c.entries[key(ctx, uri)] = &entry{value: value, fetched: now, expires: now.Add(ttl)}
		c.mu.Unlock()
	}
	return nil
}

// audit hands Audit one access per uri per period.
func (c *Cache) audit(ctx context.Context, uri string, err error, period time.Duration) {
	if c.cfg.Audit == nil {
		return
	}
	now := c.cfg.Now()
	c.mu.Lock()
	last, seen := c.audited[uri]
	if seen && now.Sub(last) < period {
		c.mu.Unlock()
		return
	}
	c.audited[uri] = now
	c.mu.Unlock()
	a := Access{URI: uri, Accessor: c.cfg.Accessor, Purpose: ports.SecretScopeOf(ctx).Purpose, Outcome: "resolved"}
	if err != nil {
		a.Outcome = "failed"
	}
	if a.Accessor == "" {
		a.Accessor = "unknown"
	}
	c.cfg.Audit(a)
}

// unavailable reports whether err means the backend could not answer
// (down, throttling, timing out), as opposed to an answer.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return errs.Code(err) == errs.EUNAVAILABLE
}

// String describes the configuration for the start-up log: the TTL of
// each cached scheme, the negative TTL and the stale window.
func (c *Cache) String() string {
	var ttl []string
	for _, s := range slices.Sorted(maps.Keys(c.cfg.TTL)) {
		if c.cfg.TTL[s] > 0 {
			ttl = append(ttl, fmt.Sprintf("%s=%v", s, c.cfg.TTL[s]))
		}
	}
	stale := "never"
	if c.cfg.StaleFor > 0 {
		stale = c.cfg.StaleFor.String()
	}
	return fmt.Sprintf("ttl %s, negative %v, stale for %s", strings.Join(ttl, ","), c.cfg.NegativeTTL, stale)
}
