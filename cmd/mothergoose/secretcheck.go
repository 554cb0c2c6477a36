package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// secretCheck says, once per egg and URI, which webhook secrets of the eggs
// serve cannot resolve (a backend not configured or refusing, a secret or
// key that does not exist): the webhooks of such an egg answer 503 until
// it can be resolved. The ones it resolves are in the cache when the
// first webhook comes. It reads the egg_configs view, which the webhooks read, at
// start and after every sync that recorded changes, once the view has
// caught up. URIs are logged, values never.
type secretCheck struct {
	events  ports.EventStore
	views   ports.ViewStore
	secrets ports.Secrets
	log     *slog.Logger
	poll    time.Duration // how often to look whether the view has caught up

	wake   chan struct{}
	mu     sync.Mutex
	warned map[string]bool // egg + "\x00" + uri
}

// secretResolveTimeout bounds resolving one secret in the check.
const secretResolveTimeout = 5 * time.Second

func newSecretCheck(es ports.EventStore, vs ports.ViewStore, sec ports.Secrets, log *slog.Logger, poll time.Duration) *secretCheck {
	return &secretCheck{events: es, views: vs, secrets: sec, log: log, poll: poll,
		wake: make(chan struct{}, 1), warned: map[string]bool{}}
}

// Trigger asks for a check; triggers while one waits coalesce.
func (c *secretCheck) Trigger() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run checks at every Trigger until ctx ends. A check that fails to read
// the store is logged and left to the next trigger: it is advice, not
// a reason to stop serving.
func (c *secretCheck) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		}
		if err := c.check(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("cannot check the eggs' webhook secrets", "err", err)
		}
	}
}

// check waits until the egg_configs view holds the log as it is now, then
// resolves every egg's webhook secret not reported yet.
func (c *secretCheck) check(ctx context.Context) error {
	head, err := c.events.Head(ctx)
	if err != nil {
		return err
	}
	for {
		cp, err := c.views.Read().Checkpoint(ctx, ports.ViewEggConfigs)
		if err != nil {
			return err
		}
		if cp >= head {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.poll):
		}
	}
	rows, err := ports.EggConfigs.In(c.views.Read()).List(ctx, ports.Query{})
	if err != nil {
		return err
	}
	for _, row := range rows {
		uri := row.WebhookSecretURI
		key := row.Name + "\x00" + uri
		if uri == "" || c.reported(key) {
			continue
		}
		rctx, cancel := context.WithTimeout(ports.WithSecretScope(ctx, ports.SecretScope{Purpose: "webhook secret of egg " + row.Name, Region: row.Region}), secretResolveTimeout)
		_, err := c.secrets.Resolve(rctx, uri)
		cancel()
		if err == nil || ctx.Err() != nil {
			continue
		}
		c.mu.Lock()
		c.warned[key] = true
		c.mu.Unlock()
		c.log.Warn("egg webhook secret cannot be resolved: webhooks for this egg will answer 503 until it can be",
			"egg", row.Name, "uri", uri, "reason", errs.Message(err))
	}
	return nil
}

func (c *secretCheck) reported(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.warned[key]
}
