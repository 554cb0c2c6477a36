package ports_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/ports"
)

type rowA struct {
	ID      string `db:"id"`
	N       int    `db:"n"`
	Version uint64 `db:"version"`
}

func (r rowA) RowKey() string     { return r.ID }
func (r rowA) RowVersion() uint64 { return r.Version }

type rowB struct {
	ID      string `db:"id"`
	N       int    `db:"n"`
	M       string `db:"m"`
	Version uint64 `db:"version"`
}

func (r rowB) RowKey() string     { return r.ID }
func (r rowB) RowVersion() uint64 { return r.Version }

type badKey struct {
	ID      string `db:"id"`
	Other   string `db:"other"`
	Version uint64 `db:"version"`
}

func (r badKey) RowKey() string     { return r.Other }
func (r badKey) RowVersion() uint64 { return r.Version }

func TestViewShape_changes_with_columns_rev_key_and_indexes(t *testing.T) {
	base := ports.NewView[rowA](ports.ViewSpec{Name: "v", Key: "id"}).Def().Shape()
	if again := ports.NewView[rowA](ports.ViewSpec{Name: "v", Key: "id"}).Def().Shape(); again != base {
		t.Fatalf("shape is not stable: %s, %s", base, again)
	}
	for name, spec := range map[string]func() string{
		"column_added": func() string { return ports.NewView[rowB](ports.ViewSpec{Name: "v", Key: "id"}).Def().Shape() },
		"rev_bumped":   func() string { return ports.NewView[rowA](ports.ViewSpec{Name: "v", Key: "id", Rev: 1}).Def().Shape() },
		"index_added": func() string {
			return ports.NewView[rowA](ports.ViewSpec{Name: "v", Key: "id", Indexes: [][]string{{"n"}}}).Def().Shape()
		},
		"renamed": func() string { return ports.NewView[rowA](ports.ViewSpec{Name: "w", Key: "id"}).Def().Shape() },
	} {
		if got := spec(); got == base {
			t.Errorf("%s: shape unchanged (%s)", name, got)
		}
	}
}

func TestNewView_refuses_mistakes(t *testing.T) {
	for name, f := range map[string]func(){
		"key_is_not_RowKey":   func() { ports.NewView[badKey](ports.ViewSpec{Name: "v", Key: "id"}) },
		"unknown_key":         func() { ports.NewView[rowA](ports.ViewSpec{Name: "v", Key: "nope"}) },
		"index_on_no_column":  func() { ports.NewView[rowA](ports.ViewSpec{Name: "v", Key: "id", Indexes: [][]string{{"nope"}}}) },
		"empty_name":          func() { ports.NewView[rowA](ports.ViewSpec{Key: "id"}) },
		"key_is_not_a_string": func() { ports.NewView[rowA](ports.ViewSpec{Name: "v", Key: "n"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewView did not panic", name)
				}
			}()
			f()
		}()
	}
	if _, err := ports.NewViewSet(ports.Runners.Def(), ports.Runners.Def()); err == nil {
		t.Error("a view set with a view twice was accepted")
	}
}
