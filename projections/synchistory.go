package projections

import (
	"context"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Sync statuses as the view shows them.
const (
	syncSuccess = "SUCCESS"
	syncFailed  = "FAILED"
)

// SyncHistory projects Nest sync results into the sync_history view: one row
// per recorded attempt, keyed by the event's global position, so key order
// is log order. Identical repeats of a failure are not rows of their own:
// nest.sync_failure_repeated folds their count and last time into the
// failure's row.
type SyncHistory struct{}

func (SyncHistory) Name() string { return ports.ViewSyncHistory }

func (SyncHistory) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	row := ports.SyncHistoryRow{
		Key:      ports.PositionKey(env.GlobalPosition),
		EventID:  env.ID,
		Position: env.GlobalPosition,
		Version:  env.Version,
	}
	switch e := payload(env).(type) {
	case events.NestSynced:
		row.Status, row.Commit, row.PreviousCommit, row.Branch, row.Trigger = syncSuccess, e.Commit, e.PreviousCommit, e.Branch, e.Trigger
		row.Changes = nilIfEmpty(e.Changes)
		row.EggsAdded, row.EggsUpdated, row.EggsRemoved, row.JobsSynced, row.UglyFoxSynced = e.EggsAdded, e.EggsUpdated, e.EggsRemoved, e.JobsSynced, e.UglyFoxSynced
		row.StartedAt, row.DurationMS = startedAt(e.StartedAt, env), e.DurationMS
		row.FullResyncReason = e.FullResyncReason
	case events.NestSyncFailureRepeated:
		return foldRepeat(ctx, tx, env, e)
	case events.NestSyncFailed:
		row.Status, row.Commit, row.PreviousCommit, row.Branch, row.Trigger = syncFailed, e.Commit, e.PreviousCommit, e.Branch, e.Trigger
		row.Diagnostics, row.Error = nilIfEmpty(e.Diagnostics), e.Error
		row.StartedAt, row.DurationMS = startedAt(e.StartedAt, env), e.DurationMS
	default:
		return nil
	}
	// The row's version is its event's: a second Put of the same event is refused.
	_, err := ports.SyncHistory.In(tx).Put(ctx, row)
	return err
}

// startedAt is the sync's start as the event tells it, or when it was
// recorded as having happened if the event has none.
func startedAt(t time.Time, env events.Envelope) time.Time {
	if t.IsZero() {
		return utc(env.OccurredAt)
	}
	return utc(t)
}

// foldRepeat sets the repeat count and last attempt of the failure row that
// e repeats. The count is cumulative, so the latest repeat event wins; the
// row takes the repeat's stream version, so a redelivery is skipped. A
// repeat whose failure row is missing or not a failure (a log edited by
// hand) changes nothing.
func foldRepeat(ctx context.Context, tx ports.ViewTx, env events.Envelope, e events.NestSyncFailureRepeated) error {
	t := ports.SyncHistory.In(tx)
	row, ok, err := t.Get(ctx, ports.PositionKey(e.FailurePosition))
	if err != nil || !ok || row.Status != syncFailed || row.EventID != e.FailureEventID || env.Version <= row.Version {
		return err
	}
	row.Repeats, row.LastAttemptAt, row.Version = e.Count, utc(e.LastAt), env.Version
	_, err = t.Put(ctx, row)
	return err
}
