package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// storage is one opened backend: the event log, the views, and how to wait
// for new events (nil where the store cannot tell, so projectors poll).
type storage struct {
	Events ports.EventStore
	Views  ports.ViewStore
	Wake   func() <-chan struct{}
	Ready  func(context.Context) error
	Close  func() error
}

// openStorage opens the store named by raw. SQLite files (and their folder)
// are created on first use; DynamoDB tables are created by `migrate`, or by
// serve when migrate is true. log (nil: slog's default) gets the store's
// own background warnings.
func openStorage(ctx context.Context, raw string, migrate bool, log *slog.Logger) (*storage, error) {
	if strings.HasPrefix(raw, "dynamodb://") {
		client, settings, err := dynamodb.NewClient(ctx, raw)
		if err != nil {
			return nil, err
		}
		if migrate {
			if err := dynamodb.Migrate(ctx, client, settings.TablePrefix); err != nil {
				return nil, err
			}
		}
		cfg := dynamodb.Config{Client: client, TablePrefix: settings.TablePrefix}
		es, err := dynamodb.NewEventStore(cfg)
		if err != nil {
			return nil, err
		}
		vs, err := dynamodb.NewViewStore(cfg)
		if err != nil {
			return nil, err
		}
		ready := func(ctx context.Context) error { _, err := es.Head(ctx); return err }
		return &storage{Events: es, Views: vs, Ready: ready, Close: func() error { return nil }}, nil
	}
	path, err := sqlite.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, errs.Wrap(errs.EUNAVAILABLE, err, "create the store's folder %s", dir)
		}
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return &storage{Events: db.Events(), Views: db.Views(), Wake: db.Changed, Ready: db.Ping, Close: db.Close}, nil
}
