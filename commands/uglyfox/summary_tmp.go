package uglyfox

// Summary is what one sweep did. This minimal stand-in exists only until
// the sweep (Sweeper, decide*.go, sweep*.go) is merged; its Summary
// replaces this file.
type Summary struct {
	Runners   int // runners looked at
	Decisions int // decisions sent
}
