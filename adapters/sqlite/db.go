// Package sqlite is the embedded default store: one SQLite file (pure-Go
// modernc.org/sqlite, WAL) holding the event log, the read views and the
// projector checkpoints.
//
// Connections have one job each. Appends go through a single writer
// connection owned by one goroutine that group-commits: every append waiting
// when a transaction starts shares it. That connection runs with
// synchronous=NORMAL and syncer goroutines fdatasync the WAL file for every
// group committed meanwhile before any of them is answered, so one group's
// transaction runs while the previous one's fsync is in flight and no append
// is acknowledged before it is on disk. View batches use a second writer
// connection with synchronous=NORMAL (views are rebuildable; their rows and
// checkpoints still commit together). A third connection checkpoints the WAL
// in the background (checkpoint.go). Reads use a pool of read-only
// connections, which WAL lets run beside the writers.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Options tunes a DB. The zero value is the production default.
type Options struct {
	// MaxGroup bounds how many appends share one commit (default 512).
	MaxGroup int
	// ReadConns is the size of the read pool (default 2*GOMAXPROCS, at least 4).
	ReadConns int
	// BusyTimeout is how long a writer waits for the other writer's lock (default 10 s).
	BusyTimeout time.Duration
	// Now is the store's clock for recorded_at (default time.Now).
	Now func() time.Time
	// Logger gets what the store's background work cannot return to a
	// caller (a failed checkpoint) and the schema steps and view rebuilds
	// of Open (default slog.Default()).
	Logger *slog.Logger
	// Views are the read views the file holds (default ports.DefaultViews()).
	Views *ports.ViewSet
}

func (o Options) withDefaults() Options {
	if o.MaxGroup <= 0 {
		o.MaxGroup = 512
	}
	if o.ReadConns <= 0 {
		o.ReadConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Views == nil {
		o.Views = ports.DefaultViews()
	}
	return o
}

// DB is one open store file.
type DB struct {
	path string
	opts Options

	events *sql.DB  // the appender's connection: synchronous=NORMAL, made durable by its own WAL fsync
	views  *sql.DB  // view batches: synchronous=NORMAL
	read   *sql.DB  // read-only pool
	ckpt   *sql.DB  // the checkpointer's connection
	wal    *os.File // the WAL file, which the appender's syncer fsyncs

	tables    map[string]*tableDef // the views, by name
	tableList []*tableDef

	store        *EventStore
	checkpointer *checkpointer
	notify       *notifier

	closeOnce sync.Once
	closeErr  error
}

// ParseURL accepts "sqlite:///abs/path.db", "sqlite://rel/path.db" or a plain path.
func ParseURL(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		if raw == "" {
			return "", errs.Errorf(errs.EINVALID, "sqlite: empty path")
		}
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errs.Wrap(errs.EINVALID, err, "sqlite: bad store URL %q", raw)
	}
	if u.Scheme != "sqlite" {
		return "", errs.Errorf(errs.EINVALID, "sqlite: store URL %q is not sqlite://", raw)
	}
	p := u.Host + u.Path
	if p == "" {
		return "", errs.Errorf(errs.EINVALID, "sqlite: store URL %q has no path", raw)
	}
	return p, nil
}

// dsn is every connection's: WAL with synchronous=NORMAL (the appender's
// syncers make appends durable; views are rebuildable).
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", backstopPages))
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(on)")
	if readOnly {
		q.Add("_pragma", "query_only(true)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the store file at path and migrates its schema.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	db := &DB{path: path, opts: opts, notify: newNotifier()}
	var err error
	if db.tableList, db.tables, err = viewTables(opts.Views); err != nil {
		return nil, errs.Wrap(errs.EINVALID, err, "sqlite: open %s", path)
	}
	open := func(conns int, readOnly bool) *sql.DB {
		if err != nil {
			return nil
		}
		var d *sql.DB
		d, err = sql.Open("sqlite", dsn(path, opts.BusyTimeout, readOnly))
		if err != nil {
			return nil
		}
		d.SetMaxOpenConns(conns)
		d.SetMaxIdleConns(conns)
		d.SetConnMaxLifetime(0)
		d.SetConnMaxIdleTime(0)
		return d
	}
	db.events = open(1, false)
	db.views = open(1, false)
	if err == nil {
		err = db.migrate(ctx)
	}
	db.read = open(opts.ReadConns, true)
	db.ckpt = open(1, false)
	if err == nil {
		err = db.read.PingContext(ctx)
	}
	if err != nil {
		_ = db.closeConns() // the open failed; its error is the one to report
		if errs.Code(err) == errs.EINVALID {
			return nil, err // a file of a newer release: say so, not "unavailable"
		}
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: open %s", path)
	}
	// migrate wrote, so SQLite has created the WAL file; the connections
	// keep it from being deleted until Close.
	if db.wal, err = os.OpenFile(path+"-wal", os.O_RDWR, 0); err != nil {
		_ = db.closeConns() // the open failed; its error is the one to report
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: open the WAL of %s", path)
	}
	db.checkpointer = newCheckpointer(db.ckpt, opts.Logger)
	db.store, err = newEventStore(db)
	if err != nil {
		db.checkpointer.stop()
		_ = db.closeConns() // the open failed; its error is the one to report
		return nil, err
	}
	return db, nil
}

// migrate runs the log's schema steps the file lacks and prepares the
// view tables, in one transaction, then logs what it did.
func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.events.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	now := db.opts.Now()
	ran, fresh, err := migrateLog(ctx, tx, migrations, now)
	if err != nil {
		return err
	}
	rebuilt, err := prepareViews(ctx, tx, db.tableList, now)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	level := slog.LevelInfo
	if fresh {
		level = slog.LevelDebug // a new file: nothing an operator needs to hear
	}
	if len(ran) > 0 {
		db.opts.Logger.Log(ctx, level, "sqlite: schema steps applied", "path", db.path, "steps", stepNames(ran))
	}
	for _, r := range rebuilt {
		db.opts.Logger.Warn("sqlite: view shape changed; view emptied and its checkpoint reset, the projector rebuilds it from the log",
			"path", db.path, "view", r.view, "old_shape", r.oldShape, "new_shape", r.newShape)
	}
	return nil
}

// Path is the file the DB was opened on.
func (db *DB) Path() string { return db.path }

// Events returns the event store.
func (db *DB) Events() *EventStore { return db.store }

// Changed returns a channel closed at the next commit of appended events, so
// that tailing readers (projectors) can wait instead of polling.
func (db *DB) Changed() <-chan struct{} { return db.notify.wait() }

// Ping checks that the file can be read.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: ping")
	}
	return nil
}

// Close stops the appender (pending appends fail with EUNAVAILABLE) and
// closes every connection. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.store != nil {
			db.store.stop()
		}
		if db.checkpointer != nil {
			db.checkpointer.stop()
		}
		db.closeErr = db.closeConns()
		if db.wal != nil {
			db.wal.Close()
		}
	})
	return db.closeErr
}

func (db *DB) closeConns() error {
	var first error
	for _, d := range []*sql.DB{db.read, db.ckpt, db.views, db.events} {
		if d == nil {
			continue
		}
		if err := d.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// notifier is a broadcast: wait returns a channel that the next signal closes.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) signal() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}
