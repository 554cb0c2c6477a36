package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointer copies the WAL back into the database file off the append
// path. Writers are opened with wal_autocheckpoint(0), so without it the WAL
// would only grow. It runs a PASSIVE checkpoint (which never blocks writers
// or readers) at most once per interval while there are new commits, and a
// TRUNCATE checkpoint on close so the file is compact when idle.
type checkpointer struct {
	conn     *sql.DB
	interval time.Duration
	kick     chan struct{}
	quit     chan struct{}
	done     chan struct{}
}

func newCheckpointer(conn *sql.DB, interval time.Duration) *checkpointer {
	c := &checkpointer{conn: conn, interval: interval, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer there is something to copy; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			c.checkpoint("TRUNCATE")
			return
		case <-c.kick:
		}
		c.checkpoint("PASSIVE")
		select {
		case <-c.quit:
			c.checkpoint("TRUNCATE")
			return
		case <-time.After(c.interval):
		}
	}
}

func (c *checkpointer) checkpoint(mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logPages, copied int
	// A failed checkpoint loses nothing (the WAL still holds every commit);
	// it is retried at the next kick.
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logPages, &copied); err != nil {
		slog.Warn("sqlite: checkpoint failed", "mode", mode, "err", err)
	}
}

func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
}
