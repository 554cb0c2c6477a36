package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The read views. Each view is one table with a real column per `db` tag of
// its row struct, so operators can query the file with sqlite3; how Go
// values map to columns is in viewcodec.go. The key column is named here,
// explicitly, and checked against the row's RowKey when the package loads.
var (
	runnersTable         = mustTableDef[ports.RunnerRow](ports.ViewRunners, "id", []string{"state"}, []string{"egg"})
	eggConfigsTable      = mustTableDef[ports.EggConfigRow](ports.ViewEggConfigs, "name")
	syncHistoryTable     = mustTableDef[ports.SyncHistoryRow](ports.ViewSyncHistory, "key")
	deploymentPlansTable = mustTableDef[ports.DeploymentPlanRow](ports.ViewDeploymentPlans, "plan_id", []string{"egg"}, []string{"runner_id"})
	auditLogsTable       = mustTableDef[ports.AuditLogRow](ports.ViewAuditLogs, "key")

	viewTables = []*tableDef{runnersTable, eggConfigsTable, syncHistoryTable, deploymentPlansTable, auditLogsTable}
)

// viewSchema holds the read views and projector checkpoints. db.go's migrate
// runs it after the event schema.
var viewSchema = buildViewSchema()

func buildViewSchema() []string {
	out := []string{
		`CREATE TABLE IF NOT EXISTS checkpoints (
		projector TEXT PRIMARY KEY,
		position  INTEGER NOT NULL
	) WITHOUT ROWID`,
	}
	for _, def := range viewTables {
		out = append(out, def.ddl()...)
	}
	return out
}

func viewTable(name string) (*tableDef, bool) {
	for _, def := range viewTables {
		if def.name == name {
			return def, true
		}
	}
	return nil, false
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
	def, ok := viewTable(view)
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

func (v *viewTx) Runners() ports.Table[ports.RunnerRow] {
	return table[ports.RunnerRow]{v: v, def: runnersTable}
}
func (v *viewTx) EggConfigs() ports.Table[ports.EggConfigRow] {
	return table[ports.EggConfigRow]{v: v, def: eggConfigsTable}
}
func (v *viewTx) SyncHistory() ports.Table[ports.SyncHistoryRow] {
	return table[ports.SyncHistoryRow]{v: v, def: syncHistoryTable}
}
func (v *viewTx) DeploymentPlans() ports.Table[ports.DeploymentPlanRow] {
	return table[ports.DeploymentPlanRow]{v: v, def: deploymentPlansTable}
}
func (v *viewTx) AuditLogs() ports.Table[ports.AuditLogRow] {
	return table[ports.AuditLogRow]{v: v, def: auditLogsTable}
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
type table[R ports.ViewRow] struct {
	v   *viewTx
	def *tableDef
}

func (t table[R]) Get(ctx context.Context, key string) (R, bool, error) {
	var zero R
	rows, err := t.v.query(ctx, t.def.getSQL, key)
	if err != nil {
		return zero, false, unavailable(ctx, err, "get %s %q", t.def.name, key)
	}
	out, err := scanRows[R](ctx, t.def, rows)
	if err != nil || len(out) == 0 {
		return zero, false, err
	}
	return out[0], true, nil
}

func (t table[R]) Put(ctx context.Context, row R) (bool, error) {
	if t.v.tx == nil {
		return false, errReadOnly
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

func (t table[R]) List(ctx context.Context, q ports.Query) ([]R, error) {
	sqlText, args, err := t.def.listSQL(q)
	if err != nil {
		return nil, err
	}
	rows, err := t.v.query(ctx, sqlText, args...)
	if err != nil {
		return nil, unavailable(ctx, err, "list %s", t.def.name)
	}
	return scanRows[R](ctx, t.def, rows)
}

// ListPage implements ports.Table: one query of Limit+1 rows, which an
// index on the filtered column and the key (or the key alone) serves in
// order from AfterKey.
func (t table[R]) ListPage(ctx context.Context, q ports.Query) (ports.Page[R], error) {
	if q.Limit < 1 {
		return ports.Page[R]{}, errs.Errorf(errs.EINVALID, "list a page of %s: limit %d, want at least 1", t.def.name, q.Limit)
	}
	limit := q.Limit
	q.Limit++
	rows, err := t.List(ctx, q)
	if err != nil {
		return ports.Page[R]{}, err
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

func scanRows[R ports.ViewRow](ctx context.Context, d *tableDef, rows *sql.Rows) ([]R, error) {
	defer rows.Close()
	var out []R
	dest := d.scanDest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, unavailable(ctx, err, "scan %s", d.name)
		}
		var r R
		if err := d.decodeRow(dest, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err, "read %s", d.name)
	}
	return out, nil
}
