package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// The log's own tables are made by numbered migrations. schema_migrations
// records each step applied, with its name and time; at open, the steps
// above the highest recorded one run in order, in the transaction that
// records them, and a file that records a step this code does not know (it
// was opened by a newer release) is refused. Every step is idempotent, so a
// file made before steps were recorded (which has the tables of step 1)
// runs them all harmlessly.
//
// The views are not migrated: they are projections. Their tables are
// derived from the registered views (ports.ViewSet) and each one's shape is
// recorded in view_shapes; a view whose recorded shape differs (or that has
// none) is dropped, created again and its projector's checkpoint reset, so
// the projector rebuilds it from the log (views.go).

// migration is one numbered step of the log's schema.
type migration struct {
	step  int
	name  string
	stmts []string
	// columns are added after stmts, each only if its table lacks it
	// (SQLite has no ADD COLUMN IF NOT EXISTS), so the step stays idempotent.
	columns []addColumn
}

// addColumn is one ALTER TABLE table ADD COLUMN name decl.
type addColumn struct{ table, name, decl string }

// migrations are the steps, in order; a step, once released, is never
// changed: a new one is appended.
var migrations = []migration{
	{1, "log tables: store_meta, events, idempotency, checkpoints", []string{
		// store_meta is written at every open, so that the WAL file exists
		// from then on (the appender's syncer fsyncs it by descriptor).
		`CREATE TABLE IF NOT EXISTS store_meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) WITHOUT ROWID`,
		// The log. position is the rowid: one writer commits in position
		// order, so a reader never sees a later position before an earlier
		// one (no gaps to wait for). Times are unix nanoseconds, UTC.
		`CREATE TABLE IF NOT EXISTS events (
		position        INTEGER PRIMARY KEY,
		event_id        TEXT    NOT NULL UNIQUE,
		stream          TEXT    NOT NULL,
		version         INTEGER NOT NULL,
		type            TEXT    NOT NULL,
		occurred_at     INTEGER NOT NULL,
		recorded_at     INTEGER NOT NULL,
		actor           TEXT    NOT NULL DEFAULT '',
		correlation_id  TEXT    NOT NULL DEFAULT '',
		causation_id    TEXT    NOT NULL DEFAULT '',
		idempotency_key TEXT    NOT NULL DEFAULT '',
		payload         BLOB    NOT NULL,
		UNIQUE (stream, version)
	)`,
		`CREATE TABLE IF NOT EXISTS idempotency (
		key            TEXT PRIMARY KEY,
		stream         TEXT    NOT NULL,
		first_version  INTEGER NOT NULL,
		last_version   INTEGER NOT NULL,
		first_position INTEGER NOT NULL,
		last_position  INTEGER NOT NULL,
		recorded_at    INTEGER NOT NULL
	) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS checkpoints (
		projector TEXT PRIMARY KEY,
		position  INTEGER NOT NULL
	) WITHOUT ROWID`,
	}, nil},
	{2, "view_shapes: the shape each view's table was built with", []string{
		`CREATE TABLE IF NOT EXISTS view_shapes (
		view       TEXT PRIMARY KEY,
		shape      TEXT NOT NULL,
		updated_at TEXT NOT NULL
	) WITHOUT ROWID`,
	}, nil},
	{3, "last_seen: each runner's last heartbeat (state, not a projection)", []string{
		// at is unix nanoseconds, UTC; running_jobs a JSON array.
		`CREATE TABLE IF NOT EXISTS last_seen (
		runner_id    TEXT PRIMARY KEY,
		at           INTEGER NOT NULL,
		state        TEXT    NOT NULL,
		running_jobs TEXT    NOT NULL DEFAULT '[]',
		version      TEXT    NOT NULL DEFAULT ''
	) WITHOUT ROWID`,
	}, nil},
	{4, "leases: named leases with expiry and fencing tokens (state, not a projection)", []string{
		// expires_at is unix nanoseconds, UTC; token never decreases.
		`CREATE TABLE IF NOT EXISTS leases (
		name       TEXT PRIMARY KEY,
		holder     TEXT    NOT NULL,
		token      INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	}, nil},
	{5, "last_seen: the runner machine's CPU and memory load (percent) from its heartbeat", nil, []addColumn{
		// 0 for records written before (and agents that do not measure).
		{"last_seen", "cpu_percent", "REAL NOT NULL DEFAULT 0"},
		{"last_seen", "memory_percent", "REAL NOT NULL DEFAULT 0"},
	}},
}

const migrationsDDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
	step       INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// ErrNewerSchema is matched with errors.Is by the error of Open on a file
// that a newer release has migrated.
var ErrNewerSchema = errors.New("sqlite: the file's schema is newer than this release")

// migrateLog runs the steps the file lacks, in tx, and returns the steps
// run and whether the file was new (had no log).
func migrateLog(ctx context.Context, tx *sql.Tx, steps []migration, now time.Time) (ran []migration, fresh bool, err error) {
	if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events')`).Scan(&fresh); err != nil {
		return nil, false, fmt.Errorf("look up the log: %w", err)
	}
	ran, err = runSteps(ctx, tx, steps, now)
	return ran, fresh, err
}

func runSteps(ctx context.Context, tx *sql.Tx, steps []migration, now time.Time) ([]migration, error) {
	if _, err := tx.ExecContext(ctx, migrationsDDL); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var top int
	var topName string
	if err := tx.QueryRowContext(ctx, `SELECT step, name FROM schema_migrations ORDER BY step DESC LIMIT 1`).Scan(&top, &topName); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	known := 0
	if len(steps) > 0 {
		known = steps[len(steps)-1].step
	}
	if top > known {
		return nil, errs.Wrap(errs.EINVALID, ErrNewerSchema,
			"sqlite: the file is at schema step %d (%q), made by a newer release; this release knows steps up to %d: run a release at least as new as the one that last opened it",
			top, topName, known)
	}
	var ran []migration
	stamp := now.UTC().Format(time.RFC3339Nano)
	for _, m := range steps {
		if m.step <= top {
			continue
		}
		for _, stmt := range m.stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return nil, fmt.Errorf("schema step %d (%s): %w\n%s", m.step, m.name, err, stmt)
			}
		}
		for _, c := range m.columns {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.name).Scan(&n); err != nil {
				return nil, fmt.Errorf("schema step %d (%s): look for column %s.%s: %w", m.step, m.name, c.table, c.name, err)
			}
			if n > 0 {
				continue
			}
			stmt := fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s %s`, c.table, c.name, c.decl)
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return nil, fmt.Errorf("schema step %d (%s): %w\n%s", m.step, m.name, err, stmt)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (step, name, applied_at) VALUES (?, ?, ?)`, m.step, m.name, stamp); err != nil {
			return nil, fmt.Errorf("record schema step %d: %w", m.step, err)
		}
		ran = append(ran, m)
	}
	// Written at every open (see store_meta), for sqlite3 readers too.
	if _, err := tx.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES ('schema_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.Itoa(known)); err != nil {
		return nil, fmt.Errorf("write store_meta: %w", err)
	}
	return ran, nil
}

func stepNames(ms []migration) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%d (%s)", m.step, m.name)
	}
	return strings.Join(out, ", ")
}
