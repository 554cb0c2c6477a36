package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Config is what a Loop needs.
type Config struct {
	Store      ports.EventStore
	Views      ports.ViewStore
	Codec      *events.Codec
	Projectors []Projector
	// BatchSize is how many events one page (and one views batch) holds (default 500).
	BatchSize int
	// Wake, when set, returns a channel closed at the next append (sqlite's
	// DB.Changed); Run then reacts at once instead of at the next poll.
	Wake func() <-chan struct{}
	// PollInterval is how long Run waits without a wake-up (default 200ms),
	// and the first delay after an error (doubling up to maxRetryDelay).
	PollInterval time.Duration
	// Logger receives Run's retried errors (default slog.Default()).
	Logger *slog.Logger
}

const maxRetryDelay = 30 * time.Second

// Loop feeds the projectors from the log: the projector loop, named so as
// not to be confused with the runners view or domain.Runner. Every projector
// has its own checkpoint (the global position it finished); a page of events is applied
// to every projector that has not seen it, and each projector's checkpoint is
// saved in the same views batch as its rows.
type Loop struct {
	cfg Config
}

// NewLoop returns a Loop over cfg, refusing missing dependencies.
func NewLoop(cfg Config) (*Loop, error) {
	switch {
	case cfg.Store == nil:
		return nil, errs.Errorf(errs.EINVALID, "projections: loop needs an event store")
	case cfg.Views == nil:
		return nil, errs.Errorf(errs.EINVALID, "projections: loop needs a view store")
	case cfg.Codec == nil:
		return nil, errs.Errorf(errs.EINVALID, "projections: loop needs a codec")
	case len(cfg.Projectors) == 0:
		return nil, errs.Errorf(errs.EINVALID, "projections: loop needs at least one projector")
	case cfg.BatchSize < 0:
		return nil, errs.Errorf(errs.EINVALID, "projections: negative batch size %d", cfg.BatchSize)
	}
	seen := map[string]bool{}
	for i, p := range cfg.Projectors {
		if p == nil {
			return nil, errs.Errorf(errs.EINVALID, "projections: projector %d is nil", i)
		}
		if p.Name() == "" || seen[p.Name()] {
			return nil, errs.Errorf(errs.EINVALID, "projections: projector name %q is empty or used twice", p.Name())
		}
		seen[p.Name()] = true
	}
	cfg.Projectors = append([]Projector(nil), cfg.Projectors...)
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 500
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Loop{cfg: cfg}, nil
}

// projector returns the loop's projector named name.
func (r *Loop) projector(name string) (Projector, bool) {
	for _, p := range r.cfg.Projectors {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// CatchUp brings every projector to the log head as of the call. An event
// the codec cannot decode (unknown type, corrupt payload) stops it with the
// codec's typed error after the events before it are applied: it is never
// skipped. A projector error (a gap, an unavailable store) rolls back the
// page where the view store is transactional and is returned.
func (r *Loop) CatchUp(ctx context.Context) error {
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	from, err := r.lowestCheckpoint(ctx)
	if err != nil {
		return err
	}
	return ReadLog(ctx, r.cfg.Store, r.cfg.Codec, from, head, r.cfg.BatchSize, func(envs []events.Envelope) error {
		return r.cfg.Views.Batch(ctx, func(tx ports.ViewTx) error { return r.applyPage(ctx, tx, envs) })
	})
}

// applyPage gives each projector the events of envs above its checkpoint
// and moves the checkpoint past them. Rows and checkpoints go through a
// write-back cache for the page (see writeBack).
func (r *Loop) applyPage(ctx context.Context, tx ports.ViewTx, envs []events.Envelope) error {
	wb := newWriteBack(tx)
	for _, p := range r.cfg.Projectors {
		cp, err := wb.Checkpoint(ctx, p.Name())
		if err != nil {
			return err
		}
		last := cp
		for _, env := range envs {
			if env.GlobalPosition <= cp {
				continue
			}
			if err := p.Apply(ctx, wb, env); err != nil {
				return fmt.Errorf("projections: %s: event %s at position %d (%s, stream %q version %d): %w",
					p.Name(), env.ID, env.GlobalPosition, env.Type, env.Stream, env.Version, err)
			}
			last = env.GlobalPosition
		}
		if last > cp {
			if err := wb.SaveCheckpoint(ctx, p.Name(), last); err != nil {
				return err
			}
		}
	}
	return wb.flush(ctx)
}

func (r *Loop) lowestCheckpoint(ctx context.Context) (uint64, error) {
	read := r.cfg.Views.Read()
	var low uint64
	for i, p := range r.cfg.Projectors {
		cp, err := read.Checkpoint(ctx, p.Name())
		if err != nil {
			return 0, err
		}
		if i == 0 || cp < low {
			low = cp
		}
	}
	return low, nil
}

// Lag returns, per projector, how many positions its checkpoint is behind
// the log head.
func (r *Loop) Lag(ctx context.Context) (map[string]uint64, error) {
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return nil, err
	}
	read := r.cfg.Views.Read()
	out := make(map[string]uint64, len(r.cfg.Projectors))
	for _, p := range r.cfg.Projectors {
		cp, err := read.Checkpoint(ctx, p.Name())
		if err != nil {
			return nil, err
		}
		out[p.Name()] = head - min(cp, head)
	}
	return out, nil
}

// Run catches up, then waits for a wake-up or the poll interval, until ctx
// ends; it then returns nil. Errors are logged and retried with a growing
// delay, except an event the codec cannot decode: waiting will not fix that
// (a newer build will), so Run returns the typed error.
func (r *Loop) Run(ctx context.Context) error {
	return Follow(ctx, Following{Poll: r.cfg.PollInterval, Wake: r.cfg.Wake}, func(ctx context.Context) error {
		err := r.CatchUp(ctx)
		if err != nil && !permanent(err) && ctx.Err() == nil {
			r.cfg.Logger.ErrorContext(ctx, "projections: catch-up failed; retrying", "error", err, "code", errs.Code(err))
			return ErrRetry
		}
		return err
	})
}

// ErrRetry, returned by a Follow step, asks for the step again after the
// growing retry delay rather than at the next wake-up.
var ErrRetry = errors.New("projections: retry the step")

// Following is how Follow waits between steps.
type Following struct {
	// Poll is the wait between steps, and the first delay after ErrRetry
	// (doubling up to 30 s).
	Poll time.Duration
	// Wake, when set, returns a channel that is closed at the next append.
	Wake func() <-chan struct{}
	// Also, when set, wakes the wait too (a background action ended).
	Also <-chan struct{}
}

// Follow runs step until ctx ends (then it returns nil) or step returns an
// error other than ErrRetry (returned as it is): after a step it waits for
// the next append, f.Also or f.Poll; after ErrRetry for a delay that doubles
// up to 30 s, waking for nothing else, so that a burst of appends cannot
// turn a failing step into a busy loop. The wake channel is taken before
// the step, so an append landing during the step still wakes the wait.
// It is the one follow-the-log loop of the projectors and the provisioner.
func Follow(ctx context.Context, f Following, step func(context.Context) error) error {
	delay := f.Poll
	for {
		var wake <-chan struct{}
		if f.Wake != nil {
			wake = f.Wake()
		}
		also := f.Also
		err := step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := f.Poll
		switch {
		case errors.Is(err, ErrRetry):
			wait, wake, also = delay, nil, nil
			delay = min(2*delay, maxRetryDelay)
		case err != nil:
			return err
		default:
			delay = f.Poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-also:
		case <-t.C:
		}
		t.Stop()
	}
}

func permanent(err error) bool {
	var unknown *events.UnknownTypeError
	var corrupt *events.CorruptPayloadError
	return errors.As(err, &unknown) || errors.As(err, &corrupt)
}

// Replay rebuilds one view from the whole log: it truncates the view (which
// resets the checkpoint of its projector) and catches up, the same code path
// as live projection. The other projectors are at the head already and skip
// what they have seen.
func Replay(ctx context.Context, r *Loop, view string) error {
	if _, ok := r.projector(view); !ok {
		return errs.Errorf(errs.EINVALID, "replay: no projector writes view %q", view)
	}
	if err := r.cfg.Views.Truncate(ctx, view); err != nil {
		return err
	}
	return r.CatchUp(ctx)
}
