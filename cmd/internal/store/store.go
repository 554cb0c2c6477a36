// Package store opens the store a --store URL names (the embedded SQLite
// file or DynamoDB) for the binaries that share it: mothergoose and uglyfox.
package store

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Storage is one opened backend: the event log, the views, and how to wait
// for new events (nil where the store cannot tell, so projectors poll).
type Storage struct {
	Events ports.EventStore
	Views  ports.ViewStore
	// LastSeen holds each runner's last heartbeat (state, not a view:
	// replay leaves it alone).
	LastSeen ports.LastSeen
	// Leases holds the named leases (UglyFox's sweep) with fencing tokens.
	Leases ports.Leases
	Wake   func() <-chan struct{}
	Ready  func(context.Context) error
	Close  func() error
	// Metrics are the store's own Prometheus collectors (none for DynamoDB).
	Metrics []prometheus.Collector
}

// Open opens the store named by raw. SQLite files (and their folder)
// are created on first use; DynamoDB tables are created by `migrate`, or by
// serve when migrate is true. log (nil: slog's default) gets the store's
// own background warnings.
func Open(ctx context.Context, raw string, migrate bool, log *slog.Logger) (*Storage, error) {
	if strings.HasPrefix(raw, "dynamodb://") {
		client, settings, err := dynamodb.NewClient(ctx, raw)
		if err != nil {
			return nil, err
		}
		cfg := dynamodb.Config{Client: client, TablePrefix: settings.TablePrefix, Logger: log}
		if migrate {
			if err := cfg.Migrate(ctx); err != nil {
				return nil, err
			}
		}
		es, err := dynamodb.NewEventStore(cfg)
		if err != nil {
			return nil, err
		}
		vs, err := dynamodb.NewViewStore(cfg)
		if err != nil {
			return nil, err
		}
		seen, err := dynamodb.NewLastSeen(cfg)
		if err != nil {
			return nil, err
		}
		leases, err := dynamodb.NewLeases(cfg)
		if err != nil {
			return nil, err
		}
		ready := func(ctx context.Context) error { _, err := es.Head(ctx); return err }
		return &Storage{Events: es, Views: vs, LastSeen: seen, Leases: leases, Ready: ready, Close: func() error { return nil }}, nil
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
	return &Storage{Events: db.Events(), Views: db.Views(), LastSeen: db.LastSeen(), Leases: db.Leases(), Wake: db.Changed, Ready: db.Ping, Close: db.Close,
		Metrics: sqliteMetrics(db.Events())}, nil
}

// sqliteMetrics exposes the appender's counters (sqlite.AppendStats): how
// appends group and how long the disk takes to make them durable, which is
// what an operator needs to tell a slow disk from a busy store.
func sqliteMetrics(es *sqlite.EventStore) []prometheus.Collector {
	counter := func(name, help string, value func(sqlite.AppendStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return value(es.Stats()) })
	}
	return []prometheus.Collector{
		counter("sqlite_appends_total", "Appends that reached the SQLite appender.",
			func(s sqlite.AppendStats) float64 { return float64(s.Requests) }),
		counter("sqlite_append_groups_total", "Group commits: transactions the appends shared.",
			func(s sqlite.AppendStats) float64 { return float64(s.Groups) }),
		counter("sqlite_append_commit_seconds_total", "Time spent running group transactions, fsync excluded.",
			func(s sqlite.AppendStats) float64 { return s.CommitTime.Seconds() }),
		counter("sqlite_wal_fsyncs_total", "fdatasyncs of the WAL that made appends durable.",
			func(s sqlite.AppendStats) float64 { return float64(s.Syncs) }),
		counter("sqlite_wal_fsync_seconds_total", "Time spent in those fdatasyncs, summed over the syncers.",
			func(s sqlite.AppendStats) float64 { return s.SyncTime.Seconds() }),
	}
}
