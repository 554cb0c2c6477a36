package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// How a row struct maps to its table, field by field (`db` tag = column):
//
//	string                    TEXT NOT NULL
//	int*, uint*               INTEGER NOT NULL (unsigned values above MaxInt64 are refused)
//	bool                      INTEGER NOT NULL, 0 or 1
//	time.Time                 TEXT NOT NULL, UTC, RFC 3339 with 9 fraction digits so that
//	                          text order is time order; '' for the zero time, read back as time.Time{}
//	slice, map, struct, ptr   TEXT JSON, NULL when nil or empty
//
// A nil and an empty slice or map are both stored as NULL and both read back
// as nil, so a row round-trips reflect.DeepEqual exactly when it uses nil for
// "none", which is what the projections do. Times read back in UTC.

// timeLayout is RFC 3339 with a fixed-width fraction (time.RFC3339Nano drops
// trailing zeros, which would break text ordering); RFC3339Nano parses it.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

const maxInteger = math.MaxInt64

type colKind int

const (
	colText colKind = iota
	colInt
	colUint
	colBool
	colTime
	colJSON
)

var timeType = reflect.TypeFor[time.Time]()

type column struct {
	name  string
	index []int
	kind  colKind
	typ   reflect.Type
}

// tableDef is one view's table, derived from its ports.ViewDef.
type tableDef struct {
	view    *ports.ViewDef
	name    string
	key     string
	cols    []column
	byName  map[string]int
	indexes [][]string

	selectSQL, getSQL, putSQL string
}

// layoutRev is the revision of how this file maps rows to tables (the
// column types and encodings above). It is part of every view's recorded
// shape: changing the mapping rebuilds every view.
const layoutRev = "sqlite.1"

// shape is what view_shapes records for the table.
func (d *tableDef) shape() string { return d.view.Shape() + "+" + layoutRev }

func newTableDef(view *ports.ViewDef) (*tableDef, error) {
	name, key := view.Name(), view.Key()
	d := &tableDef{view: view, name: name, key: key, byName: map[string]int{}, indexes: view.Indexes()}
	for _, vc := range view.Columns() {
		c := column{name: vc.Name, index: vc.Index, typ: vc.Type}
		switch k := vc.Type.Kind(); {
		case vc.Type == timeType:
			c.kind = colTime
		case k == reflect.String:
			c.kind = colText
		case k >= reflect.Int && k <= reflect.Int64:
			c.kind = colInt
		case k >= reflect.Uint && k <= reflect.Uint64:
			c.kind = colUint
		case k == reflect.Bool:
			c.kind = colBool
		case k == reflect.Slice || k == reflect.Map || k == reflect.Struct || k == reflect.Pointer || k == reflect.Array:
			c.kind = colJSON
		default:
			return nil, fmt.Errorf("view %s: column %s: unsupported type %s", name, vc.Name, vc.Type)
		}
		d.byName[vc.Name] = len(d.cols)
		d.cols = append(d.cols, c)
	}
	names := make([]string, len(d.cols))
	sets := make([]string, 0, len(d.cols))
	for i, c := range d.cols {
		names[i] = quote(c.name)
		if c.name != key {
			sets = append(sets, fmt.Sprintf("%s = excluded.%s", quote(c.name), quote(c.name)))
		}
	}
	cols := strings.Join(names, ", ")
	d.selectSQL = fmt.Sprintf(`SELECT %s FROM %s`, cols, quote(name))
	d.getSQL = d.selectSQL + fmt.Sprintf(` WHERE %s = ?`, quote(key))
	d.putSQL = fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s WHERE excluded."version" > %s."version"`,
		quote(name), cols, strings.TrimSuffix(strings.Repeat("?, ", len(d.cols)), ", "), quote(key), strings.Join(sets, ", "), quote(name))
	return d, nil
}

func (d *tableDef) column(name string) (column, bool) {
	i, ok := d.byName[name]
	if !ok {
		return column{}, false
	}
	return d.cols[i], true
}

// ddl returns the CREATE statements of the table and its indexes.
func (d *tableDef) ddl() []string {
	defs := make([]string, len(d.cols))
	for i, c := range d.cols {
		defs[i] = "\t" + d.columnDef(c)
	}
	out := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n%s\n)", quote(d.name), strings.Join(defs, ",\n"))}
	for _, idx := range d.indexes {
		cols := make([]string, 0, len(idx)+1)
		for _, c := range idx {
			cols = append(cols, quote(c))
		}
		cols = append(cols, quote(d.key))
		out = append(out, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s)`,
			quote(d.name+"_by_"+strings.Join(idx, "_")), quote(d.name), strings.Join(cols, ", ")))
	}
	return out
}

// columnDef is one column's definition: its name, type and default.
func (d *tableDef) columnDef(c column) string {
	var typ string
	switch c.kind {
	case colText, colTime:
		typ = `TEXT NOT NULL DEFAULT ''`
	case colInt, colUint, colBool:
		typ = `INTEGER NOT NULL DEFAULT 0`
	case colJSON:
		typ = `TEXT` // JSON, NULL when nil or empty
	}
	if c.name == d.key {
		typ = `TEXT NOT NULL PRIMARY KEY`
	}
	return fmt.Sprintf("%s %s", quote(c.name), typ)
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// encodeRow returns the put statement's arguments for row, in column order.
func (d *tableDef) encodeRow(row any) ([]any, error) {
	rv := reflect.ValueOf(row)
	args := make([]any, len(d.cols))
	for i, c := range d.cols {
		a, err := c.encode(rv.FieldByIndex(c.index))
		if err != nil {
			return nil, errs.Wrap(errs.EINVALID, err, "put %s: column %q", d.name, c.name)
		}
		args[i] = a
	}
	return args, nil
}

func (c column) encode(v reflect.Value) (any, error) {
	switch c.kind {
	case colText:
		return v.String(), nil
	case colInt:
		return v.Int(), nil
	case colUint:
		u := v.Uint()
		if u > maxInteger {
			return nil, fmt.Errorf("%d does not fit a signed 64-bit integer", u)
		}
		return int64(u), nil
	case colBool:
		if v.Bool() {
			return int64(1), nil
		}
		return int64(0), nil
	case colTime:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return "", nil
		}
		return t.UTC().Format(timeLayout), nil
	default: // colJSON
		switch v.Kind() {
		case reflect.Slice, reflect.Map:
			if v.Len() == 0 {
				return nil, nil
			}
		case reflect.Pointer:
			if v.IsNil() {
				return nil, nil
			}
		}
		raw, err := json.Marshal(v.Interface())
		if err != nil {
			return nil, err
		}
		return string(raw), nil
	}
}

// encodeEq converts a Query.Eq value to the column's stored form. The value
// must be convertible to the field's type (an untyped constant is fine).
func (c column) encodeEq(val any) (any, error) {
	if c.kind == colJSON {
		return nil, fmt.Errorf("column holds JSON and cannot be compared")
	}
	v := reflect.ValueOf(val)
	if !v.IsValid() {
		return nil, fmt.Errorf("nil value")
	}
	ok := v.Type().ConvertibleTo(c.typ)
	switch c.kind {
	case colText:
		ok = ok && v.Kind() == reflect.String
	case colInt, colUint:
		ok = ok && (v.CanInt() || v.CanUint())
	}
	if !ok {
		return nil, fmt.Errorf("%T does not match the column type %s", val, c.typ)
	}
	if (c.kind == colInt || c.kind == colUint) && !fitsInteger(v, c.typ) {
		// Convert would wrap it round to another value, which a row may hold.
		return nil, fmt.Errorf("%v is out of the range of the column type %s", val, c.typ)
	}
	return c.encode(v.Convert(c.typ))
}

// fitsInteger reports whether the integer v converts to the integer type typ
// without changing its value.
func fitsInteger(v reflect.Value, typ reflect.Type) bool {
	probe := reflect.New(typ).Elem()
	switch {
	case v.CanInt() && probe.CanInt():
		return !probe.OverflowInt(v.Int())
	case v.CanInt(): // into an unsigned type
		return v.Int() >= 0 && !probe.OverflowUint(uint64(v.Int()))
	case probe.CanInt(): // an unsigned value into a signed type
		return v.Uint() <= math.MaxInt64 && !probe.OverflowInt(int64(v.Uint()))
	default:
		return !probe.OverflowUint(v.Uint())
	}
}

// scanDest returns one scan target per column.
func (d *tableDef) scanDest() []any {
	dest := make([]any, len(d.cols))
	for i, c := range d.cols {
		switch c.kind {
		case colText, colTime:
			dest[i] = new(string)
		case colInt, colUint, colBool:
			dest[i] = new(int64)
		default:
			dest[i] = new(sql.NullString)
		}
	}
	return dest
}

// decodeRow sets the fields of *out from scanned dest.
func (d *tableDef) decodeRow(dest []any, out any) error {
	rv := reflect.ValueOf(out).Elem()
	for i, c := range d.cols {
		f := rv.FieldByIndex(c.index)
		switch c.kind {
		case colText:
			f.SetString(*dest[i].(*string))
		case colInt:
			n := *dest[i].(*int64)
			if f.OverflowInt(n) {
				return errs.Errorf(errs.EINTERNAL, "sqlite views: %s.%s holds %d, out of the range of %s", d.name, c.name, n, c.typ)
			}
			f.SetInt(n)
		case colUint:
			n := *dest[i].(*int64)
			if n < 0 {
				return errs.Errorf(errs.EINTERNAL, "sqlite views: %s.%s holds %d, negative for an unsigned column", d.name, c.name, n)
			}
			f.SetUint(uint64(n))
		case colBool:
			f.SetBool(*dest[i].(*int64) != 0)
		case colTime:
			s := *dest[i].(*string)
			if s == "" {
				f.Set(reflect.Zero(timeType))
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return errs.Wrap(errs.EINTERNAL, err, "sqlite views: %s.%s holds a bad time %q", d.name, c.name, s)
			}
			f.Set(reflect.ValueOf(t.UTC()))
		case colJSON:
			ns := *dest[i].(*sql.NullString)
			f.Set(reflect.Zero(c.typ))
			if !ns.Valid {
				continue
			}
			if err := json.Unmarshal([]byte(ns.String), f.Addr().Interface()); err != nil {
				return errs.Wrap(errs.EINTERNAL, err, "sqlite views: %s.%s holds bad JSON", d.name, c.name)
			}
		}
	}
	return nil
}
