package projections

import (
	"context"

	"github.com/polar-gosling/polar-gosling/ports"
)

// writeBack is the views as one page of projection sees them: each row is
// read at most once and written once per page, however many of the page's
// events touch it (a runner's lifecycle is several events in a row), and
// the checkpoints are saved after the rows. That order matters on stores
// without transactions (DynamoDB): a checkpoint never gets ahead of the rows
// it covers, so a crash mid-flush only causes a harmless redo.
//
// It covers every view: the table of a view is cached from its first use in
// the page, whatever ViewDef it is, and flushed in that order.
type writeBack struct {
	tx          ports.ViewTx
	tables      map[*ports.ViewDef]*cachedTable[ports.ViewRow]
	order       []*cachedTable[ports.ViewRow]
	checkpoints map[string]uint64
	cpOrder     []string
}

var _ ports.ViewTx = (*writeBack)(nil)

func newWriteBack(tx ports.ViewTx) *writeBack {
	return &writeBack{tx: tx, tables: map[*ports.ViewDef]*cachedTable[ports.ViewRow]{}, checkpoints: map[string]uint64{}}
}

// Table implements ports.ViewTx: the view's table behind the page's cache.
func (w *writeBack) Table(view *ports.ViewDef) ports.Table[ports.ViewRow] {
	if c, ok := w.tables[view]; ok {
		return c
	}
	c := newCachedTable(w.tx.Table(view))
	w.tables[view] = c
	w.order = append(w.order, c)
	return c
}

func (w *writeBack) Checkpoint(ctx context.Context, projector string) (uint64, error) {
	if cp, ok := w.checkpoints[projector]; ok {
		return cp, nil
	}
	return w.tx.Checkpoint(ctx, projector)
}

func (w *writeBack) SaveCheckpoint(_ context.Context, projector string, position uint64) error {
	if _, ok := w.checkpoints[projector]; !ok {
		w.cpOrder = append(w.cpOrder, projector)
	}
	w.checkpoints[projector] = position
	return nil
}

// flush writes the page's rows, then its checkpoints.
func (w *writeBack) flush(ctx context.Context) error {
	for _, c := range w.order {
		if err := c.flush(ctx); err != nil {
			return err
		}
	}
	for _, p := range w.cpOrder {
		if err := w.tx.SaveCheckpoint(ctx, p, w.checkpoints[p]); err != nil {
			return err
		}
	}
	return nil
}

type cachedRow[R ports.ViewRow] struct {
	row   R
	found bool
}

// cachedTable reads through to its table once per key and keeps writes
// until flush. Stores still check versions when the rows are flushed.
type cachedTable[R ports.ViewRow] struct {
	t       ports.Table[R]
	rows    map[string]cachedRow[R]
	dirty   []string
	isDirty map[string]bool
}

func newCachedTable[R ports.ViewRow](t ports.Table[R]) *cachedTable[R] {
	return &cachedTable[R]{t: t, rows: map[string]cachedRow[R]{}, isDirty: map[string]bool{}}
}

func (c *cachedTable[R]) Get(ctx context.Context, key string) (R, bool, error) {
	if r, ok := c.rows[key]; ok {
		return r.row, r.found, nil
	}
	row, found, err := c.t.Get(ctx, key)
	if err != nil {
		return row, false, err
	}
	c.rows[key] = cachedRow[R]{row: row, found: found}
	return row, found, nil
}

func (c *cachedTable[R]) Put(_ context.Context, row R) (bool, error) {
	key := row.RowKey()
	if r, ok := c.rows[key]; ok && r.found && r.row.RowVersion() >= row.RowVersion() {
		return false, nil
	}
	c.rows[key] = cachedRow[R]{row: row, found: true}
	if !c.isDirty[key] {
		c.isDirty[key] = true
		c.dirty = append(c.dirty, key)
	}
	return true, nil
}

// List sees the page's pending rows: it flushes them first.
func (c *cachedTable[R]) List(ctx context.Context, q ports.Query) ([]R, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	return c.t.List(ctx, q)
}

// ListPage sees the page's pending rows: it flushes them first.
func (c *cachedTable[R]) ListPage(ctx context.Context, q ports.Query) (ports.Page[R], error) {
	if err := c.flush(ctx); err != nil {
		return ports.Page[R]{}, err
	}
	return c.t.ListPage(ctx, q)
}

func (c *cachedTable[R]) flush(ctx context.Context) error {
	for _, key := range c.dirty {
		if _, err := c.t.Put(ctx, c.rows[key].row); err != nil {
			return err
		}
	}
	c.dirty = c.dirty[:0]
	clear(c.isDirty)
	return nil
}
