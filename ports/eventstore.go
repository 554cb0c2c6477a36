// Package ports holds the interfaces that several packages share: the event
// store, the view stores the projections write and the API reads, and
// projector checkpoints. Contract suites every adapter must pass are in
// ports/porttest. This package imports no adapter.
package ports

import (
	"context"
	"errors"
	"fmt"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// ExpectedVersion is what an appender believes the stream's version is. There
// is no default: every append says NoStream(), At(n) or, deliberately, Any().
type ExpectedVersion struct {
	any bool
	v   uint64
}

// NoStream expects the stream not to exist yet.
func NoStream() ExpectedVersion { return ExpectedVersion{} }

// At expects the stream's last version to be v (At(0) is NoStream()).
func At(v uint64) ExpectedVersion { return ExpectedVersion{v: v} }

// Any skips the check: for streams where order matters but nobody decides on
// their state (audit records such as secret accesses).
func Any() ExpectedVersion { return ExpectedVersion{any: true} }

// IsAny reports whether the append is unchecked.
func (e ExpectedVersion) IsAny() bool { return e.any }

// Version returns the expected last version; 0 means the stream must not exist.
func (e ExpectedVersion) Version() uint64 { return e.v }

func (e ExpectedVersion) String() string {
	switch {
	case e.any:
		return "any"
	case e.v == 0:
		return "no stream"
	default:
		return fmt.Sprintf("version %d", e.v)
	}
}

// AppendOption adjusts one append.
type AppendOption func(*AppendOptions)

// AppendOptions are the resolved options of one append; adapters read them
// through ResolveAppendOptions.
type AppendOptions struct {
	IdempotencyKey string
	// StreamKey is set by WithStreamKey: the key labels the events but is
	// not claimed store-wide.
	StreamKey bool
}

// WithIdempotencyKey makes the append happen at most once per key: a later
// append with the same key writes nothing and returns the first result.
func WithIdempotencyKey(key string) AppendOption {
	return func(o *AppendOptions) { o.IdempotencyKey, o.StreamKey = key, false }
}

// WithStreamKey labels the appended events with key (their
// Envelope.IdempotencyKey) without claiming the key store-wide. It is for
// appends that the expected version already makes happen at most once: a
// caller that loses the version race loads the stream and finds its own
// earlier events by the label. It spares the store the key's index entry, a
// write to a random page of it for every append.
func WithStreamKey(key string) AppendOption {
	return func(o *AppendOptions) { o.IdempotencyKey, o.StreamKey = key, true }
}

// ResolveAppendOptions applies opts.
func ResolveAppendOptions(opts []AppendOption) AppendOptions {
	var o AppendOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// AppendResult tells where a batch landed.
type AppendResult struct {
	FirstVersion, LastVersion   uint64
	FirstPosition, LastPosition uint64
	// Duplicate is true when the idempotency key had been used: nothing was
	// written and the versions are those of the original append.
	Duplicate bool
	// EventIDs are the ids of the events this append wrote, in order (nil
	// for a duplicate), so a caller can answer with them without a read.
	EventIDs []string
}

// EventIDs returns the ids of evs, in order.
func EventIDs(evs []events.Record) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

// EventStore is the append-only log. Implementations satisfy the contract in
// ports/porttest: atomic per-stream batches, optimistic concurrency,
// idempotency keys, durability of acknowledged appends, and a whole-log read
// that respects each stream's order.
type EventStore interface {
	// Append writes evs to the end of stream atomically if the stream is at
	// expected. The records' Metadata, Type and Payload are the caller's; the
	// store assigns their Position. On a version mismatch it returns an error
	// for which errors.Is(err, ErrConflict) holds and writes nothing.
	Append(ctx context.Context, stream string, expected ExpectedVersion, evs []events.Record, opts ...AppendOption) (AppendResult, error)
	// AppendStreams writes every batch to the end of its stream, if each
	// stream is at its batch's Expected, all or nothing: on one conflict it
	// returns that stream's ConflictError and writes nothing. The streams
	// must be distinct; each batch's events get consecutive positions, the
	// batches in the order given, and the results come in that order. It
	// claims no idempotency key: the expected versions guard it, and a
	// batch's Key only labels its events (see WithStreamKey).
	AppendStreams(ctx context.Context, batches []StreamBatch) ([]AppendResult, error)
	// Load returns the stream's events with version > after, in order. A stream
	// that does not exist has no events.
	Load(ctx context.Context, stream string, after uint64) ([]events.Record, error)
	// LoadPage returns at most limit (>= 1, else EINVALID) of the stream's
	// events with version > after, in order: Load in bounded pages.
	LoadPage(ctx context.Context, stream string, after uint64, limit int) ([]events.Record, error)
	// ReadAll returns at most limit events with global position > after, in
	// ascending position. Every committed event is returned exactly once
	// across consecutive calls that continue from the last position seen.
	ReadAll(ctx context.Context, after uint64, limit int) ([]events.Record, error)
	// Head returns the greatest committed global position (0 when empty).
	Head(ctx context.Context) (uint64, error)
}

// ReadPage is one page of the audit replay: with a stream, its events after
// version after; without, the whole log after global position after. It
// returns at most limit records and the cursor that continues after the last
// of them (after itself when there are none): a version for a stream, a
// global position for the log.
func ReadPage(ctx context.Context, store EventStore, stream string, after uint64, limit int) ([]events.Record, uint64, error) {
	if stream == "" {
		recs, err := store.ReadAll(ctx, after, limit)
		if err != nil || len(recs) == 0 {
			return recs, after, err
		}
		return recs, recs[len(recs)-1].GlobalPosition, nil
	}
	recs, err := store.LoadPage(ctx, stream, after, limit)
	if err != nil || len(recs) == 0 {
		return recs, after, err
	}
	return recs, recs[len(recs)-1].Version, nil
}

// StreamBatch is one stream's share of an AppendStreams.
type StreamBatch struct {
	Stream   string
	Expected ExpectedVersion
	Events   []events.Record
	// Key labels the events, as WithStreamKey does (optional).
	Key string
}

// ValidateAppendStreams checks what every adapter checks before touching
// storage: each batch as ValidateAppend does, distinct streams and event
// ids, and at most maxEvents events in all (0: no limit).
func ValidateAppendStreams(batches []StreamBatch, maxEvents int) error {
	if len(batches) == 0 {
		return errs.Errorf(errs.EINVALID, "append: no streams")
	}
	streams := make(map[string]struct{}, len(batches))
	ids := map[string]struct{}{}
	total := 0
	for _, b := range batches {
		if err := ValidateAppend(b.Stream, b.Events, 0); err != nil {
			return err
		}
		if _, dup := streams[b.Stream]; dup {
			return errs.Errorf(errs.EINVALID, "append: stream %q twice in one multi-stream append", b.Stream)
		}
		streams[b.Stream] = struct{}{}
		for _, r := range b.Events {
			if _, dup := ids[r.ID]; dup {
				return errs.Errorf(errs.EINVALID, "append: event id %s twice in one multi-stream append", r.ID)
			}
			ids[r.ID] = struct{}{}
		}
		total += len(b.Events)
	}
	if maxEvents > 0 && total > maxEvents {
		return errs.Errorf(errs.EINVALID, "append: %d events over %d streams, at most %d per append", total, len(batches), maxEvents)
	}
	return nil
}

// ErrConflict is matched with errors.Is by every version conflict.
var ErrConflict = errors.New("event store: version conflict")

// ConflictError is a lost optimistic-concurrency race.
type ConflictError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   uint64 // the stream's version when known, else 0
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("event store: stream %q expected at %s, found version %d", e.Stream, e.Expected, e.Actual)
}
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
func (e *ConflictError) ErrorCode() string    { return errs.ECONFLICT }

// ValidateAppend checks what every adapter checks before touching storage.
func ValidateAppend(stream string, evs []events.Record, maxBatch int) error {
	if stream == "" {
		return errs.Errorf(errs.EINVALID, "append: empty stream name")
	}
	if len(stream) > 512 {
		return errs.Errorf(errs.EINVALID, "append: stream name longer than 512 bytes")
	}
	if len(evs) == 0 {
		return errs.Errorf(errs.EINVALID, "append to %q: no events", stream)
	}
	if maxBatch > 0 && len(evs) > maxBatch {
		return errs.Errorf(errs.EINVALID, "append to %q: %d events, at most %d per batch", stream, len(evs), maxBatch)
	}
	seen := make(map[string]struct{}, len(evs))
	for i, r := range evs {
		if r.ID == "" || r.Type == "" {
			return errs.Errorf(errs.EINVALID, "append to %q: event %d has no id or type", stream, i)
		}
		if _, dup := seen[r.ID]; dup {
			return errs.Errorf(errs.EINVALID, "append to %q: event id %s twice in one batch", stream, r.ID)
		}
		seen[r.ID] = struct{}{}
		if len(r.Payload) == 0 {
			return errs.Errorf(errs.EINVALID, "append to %q: event %s has no payload", stream, r.ID)
		}
		if r.OccurredAt.IsZero() {
			return errs.Errorf(errs.EINVALID, "append to %q: event %s has no occurred_at", stream, r.ID)
		}
	}
	return nil
}
