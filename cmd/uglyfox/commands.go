package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/watermill"
	"github.com/polar-gosling/polar-gosling/cmd/internal/foxrun"
	"github.com/polar-gosling/polar-gosling/cmd/internal/store"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

func newRootCommand() *cobra.Command {
	cfg := defaultConfig()
	root := &cobra.Command{
		Use:               "uglyfox",
		Short:             "Polar Gosling lifecycle worker: sweeps the runners under a lease and sends its decisions as commands",
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(*cobra.Command, []string) error { return cfg.Validate() },
	}
	serve := &cobra.Command{
		Use:   "serve",
		Short: "sweep under the lease (one uglyfox at a time) until SIGINT/SIGTERM, then release it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := &Main{Config: cfg}
			if err := m.Open(cmd.Context()); err != nil {
				return errors.Join(err, m.Close())
			}
			err := m.Run(cmd.Context())
			return errors.Join(err, m.Close())
		},
	}
	bindFlags(root, serve, &cfg)
	root.AddCommand(serve)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return errs.Wrap(errs.EINVALID, err, "usage") })
	return root
}

// Main is the serve composition root: Open builds everything, Run runs it
// until ctx ends, Close releases it.
type Main struct {
	Config Config
	// Logger, when set, is the log (tests capture it); else Config's.
	Logger *slog.Logger
	// Sweeper, when set, is the sweep (tests give a fake); else
	// foxrun.NewSweeper's.
	Sweeper uglyfox.SweepRunner

	storage  *store.Storage
	Handlers *commands.Handlers
	Bus      *watermill.Bus
	loop     *foxrun.Loop
	log      *slog.Logger
}

// Open opens the store and builds the fenced handlers, the command bus and
// the loop.
func (m *Main) Open(ctx context.Context) error {
	m.log = m.Logger
	if m.log == nil {
		m.log = m.Config.logger()
	}
	st, err := store.Open(ctx, m.Config.StoreURL(), true, m.log)
	if err != nil {
		return err
	}
	m.storage = st
	newID := func() string { return uuid.Must(uuid.NewV7()).String() }
	if m.Handlers, err = commands.NewHandlers(st.Events, events.NewCodec(events.NewRegistry()), time.Now, newID, commands.WithLeases(st.Leases)); err != nil {
		return err
	}
	if m.Bus, err = watermill.NewBus(m.Handlers.Routes(), m.log); err != nil {
		return err
	}
	m.loop, err = foxrun.New(foxrun.Config{
		Deps: foxrun.Deps{Events: st.Events, Views: st.Views, LastSeen: st.LastSeen, Leases: st.Leases,
			Sender: m.Bus, Handlers: m.Handlers, Logger: m.log},
		Sweeper: m.Sweeper, Holder: m.Config.Holder, TTL: m.Config.LeaseTTL,
	})
	return err
}

// Run runs the bus and the loop until ctx ends; the loop releases the lease.
func (m *Main) Run(ctx context.Context) error {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	busc := make(chan error, 1)
	go func() { busc <- m.Bus.Run(work) }()
	// The loop ends at ctx's end, after its release; then the bus, so that
	// the sweep's last commands are handled.
	loopErr := m.loop.Run(ctx)
	cancel()
	busErr := <-busc
	if errors.Is(busErr, context.Canceled) {
		busErr = nil
	}
	m.log.Info("uglyfox stopped")
	return errors.Join(loopErr, busErr)
}

// Close releases what Open built.
func (m *Main) Close() error {
	var errList []error
	if m.Bus != nil {
		errList = append(errList, m.Bus.Close())
	}
	if m.storage != nil {
		errList = append(errList, m.storage.Close())
	}
	return errors.Join(errList...)
}
