// Package sqlitetest builds the core on a real SQLite file for tests and
// benchmarks of the layers above it: the store, the codec, the command
// handlers and a projections runner over every view.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/projections"
)

// Core is the event-sourced core on one SQLite file in tb's temp dir.
type Core struct {
	DB          *sqlite.DB
	Codec       *events.Codec
	Handlers    *commands.Handlers
	Projections *projections.Loop
}

// NewCore opens the file (closed at cleanup) and builds the rest on it.
func NewCore(tb testing.TB) *Core {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	codec := events.NewCodec(events.NewRegistry())
	h, err := commands.NewHandlers(db.Events(), codec, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() })
	if err != nil {
		tb.Fatal(err)
	}
	proj, err := projections.NewLoop(projections.Config{Store: db.Events(), Views: db.Views(), Codec: codec, Projectors: projections.All()})
	if err != nil {
		tb.Fatal(err)
	}
	return &Core{DB: db, Codec: codec, Handlers: h, Projections: proj}
}
