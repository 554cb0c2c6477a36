package dynamodb

import (
	"context"
	"slices"
)

// SetPageBounds makes ListPage's bounds small for a test and returns the
// function that restores them.
func SetPageBounds(rounds, readItems int) (restore func()) {
	r, i := pageRounds, filteredReadItems
	pageRounds, filteredReadItems = rounds, readItems
	return func() { pageRounds, filteredReadItems = r, i }
}

// AddMigrationForTest appends a schema step after the known ones for the
// test, as a later release would, and returns its number.
func AddMigrationForTest(t interface{ Cleanup(func()) }, name string, run func(ctx context.Context, c Config) error) int {
	saved := migrations
	step := migrations[len(migrations)-1].step + 1
	migrations = append(slices.Clone(migrations), migration{step: step, name: name, run: run})
	t.Cleanup(func() { migrations = saved })
	return step
}
