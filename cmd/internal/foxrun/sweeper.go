package foxrun

import (
	"errors"
	"log/slog"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Deps is what the sweep is built from, the same in `uglyfox serve` and in
// `mothergoose serve`.
type Deps struct {
	Events   ports.EventStore
	Views    ports.ViewStore
	LastSeen ports.LastSeen
	Leases   ports.Leases
	// Sender is the command port the sweep's decisions go through (the
	// in-process bus today, SQS/YMQ later), each fenced by the lease.
	Sender   commands.Sender
	Handlers *commands.Handlers
	Logger   *slog.Logger
}

// ErrSweepNotBuilt is NewSweeper's answer while no sweep is linked in.
var ErrSweepNotBuilt = errors.New("the sweep is not built")

// NewSweeper builds the sweep (uglyfox.Sweeper) from d.
func NewSweeper(d Deps) (uglyfox.SweepRunner, error) {
	return nil, ErrSweepNotBuilt
}
