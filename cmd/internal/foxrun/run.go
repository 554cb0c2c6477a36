// Package foxrun wires UglyFox's sweep under its lease for the binaries
// that run it: `uglyfox serve` on its own and `mothergoose serve` in
// process.
package foxrun

import (
	"context"
	"log/slog"
	"time"

	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Config is one UglyFox loop: the sweep (nil: NewSweeper(Deps)) under the
// lease Lease held as Holder for TTL (zero values: uglyfox's defaults).
type Config struct {
	Deps
	Sweeper uglyfox.SweepRunner
	Lease   string
	Holder  string
	TTL     time.Duration
	Clock   uglyfox.Clock
}

// Loop is a built UglyFox loop, ready to Run.
type Loop struct{ cfg uglyfox.LoopConfig }

// New builds the sweep (unless cfg gives one) and the loop's configuration.
func New(cfg Config) (*Loop, error) {
	if cfg.Handlers == nil || cfg.Leases == nil {
		return nil, errs.Errorf(errs.EINVALID, "uglyfox: the loop needs the command handlers and the lease store")
	}
	sw := cfg.Sweeper
	if sw == nil {
		var err error
		if sw, err = NewSweeper(cfg.Deps); err != nil {
			return nil, err
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Loop{cfg: uglyfox.LoopConfig{
		Leases: cfg.Leases, Lease: cfg.Lease, Holder: cfg.Holder, TTL: cfg.TTL,
		Sweeper: sw, Recorder: cfg.Handlers, Clock: cfg.Clock, Logger: log,
	}}, nil
}

// Run sweeps under the lease until ctx ends (uglyfox.Run).
func (l *Loop) Run(ctx context.Context) error { return uglyfox.Run(ctx, l.cfg) }
