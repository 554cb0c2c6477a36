package porttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// LastSeen runs the last-seen store contract against stores from newStore.
// newStore may return the same store each time: every case uses its own
// runner ids.
func LastSeen(t *testing.T, newStore func(t *testing.T) ports.LastSeen) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)

	t.Run("get_of_an_unknown_runner_is_not_found", func(t *testing.T) {
		s := newStore(t)
		_, ok, err := s.Get(ctx, uniqueKey("ls-missing"))
		if err != nil || ok {
			t.Fatalf("get of an unknown runner: found %v, %v", ok, err)
		}
	})

	t.Run("touch_then_get_returns_the_heartbeat", func(t *testing.T) {
		s := newStore(t)
		hb := ports.Heartbeat{RunnerID: uniqueKey("ls-r"), At: at, State: "BUSY", RunningJobs: []int64{7, 1 << 40}, Version: "v1.2.3",
			CPUPercent: 87.25, MemoryPercent: 0.5}
		mustTouch(t, s, hb)
		got, ok, err := s.Get(ctx, hb.RunnerID)
		if err != nil || !ok {
			t.Fatalf("get: found %v, %v", ok, err)
		}
		mustEqualHeartbeat(t, got, hb)
	})

	t.Run("a_later_touch_replaces_the_record", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("ls-r")
		mustTouch(t, s, ports.Heartbeat{RunnerID: id, At: at, State: "BUSY", RunningJobs: []int64{1}, Version: "v1"})
		later := ports.Heartbeat{RunnerID: id, At: at.Add(5 * time.Second), State: "IDLE", Version: "v2", CPUPercent: 100, MemoryPercent: 33.3}
		mustTouch(t, s, later)
		got, _, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualHeartbeat(t, got, later)
	})

	t.Run("an_older_touch_does_not_replace_a_newer_record", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("ls-r")
		newer := ports.Heartbeat{RunnerID: id, At: at.Add(time.Minute), State: "IDLE", Version: "v2"}
		mustTouch(t, s, newer)
		mustTouch(t, s, ports.Heartbeat{RunnerID: id, At: at, State: "BUSY", RunningJobs: []int64{3}, Version: "v1"})
		got, _, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualHeartbeat(t, got, newer)
	})

	t.Run("list_reads_the_named_runners_in_one_call", func(t *testing.T) {
		s := newStore(t)
		var ids []string
		want := map[string]ports.Heartbeat{}
		for i := range 5 {
			hb := ports.Heartbeat{RunnerID: uniqueKey("ls-list"), At: at.Add(time.Duration(i) * time.Second), State: "IDLE", Version: fmt.Sprint(i)}
			mustTouch(t, s, hb)
			ids = append(ids, hb.RunnerID)
			want[hb.RunnerID] = hb
		}
		missing := uniqueKey("ls-list-missing")
		got, err := s.List(ctx, append(slices.Clone(ids), missing, ids[0]))
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("list: %d records, want %d (%v)", len(got), len(want), got)
		}
		for id, hb := range want {
			mustEqualHeartbeat(t, got[id], hb)
		}
		if none, err := s.List(ctx, nil); err != nil || len(none) != 0 {
			t.Fatalf("list of no ids: %v, %v", none, err)
		}
	})

	t.Run("list_of_more_than_the_batch_is_invalid", func(t *testing.T) {
		s := newStore(t)
		ids := make([]string, ports.MaxLastSeenBatch+1)
		for i := range ids {
			ids[i] = fmt.Sprintf("ls-over-%d", i)
		}
		if _, err := s.List(ctx, ids); errs.Code(err) != errs.EINVALID {
			t.Fatalf("list of %d ids: %v, want EINVALID", len(ids), err)
		}
	})

	t.Run("list_of_a_full_batch", func(t *testing.T) {
		s := newStore(t)
		prefix := uniqueKey("ls-full")
		ids := make([]string, ports.MaxLastSeenBatch)
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
		// Every 10th has a record.
		for i := 0; i < len(ids); i += 10 {
			mustTouch(t, s, ports.Heartbeat{RunnerID: ids[i], At: at, State: "IDLE"})
		}
		got, err := s.List(ctx, ids)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(got) != len(ids)/10 {
			t.Fatalf("list: %d records, want %d", len(got), len(ids)/10)
		}
	})

	t.Run("concurrent_touches_keep_the_latest", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("ls-race")
		const n = 16
		errc := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- s.Touch(ctx, ports.Heartbeat{RunnerID: id, At: at.Add(time.Duration(i) * time.Second), State: "IDLE", Version: fmt.Sprint(i)})
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("touch: %v", err)
			}
		}
		got, _, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != fmt.Sprint(n-1) {
			t.Fatalf("after %d concurrent touches the record is %+v, want the latest (version %d)", n, got, n-1)
		}
	})

	t.Run("touch_of_an_empty_runner_id_is_invalid", func(t *testing.T) {
		s := newStore(t)
		if err := s.Touch(ctx, ports.Heartbeat{At: at, State: "IDLE"}); errs.Code(err) != errs.EINVALID {
			t.Fatalf("touch without a runner id: %v, want EINVALID", err)
		}
	})
}

func mustTouch(t *testing.T, s ports.LastSeen, hb ports.Heartbeat) {
	t.Helper()
	if err := s.Touch(context.Background(), hb); err != nil {
		t.Fatalf("touch %s: %v", hb.RunnerID, err)
	}
}

func mustEqualHeartbeat(t *testing.T, got, want ports.Heartbeat) {
	t.Helper()
	if got.RunnerID != want.RunnerID || !got.At.Equal(want.At) || got.State != want.State ||
		got.Version != want.Version || !slices.Equal(got.RunningJobs, want.RunningJobs) ||
		got.CPUPercent != want.CPUPercent || got.MemoryPercent != want.MemoryPercent {
		t.Fatalf("heartbeat\n got %+v\nwant %+v", got, want)
	}
}
