package sqlite

import (
	"slices"
	"testing"
)

// AddMigrationForTest appends a schema step after the known ones for the
// test, as a later release would, and returns its number.
func AddMigrationForTest(t testing.TB, name string, stmts ...string) int {
	saved := migrations
	step := migrations[len(migrations)-1].step + 1
	migrations = append(slices.Clone(migrations), migration{step: step, name: name, stmts: stmts})
	t.Cleanup(func() { migrations = saved })
	return step
}
