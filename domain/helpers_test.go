package domain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// history wraps evs into envelopes of stream at versions 1..n, as a store
// would return them.
func history(stream string, evs ...events.Event) []events.Envelope {
	out := make([]events.Envelope, len(evs))
	for i, ev := range evs {
		out[i] = events.Envelope{
			Metadata: events.Metadata{ID: "ev-" + string(rune('a'+i)), OccurredAt: t0},
			Position: events.Position{Stream: stream, Version: uint64(i + 1)},
			Type:     ev.EventName(),
			Payload:  ev,
		}
	}
	return out
}

// wantCode fails unless err carries code ("" means no error).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := errs.Code(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

// mustDecide returns a function that fails on a decision error and returns
// the events: mustDecide(t)(r.Terminate("x")).
func mustDecide(t *testing.T) func([]events.Event, error) []events.Event {
	return func(evs []events.Event, err error) []events.Event {
		t.Helper()
		if err != nil {
			t.Fatalf("decision failed: %v", err)
		}
		return evs
	}
}

// assertPure calls decide twice and checks that both calls return equal
// results and leave the aggregate's version alone.
func assertPure(t *testing.T, version func() uint64, decide func() ([]events.Event, error)) {
	t.Helper()
	before := version()
	a, errA := decide()
	b, errB := decide()
	if !reflect.DeepEqual(a, b) || errs.Code(errA) != errs.Code(errB) {
		t.Fatalf("decision is not pure: %v/%v then %v/%v", a, errA, b, errB)
	}
	if version() != before {
		t.Fatalf("decision moved the version from %d to %d", before, version())
	}
}

func wantEvents(t *testing.T, got []events.Event, want ...events.Event) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n got %#v\nwant %#v", got, want)
	}
}

func sha16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}
