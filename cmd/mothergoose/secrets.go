package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// secretAccessor names serve in secret.accessed.
const secretAccessor = "mothergoose"

// openSecrets builds the secrets every part of serve resolves through: the
// cloud backends (opened at first use) behind one cache, whose resolved
// values the log handler redacts, and whose accesses are audited.
func (m *Main) openSecrets() error {
	ttl, problems := m.Config.secretTTLs()
	if len(problems) > 0 { // Validate reports them; a Main built in a test may skip it
		ttl = secrets.DefaultTTLs()
	}
	stale := m.Config.SecretStaleFor
	if stale == 0 {
		stale = -1 // the cache reads 0 as its default
	}
	m.redactions = secrets.NewRedactions()
	m.log = slog.New(secrets.RedactingHandler(m.log.Handler(), m.redactions))
	m.secretAudit = newSecretAudit(m.log)
	router, err := newSecretRouter(m.Config, m.log)
	if err != nil {
		return err
	}
	m.secretRouter = router
	// Registered with the other collectors once the registry exists.
	m.secretFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "secret_fetches_total",
		Help: "Secret backend fetches by scheme and outcome: resolved, failed, stale (failed, the cached value served). Cached resolutions are not fetches.",
	}, []string{"scheme", "outcome"})
	m.secrets = secrets.NewCache(secrets.CacheConfig{
		Backend: router, TTL: ttl, NegativeTTL: m.Config.SecretNegativeTTL, StaleFor: stale,
		Accessor: secretAccessor, Audit: m.secretAudit.Record, Redactions: m.redactions, Log: m.log,
		Observe: func(scheme, outcome string) { m.secretFetches.WithLabelValues(scheme, outcome).Inc() },
	})
	return nil
}

// secretAuditBuffer bounds the accesses waiting to be recorded: the cache
// hands at most one per URI per TTL, so it only fills when the store is
// down for long.
const secretAuditBuffer = 1024

// secretAudit records the cache's accesses as secret.accessed, apart from
// the resolutions (a webhook does not wait on an audit append).
type secretAudit struct {
	log     *slog.Logger
	ch      chan secrets.Access
	dropped atomic.Int64
}

func newSecretAudit(log *slog.Logger) *secretAudit {
	return &secretAudit{log: log, ch: make(chan secrets.Access, secretAuditBuffer)}
}

// Record queues an access; with the buffer full it is counted and logged,
// never waited on.
func (a *secretAudit) Record(x secrets.Access) {
	select {
	case a.ch <- x:
	default:
		if a.dropped.Add(1) == 1 {
			a.log.Warn("secret access audit buffer full: accesses are not recorded until the store keeps up", "uri", x.URI)
		}
	}
}

// Run appends the queued accesses until ctx ends, then the ones left
// (bounded by a short timeout).
func (a *secretAudit) Run(ctx context.Context, h *commands.Handlers) error {
	record := func(ctx context.Context, x secrets.Access) {
		_, err := h.RecordSecretAccess(ctx, commands.RecordSecretAccess{
			Meta: commands.Meta{Actor: secretAccessor}, Access: x})
		if err != nil && ctx.Err() == nil {
			a.log.Warn("cannot record a secret access", "uri", x.URI, "err", err)
		}
	}
	for {
		select {
		case x := <-a.ch:
			record(ctx, x)
		case <-ctx.Done():
			drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			for {
				select {
				case x := <-a.ch:
					record(drain, x)
				default:
					return nil
				}
			}
		}
	}
}

// runnerSecretStore writes a cloud runner's secrets under the base URI of
// its provider (--runner-secrets) through the secrets cache's backends.
type runnerSecretStore struct {
	bases  map[string]string // provider -> base URI
	writer ports.SecretWriter
}

// StoreRunnerSecret implements tofu.CloudSecretStore.
func (s runnerSecretStore) StoreRunnerSecret(ctx context.Context, provider, runnerID, name string, value []byte) (string, error) {
	base := s.bases[provider]
	if base == "" {
		return "", errs.Errorf(errs.EINVALID, "no secret store for %s runners: set --runner-secrets %s=vault://<mount>/<path-prefix> (or yc-lockbox://<secret>, aws-sm://<prefix>)", provider, provider)
	}
	uri := secrets.RunnerSecretURI(base, runnerID, name)
	ctx = ports.WithSecretScope(ctx, ports.SecretScope{Purpose: name + " of runner " + runnerID})
	if err := s.writer.Write(ctx, uri, value); err != nil {
		return "", err
	}
	return uri, nil
}
