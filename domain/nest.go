package domain

import (
	"slices"

	"github.com/polar-gosling/polar-gosling/events"
)

// NestSync is the history of Nest syncs (stream "nest"). It remembers the
// last commit that synced successfully: the next sync diffs against it.
type NestSync struct {
	version
	lastCommit string
	lastStatus SyncStatus
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
	f.PreviousCommit = n.lastCommit
	f.Diagnostics = slices.Clone(f.Diagnostics)
	return []events.Event{f}, nil
}

func (n *NestSync) apply(ev events.Event) error {
	switch e := ev.(type) {
	case events.NestSynced:
		n.lastCommit, n.lastStatus = e.Commit, SyncSuccess
	case events.NestSyncFailed:
		n.lastStatus = SyncFailed
	default:
		return unknownEvent("nest", ev)
	}
	return nil
}
