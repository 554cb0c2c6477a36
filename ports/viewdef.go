package ports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// A view is registered once, as a ViewDef built by NewView from its row
// type: the stores derive the table (its columns, key and indexes) from it,
// record its Shape, and rebuild the view when the shape they find differs;
// the projections' write-back cache and the contract suite cover every view
// of a ViewSet. Adding a view is its row type, one NewView, one entry in
// DefaultViews and its projector (projections.All).

// ViewDef describes one view. It is immutable; build it with NewView.
type ViewDef struct {
	name    string
	key     string
	indexes [][]string
	rev     int
	rowType reflect.Type
	cols    []Column
	keyCol  int
	verCol  int
	shape   string
}

// Column is one column of a view: a field of the row struct with a `db` tag.
type Column struct {
	Name  string       // the db tag
	Index []int        // the field's index in the row struct (reflect.Value.FieldByIndex)
	Type  reflect.Type // the field's type
}

// Name is the view's name: the table's, and the checkpoint name of its projector.
func (d *ViewDef) Name() string { return d.name }

// Key is the db name of the key column, the field RowKey returns.
func (d *ViewDef) Key() string { return d.key }

// Indexes are lists of columns the view is queried by equality on; a store
// with secondary indexes (SQLite) indexes each, with the key appended.
func (d *ViewDef) Indexes() [][]string { return d.indexes }

// RowType is the row struct.
func (d *ViewDef) RowType() reflect.Type { return d.rowType }

// Columns are the row's columns in field order.
func (d *ViewDef) Columns() []Column { return d.cols }

// Column returns the column named name.
func (d *ViewDef) Column(name string) (Column, bool) {
	for _, c := range d.cols {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Shape identifies the view's layout: its name, key, indexes, revision and
// every column's name and type, nested types included. Stores record it
// beside the view; when the shape they find is another one, the rows were
// written by other code and the view is rebuilt from the log.
func (d *ViewDef) Shape() string { return d.shape }

// NewRow returns a pointer to a new zero row, for a store to decode into.
func (d *ViewDef) NewRow() reflect.Value { return reflect.New(d.rowType) }

// SetKeyVersion sets the key and version fields of the row *row points to
// (a reflect.Value of NewRow), for stores and test generators.
func (d *ViewDef) SetKeyVersion(row reflect.Value, key string, version uint64) {
	e := row.Elem()
	e.FieldByIndex(d.cols[d.keyCol].Index).SetString(key)
	e.FieldByIndex(d.cols[d.verCol].Index).SetUint(version)
}

// ViewSpec is what NewView needs besides the row type.
type ViewSpec struct {
	// Name of the view: the table name and the checkpoint name of its projector.
	Name string
	// Key is the db name of the string column RowKey returns.
	Key string
	// Indexes lists the columns the view is filtered by (see ViewDef.Indexes).
	Indexes [][]string
	// Rev is bumped when a projector starts writing other values into the
	// same columns: the shape changes and every store rebuilds the view.
	Rev int
}

// View is a registered view with typed rows: In gives its table in a ViewTx.
type View[R ViewRow] struct {
	def *ViewDef
}

// NewView registers R as a view. R must be a struct whose `db` tagged
// fields are the columns, with spec.Key naming the string column RowKey
// returns and an unsigned "version" column that RowVersion returns. A
// mistake is a programming error: NewView panics, when the package loads.
func NewView[R ViewRow](spec ViewSpec) View[R] {
	def, err := newViewDef(reflect.TypeFor[R](), spec)
	if err != nil {
		panic(fmt.Sprintf("ports: view %q: %v", spec.Name, err))
	}
	return View[R]{def: def}
}

// Def is the view's description, for stores and view sets.
func (v View[R]) Def() *ViewDef { return v.def }

// Name is the view's name.
func (v View[R]) Name() string { return v.def.name }

// In returns the view's table as tx sees it.
func (v View[R]) In(tx ViewTx) Table[R] { return typedTable[R]{t: tx.Table(v.def), view: v.def.name} }

// typedTable is a store's untyped table seen with R's rows.
type typedTable[R ViewRow] struct {
	t    Table[ViewRow]
	view string
}

func (t typedTable[R]) row(r ViewRow) (R, error) {
	got, ok := r.(R)
	if !ok {
		var zero R
		return zero, errs.Errorf(errs.EINTERNAL, "view %s: the store returned a %T, want %T", t.view, r, zero)
	}
	return got, nil
}

func (t typedTable[R]) Get(ctx context.Context, key string) (R, bool, error) {
	r, ok, err := t.t.Get(ctx, key)
	if err != nil || !ok {
		var zero R
		return zero, false, err
	}
	row, err := t.row(r)
	return row, err == nil, err
}

func (t typedTable[R]) Put(ctx context.Context, row R) (bool, error) { return t.t.Put(ctx, row) }

func (t typedTable[R]) List(ctx context.Context, q Query) ([]R, error) {
	rows, err := t.t.List(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.rows(rows)
}

func (t typedTable[R]) ListPage(ctx context.Context, q Query) (Page[R], error) {
	p, err := t.t.ListPage(ctx, q)
	if err != nil {
		return Page[R]{}, err
	}
	rows, err := t.rows(p.Rows)
	return Page[R]{Rows: rows, Next: p.Next}, err
}

func (t typedTable[R]) rows(in []ViewRow) ([]R, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]R, len(in))
	for i, r := range in {
		row, err := t.row(r)
		if err != nil {
			return nil, err
		}
		out[i] = row
	}
	return out, nil
}

// ViewSet is the registered views, in registration order.
type ViewSet struct {
	defs   []*ViewDef
	byName map[string]*ViewDef
}

// NewViewSet returns the set of defs, refusing a nil one or a name used twice.
func NewViewSet(defs ...*ViewDef) (*ViewSet, error) {
	s := &ViewSet{byName: make(map[string]*ViewDef, len(defs))}
	for i, d := range defs {
		if d == nil {
			return nil, errs.Errorf(errs.EINVALID, "view set: view %d is nil (build it with NewView)", i)
		}
		if _, dup := s.byName[d.name]; dup {
			return nil, errs.Errorf(errs.EINVALID, "view set: view %q registered twice", d.name)
		}
		s.byName[d.name] = d
		s.defs = append(s.defs, d)
	}
	return s, nil
}

// With returns a set of s's views followed by defs.
func (s *ViewSet) With(defs ...*ViewDef) (*ViewSet, error) {
	return NewViewSet(append(append([]*ViewDef(nil), s.defs...), defs...)...)
}

// All returns the views in registration order.
func (s *ViewSet) All() []*ViewDef { return append([]*ViewDef(nil), s.defs...) }

// Names returns the views' names in registration order.
func (s *ViewSet) Names() []string {
	out := make([]string, len(s.defs))
	for i, d := range s.defs {
		out[i] = d.name
	}
	return out
}

// Get returns the view named name.
func (s *ViewSet) Get(name string) (*ViewDef, bool) {
	d, ok := s.byName[name]
	return d, ok
}

// Has reports whether def is the set's view of its name.
func (s *ViewSet) Has(def *ViewDef) bool {
	return def != nil && s.byName[def.name] == def
}

var timeType = reflect.TypeFor[time.Time]()

func newViewDef(rt reflect.Type, spec ViewSpec) (*ViewDef, error) {
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("row type %s is not a struct", rt)
	}
	if spec.Name == "" || strings.ContainsAny(spec.Name, "\"` ") {
		return nil, fmt.Errorf("bad view name %q", spec.Name)
	}
	d := &ViewDef{name: spec.Name, key: spec.Key, rev: spec.Rev, rowType: rt, keyCol: -1, verCol: -1}
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("db"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if !f.IsExported() {
			return nil, fmt.Errorf("field %s has a db tag but is unexported", f.Name)
		}
		if _, dup := d.Column(tag); dup {
			return nil, fmt.Errorf("column %q twice", tag)
		}
		switch tag {
		case spec.Key:
			d.keyCol = len(d.cols)
		case "version":
			d.verCol = len(d.cols)
		}
		d.cols = append(d.cols, Column{Name: tag, Index: f.Index, Type: f.Type})
	}
	if d.keyCol < 0 || d.cols[d.keyCol].Type.Kind() != reflect.String {
		return nil, fmt.Errorf("key column %q is not a string column", spec.Key)
	}
	if d.verCol < 0 || !isUnsigned(d.cols[d.verCol].Type.Kind()) {
		return nil, fmt.Errorf("no unsigned version column")
	}
	for _, idx := range spec.Indexes {
		if len(idx) == 0 {
			return nil, fmt.Errorf("an empty index")
		}
		for _, c := range idx {
			if _, ok := d.Column(c); !ok {
				return nil, fmt.Errorf("index on unknown column %q", c)
			}
		}
		d.indexes = append(d.indexes, append([]string(nil), idx...))
	}
	// The key column must be what RowKey returns, "version" what RowVersion returns.
	probe := d.NewRow()
	d.SetKeyVersion(probe, "probe-key", 7)
	row, ok := probe.Elem().Interface().(ViewRow)
	if !ok || row.RowKey() != "probe-key" || row.RowVersion() != 7 {
		return nil, fmt.Errorf("column %q is not RowKey or version is not RowVersion (methods on the value, not the pointer)", spec.Key)
	}
	d.shape = shapeOf(d)
	return d, nil
}

func isUnsigned(k reflect.Kind) bool { return reflect.Uint <= k && k <= reflect.Uint64 }

// shapeOf hashes what a stored view depends on: the revision, the key, the
// indexes and each column's name and type, spelled out to the leaves (a
// field added to a nested struct stored as JSON changes it too).
func shapeOf(d *ViewDef) string {
	var b strings.Builder
	fmt.Fprintf(&b, "view %s\nrev %d\nkey %s\n", d.name, d.rev, d.key)
	for _, idx := range d.indexes {
		fmt.Fprintf(&b, "index %s\n", strings.Join(idx, ","))
	}
	for _, c := range d.cols {
		fmt.Fprintf(&b, "column %s %s\n", c.Name, typeSpelling(c.Type, map[reflect.Type]bool{}))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return "r" + strconv.Itoa(d.rev) + "-" + hex.EncodeToString(sum[:8])
}

// typeSpelling writes t with the fields (and their json tags) of every
// struct it holds.
func typeSpelling(t reflect.Type, seen map[reflect.Type]bool) string {
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeSpelling(t.Elem(), seen)
	case reflect.Slice:
		return "[]" + typeSpelling(t.Elem(), seen)
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), typeSpelling(t.Elem(), seen))
	case reflect.Map:
		return "map[" + typeSpelling(t.Key(), seen) + "]" + typeSpelling(t.Elem(), seen)
	case reflect.Struct:
		if t == timeType || seen[t] {
			return t.String()
		}
		seen[t] = true
		parts := make([]string, 0, t.NumField())
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s %q", f.Name, typeSpelling(f.Type, seen), f.Tag.Get("json")))
		}
		return t.String() + "{" + strings.Join(parts, "; ") + "}"
	default:
		return t.String()
	}
}
