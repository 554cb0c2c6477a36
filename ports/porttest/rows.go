package porttest

import (
	"fmt"
	"reflect"
	"time"

	"github.com/polar-gosling/polar-gosling/ports"
)

// ProbeRow is the row of Probes, a view only the contract suites register:
// it proves that a view added by registration alone is stored, listed,
// paged, projected and replayed like the others.
type ProbeRow struct {
	ID       string            `db:"id" json:"id"`
	Events   int               `db:"events" json:"events"`
	LastType string            `db:"last_type" json:"last_type"`
	States   []string          `db:"states" json:"states"`
	Labels   map[string]string `db:"labels" json:"labels"`
	Big      uint64            `db:"big" json:"big"`
	Done     bool              `db:"done" json:"done"`
	FirstAt  time.Time         `db:"first_at" json:"first_at"`
	LastAt   time.Time         `db:"last_at" json:"last_at"`
	Version  uint64            `db:"version" json:"version"`
}

func (r ProbeRow) RowKey() string     { return r.ID }
func (r ProbeRow) RowVersion() uint64 { return r.Version }

// Probes is the test-only view of ProbeRow.
var Probes = ports.NewView[ProbeRow](ports.ViewSpec{Name: "porttest_probes", Key: "id", Indexes: [][]string{{"last_type"}}})

var contractViews = func() *ports.ViewSet {
	s, err := ports.DefaultViews().With(Probes.Def())
	if err != nil {
		panic(err)
	}
	return s
}()

// ContractViews are the views the ViewStore suite covers: every default
// view and Probes. A store under the suite must be opened with them.
func ContractViews() *ports.ViewSet { return contractViews }

// GenerateRow builds a row of view by reflection, keyed key at version.
// full sets every column to a value that is not zero and depends on the
// version (nested slices, maps and structs hold one filled element, times
// have nanoseconds); otherwise only the key and version are set and the
// rest stays nil or zero.
func GenerateRow(view *ports.ViewDef, key string, version uint64, full bool) ports.ViewRow {
	row := view.NewRow()
	if full {
		for i, c := range view.Columns() {
			fill(row.Elem().FieldByIndex(c.Index), int(version)*100+i, 0)
		}
	}
	view.SetKeyVersion(row, key, version)
	return row.Elem().Interface().(ports.ViewRow)
}

// fill sets v to a non-zero value derived from seed.
func fill(v reflect.Value, seed, depth int) {
	if depth > 4 {
		return
	}
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(rowTime.Add(time.Duration(seed) * time.Second)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("value-%d", seed))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := int64(seed + 1)
		if v.Type().Bits() == 64 {
			n += 1 << 40
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n := uint64(seed + 1)
		if v.Type().Bits() == 64 {
			n += 1 << 41
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(seed) + 0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), seed+1, depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, seed+1, depth+1)
		fill(e, seed+2, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), seed+1, depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed+i+1, depth+1)
			}
		}
	}
}
