package projections

import (
	"context"
	"fmt"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// ReadLog reads the log after position `after` up to position `until`, in
// pages of pageSize events, and calls fn with each page decoded, in order.
//
// It is a three-stage pipeline (read the next page, decode the one before,
// apply the one before that) so a replay keeps both cores of a small
// machine busy instead of reading, decoding and applying in turn. An event
// the codec cannot decode ends it: fn first gets the events before it, then
// ReadLog returns the codec's typed error; nothing is skipped. A page that
// comes back empty before `until` (a store whose head is not yet readable)
// ends it without error; the next call continues from the last position fn saw.
func ReadLog(ctx context.Context, store ports.EventStore, codec *events.Codec, after, until uint64, pageSize int, fn func([]events.Envelope) error) error {
	if pageSize <= 0 {
		return fmt.Errorf("projections: page size must be positive")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type rawPage struct {
		recs []events.Record
		err  error
		end  bool // the store had nothing at or after this page yet
	}
	type page struct {
		envs []events.Envelope
		err  error
	}
	raw := make(chan rawPage, 1)
	decoded := make(chan page, 1)

	// Two readers fetch alternate pages on their own read connections:
	// scanning rows is the most expensive stage, and positions are dense
	// (1, 2, 3, ... in every store), so page k is the positions
	// (after+k*pageSize, after+(k+1)*pageSize]. Were there gaps, a page would
	// just carry fewer events: events past its range are left to the next
	// page, so none is lost or read twice.
	const readers = 2
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	outs := make([]chan rawPage, readers)
	for j := range outs {
		outs[j] = make(chan rawPage, 1)
		go func(j int, out chan<- rawPage) {
			defer close(out)
			for k := uint64(j); ; k += readers {
				lo := after + k*uint64(pageSize)
				if lo >= until {
					return
				}
				recs, err := store.ReadAll(fetchCtx, lo, pageSize)
				p := rawPage{err: err, end: err == nil && len(recs) == 0}
				hi := lo + uint64(pageSize)
				for i, r := range recs {
					if r.GlobalPosition > hi {
						recs = recs[:i]
						break
					}
				}
				p.recs = recs
				select {
				case out <- p:
				case <-fetchCtx.Done():
					return
				}
				if p.err != nil || p.end {
					return
				}
			}
		}(j, outs[j])
	}
	// The merger hands pages on in log order.
	go func() {
		defer close(raw)
		defer stopFetch()
		for k := 0; ; k++ {
			p, ok := <-outs[k%readers]
			if !ok || p.end {
				return
			}
			select {
			case raw <- p:
			case <-ctx.Done():
				return
			}
			if p.err != nil {
				return
			}
		}
	}()

	go func() {
		defer close(decoded)
		for rp := range raw {
			p := page{err: rp.err}
			if rp.err == nil {
				p.envs = make([]events.Envelope, 0, len(rp.recs))
				for _, rec := range rp.recs {
					env, err := codec.Decode(rec)
					if err != nil {
						p.err = fmt.Errorf("projections: event %s at position %d (stream %q version %d): %w", rec.ID, rec.GlobalPosition, rec.Stream, rec.Version, err)
						break
					}
					p.envs = append(p.envs, env)
				}
			}
			select {
			case decoded <- p:
			case <-ctx.Done():
				return
			}
			if p.err != nil {
				return
			}
		}
	}()

	for p := range decoded {
		if len(p.envs) > 0 {
			if err := fn(p.envs); err != nil {
				return err
			}
		}
		if p.err != nil {
			return p.err
		}
	}
	return ctx.Err()
}
