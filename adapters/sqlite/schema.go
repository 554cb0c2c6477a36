package sqlite

// eventSchema is the log. position is the rowid: one writer commits in
// position order, so a reader never sees a later position before an earlier
// one (no gaps to wait for). Times are unix nanoseconds, UTC.
var eventSchema = []string{
	// store_meta is written at every open, so that the WAL file exists
	// from then on (the appender's syncer fsyncs it by descriptor).
	`CREATE TABLE IF NOT EXISTS store_meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) WITHOUT ROWID`,
	`INSERT INTO store_meta (key, value) VALUES ('schema_version', '1')
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
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
}
