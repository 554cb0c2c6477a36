package foxrun

import (
	"log/slog"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/events"
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

// NewSweeper builds the sweep (uglyfox.Sweeper) from d: the views and
// last-seen store it reads, the policy rules compiled by the .fly checker,
// its decisions sent through d.Sender, each fenced by the lease, which
// d.Leases tells from a runner's own refusal.
func NewSweeper(d Deps) (uglyfox.SweepRunner, error) {
	return uglyfox.NewSweeper(uglyfox.SweeperConfig{
		Store: d.Events, Codec: events.NewCodec(events.NewRegistry()), Views: d.Views, LastSeen: d.LastSeen,
		Compiler: fly.NewConditionCompiler(), Sender: d.Sender, Leases: d.Leases, Logger: d.Logger,
	})
}
