package domain

import (
	"maps"
	"slices"

	"github.com/polar-gosling/polar-gosling/events"
)

// NestSync is the history of Nest syncs (stream "nest"). It remembers the
// last commit that synced successfully (the next sync diffs against it)
// and the .fly files the log holds as live: the files of that commit, as
// the changes of every NestSynced add up to.
type NestSync struct {
	version
	lastCommit string
	lastStatus SyncStatus
	live       map[string]bool // .fly path -> true
}

// RehydrateNestSync rebuilds the Nest sync history.
func RehydrateNestSync(history []events.Envelope) (*NestSync, error) {
	n := &NestSync{}
	v, err := replay(n, NestStream(), history)
	if err != nil {
		return nil, err
	}
	n.v = v
	return n, nil
}

// LastCommit returns the last successfully synced commit ("" before the first).
func (n *NestSync) LastCommit() string { return n.lastCommit }

// LastStatus returns the outcome of the last sync (zero before the first).
func (n *NestSync) LastStatus() SyncStatus { return n.lastStatus }

// LivePaths returns, sorted, the .fly files of the last synced commit as
// the log records them: every NestSynced's changes applied in order. It
// needs no Git object, so it holds after the commit itself is gone.
func (n *NestSync) LivePaths() []string {
	return slices.Sorted(maps.Keys(n.live))
}

func checkSyncHeader(trigger string, durationMS int64) error {
	if _, err := ParseSyncTrigger(trigger); err != nil {
		return err
	}
	if durationMS < 0 {
		return invalid("nest sync: negative duration %d ms", durationMS)
	}
	return nil
}

// RecordSynced records a successful sync of s.Commit. PreviousCommit is
// always the last successfully synced commit, whatever the caller put there.
func (n *NestSync) RecordSynced(s events.NestSynced) ([]events.Event, error) {
	if err := checkSyncHeader(s.Trigger, s.DurationMS); err != nil {
		return nil, err
	}
	if err := checkCommit(s.Commit); err != nil {
		return nil, err
	}
	if s.EggsAdded < 0 || s.EggsUpdated < 0 || s.EggsRemoved < 0 || s.JobsSynced < 0 {
		return nil, invalid("nest sync of %s: negative counts", s.Commit)
	}
	s.PreviousCommit = n.lastCommit
	s.Changes = slices.Clone(s.Changes)
	return []events.Event{s}, nil
}

// RecordFailed records a failed sync: file diagnostics, or an error that is
// not about a file (then the commit may be unknown and empty).
func (n *NestSync) RecordFailed(f events.NestSyncFailed) ([]events.Event, error) {
	if err := checkSyncHeader(f.Trigger, f.DurationMS); err != nil {
		return nil, err
	}
	if f.Commit != "" || f.Error == "" {
		if err := checkCommit(f.Commit); err != nil {
			return nil, err
		}
	}
	if len(f.Diagnostics) == 0 && f.Error == "" {
		return nil, invalid("nest sync failure of %s carries no diagnostic and no error", f.Commit)
	}
	// The error text goes to the API and the log for good: no credential
	// may be in it, and it has a bound.
	f.Error = Truncate(Redact(f.Error), MaxSyncErrorLen)
	f.PreviousCommit = n.lastCommit
	f.Diagnostics = slices.Clone(f.Diagnostics)
	return []events.Event{f}, nil
}

// RecordFailureRepeated records that a recorded failure happened again r.Count
// times (cumulative since it was recorded). It changes no state: the
// outcome it repeats is already the recorded one.
func (n *NestSync) RecordFailureRepeated(r events.NestSyncFailureRepeated) ([]events.Event, error) {
	switch {
	case r.FailureEventID == "" || r.FailurePosition == 0:
		return nil, invalid("nest sync failure repeat: the repeated failure's event id and position are required")
	case r.Count < 1:
		return nil, invalid("nest sync failure repeat of %s: count %d is not positive", r.FailureEventID, r.Count)
	case r.FirstAt.IsZero() || r.LastAt.Before(r.FirstAt):
		return nil, invalid("nest sync failure repeat of %s: first %s and last %s are not in order", r.FailureEventID, r.FirstAt, r.LastAt)
	}
	if r.Commit != "" {
		if err := checkCommit(r.Commit); err != nil {
			return nil, err
		}
	}
	return []events.Event{r}, nil
}

func (n *NestSync) apply(ev events.Event) error {
	switch e := ev.(type) {
	case events.NestSynced:
		n.lastCommit, n.lastStatus = e.Commit, SyncSuccess
		if n.live == nil {
			n.live = map[string]bool{}
		}
		for _, c := range e.Changes {
			if c.Action == "removed" {
				delete(n.live, c.Path)
			} else {
				n.live[c.Path] = true
			}
		}
	case events.NestSyncFailed:
		n.lastStatus = SyncFailed
	case events.NestSyncFailureRepeated:
	default:
		return unknownEvent("nest", ev)
	}
	return nil
}
