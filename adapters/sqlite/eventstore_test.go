package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func mustOpen(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	return mustOpenWith(t, path, sqlite.Options{})
}

func mustOpenWith(t *testing.T, path string, opts sqlite.Options) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestEventStoreContract(t *testing.T) {
	porttest.EventStore(t, func(t *testing.T) ports.EventStore {
		return mustOpen(t, filepath.Join(t.TempDir(), "gosling.db")).Events()
	}, porttest.Features{})
}

// TestTwoStoresOnOneFile: the appender caches stream versions; another
// writer of the same file (a second process, here a second store) must not
// be able to make it accept a stale expected version or reject a right one.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := mustOpen(t, path).Events(), mustOpen(t, path).Events()
	ctx := context.Background()
	rec := func() []events.Record {
		return []events.Record{porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{RunnerID: "r"})}
	}
	if _, err := a.Append(ctx, "runner-r", ports.NoStream(), rec()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "runner-r", ports.At(1), rec()); err != nil {
		t.Fatal(err)
	}
	res, err := a.Append(ctx, "runner-r", ports.At(2), rec())
	if err != nil || res.FirstVersion != 3 {
		t.Fatalf("append at 2 through the first store after the second wrote: %+v %v", res, err)
	}
	if _, err := b.Append(ctx, "runner-r", ports.At(2), rec()); !errors.Is(err, ports.ErrConflict) {
		t.Fatalf("stale append through the second store: %v, want a conflict", err)
	}
}
