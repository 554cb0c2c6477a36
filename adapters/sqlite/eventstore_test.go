package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func mustOpen(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
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
