package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func TestEventStoreContractIntegration(t *testing.T) {
	s := mustEventStore(t)
	porttest.EventStore(t, func(*testing.T) ports.EventStore { return s }, porttest.Features{MaxBatch: dynamodb.MaxBatch})
}

func mustRecords(n int, tag string) []events.Record {
	out := make([]events.Record, n)
	for i := range out {
		out[i] = porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{RunnerID: tag, From: "ACTIVE", To: "IDLE", Reason: fmt.Sprint(i)})
	}
	return out
}

func mustAppend(t *testing.T, s ports.EventStore, stream string, exp ports.ExpectedVersion, evs []events.Record, opts ...ports.AppendOption) ports.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs, opts...)
	if err != nil {
		t.Fatalf("append to %s at %s: %v", stream, exp, err)
	}
	return res
}

// A reader polling the log while eight writers append to their own streams
// sees every position from 1 to the end exactly once, in order: appends that
// commit late never leave a hole that the reader skips.
func TestReadAllIsGapFreeUnderConcurrentAppendsIntegration(t *testing.T) {
	s := mustEventStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const writers, appendsEach = 8, 12
	total := 0
	for w := range writers {
		for a := range appendsEach {
			total += 1 + (w+a)%3
		}
	}

	readDone := make(chan logRead, 1)
	go func() { readDone <- followLog(ctx, s, total) }()

	written := make(chan []string, writers)
	failed := make(chan error, writers)
	for w := range writers {
		go func() {
			stream := fmt.Sprintf("gapfree-%d", w)
			var ids []string
			var version uint64
			for a := range appendsEach {
				evs := mustRecords(1+(w+a)%3, stream)
				res, err := s.Append(ctx, stream, ports.At(version), evs)
				if err != nil {
					failed <- fmt.Errorf("writer %d append %d: %w", w, a, err)
					return
				}
				version = res.LastVersion
				for _, r := range evs {
					ids = append(ids, r.ID)
				}
			}
			written <- ids
		}()
	}
	var want []string
	for range writers {
		select {
		case ids := <-written:
			want = append(want, ids...)
		case err := <-failed:
			t.Fatal(err)
		}
	}
	got := <-readDone
	if got.err != nil {
		t.Fatal(got.err)
	}
	if len(want) != total || len(got.ids) != total {
		t.Fatalf("wrote %d events, read %d distinct, want %d", len(want), len(got.ids), total)
	}
	for _, id := range want {
		if got.ids[id] != 1 {
			t.Fatalf("event %s read %d times", id, got.ids[id])
		}
	}
}

// logRead is what followLog saw: how often each event id came by, or why it
// stopped.
type logRead struct {
	ids map[string]int
	err error
}

// followLog reads the log in small pages until it has seen total events,
// failing on any position that is not the next one.
func followLog(ctx context.Context, s ports.EventStore, total int) (out logRead) {
	out.ids = map[string]int{}
	var pos uint64
	for len(out.ids) < total {
		recs, err := s.ReadAll(ctx, pos, 7)
		if err != nil {
			out.err = fmt.Errorf("read all after %d: %w", pos, err)
			return out
		}
		for _, r := range recs {
			if r.GlobalPosition != pos+1 {
				out.err = fmt.Errorf("read position %d after %d: the log has a hole", r.GlobalPosition, pos)
				return out
			}
			pos = r.GlobalPosition
			out.ids[r.ID]++
		}
		if len(recs) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return out
}

func TestIdempotentDuplicateReturnsOriginalResultIntegration(t *testing.T) {
	s := mustEventStore(t)
	ctx := context.Background()
	const key = "webhook-delivery-1"
	originals := mustRecords(2, "idem")
	first := mustAppend(t, s, "idem", ports.NoStream(), originals, ports.WithIdempotencyKey(key))
	if first.Duplicate || first.FirstVersion != 1 || first.LastVersion != 2 || first.FirstPosition != 1 || first.LastPosition != 2 {
		t.Fatalf("first append %+v", first)
	}
	cases := []struct {
		name   string
		stream string
		exp    ports.ExpectedVersion
		evs    []events.Record
	}{
		{"new_event_ids", "idem", ports.NoStream(), mustRecords(2, "idem")},
		{"same_event_ids", "idem", ports.NoStream(), originals},
		{"expected_version_now_stale", "idem", ports.At(0), mustRecords(1, "idem")},
		{"other_stream", "idem-other", ports.NoStream(), mustRecords(3, "idem-other")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustAppend(t, s, tc.stream, tc.exp, tc.evs, ports.WithIdempotencyKey(key))
			want := first
			want.Duplicate, want.EventIDs = true, nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
	if head, err := s.Head(ctx); err != nil || head != 2 {
		t.Fatalf("head %d (%v) after duplicates, want 2", head, err)
	}
	if recs, err := s.Load(ctx, "idem-other", 0); err != nil || len(recs) != 0 {
		t.Fatalf("duplicate wrote %d events to another stream (%v)", len(recs), err)
	}
}

func TestConflictReportsActualVersionIntegration(t *testing.T) {
	s := mustEventStore(t)
	mustAppend(t, s, "conflict", ports.NoStream(), mustRecords(3, "conflict"))
	_, err := s.Append(context.Background(), "conflict", ports.At(1), mustRecords(1, "conflict"))
	var conflict *ports.ConflictError
	if !errors.As(err, &conflict) || conflict.Actual != 3 || conflict.Stream != "conflict" {
		t.Fatalf("got %v, want a conflict at actual version 3", err)
	}
}

// More than one log bucket (1000 positions) is read seamlessly, from any
// starting point.
func TestReadAllCrossesLogBucketsIntegration(t *testing.T) {
	s := mustEventStore(t)
	const n = 1050
	var version uint64
	for version < n {
		batch := min(dynamodb.MaxBatch, n-int(version))
		version = mustAppend(t, s, "buckets", ports.At(version), mustRecords(batch, "buckets")).LastVersion
	}
	cases := []struct {
		name  string
		after uint64
		limit int
		first uint64
		count int
	}{
		{"within_first_bucket", 0, 10, 1, 10},
		{"across_the_boundary", 990, 20, 991, 20},
		{"starting_on_the_boundary", 999, 3, 1000, 3},
		{"tail_shorter_than_limit", 1040, 100, 1041, 10},
		{"whole_log", 0, 5000, 1, n},
		{"past_the_end", n, 10, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := s.ReadAll(context.Background(), tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.count {
				t.Fatalf("read %d events, want %d", len(recs), tc.count)
			}
			for i, r := range recs {
				if r.GlobalPosition != tc.first+uint64(i) || r.Version != r.GlobalPosition {
					t.Fatalf("event %d at position %d version %d", i, r.GlobalPosition, r.Version)
				}
			}
		})
	}
}

// The largest multi-stream append of existing streams, 32 events over three
// streams checked at their versions (one of them Any), is one transaction
// of exactly 100 items, and DynamoDB takes it.
func TestAppendStreamsFillsOneTransactionIntegration(t *testing.T) {
	s := mustEventStore(t)
	ctx := context.Background()
	mustAppend(t, s, "full-a", ports.NoStream(), mustRecords(2, "full-a"))
	mustAppend(t, s, "full-b", ports.NoStream(), mustRecords(3, "full-b"))
	mustAppend(t, s, "full-c", ports.NoStream(), mustRecords(1, "full-c"))
	res, err := s.AppendStreams(ctx, []ports.StreamBatch{
		{Stream: "full-a", Expected: ports.At(2), Events: mustRecords(11, "full-a")},
		{Stream: "full-b", Expected: ports.At(3), Events: mustRecords(11, "full-b"), Key: "label-b"},
		{Stream: "full-c", Expected: ports.Any(), Events: mustRecords(10, "full-c")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ports.AppendResult{
		{FirstVersion: 3, LastVersion: 13, FirstPosition: 7, LastPosition: 17},
		{FirstVersion: 4, LastVersion: 14, FirstPosition: 18, LastPosition: 28},
		{FirstVersion: 2, LastVersion: 11, FirstPosition: 29, LastPosition: 38},
	}
	for i := range want {
		got := res[i]
		got.EventIDs = nil
		if !reflect.DeepEqual(got, want[i]) || len(res[i].EventIDs) != int(want[i].LastVersion-want[i].FirstVersion+1) {
			t.Fatalf("result %d: %+v, want %+v", i, res[i], want[i])
		}
	}
	recs, err := s.Load(ctx, "full-b", 3)
	if err != nil || len(recs) != 11 || recs[0].IdempotencyKey != "label-b" || recs[0].ID != res[1].EventIDs[0] {
		t.Fatalf("loaded %d events of full-b (%v)", len(recs), err)
	}
	if head, err := s.Head(ctx); err != nil || head != 38 {
		t.Fatalf("head %d (%v), want 38", head, err)
	}
}

// A conflict on the second stream names it with its actual version, and
// the first stream is not written.
func TestAppendStreamsConflictNamesTheStreamIntegration(t *testing.T) {
	s := mustEventStore(t)
	ctx := context.Background()
	mustAppend(t, s, "named-b", ports.NoStream(), mustRecords(3, "named-b"))
	_, err := s.AppendStreams(ctx, []ports.StreamBatch{
		{Stream: "named-a", Expected: ports.NoStream(), Events: mustRecords(2, "named-a")},
		{Stream: "named-b", Expected: ports.At(1), Events: mustRecords(1, "named-b")},
	})
	var conflict *ports.ConflictError
	if !errors.As(err, &conflict) || conflict.Stream != "named-b" || conflict.Actual != 3 || conflict.Expected != ports.At(1) {
		t.Fatalf("got %v, want a conflict on named-b at actual version 3", err)
	}
	if recs, err := s.Load(ctx, "named-a", 0); err != nil || len(recs) != 0 {
		t.Fatalf("named-a has %d events (%v), want none", len(recs), err)
	}
	if head, err := s.Head(ctx); err != nil || head != 3 {
		t.Fatalf("head %d (%v), want 3", head, err)
	}
}
