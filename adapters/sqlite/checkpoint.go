package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// SQLite copies the WAL back into the database file ("checkpoints") on the
// connection whose commit pushed the WAL over wal_autocheckpoint pages, while
// that commit waits. Left to itself it would do so on the appender's
// connection: every thousand pages or so, appends would stall behind page
// copies and two fsyncs. The checkpointer does that work on its own
// connection instead; a PASSIVE checkpoint runs beside the writers, holding
// only the checkpoint lock. The writers keep a far higher
// wal_autocheckpoint as a backstop, so the WAL stays bounded even if this
// goroutine falls behind.
const (
	// checkpointEvery spaces checkpoints: a page rewritten many times (the
	// log's last leaf is, by every group) is copied once per checkpoint.
	checkpointEvery = 50 * time.Millisecond
	// backstopPages is the writers' wal_autocheckpoint (32 MiB of 4 KiB pages).
	backstopPages = 8192
)

type checkpointer struct {
	conn *sql.DB
	log  *slog.Logger
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newCheckpointer(conn *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{conn: conn, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// wake asks for a checkpoint soon; it never blocks.
func (c *checkpointer) wake() {
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
			return
		case <-c.kick:
		}
		// A checkpoint that cannot finish (a reader still needs old frames)
		// or fails is not an error of anyone's append: the next one retries,
		// and the backstop bounds the WAL meanwhile.
		if _, err := c.conn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			c.log.Warn("sqlite: background checkpoint failed", "error", err)
		}
		select {
		case <-c.quit:
			return
		case <-time.After(checkpointEvery):
		}
	}
}

func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
}
