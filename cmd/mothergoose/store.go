package main

import (
	"context"
	"log/slog"

	"github.com/polar-gosling/polar-gosling/cmd/internal/store"
)

// storage is one opened backend (store.Storage), shared with uglyfox.
type storage = store.Storage

// openStorage opens the store named by raw (store.Open).
func openStorage(ctx context.Context, raw string, migrate bool, log *slog.Logger) (*storage, error) {
	return store.Open(ctx, raw, migrate, log)
}
