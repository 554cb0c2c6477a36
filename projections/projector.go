// Package projections builds the read views from the event log. Each
// Projector writes one view; the Loop feeds every projector the log in
// global order, each from its own checkpoint, and saves the checkpoint in the
// same views batch as the rows. Replay is the same code path after a
// Truncate.
//
// Rows are functions of events only: timestamps come from the envelope
// (OccurredAt, RecordedAt) or the payload, never from a clock, and empty
// slices and maps are nil, so a replay gives rows reflect.DeepEqual to live
// ones.
package projections

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Projector turns events into rows of one view.
type Projector interface {
	// Name is the projector's checkpoint name and the view it writes
	// (ports.ViewRunners, ...): Truncate of the view resets its checkpoint.
	Name() string
	// Apply folds env into the view through tx. It is called once per event
	// above the projector's checkpoint, in log order, and must be idempotent:
	// after a crash between a non-transactional store's writes and its
	// checkpoint, events are applied again.
	Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error
}

// All returns the projectors of every view.
func All() []Projector {
	return []Projector{Runners{}, EggConfigs{}, SyncHistory{}, DeploymentPlans{}, AuditLogs{}, EggWebhooks{}, BinaryVersions{}}
}

// ErrGap is matched with errors.Is by every GapError.
var ErrGap = errors.New("projections: gap in a stream")

// GapError is an event that is more than one version ahead of its row: an
// earlier event of the stream was not applied. It is EINTERNAL, so the
// loop stops and retries instead of skipping events.
type GapError struct {
	View    string
	Stream  string
	Applied uint64 // the row's version (0: no row)
	Got     uint64 // the event's version
}

func (e *GapError) Error() string {
	return fmt.Sprintf("projections: %s: stream %q is at version %d in the view but event version %d arrived", e.View, e.Stream, e.Applied, e.Got)
}
func (e *GapError) Is(target error) bool { return target == ErrGap }
func (e *GapError) ErrorCode() string    { return errs.EINTERNAL }

// streamKeyed is a view with one row per stream of one aggregate kind
// ("runner-<id>" -> the row with key <id>). Every event of such a stream
// goes to the row, so the row's version is the stream's version and
// idempotency is by (stream, version).
type streamKeyed[R ports.ViewRow] struct {
	view       string
	prefix     string
	table      func(ports.ViewTx) ports.Table[R]
	newRow     func(key string) R
	setVersion func(*R, uint64)
}

// key returns the row key of stream, or false when the stream is not of this view.
func (s streamKeyed[R]) key(stream string) (string, bool) {
	key, ok := strings.CutPrefix(stream, s.prefix)
	return key, ok && key != ""
}

// apply is the one idempotency rule of stream-keyed views: an event at or
// below the row's version was applied already and is skipped; one more than
// a version ahead is a gap (a missing row counts as version 0); otherwise
// evolve changes the row, which is stored with the event's version.
func (s streamKeyed[R]) apply(ctx context.Context, tx ports.ViewTx, env events.Envelope, evolve func(row *R)) error {
	key, ok := s.key(env.Stream)
	if !ok {
		return nil
	}
	t := s.table(tx)
	row, found, err := t.Get(ctx, key)
	if err != nil {
		return err
	}
	var applied uint64
	if found {
		applied = row.RowVersion()
	} else {
		row = s.newRow(key)
	}
	switch {
	case env.Version <= applied:
		return nil
	case env.Version > applied+1:
		return &GapError{View: s.view, Stream: env.Stream, Applied: applied, Got: env.Version}
	}
	evolve(&row)
	s.setVersion(&row, env.Version)
	_, err = t.Put(ctx, row)
	return err
}

// payload returns the event struct itself: the codec decodes to pointers,
// and projectors switch on values.
func payload(env events.Envelope) events.Event {
	v := reflect.ValueOf(env.Payload)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		if ev, ok := v.Elem().Interface().(events.Event); ok {
			return ev
		}
	}
	return env.Payload
}

// utc normalises a time from an event; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// nilIfEmpty makes "none" one value: views store nil and empty alike.
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return append(S(nil), s...)
}

func nilIfEmptyMap[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	out := make(M, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
