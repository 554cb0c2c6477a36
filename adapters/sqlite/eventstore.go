package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// EventStore is the SQLite event log. It implements ports.EventStore.
type EventStore struct {
	db       *DB
	requests chan *appendRequest
	done     chan struct{}         // closed when the appender goroutine has exited
	quit     chan struct{}         // closed by stop, which DB.Close calls once
	broken   atomic.Pointer[error] // set when an fsync failed
	stats    appendCounters

	// loadStmt is prepared once; database/sql keeps it prepared on each
	// pooled read connection, so the per-command stream load does not
	// parse SQL every time.
	loadStmt *sql.Stmt
}

var _ ports.EventStore = (*EventStore)(nil)

type appendRequest struct {
	ctx   context.Context
	parts []appendPart // one for Append; one per stream for AppendStreams
	reply chan appendReply
}

// appendPart is one stream's batch of a request.
type appendPart struct {
	stream   string
	expected ports.ExpectedVersion
	evs      []events.Record
	key      string
	keyOnly  bool // the key labels the events and is not claimed (ports.WithStreamKey)
}

// claims reports whether the part claims its key store-wide.
func (p *appendPart) claims() bool { return p.key != "" && !p.keyOnly }

type appendReply struct {
	res []ports.AppendResult // one per part
	err error
}

const recordColumns = `position, event_id, stream, version, type, occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key, payload`

func newEventStore(db *DB) (*EventStore, error) {
	s := &EventStore{
		db:       db,
		requests: make(chan *appendRequest, db.opts.MaxGroup),
		done:     make(chan struct{}),
		quit:     make(chan struct{}),
	}
	var err error
	if s.loadStmt, err = db.read.Prepare(`SELECT ` + recordColumns + ` FROM events WHERE stream = ? AND version > ? ORDER BY version`); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: prepare load")
	}
	w, err := newWriter(db)
	if err != nil {
		s.loadStmt.Close()
		return nil, err
	}
	go s.run(w)
	return s, nil
}

var errClosed = errs.Errorf(errs.EUNAVAILABLE, "sqlite: store is closed")

// Append implements ports.EventStore. It returns once the batch is durable
// (its commit has been fsynced) or has failed.
func (s *EventStore) Append(ctx context.Context, stream string, expected ports.ExpectedVersion, evs []events.Record, opts ...ports.AppendOption) (ports.AppendResult, error) {
	if err := ports.ValidateAppend(stream, evs, 0); err != nil {
		return ports.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return ports.AppendResult{}, err
	}
	o := ports.ResolveAppendOptions(opts)
	res, err := s.enqueue(ctx, []appendPart{{stream: stream, expected: expected, evs: evs, key: o.IdempotencyKey, keyOnly: o.StreamKey}})
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res[0], nil
}

// AppendStreams implements ports.EventStore: the batches share one
// transaction, so they commit (and are made durable) together or not at all.
func (s *EventStore) AppendStreams(ctx context.Context, batches []ports.StreamBatch) ([]ports.AppendResult, error) {
	if err := ports.ValidateAppendStreams(batches, 0); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	parts := make([]appendPart, len(batches))
	for i, b := range batches {
		parts[i] = appendPart{stream: b.Stream, expected: b.Expected, evs: b.Events, key: b.Key, keyOnly: true}
	}
	return s.enqueue(ctx, parts)
}

// enqueue hands parts to the appender and waits for the outcome.
func (s *EventStore) enqueue(ctx context.Context, parts []appendPart) ([]ports.AppendResult, error) {
	req := &appendRequest{ctx: ctx, parts: parts, reply: make(chan appendReply, 1)}
	select {
	case s.requests <- req:
	case <-s.quit:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued, the outcome is waited for even if ctx ends: the caller must
	// not be told "failed" about a batch that then commits.
	r := <-req.reply
	return r.res, r.err
}

// Load implements ports.EventStore.
func (s *EventStore) Load(ctx context.Context, stream string, after uint64) ([]events.Record, error) {
	if after > maxInteger {
		// Versions are SQLite integers (at most MaxInt64): nothing is after
		// this, and int64(after) would wrap round to a negative number.
		return nil, ctx.Err()
	}
	rows, err := s.loadStmt.QueryContext(ctx, stream, int64(after))
	if err != nil {
		return nil, unavailable(ctx, err, "load %q", stream)
	}
	defer rows.Close()
	var out []events.Record
	var r events.Record
	var occurred, recorded int64
	dest := []any{&r.GlobalPosition, &r.ID, &r.Stream, &r.Version, &r.Type, &occurred, &recorded,
		&r.Actor, &r.CorrelationID, &r.CausationID, &r.IdempotencyKey, (*[]byte)(&r.Payload)}
	for rows.Next() {
		r = events.Record{}
		// Scan into *[]byte hands over a copy of the row's payload.
		if err := rows.Scan(dest...); err != nil {
			return nil, unavailable(ctx, err, "scan event of %q", stream)
		}
		r.OccurredAt = time.Unix(0, occurred).UTC()
		r.RecordedAt = time.Unix(0, recorded).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err, "load %q", stream)
	}
	return out, nil
}

// LoadPage implements ports.EventStore.
func (s *EventStore) LoadPage(ctx context.Context, stream string, after uint64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		return nil, errs.Errorf(errs.EINVALID, "load a page of %q: limit must be positive", stream)
	}
	if after > maxInteger {
		return nil, ctx.Err() // as in Load: nothing is after it
	}
	return s.queryRecords(ctx, limit, `SELECT `+recordColumns+` FROM events WHERE stream = ? AND version > ? ORDER BY version LIMIT ?`, stream, int64(after), int64(limit))
}

// ReadAll implements ports.EventStore.
func (s *EventStore) ReadAll(ctx context.Context, after uint64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		return nil, errs.Errorf(errs.EINVALID, "read all: limit must be positive")
	}
	if after > maxInteger {
		// Positions are SQLite integers (at most MaxInt64): nothing is after
		// this, and int64(after) would wrap round to the start of the log.
		return nil, ctx.Err()
	}
	return s.queryRecords(ctx, limit, `SELECT `+recordColumns+` FROM events WHERE position > ? ORDER BY position LIMIT ?`, int64(after), int64(limit))
}

// Head implements ports.EventStore.
func (s *EventStore) Head(ctx context.Context) (uint64, error) {
	var head sql.NullInt64
	if err := s.db.read.QueryRowContext(ctx, `SELECT max(position) FROM events`).Scan(&head); err != nil {
		return 0, unavailable(ctx, err, "head")
	}
	return uint64(head.Int64), nil
}

// queryRecords runs a query over recordColumns on a pooled read connection,
// reading rows through the driver directly: database/sql's per-column
// conversion costs more than SQLite's own work on a replay of the whole log.
func (s *EventStore) queryRecords(ctx context.Context, capacity int, query string, args ...any) ([]events.Record, error) {
	conn, err := s.db.read.Conn(ctx)
	if err != nil {
		return nil, unavailable(ctx, err, "read connection")
	}
	defer conn.Close()
	out := make([]events.Record, 0, capacity)
	err = conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot query", dc)
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := qc.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }() // a read: nothing to lose on close
		row := make([]driver.Value, 12)
		for {
			if err := rows.Next(row); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			r, err := recordFromRow(row)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
	})
	if err != nil {
		return nil, unavailable(ctx, err, "read events")
	}
	return out, nil
}

// recordFromRow converts one row of recordColumns.
func recordFromRow(row []driver.Value) (events.Record, error) {
	var r events.Record
	var ints [4]int64
	for i, col := range [...]int{0, 3, 5, 6} {
		v, ok := row[col].(int64)
		if !ok {
			return r, fmt.Errorf("column %d is %T, not an integer", col, row[col])
		}
		ints[i] = v
	}
	r.GlobalPosition, r.Version = uint64(ints[0]), uint64(ints[1])
	r.OccurredAt, r.RecordedAt = time.Unix(0, ints[2]).UTC(), time.Unix(0, ints[3]).UTC()
	strs := [...]*string{&r.ID, &r.Stream, &r.Type, &r.Actor, &r.CorrelationID, &r.CausationID, &r.IdempotencyKey}
	for i, col := range [...]int{1, 2, 4, 7, 8, 9, 10} {
		switch v := row[col].(type) {
		case string:
			*strs[i] = v
		case []byte:
			*strs[i] = string(v)
		default:
			return r, fmt.Errorf("column %d is %T, not text", col, row[col])
		}
	}
	switch v := row[11].(type) {
	case []byte:
		r.Payload = v
	case string:
		r.Payload = []byte(v)
	default:
		return r, fmt.Errorf("payload is %T, not a blob", row[11])
	}
	return r, nil
}

func unavailable(ctx context.Context, err error, format string, args ...any) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: "+format, args...)
}

func (s *EventStore) stop() {
	close(s.quit)
	<-s.done
	s.loadStmt.Close()
}

// run is the appender: it takes every request waiting (up to MaxGroup),
// applies them in one transaction (commitGroup), commits once and hands the
// group to a syncer, which answers them all once the WAL is on disk. A
// request that fails (conflict, bad input) does not disturb the others.
func (s *EventStore) run(w *writer) {
	synced := make(chan committedGroup, s.db.opts.MaxGroup)
	// Several syncers, so a group committed while an fsync is in flight gets
	// its own fsync at once instead of queueing behind it: the kernel folds
	// concurrent fsyncs of one file into as few disk flushes as it can, and
	// any fsync that returns covers every group committed before it began.
	var syncers sync.WaitGroup
	for range syncerCount {
		syncers.Go(func() { s.sync(synced) })
	}
	defer func() {
		close(synced)
		syncers.Wait()
		w.close()
		close(s.done)
	}()
	for {
		group := make([]*appendRequest, 0, 16)
		select {
		case req := <-s.requests:
			group = append(group, req)
		case <-s.quit:
			s.drain()
			return
		}
		// Writers answered by the last sync are still waking up; letting them
		// run once before the group closes makes groups larger and commits
		// fewer, at no cost when nobody else is runnable.
		runtime.Gosched()
	fill:
		for len(group) < s.db.opts.MaxGroup {
			select {
			case req := <-s.requests:
				group = append(group, req)
			default:
				break fill
			}
		}
		replies := make([]appendReply, len(group))
		if err := s.failed(); err != nil {
			for i := range replies {
				replies[i] = appendReply{err: err}
			}
		} else {
			start := time.Now()
			s.commitGroup(w, group, replies)
			s.stats.groups.Add(1)
			s.stats.requests.Add(uint64(len(group)))
			s.stats.commitNanos.Add(uint64(time.Since(start)))
		}
		synced <- committedGroup{reqs: group, replies: replies}
	}
}

// AppendStats counts the appender's work since the store opened: how
// appends group, what their transactions cost and how long the disk takes to
// make them durable. mothergoose exports it to Prometheus (sqlite_*);
// benchmarks use it to tell a slow disk from a slow store.
type AppendStats struct {
	Requests   uint64        // appends that reached the appender
	Groups     uint64        // transactions they shared
	CommitTime time.Duration // spent running those transactions (without the fsync)
	Syncs      uint64        // fsyncs of the WAL
	SyncTime   time.Duration // spent in them, summed over the syncers
}

type appendCounters struct {
	requests, groups, commitNanos, syncs, syncNanos atomic.Uint64
}

// Stats reports the appender's counters.
func (s *EventStore) Stats() AppendStats {
	return AppendStats{
		Requests: s.stats.requests.Load(), Groups: s.stats.groups.Load(),
		CommitTime: time.Duration(s.stats.commitNanos.Load()),
		Syncs:      s.stats.syncs.Load(), SyncTime: time.Duration(s.stats.syncNanos.Load()),
	}
}

// syncerCount is how many fsyncs may be in flight at once.
const syncerCount = 4

// committedGroup is a group whose transaction has committed (or failed) and
// whose callers wait for the WAL to be on disk.
type committedGroup struct {
	reqs    []*appendRequest
	replies []appendReply
}

// sync answers committed groups: it takes every group waiting, fsyncs the
// WAL once for all of them and only then replies. While it waits on the
// disk, the appender runs the next groups' transactions.
func (s *EventStore) sync(in <-chan committedGroup) {
	batch := make([]committedGroup, 0, 16)
	for first := range in {
		batch = append(batch[:0], first)
	more:
		for {
			select {
			case g, ok := <-in:
				if !ok {
					break more
				}
				batch = append(batch, g)
			default:
				break more
			}
		}
		wrote := false
		for _, g := range batch {
			for _, r := range g.replies {
				if r.err == nil && !r.res[0].Duplicate {
					wrote = true
				}
			}
		}
		// Every batch is fsynced, even one that wrote nothing: a duplicate
		// or a conflict tells its caller that an earlier append happened,
		// and that append's own fsync (on another syncer) may still be in
		// flight. An fsync begun now covers everything committed before.
		start := time.Now()
		err := syncData(s.db.wal)
		s.stats.syncs.Add(1)
		s.stats.syncNanos.Add(uint64(time.Since(start)))
		var syncErr error
		if err != nil {
			// After a failed fsync the kernel may have dropped the dirty
			// pages: nothing written since can be promised durable, so
			// the store refuses appends from here on.
			syncErr = errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: fsync of the WAL failed; the store refuses appends until restarted")
			s.broken.Store(&syncErr)
		}
		for _, g := range batch {
			for i, req := range g.reqs {
				r := g.replies[i]
				if syncErr != nil && r.err == nil {
					r = appendReply{err: syncErr}
				}
				req.reply <- r
			}
		}
		if wrote && syncErr == nil {
			s.db.notify.signal()
			s.db.checkpointer.wake()
		}
	}
}

func (s *EventStore) failed() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *EventStore) drain() {
	for {
		select {
		case req := <-s.requests:
			req.reply <- appendReply{err: errClosed}
		default:
			return
		}
	}
}

func (s *EventStore) commitGroup(w *writer, group []*appendRequest, replies []appendReply) {
	// Most groups have no failing insert (conflicts and duplicates are found
	// by reads before anything is written), so they run without savepoints.
	// If an insert fails, the whole transaction is rolled back and the group
	// is run again with a savepoint around each append, so the failure stays
	// with its own request.
	if s.tryGroup(w, group, replies, false) {
		return
	}
	s.tryGroup(w, group, replies, true)
}

// tryGroup runs group in one transaction and commits it. It returns false,
// having rolled back, only when isolate is false and an insert failed.
func (s *EventStore) tryGroup(w *writer, group []*appendRequest, replies []appendReply, isolate bool) bool {
	fail := func(err error) bool {
		for i := range replies {
			replies[i] = appendReply{err: err}
		}
		return true
	}
	// The transaction is not bound to any one caller's context: one caller
	// giving up must not roll back the others.
	ctx := context.Background()
	if _, err := w.begin.ExecContext(ctx); err != nil {
		return fail(errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: begin append"))
	}
	if err := w.forgetIfChangedElsewhere(ctx); err != nil {
		w.rollback()
		return fail(errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: read data_version"))
	}
	now := s.db.opts.Now().UTC().UnixNano()
	pending := pendingKeys{}
	for i, req := range group {
		if err := req.ctx.Err(); err != nil {
			replies[i] = appendReply{err: err}
			continue
		}
		var wrote bool
		replies[i], wrote = w.appendOne(ctx, req, now, pending, isolate)
		if replies[i].err != nil && wrote && !isolate {
			w.rollback()
			return false
		}
	}
	if _, err := w.commit.ExecContext(ctx); err != nil {
		w.rollback()
		return fail(errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: commit append"))
	}
	return true
}

// pendingKeys remembers idempotency keys written earlier in the same group.
type pendingKeys map[string]ports.AppendResult

// writer is the appender's own connection, pinned for the store's life,
// with its prepared statements.
type writer struct {
	conn                                        *sql.Conn
	idemGet, streamGet, insertEvent, insertIdem *sql.Stmt
	begin, commit, dataVersion                  *sql.Stmt

	// versions caches each stream's last committed version, so most appends
	// skip the index lookup. It is right while this connection is the only
	// writer of events; `PRAGMA data_version` tells when any other
	// connection (another process on the same file, or this process's view
	// writer) committed, and the cache is then dropped. Rolled-back work
	// drops it too.
	versions     map[string]uint64
	lastDataVers int64
}

// maxCachedVersions bounds the cache (webhook deliveries are one stream each).
const maxCachedVersions = 1 << 16

func newWriter(db *DB) (*writer, error) {
	ctx := context.Background()
	conn, err := db.events.Conn(ctx)
	if err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: appender connection")
	}
	w := &writer{conn: conn, versions: map[string]uint64{}, lastDataVers: -1}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&w.idemGet, `SELECT stream, first_version, last_version, first_position, last_position FROM idempotency WHERE key = ?`},
		{&w.streamGet, `SELECT coalesce(max(version), 0) FROM events WHERE stream = ?`},
		{&w.insertEvent, `INSERT INTO events (event_id, stream, version, type, occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)`},
		{&w.insertIdem, `INSERT INTO idempotency (key, stream, first_version, last_version, first_position, last_position, recorded_at) VALUES (?,?,?,?,?,?,?)`},
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.dataVersion, `PRAGMA data_version`},
	} {
		st, err := conn.PrepareContext(ctx, p.q)
		if err != nil {
			w.close()
			return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: prepare %q", p.q)
		}
		*p.dst = st
	}
	return w, nil
}

func (w *writer) close() {
	for _, st := range []*sql.Stmt{w.idemGet, w.streamGet, w.insertEvent, w.insertIdem, w.begin, w.commit, w.dataVersion} {
		if st != nil {
			st.Close()
		}
	}
	w.conn.Close()
}

func (w *writer) rollback() {
	clear(w.versions)
	// A failed ROLLBACK leaves nothing to undo: SQLite has already rolled
	// back whatever made it fail.
	_, _ = w.conn.ExecContext(context.Background(), "ROLLBACK")
}

// forgetIfChangedElsewhere drops the version cache when another connection
// has committed since this one last looked.
func (w *writer) forgetIfChangedElsewhere(ctx context.Context) error {
	var v int64
	if err := w.dataVersion.QueryRowContext(ctx).Scan(&v); err != nil {
		return err
	}
	if v != w.lastDataVers || len(w.versions) > maxCachedVersions {
		clear(w.versions)
		w.lastDataVers = v
	}
	return nil
}

// streamVersion returns the stream's current version, from the cache when it
// can.
func (w *writer) streamVersion(ctx context.Context, stream string) (uint64, error) {
	if v, ok := w.versions[stream]; ok {
		return v, nil
	}
	// The stream's version is the greatest of its events': the (stream,
	// version) index answers it without a separate table to keep in step.
	var v uint64
	if err := w.streamGet.QueryRowContext(ctx, stream).Scan(&v); err != nil {
		return 0, err
	}
	w.versions[stream] = v
	return v, nil
}

// appendOne applies one request in the open transaction; with isolate it
// does so inside a savepoint that is rolled back if the request fails. It
// reports whether it wrote anything (a failure after a write needs a
// rollback). Every part's version is checked before anything is written.
func (w *writer) appendOne(ctx context.Context, req *appendRequest, now int64, pending pendingKeys, isolate bool) (appendReply, bool) {
	// Only a single-part request (Append) can claim a key.
	if p := &req.parts[0]; len(req.parts) == 1 && p.claims() {
		if res, ok := pending[p.key]; ok {
			res.Duplicate, res.EventIDs = true, nil
			return appendReply{res: []ports.AppendResult{res}}, false
		}
		var stream string
		var res ports.AppendResult
		err := w.idemGet.QueryRowContext(ctx, p.key).Scan(&stream, &res.FirstVersion, &res.LastVersion, &res.FirstPosition, &res.LastPosition)
		switch {
		case err == nil:
			res.Duplicate = true
			return appendReply{res: []ports.AppendResult{res}}, false
		case !errors.Is(err, sql.ErrNoRows):
			return appendReply{err: errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: read idempotency key")}, false
		}
	}
	current := make([]uint64, len(req.parts))
	for i := range req.parts {
		p := &req.parts[i]
		var err error
		if !isolate && p.expected == ports.NoStream() {
			// A new stream is the common case (a delivery, a runner): the
			// insert's own (stream, version) uniqueness check finds a stream
			// that exists after all, and the group is then rerun isolated,
			// where the version is read and the conflict reported.
			current[i] = w.versions[p.stream]
		} else if current[i], err = w.streamVersion(ctx, p.stream); err != nil {
			return appendReply{err: errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: read stream version")}, false
		}
		if !p.expected.IsAny() && p.expected.Version() != current[i] {
			return appendReply{err: &ports.ConflictError{Stream: p.stream, Expected: p.expected, Actual: current[i]}}, false
		}
	}
	if isolate {
		if _, err := w.conn.ExecContext(ctx, `SAVEPOINT append`); err != nil {
			return appendReply{err: errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: savepoint")}, false
		}
	}
	res := make([]ports.AppendResult, len(req.parts))
	var err error
	for i := range req.parts {
		if res[i], err = w.insert(ctx, &req.parts[i], current[i], now); err != nil {
			break
		}
	}
	if !isolate {
		if err != nil {
			return appendReply{err: err}, true
		}
	} else {
		if err != nil {
			if _, rbErr := w.conn.ExecContext(ctx, `ROLLBACK TO append`); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
		}
		if _, relErr := w.conn.ExecContext(ctx, `RELEASE append`); relErr != nil && err == nil {
			err = errs.Wrap(errs.EUNAVAILABLE, relErr, "sqlite: release savepoint")
		}
		if err != nil {
			return appendReply{err: err}, false
		}
	}
	for i := range req.parts {
		p := &req.parts[i]
		w.versions[p.stream] = res[i].LastVersion
		if p.claims() {
			pending[p.key] = res[i]
		}
	}
	return appendReply{res: res}, true
}

func (w *writer) insert(ctx context.Context, p *appendPart, current uint64, now int64) (ports.AppendResult, error) {
	res := ports.AppendResult{FirstVersion: current + 1, LastVersion: current + uint64(len(p.evs)), EventIDs: ports.EventIDs(p.evs)}
	for i, ev := range p.evs {
		r, err := w.insertEvent.ExecContext(ctx, ev.ID, p.stream, current+uint64(i)+1, ev.Type, ev.OccurredAt.UTC().UnixNano(), now,
			ev.Actor, ev.CorrelationID, ev.CausationID, p.key, []byte(ev.Payload))
		if err != nil {
			if isUniqueViolation(err) && w.hasEventID(ctx, ev.ID) {
				return res, errs.Wrap(errs.ECONFLICT, err, "append to %q: event id %s is already in the log", p.stream, ev.ID)
			}
			return res, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: insert event")
		}
		pos, err := r.LastInsertId()
		if err != nil {
			return res, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: event position")
		}
		if i == 0 {
			res.FirstPosition = uint64(pos)
		}
		res.LastPosition = uint64(pos)
	}
	if p.claims() {
		if _, err := w.insertIdem.ExecContext(ctx, p.key, p.stream, res.FirstVersion, res.LastVersion, res.FirstPosition, res.LastPosition, now); err != nil {
			return res, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: record idempotency key")
		}
	}
	return res, nil
}

// isUniqueViolation reports a UNIQUE constraint failure by its extended
// result code (modernc turns extended codes on for every connection), not
// by the message text, which SQLite does not promise to keep.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// hasEventID tells which unique index an insert broke: the event id's
// (the caller reused an id: a conflict) or the stream's version (a stream
// that exists after all: the group is rerun isolated). It asks the table
// rather than parsing the index name out of the error message.
func (w *writer) hasEventID(ctx context.Context, id string) bool {
	var one int
	err := w.conn.QueryRowContext(ctx, `SELECT 1 FROM events WHERE event_id = ?`, id).Scan(&one)
	return err == nil
}

// String is for logs.
func (s *EventStore) String() string { return fmt.Sprintf("sqlite(%s)", s.db.path) }
