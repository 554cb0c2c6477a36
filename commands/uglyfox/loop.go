// Package uglyfox is the lifecycle worker: sweeps over the runners that
// turn heartbeats, ages and the UF policies into commands, run by one
// process at a time under a lease (Run).
package uglyfox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// DefaultLease is the name of the sweep's lease.
const DefaultLease = "uglyfox-sweep"

// DefaultTTL is the default lease time: long enough that a holder's
// garbage collection pause or a slow store round trip does not lose it,
// short enough that another process takes over within half a minute.
const DefaultTTL = 30 * time.Second

// releaseTimeout bounds the release at the end of Run.
const releaseTimeout = 5 * time.Second

// SweepRunner is one sweep under a lease (the Sweeper implements it).
type SweepRunner interface {
	Sweep(ctx context.Context, lease string, token uint64) (Summary, error)
	Interval() time.Duration
}

// LeaseRecorder records the lease's history (uglyfox.lease_* events);
// *commands.Handlers is one. The calls are synchronous so that the log
// shows a holder's acquisition before any command of its sweeps.
type LeaseRecorder interface {
	RecordLeaseAcquired(ctx context.Context, cmd commands.RecordLeaseAcquired) (ports.AppendResult, error)
	RecordLeaseReleased(ctx context.Context, cmd commands.RecordLeaseReleased) (ports.AppendResult, error)
	RecordLeaseLost(ctx context.Context, cmd commands.RecordLeaseLost) (ports.AppendResult, error)
}

// LoopConfig is what Run needs. Leases, Sweeper and Recorder are required.
type LoopConfig struct {
	Leases ports.Leases
	// Lease is the lease's name (default DefaultLease): processes sharing
	// it sweep one at a time.
	Lease string
	// Holder names this process in the lease and the log (default
	// DefaultHolder()); two processes must never share one.
	Holder string
	// TTL is how long an acquisition or renewal holds the lease (default
	// DefaultTTL). The holder renews every TTL/3 and before each sweep;
	// another process takes over at most TTL after the holder died. It
	// does not follow the sweep interval: a check_interval of hours must
	// not make a failover take hours.
	TTL      time.Duration
	Sweeper  SweepRunner
	Recorder LeaseRecorder
	Clock    Clock        // default SystemClock
	Logger   *slog.Logger // default slog.Default()
}

// DefaultHolder is a holder id unique to this process: host, pid and a
// random part (a restarted process with a recycled pid is another holder).
func DefaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Run sweeps under the lease until ctx ends, then releases the lease if it
// holds it. Without the lease it tries to take it every TTL/3 (or as soon as
// the holder's lease lapses, if sooner). Holding it, it renews it before
// every sweep and every TTL/3, and sweeps every Sweeper.Interval(); it
// stops sweeping at once when a renewal fails or a sweep is fenced
// (ECONFLICT while the token is no longer the lease's). A sweep's context
// ends when the lease it runs under expires. Errors of the store or of a
// sweep are logged and retried; Run returns only at ctx's end (nil) or on
// a configuration error.
func Run(ctx context.Context, cfg LoopConfig) error {
	l, err := newLoop(cfg)
	if err != nil {
		return err
	}
	l.log.Info("uglyfox sweeping under a lease", "lease", l.cfg.Lease, "holder", l.cfg.Holder, "ttl", l.cfg.TTL, "interval", l.cfg.Sweeper.Interval())
	for {
		wait := l.step(ctx)
		if ctx.Err() != nil {
			break
		}
		done := make(chan struct{})
		stop := l.cfg.Clock.AfterFunc(wait, func() { close(done) })
		select {
		case <-ctx.Done():
			stop()
		case <-done:
		}
		if ctx.Err() != nil {
			break
		}
	}
	l.release(ctx)
	return nil
}

type loop struct {
	cfg LoopConfig
	log *slog.Logger
	// held is the lease as this process last acquired or renewed it;
	// Token 0 when it does not hold it.
	held ports.Lease
	// recorded is the token whose acquisition the log shows.
	recorded uint64
	// lastSweep is when this holder last swept (zero: never under this
	// token). The next is due Interval() after it, read at every step, so
	// a new check_interval synced from the Nest applies within TTL/3.
	lastSweep time.Time
}

func newLoop(cfg LoopConfig) (*loop, error) {
	switch {
	case cfg.Leases == nil:
		return nil, errs.Errorf(errs.EINVALID, "uglyfox: no lease store")
	case cfg.Sweeper == nil:
		return nil, errs.Errorf(errs.EINVALID, "uglyfox: no sweeper")
	case cfg.Recorder == nil:
		return nil, errs.Errorf(errs.EINVALID, "uglyfox: no recorder of the lease's events")
	case cfg.TTL < 0:
		return nil, errs.Errorf(errs.EINVALID, "uglyfox: negative lease time %s", cfg.TTL)
	case cfg.Sweeper.Interval() <= 0:
		return nil, errs.Errorf(errs.EINVALID, "uglyfox: the sweep interval must be positive (got %s)", cfg.Sweeper.Interval())
	}
	if cfg.Lease == "" {
		cfg.Lease = DefaultLease
	}
	if cfg.Holder == "" {
		cfg.Holder = DefaultHolder()
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &loop{cfg: cfg, log: cfg.Logger.With("lease", cfg.Lease, "holder", cfg.Holder)}, nil
}

// step takes or renews the lease, sweeps when one is due, and returns how
// long to wait before the next step.
func (l *loop) step(ctx context.Context) time.Duration {
	retry := l.cfg.TTL / 3
	now := l.cfg.Clock.Now()
	lease, err := l.cfg.Leases.Acquire(ctx, l.cfg.Lease, l.cfg.Holder, l.cfg.TTL, now)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		if l.held.Token != 0 {
			l.lose(ctx, "the renewal failed: "+errs.Message(err))
		}
		if errs.Code(err) == errs.ECONFLICT && lease.Holder != "" {
			// Try again as soon as the holder's lease lapses (but not in
			// a tight loop when the clocks disagree).
			if until := lease.ExpiresAt.Sub(now); until < retry {
				retry = max(until, l.cfg.TTL/100)
			}
			return retry
		}
		l.log.Warn("uglyfox: lease store", "err", err)
		return retry
	}
	if lease.Token != l.held.Token {
		l.log.Info("uglyfox: lease acquired", "token", lease.Token, "expires_at", lease.ExpiresAt)
	}
	l.held = lease
	if l.recorded != lease.Token {
		if err := l.recordAcquired(ctx, lease); err != nil {
			// No sweep before the log shows this holder.
			if errs.Code(err) == errs.ECONFLICT && l.fenced(ctx, lease) {
				l.lose(ctx, "the lease lapsed before its acquisition was recorded")
			} else {
				l.log.Warn("uglyfox: recording the lease's acquisition", "token", lease.Token, "err", err)
			}
			return retry
		}
		l.recorded = lease.Token
		l.lastSweep = time.Time{} // a new holder sweeps at once
	}
	if due := l.lastSweep.Add(l.cfg.Sweeper.Interval()); !l.lastSweep.IsZero() && now.Before(due) {
		return min(retry, due.Sub(now))
	}
	l.lastSweep = now
	l.sweep(ctx, lease)
	if l.held.Token == 0 {
		return retry
	}
	return max(0, min(retry, l.lastSweep.Add(l.cfg.Sweeper.Interval()).Sub(l.cfg.Clock.Now())))
}

// sweep runs one sweep under lease; its context ends when the lease expires.
func (l *loop) sweep(ctx context.Context, lease ports.Lease) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := l.cfg.Clock.AfterFunc(lease.ExpiresAt.Sub(l.cfg.Clock.Now()), cancel)
	defer stop()
	start := l.cfg.Clock.Now()
	sum, err := l.cfg.Sweeper.Sweep(sctx, lease.Name, lease.Token)
	switch {
	case err == nil:
		l.log.Debug("uglyfox: swept", "token", lease.Token, "summary", fmt.Sprintf("%+v", sum), "took", l.cfg.Clock.Now().Sub(start))
	case ctx.Err() != nil:
	case errs.Code(err) == errs.ECONFLICT && l.fenced(ctx, lease):
		l.lose(ctx, "a sweep command was fenced: "+errs.Message(err))
	case sctx.Err() != nil:
		l.log.Warn("uglyfox: the sweep outlasted its lease and was cut off", "token", lease.Token, "err", err)
	default:
		l.log.Warn("uglyfox: sweep failed", "token", lease.Token, "err", err)
	}
}

// fenced reports whether lease's token no longer holds the lease (a store
// error counts as fenced: acting on a lease one cannot check is unsafe).
func (l *loop) fenced(ctx context.Context, lease ports.Lease) bool {
	return l.cfg.Leases.Check(ctx, lease.Name, lease.Token, l.cfg.Clock.Now()) != nil
}

func (l *loop) meta(token uint64) commands.Meta {
	return commands.Meta{Actor: "uglyfox:" + l.cfg.Holder, FenceLease: l.cfg.Lease, FenceToken: token}
}

func (l *loop) recordAcquired(ctx context.Context, lease ports.Lease) error {
	_, err := l.cfg.Recorder.RecordLeaseAcquired(ctx, commands.RecordLeaseAcquired{
		Meta: l.meta(lease.Token), Lease: lease.Name, Holder: l.cfg.Holder, Token: lease.Token,
		TTL: l.cfg.TTL, ExpiresAt: lease.ExpiresAt,
	})
	return err
}

// lose forgets the lease at once and records why (unfenced: the token is
// no longer current; the lease log ignores it if a successor already
// closed it).
func (l *loop) lose(ctx context.Context, reason string) {
	token := l.held.Token
	l.held = ports.Lease{}
	l.log.Warn("uglyfox: lease lost; sweeping stopped", "token", token, "reason", reason)
	if _, err := l.cfg.Recorder.RecordLeaseLost(ctx, commands.RecordLeaseLost{
		Meta: commands.Meta{Actor: "uglyfox:" + l.cfg.Holder}, Lease: l.cfg.Lease, Holder: l.cfg.Holder, Token: token, Reason: reason,
	}); err != nil {
		if !errors.Is(err, context.Canceled) {
			l.log.Warn("uglyfox: recording the lease's loss", "token", token, "err", err)
		}
		return
	}
	// Should the lease turn out to be still this holder's (the renewal
	// failed on a store error), the log is told it resumed.
	l.recorded = 0
}

// release records the release (fenced: only while the token holds) and
// gives the lease up, so that another process takes over at once.
func (l *loop) release(ctx context.Context) {
	if l.held.Token == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	token := l.held.Token
	l.held = ports.Lease{}
	if l.recorded == token {
		if _, err := l.cfg.Recorder.RecordLeaseReleased(rctx, commands.RecordLeaseReleased{
			Meta: l.meta(token), Lease: l.cfg.Lease, Holder: l.cfg.Holder, Token: token,
		}); err != nil {
			l.log.Warn("uglyfox: recording the lease's release", "token", token, "err", err)
		}
	}
	if err := l.cfg.Leases.Release(rctx, l.cfg.Lease, l.cfg.Holder, token); err != nil {
		l.log.Warn("uglyfox: releasing the lease", "token", token, "err", err)
		return
	}
	l.log.Info("uglyfox: lease released", "token", token)
}
