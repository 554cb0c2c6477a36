package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The read views. Each registered view (ports.ViewSet, Options.Views) is
// one table with a real column per `db` tag of its row struct, so operators
// can query the file with sqlite3; how Go values map to columns is in
// viewcodec.go.

// viewTables derives the tables of views.
func viewTables(views *ports.ViewSet) ([]*tableDef, map[string]*tableDef, error) {
	var list []*tableDef
	byName := map[string]*tableDef{}
	for _, v := range views.All() {
		def, err := newTableDef(v)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, def)
		byName[def.name] = def
	}
	return list, byName, nil
}

// hasColumns reports whether def's table has exactly def's columns.
func hasColumns(ctx context.Context, tx *sql.Tx, def *tableDef) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, def.name)
	if err != nil {
		return false, fmt.Errorf("read the columns of %s: %w", def.name, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return false, fmt.Errorf("read the columns of %s: %w", def.name, err)
		}
		if _, ok := def.column(name); !ok {
			return false, rows.Close()
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read the columns of %s: %w", def.name, err)
	}
	return n == len(def.cols), nil
}

// viewRebuild is a view prepareViews dropped for a rebuild.
type viewRebuild struct {
	view, oldShape, newShape string
}

// prepareViews creates the view tables in tx. A table whose shape
// view_shapes does not record as its own (another release's columns, or a
// file made before shapes were recorded) is dropped and created again, and
// the checkpoint of its projector (named after the view) is deleted, so that
// the projector rebuilds it from the log. It returns the views it dropped.
func prepareViews(ctx context.Context, tx *sql.Tx, tables []*tableDef, now time.Time) ([]viewRebuild, error) {
	var rebuilt []viewRebuild
	for _, def := range tables {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?)`, def.name).Scan(&exists); err != nil {
			return nil, fmt.Errorf("look up view %s: %w", def.name, err)
		}
		var old string
		err := tx.QueryRowContext(ctx, `SELECT shape FROM view_shapes WHERE view = ?`, def.name).Scan(&old)
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read the shape of view %s: %w", def.name, err)
		}
		want := def.shape()
		if exists && found && old == want {
			same, err := hasColumns(ctx, tx, def)
			if err != nil {
				return nil, err
			}
			if same {
				continue
			}
			old += " (columns since changed by hand or by an older release)"
		}
		if exists {
			if _, err := tx.ExecContext(ctx, `DROP TABLE `+quote(def.name)); err != nil {
				return nil, fmt.Errorf("drop view %s: %w", def.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE projector = ?`, def.name); err != nil {
			return nil, fmt.Errorf("reset the checkpoint of %s: %w", def.name, err)
		}
		for _, stmt := range def.ddl() {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return nil, fmt.Errorf("create view %s: %w\n%s", def.name, err, stmt)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO view_shapes (view, shape, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (view) DO UPDATE SET shape = excluded.shape, updated_at = excluded.updated_at`,
			def.name, want, now.UTC().Format(time.RFC3339Nano)); err != nil {
			return nil, fmt.Errorf("record the shape of view %s: %w", def.name, err)
		}
		if exists || found {
			if !found {
				old = "none recorded"
			}
			rebuilt = append(rebuilt, viewRebuild{view: def.name, oldShape: old, newShape: want})
		}
	}
	return rebuilt, nil
}

// ViewStore is the SQLite implementation of ports.ViewStore. Batches run on
// the views writer connection (synchronous=NORMAL), separate from the event
// appender's; reads outside a batch use the read-only pool. A ViewStore holds
// no state of its own: statements are prepared per batch (once each, at
// first use) and reads outside a batch run their cached SQL text.
type ViewStore struct {
	db *DB
}

var _ ports.ViewStore = (*ViewStore)(nil)

// Views returns the read views.
func (db *DB) Views() *ViewStore { return &ViewStore{db: db} }

// Batch implements ports.ViewStore: fn's writes and checkpoints commit in one
// transaction, or not at all when fn returns an error. fn must not call
// Batch or Truncate of the same store (the writer connection is held).
func (s *ViewStore) Batch(ctx context.Context, fn func(ports.ViewTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := s.db.views.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(ctx, err, "begin view batch")
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := fn(&viewTx{db: s.db, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(ctx, err, "commit view batch")
	}
	s.db.checkpointer.wake()
	return nil
}

// Read implements ports.ViewStore. The returned views are read-only: their
// Put and SaveCheckpoint fail with EINVALID (write inside Batch).
func (s *ViewStore) Read() ports.ViewTx { return &viewTx{db: s.db} }

// Truncate implements ports.ViewStore: it deletes the view's rows and the
// checkpoint of the projector of the same name, in one transaction.
func (s *ViewStore) Truncate(ctx context.Context, view string) error {
	def, ok := s.db.tables[view]
	if !ok {
		return errs.Errorf(errs.EINVALID, "truncate: unknown view %q", view)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := s.db.views.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(ctx, err, "begin truncate %s", view)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+quote(def.name)); err != nil {
		return unavailable(ctx, err, "truncate %s", view)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE projector = ?`, view); err != nil {
		return unavailable(ctx, err, "reset checkpoint of %s", view)
	}
	if err := tx.Commit(); err != nil {
		return unavailable(ctx, err, "commit truncate %s", view)
	}
	return nil
}

// viewTx is the views inside one transaction (tx set) or on the read pool.
type viewTx struct {
	db *DB
	tx *sql.Tx

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared on tx; closed with it
}

// Table implements ports.ViewTx.
func (v *viewTx) Table(view *ports.ViewDef) ports.Table[ports.ViewRow] {
	def, ok := v.db.tables[view.Name()]
	if !ok || def.view != view {
		return ports.FailingTable{Err: errs.Errorf(errs.EINVALID, "sqlite views: view %q is not one the store was opened with (Options.Views)", view.Name())}
	}
	return table{v: v, def: def}
}

var errReadOnly = errs.Errorf(errs.EINVALID, "sqlite views: the views of Read are read-only; write inside Batch")

// query runs a query of this tx, with a statement prepared once per batch,
// or on the read pool.
func (v *viewTx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if v.tx == nil {
		return v.db.read.QueryContext(ctx, q, args...)
	}
	st, err := v.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// exec runs a write of this tx; Read's views are read-only.
func (v *viewTx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if v.tx == nil {
		return nil, errReadOnly
	}
	st, err := v.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (v *viewTx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if st, ok := v.stmts[q]; ok {
		return st, nil
	}
	st, err := v.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v.stmts == nil {
		v.stmts = map[string]*sql.Stmt{}
	}
	v.stmts[q] = st
	return st, nil
}

const (
	checkpointGetSQL = `SELECT position FROM checkpoints WHERE projector = ?`
	checkpointPutSQL = `INSERT INTO checkpoints (projector, position) VALUES (?, ?) ON CONFLICT (projector) DO UPDATE SET position = excluded.position`
)

// Checkpoint implements ports.ViewTx; an unknown projector is at 0.
func (v *viewTx) Checkpoint(ctx context.Context, projector string) (uint64, error) {
	if projector == "" {
		return 0, errs.Errorf(errs.EINVALID, "checkpoint: empty projector name")
	}
	rows, err := v.query(ctx, checkpointGetSQL, projector)
	if err != nil {
		return 0, unavailable(ctx, err, "read checkpoint of %q", projector)
	}
	defer rows.Close()
	var pos int64 // stays 0 when the projector has no row
	if rows.Next() {
		if err := rows.Scan(&pos); err != nil {
			return 0, unavailable(ctx, err, "read checkpoint of %q", projector)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, unavailable(ctx, err, "read checkpoint of %q", projector)
	}
	if pos < 0 {
		return 0, errs.Errorf(errs.EINTERNAL, "sqlite views: the checkpoint of %q is %d, negative", projector, pos)
	}
	return uint64(pos), nil
}

// SaveCheckpoint implements ports.ViewTx.
func (v *viewTx) SaveCheckpoint(ctx context.Context, projector string, position uint64) error {
	if v.tx == nil {
		return errReadOnly
	}
	if projector == "" {
		return errs.Errorf(errs.EINVALID, "save checkpoint: empty projector name")
	}
	if position > maxInteger {
		return errs.Errorf(errs.EINVALID, "save checkpoint of %q: position %d is out of range", projector, position)
	}
	if _, err := v.exec(ctx, checkpointPutSQL, projector, int64(position)); err != nil {
		return unavailable(ctx, err, "save checkpoint of %q", projector)
	}
	return nil
}

// table is one view seen through a viewTx.
type table struct {
	v   *viewTx
	def *tableDef
}

func (t table) Get(ctx context.Context, key string) (ports.ViewRow, bool, error) {
	var zero ports.ViewRow
	rows, err := t.v.query(ctx, t.def.getSQL, key)
	if err != nil {
		return zero, false, unavailable(ctx, err, "get %s %q", t.def.name, key)
	}
	out, err := scanRows(ctx, t.def, rows)
	if err != nil || len(out) == 0 {
		return zero, false, err
	}
	return out[0], true, nil
}

func (t table) Put(ctx context.Context, row ports.ViewRow) (bool, error) {
	if t.v.tx == nil {
		return false, errReadOnly
	}
	if row == nil || reflect.TypeOf(row) != t.def.view.RowType() {
		return false, errs.Errorf(errs.EINVALID, "put %s: a %T row, want a %s", t.def.name, row, t.def.view.RowType())
	}
	if row.RowKey() == "" {
		return false, errs.Errorf(errs.EINVALID, "put %s: empty key", t.def.name)
	}
	args, err := t.def.encodeRow(row)
	if err != nil {
		return false, err
	}
	res, err := t.v.exec(ctx, t.def.putSQL, args...)
	if err != nil {
		return false, unavailable(ctx, err, "put %s %q", t.def.name, row.RowKey())
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, unavailable(ctx, err, "put %s %q", t.def.name, row.RowKey())
	}
	return n > 0, nil
}

func (t table) List(ctx context.Context, q ports.Query) ([]ports.ViewRow, error) {
	sqlText, args, err := t.def.listSQL(q)
	if err != nil {
		return nil, err
	}
	rows, err := t.v.query(ctx, sqlText, args...)
	if err != nil {
		return nil, unavailable(ctx, err, "list %s", t.def.name)
	}
	return scanRows(ctx, t.def, rows)
}

// ListPage implements ports.Table: one query of Limit+1 rows, which an
// index on the filtered column and the key (or the key alone) serves in
// order from AfterKey.
func (t table) ListPage(ctx context.Context, q ports.Query) (ports.Page[ports.ViewRow], error) {
	if q.Limit < 1 {
		return ports.Page[ports.ViewRow]{}, errs.Errorf(errs.EINVALID, "list a page of %s: limit %d, want at least 1", t.def.name, q.Limit)
	}
	limit := q.Limit
	q.Limit++
	rows, err := t.List(ctx, q)
	if err != nil {
		return ports.Page[ports.ViewRow]{}, err
	}
	return ports.PageOf(rows, limit), nil
}

// listSQL builds the query for q. Eq names must be columns of the view.
// AfterKey continues in the direction of the order: with Desc it selects
// keys before AfterKey.
func (d *tableDef) listSQL(q ports.Query) (string, []any, error) {
	if q.Limit < 0 {
		return "", nil, errs.Errorf(errs.EINVALID, "list %s: negative limit %d", d.name, q.Limit)
	}
	names := make([]string, 0, len(q.Eq))
	for name := range q.Eq {
		names = append(names, name)
	}
	sort.Strings(names)
	var where []string
	args := make([]any, 0, len(names)+2)
	for _, name := range names {
		c, ok := d.column(name)
		if !ok {
			return "", nil, errs.Errorf(errs.EINVALID, "list %s: unknown column %q", d.name, name)
		}
		arg, err := c.encodeEq(q.Eq[name])
		if err != nil {
			return "", nil, errs.Wrap(errs.EINVALID, err, "list %s: value of %q", d.name, name)
		}
		where = append(where, quote(name)+` = ?`)
		args = append(args, arg)
	}
	order := "ASC"
	if q.AfterKey != "" {
		op := ">"
		if q.Desc {
			op = "<"
		}
		where = append(where, quote(d.key)+` `+op+` ?`)
		args = append(args, q.AfterKey)
	}
	if q.Desc {
		order = "DESC"
	}
	var b strings.Builder
	b.WriteString(d.selectSQL)
	if len(where) > 0 {
		b.WriteString(` WHERE `)
		b.WriteString(strings.Join(where, ` AND `))
	}
	fmt.Fprintf(&b, ` ORDER BY %s %s`, quote(d.key), order)
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit)
	}
	return b.String(), args, nil
}

func scanRows(ctx context.Context, d *tableDef, rows *sql.Rows) ([]ports.ViewRow, error) {
	defer rows.Close()
	var out []ports.ViewRow
	dest := d.scanDest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, unavailable(ctx, err, "scan %s", d.name)
		}
		r := d.view.NewRow()
		if err := d.decodeRow(dest, r.Interface()); err != nil {
			return nil, err
		}
		out = append(out, r.Elem().Interface().(ports.ViewRow))
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err, "read %s", d.name)
	}
	return out, nil
}
