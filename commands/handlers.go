package commands

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Defaults of the conflict retry.
const (
	DefaultConflictRetries = 5
	defaultBackoffBase     = 2 * time.Millisecond
	defaultBackoffMax      = 100 * time.Millisecond
)

// Handlers carries out commands against the event store. It is safe for
// concurrent use; every method is one load -> decide -> append cycle.
type Handlers struct {
	store   ports.EventStore
	codec   *events.Codec
	clock   func() time.Time
	newID   func() string
	retries int
	base    time.Duration
	max     time.Duration
	leases  ports.Leases // checks fenced commands (Meta.FenceLease)
}

// Option adjusts Handlers.
type Option func(*Handlers)

// WithConflictRetries sets how many times a cycle that lost a version race is
// run again (default 5). 0 gives up at the first conflict.
func WithConflictRetries(n int) Option { return func(h *Handlers) { h.retries = n } }

// WithConflictBackoff sets the jittered backoff between conflict retries:
// the n-th wait is random in [d/2, d] with d = min(base<<n, max).
func WithConflictBackoff(base, max time.Duration) Option {
	return func(h *Handlers) { h.base, h.max = base, max }
}

// WithLeases sets the lease store that fenced commands (Meta.FenceLease)
// are checked against; without one, a fenced command is refused.
func WithLeases(l ports.Leases) Option { return func(h *Handlers) { h.leases = l } }

// NewHandlers returns the handlers over store. codec encodes and decodes the
// events, clock stamps OccurredAt and newID gives every event its id (a
// UUIDv7 in production). None may be nil.
func NewHandlers(store ports.EventStore, codec *events.Codec, clock func() time.Time, newID func() string, opts ...Option) (*Handlers, error) {
	switch {
	case store == nil:
		return nil, errors.New("commands: nil event store")
	case codec == nil:
		return nil, errors.New("commands: nil codec")
	case clock == nil:
		return nil, errors.New("commands: nil clock")
	case newID == nil:
		return nil, errors.New("commands: nil id generator")
	}
	h := &Handlers{store: store, codec: codec, clock: clock, newID: newID, retries: DefaultConflictRetries, base: defaultBackoffBase, max: defaultBackoffMax}
	for _, o := range opts {
		o(h)
	}
	if h.retries < 0 {
		return nil, fmt.Errorf("commands: negative conflict retries %d", h.retries)
	}
	if h.base <= 0 || h.max < h.base {
		return nil, fmt.Errorf("commands: conflict backoff needs 0 < base (%s) <= max (%s)", h.base, h.max)
	}
	return h, nil
}

// decider rebuilds an aggregate from its history and decides.
type decider func(history []events.Envelope) ([]events.Event, error)

// decideOn adapts a Rehydrate function and a decision into a decider.
func decideOn[A any](rehydrate func([]events.Envelope) (A, error), decide func(A) ([]events.Event, error)) decider {
	return func(history []events.Envelope) ([]events.Event, error) {
		agg, err := rehydrate(history)
		if err != nil {
			return nil, err
		}
		return decide(agg)
	}
}

// cycle describes one command's load -> decide -> append.
type cycle struct {
	name   string // the command name, for error messages
	stream string
	meta   Meta
	decide decider
	// fresh skips the load: the decision is made on an empty history.
	// For streams that have no state (audit records); their idempotency
	// key is claimed store-wide, as no reload can find it.
	fresh bool
	// optimistic makes the first attempt decide on an empty history and
	// append with NoStream: for commands that create an aggregate the
	// stream almost never exists, so this saves a read, and the store's
	// version check makes the guess safe. If the stream does exist, the
	// conflict is retried at once with a real load.
	optimistic bool
	// expect overrides the expected version (default: At the loaded version).
	expect *ports.ExpectedVersion
	// key overrides Meta.IdempotencyKey.
	key string
}

// run executes c, running it again after a version conflict up to the
// configured number of retries with a short jittered backoff. Any other
// error ends it at once; a cancelled ctx ends it with ctx.Err().
func (h *Handlers) run(ctx context.Context, c cycle) (ports.AppendResult, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return ports.AppendResult{}, err
		}
		guess := c.optimistic && attempt == 0
		res, err := h.once(ctx, c, guess)
		if err == nil {
			return res, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ports.AppendResult{}, ctxErr
		}
		if !errors.Is(err, ports.ErrConflict) {
			return ports.AppendResult{}, fmt.Errorf("%s: %w", c.name, err)
		}
		if guess {
			continue // the stream exists: load it and decide for real
		}
		if attempt >= h.retries {
			return ports.AppendResult{}, errs.Wrap(errs.ECONFLICT, err, "%s: %s is being changed concurrently; gave up after %d attempts", c.name, c.stream, attempt+1)
		}
		if err := h.sleep(ctx, attempt); err != nil {
			return ports.AppendResult{}, err
		}
	}
}

func (h *Handlers) sleep(ctx context.Context, attempt int) error {
	d := h.max
	if attempt < 30 && h.base<<attempt < h.max {
		d = h.base << attempt
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (h *Handlers) once(ctx context.Context, c cycle, guessNew bool) (ports.AppendResult, error) {
	key := c.key
	if key == "" {
		key = c.meta.IdempotencyKey
	}
	var recs []events.Record
	if !c.fresh && !guessNew {
		var err error
		if recs, err = h.store.Load(ctx, c.stream, 0); err != nil {
			return ports.AppendResult{}, err
		}
		if res, ok := answeredBefore(recs, key); ok {
			return res, nil
		}
	}
	history, err := h.codec.DecodeAll(recs)
	if err != nil {
		return ports.AppendResult{}, err
	}
	var version uint64
	if n := len(recs); n > 0 {
		version = recs[n-1].Version
	}
	evs, err := c.decide(history)
	if err != nil || len(evs) == 0 {
		return ports.AppendResult{}, err
	}
	batch, err := h.encode(c.meta, evs)
	if err != nil {
		return ports.AppendResult{}, err
	}
	expected := ports.At(version)
	if c.expect != nil {
		expected = *c.expect
	}
	var opts []ports.AppendOption
	switch {
	case key == "":
	case expected.IsAny() || (c.fresh && !c.optimistic):
		// Nothing else guards an unchecked or blind append: the store must
		// claim the key.
		opts = append(opts, ports.WithIdempotencyKey(key))
	default:
		// The expected version guards it: a retry of the same command
		// conflicts, reloads the stream and finds its events by the label
		// (answeredBefore), so the key needs no store-wide claim.
		opts = append(opts, ports.WithStreamKey(key))
	}
	if err := h.fence(ctx, c.meta); err != nil {
		return ports.AppendResult{}, err
	}
	return h.store.Append(ctx, c.stream, expected, batch, opts...)
}

// fence refuses a fenced command whose token is no longer its lease's
// (ECONFLICT, not retried: the sender lost the lease).
func (h *Handlers) fence(ctx context.Context, meta Meta) error {
	if meta.FenceLease == "" {
		return nil
	}
	if h.leases == nil {
		return errs.Errorf(errs.EINVALID, "a command fenced by lease %s, and no lease store to check it against", meta.FenceLease)
	}
	return h.leases.Check(ctx, meta.FenceLease, meta.FenceToken, h.clock())
}

// encode wraps decided events in envelopes with fresh ids and meta's
// actor, correlation and causation.
func (h *Handlers) encode(meta Meta, evs []events.Event) ([]events.Record, error) {
	now := h.clock()
	batch := make([]events.Record, len(evs))
	for i, ev := range evs {
		rec, err := h.codec.Encode(events.Envelope{
			Metadata: events.Metadata{
				ID:            h.newID(),
				OccurredAt:    now,
				Actor:         meta.Actor,
				CorrelationID: meta.CorrelationID,
				CausationID:   meta.CausationID,
			},
			Payload: ev,
		})
		if err != nil {
			return nil, errs.Wrap(errs.EINTERNAL, err, "encode %s", ev.EventName())
		}
		batch[i] = rec
	}
	return batch, nil
}

// answeredBefore finds the events a command with idempotency key wrote to
// this stream earlier, so that a redelivered command is answered with the
// original result instead of being decided again on the state it produced.
func answeredBefore(recs []events.Record, key string) (ports.AppendResult, bool) {
	if key == "" {
		return ports.AppendResult{}, false
	}
	var res ports.AppendResult
	found := false
	for _, r := range recs {
		if r.IdempotencyKey != key {
			continue
		}
		if !found {
			res.FirstVersion, res.FirstPosition = r.Version, r.GlobalPosition
			found = true
		}
		res.LastVersion, res.LastPosition = r.Version, r.GlobalPosition
	}
	res.Duplicate = found
	return res, found
}
