package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// EventStore is the SQLite event log. It implements ports.EventStore.
type EventStore struct {
	db       *DB
	requests chan *appendRequest
	done     chan struct{} // closed when the appender goroutine has exited
	stopOnce sync.Once
	quit     chan struct{}

	loadStmt, readAllStmt *sql.Stmt
}

var _ ports.EventStore = (*EventStore)(nil)

type appendRequest struct {
	ctx      context.Context
	stream   string
	expected ports.ExpectedVersion
	evs      []events.Record
	key      string
	reply    chan appendReply
}

type appendReply struct {
	res ports.AppendResult
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
	if s.readAllStmt, err = db.read.Prepare(`SELECT ` + recordColumns + ` FROM events WHERE position > ? ORDER BY position LIMIT ?`); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: prepare read all")
	}
	w, err := newWriter(db)
	if err != nil {
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
	req := &appendRequest{ctx: ctx, stream: stream, expected: expected, evs: evs, key: o.IdempotencyKey, reply: make(chan appendReply, 1)}
	select {
	case s.requests <- req:
	case <-s.quit:
		return ports.AppendResult{}, errClosed
	case <-ctx.Done():
		return ports.AppendResult{}, ctx.Err()
	}
	// Once queued, the outcome is waited for even if ctx ends: the caller must
	// not be told "failed" about a batch that then commits.
	r := <-req.reply
	return r.res, r.err
}

// Load implements ports.EventStore.
func (s *EventStore) Load(ctx context.Context, stream string, after uint64) ([]events.Record, error) {
	rows, err := s.loadStmt.QueryContext(ctx, stream, after)
	if err != nil {
		return nil, unavailable(ctx, err, "load %q", stream)
	}
	return scanRecords(ctx, rows, 0)
}

// ReadAll implements ports.EventStore.
func (s *EventStore) ReadAll(ctx context.Context, after uint64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		return nil, errs.Errorf(errs.EINVALID, "read all: limit must be positive")
	}
	rows, err := s.readAllStmt.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, unavailable(ctx, err, "read all after %d", after)
	}
	return scanRecords(ctx, rows, limit)
}

// Head implements ports.EventStore.
func (s *EventStore) Head(ctx context.Context) (uint64, error) {
	var head sql.NullInt64
	if err := s.db.read.QueryRowContext(ctx, `SELECT max(position) FROM events`).Scan(&head); err != nil {
		return 0, unavailable(ctx, err, "head")
	}
	return uint64(head.Int64), nil
}

func scanRecords(ctx context.Context, rows *sql.Rows, capacity int) ([]events.Record, error) {
	defer rows.Close()
	out := make([]events.Record, 0, capacity)
	for rows.Next() {
		var r events.Record
		var occurred, recorded int64
		var payload []byte
		if err := rows.Scan(&r.GlobalPosition, &r.ID, &r.Stream, &r.Version, &r.Type, &occurred, &recorded,
			&r.Actor, &r.CorrelationID, &r.CausationID, &r.IdempotencyKey, &payload); err != nil {
			return nil, unavailable(ctx, err, "scan event")
		}
		r.OccurredAt = time.Unix(0, occurred).UTC()
		r.RecordedAt = time.Unix(0, recorded).UTC()
		r.Payload = payload
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err, "read events")
	}
	return out, nil
}

func unavailable(ctx context.Context, err error, format string, args ...any) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: "+format, args...)
}

func (s *EventStore) stop() {
	s.stopOnce.Do(func() { close(s.quit) })
	<-s.done
}

// run is the appender: it takes every request waiting (up to MaxGroup),
// applies each inside its own savepoint of one transaction, commits once and
// then answers them all. A request that fails (conflict, bad input) rolls back
// to its savepoint and does not disturb the others.
func (s *EventStore) run(w *writer) {
	defer close(s.done)
	defer w.close()
	group := make([]*appendRequest, 0, s.db.opts.MaxGroup)
	replies := make([]appendReply, 0, s.db.opts.MaxGroup)
	for {
		group = group[:0]
		select {
		case req := <-s.requests:
			group = append(group, req)
		case <-s.quit:
			s.drain()
			return
		}
		// Writers answered by the last commit are still waking up; letting them
		// run once before the group closes makes groups larger and commits
		// (fsyncs) fewer, at no cost when nobody else is runnable.
		runtime.Gosched()
	fill:
		for len(group) < cap(group) {
			select {
			case req := <-s.requests:
				group = append(group, req)
			default:
				break fill
			}
		}
		replies = replies[:len(group)]
		s.commitGroup(w, group, replies)
		committed := false
		for i, req := range group {
			if replies[i].err == nil && !replies[i].res.Duplicate {
				committed = true
			}
			req.reply <- replies[i]
		}
		if committed {
			s.db.notify.signal()
		}
	}
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
	fail := func(err error) {
		for i := range replies {
			replies[i] = appendReply{err: err}
		}
	}
	// The transaction is not bound to any one caller's context: one caller
	// giving up must not roll back the others.
	tx, err := w.begin()
	if err != nil {
		fail(errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: begin append"))
		return
	}
	now := s.db.opts.Now().UTC().UnixNano()
	pending := newPendingKeys()
	for i, req := range group {
		if err := req.ctx.Err(); err != nil {
			replies[i] = appendReply{err: err}
			continue
		}
		replies[i] = w.appendOne(tx, req, now, pending)
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		fail(errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: commit append"))
	}
}

// pendingKeys remembers idempotency keys written earlier in the same group.
type pendingKeys map[string]ports.AppendResult

func newPendingKeys() pendingKeys { return pendingKeys{} }

// writer holds the appender connection's prepared statements.
type writer struct {
	conn                                        *sql.DB
	idemGet, streamGet, insertEvent, insertIdem *sql.Stmt
}

func newWriter(db *DB) (*writer, error) {
	w := &writer{conn: db.events}
	prep := func(dst **sql.Stmt, q string) error {
		st, err := db.events.Prepare(q)
		if err != nil {
			return errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: prepare %q", q)
		}
		*dst = st
		return nil
	}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&w.idemGet, `SELECT stream, first_version, last_version, first_position, last_position FROM idempotency WHERE key = ?`},
		{&w.streamGet, `SELECT coalesce(max(version), 0) FROM events WHERE stream = ?`},
		{&w.insertEvent, `INSERT INTO events (event_id, stream, version, type, occurred_at, recorded_at, actor, correlation_id, causation_id, idempotency_key, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)`},
		{&w.insertIdem, `INSERT INTO idempotency (key, stream, first_version, last_version, first_position, last_position, recorded_at) VALUES (?,?,?,?,?,?,?)`},
	} {
		if err := prep(p.dst, p.q); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

func (w *writer) close() {
	for _, st := range []*sql.Stmt{w.idemGet, w.streamGet, w.insertEvent, w.insertIdem} {
		if st != nil {
			st.Close()
		}
	}
}

func (w *writer) begin() (*sql.Tx, error) { return w.conn.BeginTx(context.Background(), nil) }

// appendOne applies one request inside a savepoint of tx.
func (w *writer) appendOne(tx *sql.Tx, req *appendRequest, now int64, pending pendingKeys) appendReply {
	ctx := context.Background()
	if req.key != "" {
		if res, ok := pending[req.key]; ok {
			res.Duplicate = true
			return appendReply{res: res}
		}
		var stream string
		var res ports.AppendResult
		err := tx.StmtContext(ctx, w.idemGet).QueryRowContext(ctx, req.key).Scan(&stream, &res.FirstVersion, &res.LastVersion, &res.FirstPosition, &res.LastPosition)
		switch {
		case err == nil:
			res.Duplicate = true
			return appendReply{res: res}
		case !errors.Is(err, sql.ErrNoRows):
			return appendReply{err: errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: read idempotency key")}
		}
	}
	// The stream's version is the greatest of its events': the (stream,
	// version) index answers it without a separate table to keep in step.
	var current uint64
	if err := tx.StmtContext(ctx, w.streamGet).QueryRowContext(ctx, req.stream).Scan(&current); err != nil {
		return appendReply{err: errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: read stream version")}
	}
	if !req.expected.IsAny() && req.expected.Version() != current {
		return appendReply{err: &ports.ConflictError{Stream: req.stream, Expected: req.expected, Actual: current}}
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT append`); err != nil {
		return appendReply{err: errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: savepoint")}
	}
	res, err := w.insert(ctx, tx, req, current, now)
	if err != nil {
		if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO append`); rbErr != nil {
			err = errors.Join(err, rbErr)
		}
	}
	if _, relErr := tx.ExecContext(ctx, `RELEASE append`); relErr != nil && err == nil {
		err = errs.Wrap(errs.EUNAVAILABLE, relErr, "sqlite: release savepoint")
	}
	if err != nil {
		return appendReply{err: err}
	}
	if req.key != "" {
		pending[req.key] = res
	}
	return appendReply{res: res}
}

func (w *writer) insert(ctx context.Context, tx *sql.Tx, req *appendRequest, current uint64, now int64) (ports.AppendResult, error) {
	ins := tx.StmtContext(ctx, w.insertEvent)
	res := ports.AppendResult{FirstVersion: current + 1, LastVersion: current + uint64(len(req.evs))}
	for i, ev := range req.evs {
		r, err := ins.ExecContext(ctx, ev.ID, req.stream, current+uint64(i)+1, ev.Type, ev.OccurredAt.UTC().UnixNano(), now,
			ev.Actor, ev.CorrelationID, ev.CausationID, req.key, []byte(ev.Payload))
		if err != nil {
			if isUniqueViolation(err) && strings.Contains(err.Error(), "event_id") {
				return res, errs.Wrap(errs.ECONFLICT, err, "append to %q: event id %s is already in the log", req.stream, ev.ID)
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
	if req.key != "" {
		if _, err := tx.StmtContext(ctx, w.insertIdem).ExecContext(ctx, req.key, req.stream, res.FirstVersion, res.LastVersion, res.FirstPosition, res.LastPosition, now); err != nil {
			return res, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: record idempotency key")
		}
	}
	return res, nil
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// String is for logs.
func (s *EventStore) String() string { return fmt.Sprintf("sqlite(%s)", s.db.path) }
