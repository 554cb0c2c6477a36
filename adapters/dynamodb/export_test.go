package dynamodb

// SetPageBounds makes ListPage's bounds small for a test and returns the
// function that restores them.
func SetPageBounds(rounds, readItems int) (restore func()) {
	r, i := pageRounds, filteredReadItems
	pageRounds, filteredReadItems = rounds, readItems
	return func() { pageRounds, filteredReadItems = r, i }
}
