package projections_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
	"github.com/polar-gosling/polar-gosling/projections"
)

// holeyStore is a real store whose whole-log reads leave some positions
// out, as a store with gaps in its positions would look to a reader.
type holeyStore struct {
	ports.EventStore
	hole func(pos uint64) bool
}

func (h holeyStore) ReadAll(ctx context.Context, after uint64, limit int) ([]events.Record, error) {
	var out []events.Record
	for len(out) < limit {
		recs, err := h.EventStore.ReadAll(ctx, after, limit)
		if err != nil || len(recs) == 0 {
			return out, err
		}
		for _, r := range recs {
			if !h.hole(r.GlobalPosition) && len(out) < limit {
				out = append(out, r)
			}
			after = r.GlobalPosition
		}
	}
	return out, nil
}

func TestReadLog_every_event_once_in_order(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "log.db"))
	ctx := context.Background()
	const total = 1000
	for i := range total / 10 {
		recs := make([]events.Record, 10)
		for j := range recs {
			recs[j] = porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{RunnerID: "r", From: "ACTIVE", To: "BUSY"})
		}
		if _, err := db.Events().Append(ctx, "runner-r", ports.At(uint64(i*10)), recs); err != nil {
			t.Fatal(err)
		}
	}
	codec := events.NewCodec(events.NewRegistry())
	tests := []struct {
		name     string
		hole     func(uint64) bool
		after    uint64
		pageSize int
	}{
		{"dense", func(uint64) bool { return false }, 0, 64},
		{"from_the_middle", func(uint64) bool { return false }, 333, 50},
		{"every_seventh_missing", func(p uint64) bool { return p%7 == 0 }, 0, 64},
		{"a_gap_wider_than_a_page", func(p uint64) bool { return p > 100 && p <= 400 }, 0, 64},
		{"page_of_one", func(p uint64) bool { return p%3 == 0 }, 900, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := holeyStore{EventStore: db.Events(), hole: tc.hole}
			var got []uint64
			err := projections.ReadLog(ctx, store, codec, tc.after, total, tc.pageSize, func(envs []events.Envelope) error {
				for _, e := range envs {
					got = append(got, e.GlobalPosition)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []uint64
			for p := tc.after + 1; p <= total; p++ {
				if !tc.hole(p) {
					want = append(want, p)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("read %d events, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("event %d at position %d, want %d", i, got[i], want[i])
				}
			}
		})
	}
	t.Run("fn_error_stops_it", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := projections.ReadLog(ctx, db.Events(), codec, 0, total, 10, func([]events.Envelope) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 3 {
			t.Fatalf("got %v after %d calls, want the fn's error after 3", err, calls)
		}
	})
}
