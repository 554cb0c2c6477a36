// Package porttest holds the contract suites every adapter of a port must
// pass. They are ordinary (non-test) code so adapters' tests can call them:
//
//	porttest.EventStore(t, func(t *testing.T) ports.EventStore { ... }, porttest.Features{})
package porttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Features declares what an adapter legitimately lacks or limits; the suite
// adapts or skips those cases and says so.
type Features struct {
	// MaxBatch is the most events one append may carry (0: no limit).
	MaxBatch int
	// Writers is how many goroutines the concurrent cases use (default 32).
	Writers int
}

var seq atomic.Uint64

// NewRecord returns a valid record with a unique id and a small payload.
func NewRecord(typ string, payload any) events.Record {
	raw, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	n := seq.Add(1)
	return events.Record{
		Metadata: events.Metadata{
			ID:            fmt.Sprintf("evt-%d-%d", time.Now().UnixNano(), n),
			OccurredAt:    time.Date(2026, 11, 29, 10, 0, 0, int(n%1e9), time.UTC),
			Actor:         "porttest",
			CorrelationID: fmt.Sprintf("corr-%d", n),
			CausationID:   fmt.Sprintf("cause-%d", n),
		},
		Type:    typ,
		Payload: raw,
	}
}

func records(n int, tag string) []events.Record {
	out := make([]events.Record, n)
	for i := range out {
		out[i] = NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{RunnerID: tag, From: "ACTIVE", To: "BUSY", Reason: fmt.Sprintf("%s-%d", tag, i)})
	}
	return out
}

var streamSeq atomic.Uint64

// uniqueStream keeps cases independent when a factory reuses one store.
func uniqueStream(t *testing.T, name string) string {
	return fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), streamSeq.Add(1))
}

func mustAppend(t *testing.T, s ports.EventStore, stream string, exp ports.ExpectedVersion, evs []events.Record, opts ...ports.AppendOption) ports.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs, opts...)
	if err != nil {
		t.Fatalf("append to %s at %s: %v", stream, exp, err)
	}
	return res
}

func mustLoad(t *testing.T, s ports.EventStore, stream string, after uint64) []events.Record {
	t.Helper()
	recs, err := s.Load(context.Background(), stream, after)
	if err != nil {
		t.Fatalf("load %s: %v", stream, err)
	}
	return recs
}

// readAllFrom reads the whole log after pos in pages of page events.
func readAllFrom(t *testing.T, s ports.EventStore, pos uint64, page int) []events.Record {
	t.Helper()
	var out []events.Record
	for {
		recs, err := s.ReadAll(context.Background(), pos, page)
		if err != nil {
			t.Fatalf("read all after %d: %v", pos, err)
		}
		if len(recs) > page {
			t.Fatalf("read all returned %d events for limit %d", len(recs), page)
		}
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			if r.GlobalPosition <= pos {
				t.Fatalf("read all after %d returned position %d", pos, r.GlobalPosition)
			}
			pos = r.GlobalPosition
		}
		out = append(out, recs...)
	}
}

// race runs write(0..n-1) from n goroutines released at once and returns
// how many succeeded; any error but a version conflict fails the test.
func race(t *testing.T, n int, write func(i int) error) (wins int) {
	t.Helper()
	errc := make(chan error, n)
	var start sync.WaitGroup
	start.Add(1)
	for i := range n {
		go func() {
			start.Wait()
			errc <- write(i)
		}()
	}
	start.Done()
	for range n {
		switch err := <-errc; {
		case err == nil:
			wins++
		case !errors.Is(err, ports.ErrConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	return wins
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

// EventStore runs the event store contract against stores from newStore.
// newStore may return the same store each time; cases use unique streams.
func EventStore(t *testing.T, newStore func(t *testing.T) ports.EventStore, f Features) {
	if f.Writers == 0 {
		f.Writers = 32
	}
	ctx := context.Background()

	t.Run("append_new_stream_assigns_versions_and_positions", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "new")
		in := records(3, stream)
		before, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res := mustAppend(t, s, stream, ports.NoStream(), in)
		if res.FirstVersion != 1 || res.LastVersion != 3 || res.Duplicate {
			t.Fatalf("result %+v, want versions 1..3", res)
		}
		if len(res.EventIDs) != 3 || res.EventIDs[0] != in[0].ID || res.EventIDs[2] != in[2].ID {
			t.Fatalf("result event ids %v, want those of the batch", res.EventIDs)
		}
		if res.FirstPosition <= before || res.LastPosition < res.FirstPosition {
			t.Fatalf("positions %d..%d after head %d", res.FirstPosition, res.LastPosition, before)
		}
		got := mustLoad(t, s, stream, 0)
		if len(got) != 3 {
			t.Fatalf("loaded %d events, want 3", len(got))
		}
		for i, r := range got {
			w := in[i]
			if r.ID != w.ID || r.Type != w.Type || r.Actor != w.Actor || r.CorrelationID != w.CorrelationID || r.CausationID != w.CausationID {
				t.Fatalf("event %d metadata %+v, want %+v", i, r.Metadata, w.Metadata)
			}
			if !r.OccurredAt.Equal(w.OccurredAt) {
				t.Fatalf("event %d occurred_at %v, want %v", i, r.OccurredAt, w.OccurredAt)
			}
			if !sameJSON(r.Payload, w.Payload) {
				t.Fatalf("event %d payload %s, want %s", i, r.Payload, w.Payload)
			}
			if r.Stream != stream || r.Version != uint64(i+1) {
				t.Fatalf("event %d at %s/%d", i, r.Stream, r.Version)
			}
			if r.RecordedAt.IsZero() {
				t.Fatalf("event %d has no recorded_at", i)
			}
			if i > 0 && r.GlobalPosition <= got[i-1].GlobalPosition {
				t.Fatalf("positions not increasing within the stream: %d then %d", got[i-1].GlobalPosition, r.GlobalPosition)
			}
		}
		if got[0].GlobalPosition != res.FirstPosition || got[2].GlobalPosition != res.LastPosition {
			t.Fatalf("stored positions %d..%d, result said %d..%d", got[0].GlobalPosition, got[2].GlobalPosition, res.FirstPosition, res.LastPosition)
		}
		head, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head < res.LastPosition {
			t.Fatalf("head %d is behind the last append %d", head, res.LastPosition)
		}
	})

	t.Run("expected_version_is_enforced", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "expect")
		mustAppend(t, s, stream, ports.NoStream(), records(2, stream))
		cases := []struct {
			name string
			exp  ports.ExpectedVersion
		}{
			{"no_stream_on_existing", ports.NoStream()},
			{"behind", ports.At(1)},
			{"ahead", ports.At(3)},
		}
		for _, tc := range cases {
			_, err := s.Append(ctx, stream, tc.exp, records(1, stream))
			if !errors.Is(err, ports.ErrConflict) {
				t.Fatalf("%s: got %v, want ErrConflict", tc.name, err)
			}
			if errs.Code(err) != errs.ECONFLICT {
				t.Fatalf("%s: code %s, want ECONFLICT", tc.name, errs.Code(err))
			}
		}
		if _, err := s.Append(ctx, uniqueStream(t, "absent"), ports.At(1), records(1, "x")); !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("At(1) on a missing stream: got %v, want ErrConflict", err)
		}
		if n := len(mustLoad(t, s, stream, 0)); n != 2 {
			t.Fatalf("conflicting appends changed the stream: %d events", n)
		}
		res := mustAppend(t, s, stream, ports.At(2), records(2, stream))
		if res.FirstVersion != 3 || res.LastVersion != 4 {
			t.Fatalf("append at 2 gave %+v", res)
		}
		res = mustAppend(t, s, stream, ports.Any(), records(1, stream))
		if res.FirstVersion != 5 {
			t.Fatalf("append with Any gave %+v, want version 5", res)
		}
	})

	t.Run("load_after_version", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "after")
		mustAppend(t, s, stream, ports.NoStream(), records(5, stream))
		got := mustLoad(t, s, stream, 3)
		if len(got) != 2 || got[0].Version != 4 || got[1].Version != 5 {
			t.Fatalf("load after 3 gave %d events", len(got))
		}
		if got := mustLoad(t, s, uniqueStream(t, "missing"), 0); len(got) != 0 {
			t.Fatalf("missing stream has %d events", len(got))
		}
	})

	// Positions and versions past the head must read as nothing, however
	// large: a store that narrows after to a signed integer must not wrap
	// it round to the start of the log.
	t.Run("reads_after_the_head_return_nothing", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "past")
		res := mustAppend(t, s, stream, ports.NoStream(), records(3, stream))
		head, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head < res.LastPosition {
			t.Fatalf("head %d is before the append's last position %d", head, res.LastPosition)
		}
		for _, after := range []uint64{head, head + 1, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64} {
			if recs, err := s.ReadAll(ctx, after, 10); err != nil || len(recs) != 0 {
				t.Errorf("ReadAll after %d (head %d): %d events, %v; want none", after, head, len(recs), err)
			}
		}
		for _, after := range []uint64{res.LastVersion, res.LastVersion + 1, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64} {
			if recs := mustLoad(t, s, stream, after); len(recs) != 0 {
				t.Errorf("Load %s after %d (last version %d): %d events, want none", stream, after, res.LastVersion, len(recs))
			}
		}
		for _, after := range []uint64{res.LastVersion, math.MaxInt64 + 1, math.MaxUint64} {
			if recs, err := s.LoadPage(ctx, stream, after, 10); err != nil || len(recs) != 0 {
				t.Errorf("LoadPage %s after %d: %d events, %v; want none", stream, after, len(recs), err)
			}
		}
		if recs, err := s.ReadAll(ctx, head-1, 10); err != nil || len(recs) != 1 || recs[0].GlobalPosition != head {
			t.Errorf("ReadAll after head-1 = %d events, %v; want the head's event", len(recs), err)
		}
	})

	t.Run("load_page_is_load_in_bounded_pages", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "pages")
		mustAppend(t, s, stream, ports.NoStream(), records(7, stream))
		var got []uint64
		for after := uint64(0); ; {
			recs, err := s.LoadPage(ctx, stream, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) > 3 {
				t.Fatalf("a page of 3 has %d events", len(recs))
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				got = append(got, r.Version)
			}
			after = recs[len(recs)-1].Version
		}
		if fmt.Sprint(got) != "[1 2 3 4 5 6 7]" {
			t.Fatalf("pages gave versions %v", got)
		}
		if recs, err := s.LoadPage(ctx, uniqueStream(t, "missing"), 0, 3); err != nil || len(recs) != 0 {
			t.Fatalf("missing stream: %d events, %v", len(recs), err)
		}
		if _, err := s.LoadPage(ctx, stream, 0, 0); errs.Code(err) != errs.EINVALID {
			t.Fatalf("limit 0: %v, want EINVALID", err)
		}
	})

	t.Run("invalid_appends_are_rejected_and_write_nothing", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "invalid")
		dup := records(2, stream)
		dup[1].ID = dup[0].ID
		noType := records(1, stream)
		noType[0].Type = ""
		noPayload := records(1, stream)
		noPayload[0].Payload = nil
		cases := []struct {
			name   string
			stream string
			evs    []events.Record
		}{
			{"empty_batch", stream, nil},
			{"empty_stream_name", "", records(1, "x")},
			{"duplicate_ids", stream, dup},
			{"no_type", stream, noType},
			{"no_payload", stream, noPayload},
		}
		for _, tc := range cases {
			_, err := s.Append(ctx, tc.stream, ports.NoStream(), tc.evs)
			if errs.Code(err) != errs.EINVALID {
				t.Fatalf("%s: got %v, want EINVALID", tc.name, err)
			}
		}
		if n := len(mustLoad(t, s, stream, 0)); n != 0 {
			t.Fatalf("rejected appends wrote %d events", n)
		}
		if f.MaxBatch > 0 {
			_, err := s.Append(ctx, stream, ports.NoStream(), records(f.MaxBatch+1, stream))
			if errs.Code(err) != errs.EINVALID {
				t.Fatalf("batch over MaxBatch: got %v, want EINVALID", err)
			}
		}
	})

	t.Run("event_ids_are_unique_across_the_log", func(t *testing.T) {
		s := newStore(t)
		a, b := uniqueStream(t, "ida"), uniqueStream(t, "idb")
		first := records(1, a)
		mustAppend(t, s, a, ports.NoStream(), first)
		_, err := s.Append(ctx, b, ports.NoStream(), first)
		if err == nil {
			t.Fatal("the same event id was appended to two streams")
		}
		if n := len(mustLoad(t, s, b, 0)); n != 0 {
			t.Fatalf("rejected append wrote %d events", n)
		}
	})

	t.Run("large_batch_is_atomic", func(t *testing.T) {
		s := newStore(t)
		n := 200
		if f.MaxBatch > 0 && f.MaxBatch < n {
			n = f.MaxBatch
		}
		stream := uniqueStream(t, "large")
		res := mustAppend(t, s, stream, ports.NoStream(), records(n, stream))
		if res.LastVersion != uint64(n) || res.LastPosition-res.FirstPosition+1 < uint64(n) {
			t.Fatalf("batch of %d gave %+v", n, res)
		}
		if got := len(mustLoad(t, s, stream, 0)); got != n {
			t.Fatalf("loaded %d of %d", got, n)
		}
	})

	t.Run("idempotency_key_appends_once", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "idem")
		key := "delivery-" + stream
		first := mustAppend(t, s, stream, ports.NoStream(), records(2, stream), ports.WithIdempotencyKey(key))
		if first.Duplicate {
			t.Fatal("first append reported duplicate")
		}
		// The retry carries new event ids, as a redelivered webhook would.
		again := mustAppend(t, s, stream, ports.NoStream(), records(2, stream), ports.WithIdempotencyKey(key))
		if !again.Duplicate || again.FirstVersion != first.FirstVersion || again.LastVersion != first.LastVersion ||
			again.FirstPosition != first.FirstPosition || again.LastPosition != first.LastPosition {
			t.Fatalf("second append %+v, want duplicate of %+v", again, first)
		}
		if again.EventIDs != nil {
			t.Fatalf("a duplicate reported event ids %v: it wrote none", again.EventIDs)
		}
		got := mustLoad(t, s, stream, 0)
		if len(got) != 2 {
			t.Fatalf("stream has %d events, want 2", len(got))
		}
		if got[0].IdempotencyKey != key {
			t.Fatalf("stored idempotency key %q, want %q", got[0].IdempotencyKey, key)
		}
	})

	t.Run("idempotency_key_under_concurrency", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "idemc")
		key := "k-" + stream
		type outcome struct {
			res ports.AppendResult
			err error
		}
		results := make(chan outcome, f.Writers)
		var start sync.WaitGroup
		start.Add(1)
		for range f.Writers {
			go func() {
				start.Wait()
				res, err := s.Append(ctx, stream, ports.Any(), records(1, stream), ports.WithIdempotencyKey(key))
				results <- outcome{res, err}
			}()
		}
		start.Done()
		originals := 0
		for range f.Writers {
			o := <-results
			if o.err != nil {
				t.Fatalf("append with a shared key failed: %v", o.err)
			}
			if !o.res.Duplicate {
				originals++
			}
			if o.res.FirstVersion != 1 {
				t.Fatalf("append reported version %d, want 1", o.res.FirstVersion)
			}
		}
		if originals != 1 {
			t.Fatalf("%d appends claimed the key, want 1", originals)
		}
		if n := len(mustLoad(t, s, stream, 0)); n != 1 {
			t.Fatalf("stream has %d events, want 1", n)
		}
	})

	t.Run("stream_key_labels_events_without_claiming_the_key", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "skey")
		key := "delivery-" + stream
		first := mustAppend(t, s, stream, ports.NoStream(), records(2, stream), ports.WithStreamKey(key))
		if first.Duplicate || len(first.EventIDs) != 2 {
			t.Fatalf("first append %+v, want an original of 2 events", first)
		}
		got := mustLoad(t, s, stream, 0)
		if len(got) != 2 || got[0].IdempotencyKey != key || got[1].IdempotencyKey != key {
			t.Fatalf("loaded %d events labelled %q, want 2 labelled %q", len(got), got[0].IdempotencyKey, key)
		}
		// The expected version, not the key, makes a retry fail...
		_, err := s.Append(ctx, stream, ports.NoStream(), records(1, stream), ports.WithStreamKey(key))
		if !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("second NoStream append with the same stream key: %v, want a conflict", err)
		}
		// ...and the key stays free for a claim on another stream.
		other := uniqueStream(t, "skey-other")
		res := mustAppend(t, s, other, ports.NoStream(), records(1, other), ports.WithIdempotencyKey(key))
		if res.Duplicate {
			t.Fatal("a stream key was claimed store-wide")
		}
	})

	t.Run("exactly_one_concurrent_creator_wins", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "create")
		wins := race(t, f.Writers, func(i int) error {
			_, err := s.Append(ctx, stream, ports.NoStream(), records(1, fmt.Sprintf("%s-w%d", stream, i)), ports.WithStreamKey(fmt.Sprintf("k%d", i)))
			return err
		})
		if wins != 1 {
			t.Fatalf("%d of %d writers created the stream, want exactly one", wins, f.Writers)
		}
		if n := len(mustLoad(t, s, stream, 0)); n != 1 {
			t.Fatalf("stream has %d events, want 1", n)
		}
	})

	t.Run("append_streams_writes_all_in_order", func(t *testing.T) {
		s := newStore(t)
		a, b := uniqueStream(t, "multi-a"), uniqueStream(t, "multi-b")
		mustAppend(t, s, b, ports.NoStream(), records(1, b))
		head, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.AppendStreams(ctx, []ports.StreamBatch{
			{Stream: a, Expected: ports.NoStream(), Events: records(2, a), Key: "label-" + a},
			{Stream: b, Expected: ports.At(1), Events: records(1, b)},
		})
		if err != nil {
			t.Fatalf("append streams: %v", err)
		}
		if len(res) != 2 || res[0].FirstVersion != 1 || res[0].LastVersion != 2 || res[1].FirstVersion != 2 || res[1].LastVersion != 2 ||
			len(res[0].EventIDs) != 2 || len(res[1].EventIDs) != 1 || res[0].Duplicate || res[1].Duplicate {
			t.Fatalf("results %+v, want versions 1-2 of %s and 2 of %s with their event ids", res, a, b)
		}
		if res[0].FirstPosition <= head || res[0].LastPosition != res[0].FirstPosition+1 || res[1].FirstPosition != res[0].LastPosition+1 {
			t.Fatalf("positions %+v after head %d, want consecutive, batches in order", res, head)
		}
		gotA, gotB := mustLoad(t, s, a, 0), mustLoad(t, s, b, 1)
		if len(gotA) != 2 || len(gotB) != 1 || gotA[0].IdempotencyKey != "label-"+a || gotB[0].IdempotencyKey != "" {
			t.Fatalf("loaded %d events of %s (label %q) and %d new of %s", len(gotA), a, gotA[0].IdempotencyKey, len(gotB), b)
		}
		if gotA[0].ID != res[0].EventIDs[0] || gotB[0].GlobalPosition != res[1].FirstPosition {
			t.Fatalf("loaded events do not match the results %+v", res)
		}
		all := readAllFrom(t, s, head, 100)
		var mine []string
		for _, r := range all {
			if r.Stream == a || r.Stream == b {
				mine = append(mine, fmt.Sprintf("%s/%d", r.Stream, r.Version))
			}
		}
		want := []string{a + "/1", a + "/2", b + "/2"}
		if fmt.Sprint(mine) != fmt.Sprint(want) {
			t.Fatalf("the log after %d holds %v, want %v", head, mine, want)
		}
	})

	t.Run("append_streams_is_all_or_nothing", func(t *testing.T) {
		s := newStore(t)
		a, b := uniqueStream(t, "aon-a"), uniqueStream(t, "aon-b")
		mustAppend(t, s, b, ports.NoStream(), records(1, b))
		_, err := s.AppendStreams(ctx, []ports.StreamBatch{
			{Stream: a, Expected: ports.NoStream(), Events: records(1, a)},
			{Stream: b, Expected: ports.NoStream(), Events: records(1, b)},
		})
		var conflict *ports.ConflictError
		if !errors.As(err, &conflict) || conflict.Stream != b {
			t.Fatalf("append streams with %s already there: %v, want a conflict on %s", b, err, b)
		}
		if n := len(mustLoad(t, s, a, 0)); n != 0 {
			t.Fatalf("the conflict on %s still wrote %d events to %s", b, n, a)
		}
		for _, bad := range [][]ports.StreamBatch{
			nil,
			{{Stream: a, Expected: ports.NoStream(), Events: records(1, a)}, {Stream: a, Expected: ports.NoStream(), Events: records(1, a)}},
			{{Stream: a, Expected: ports.NoStream(), Events: nil}},
		} {
			if _, err := s.AppendStreams(ctx, bad); errs.Code(err) != errs.EINVALID {
				t.Fatalf("append streams %v: %v, want EINVALID", bad, err)
			}
		}
		if n := len(mustLoad(t, s, a, 0)); n != 0 {
			t.Fatalf("invalid appends wrote %d events to %s", n, a)
		}
	})

	t.Run("append_streams_one_concurrent_winner", func(t *testing.T) {
		s := newStore(t)
		shared := uniqueStream(t, "multi-shared")
		own := make([]string, f.Writers)
		for i := range own {
			own[i] = fmt.Sprintf("%s-own-%d", shared, i)
		}
		wins := race(t, f.Writers, func(i int) error {
			_, err := s.AppendStreams(ctx, []ports.StreamBatch{
				{Stream: own[i], Expected: ports.NoStream(), Events: records(1, own[i])},
				{Stream: shared, Expected: ports.NoStream(), Events: records(1, shared)},
			})
			return err
		})
		written := 0
		for _, o := range own {
			written += len(mustLoad(t, s, o, 0))
		}
		if wins != 1 || written != 1 || len(mustLoad(t, s, shared, 0)) != 1 {
			t.Fatalf("%d winners, %d own streams written, want exactly one of each", wins, written)
		}
	})

	t.Run("exactly_one_concurrent_writer_wins", func(t *testing.T) {
		s := newStore(t)
		stream := uniqueStream(t, "race")
		mustAppend(t, s, stream, ports.NoStream(), records(1, stream))
		// Every loser got the conflict error: race fails on any other.
		wins := race(t, f.Writers, func(i int) error {
			_, err := s.Append(ctx, stream, ports.At(1), records(1, fmt.Sprintf("%s-w%d", stream, i)))
			return err
		})
		if wins != 1 {
			t.Fatalf("%d wins of %d writers, want exactly one winner", wins, f.Writers)
		}
		if n := len(mustLoad(t, s, stream, 0)); n != 2 {
			t.Fatalf("stream has %d events, want 2", n)
		}
	})

	t.Run("read_all_has_every_event_once_in_stream_order", func(t *testing.T) {
		s := newStore(t)
		start, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const streams, perStream = 8, 6
		names := make([]string, streams)
		for i := range names {
			names[i] = uniqueStream(t, fmt.Sprintf("all%d", i))
		}
		errc := make(chan error, streams)
		for _, name := range names {
			go func() {
				var err error
				for v := range perStream / 2 {
					if _, e := s.Append(ctx, name, ports.At(uint64(v*2)), records(2, name)); e != nil && err == nil {
						err = e
					}
				}
				errc <- err
			}()
		}
		for range streams {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		all := readAllFrom(t, s, start, 5)
		last := map[string]uint64{}
		ids := map[string]bool{}
		want := map[string]bool{}
		for _, n := range names {
			want[n] = true
		}
		for _, r := range all {
			if ids[r.ID] {
				t.Fatalf("event %s read twice", r.ID)
			}
			ids[r.ID] = true
			if !want[r.Stream] {
				continue // another case's events, when the store is shared
			}
			if r.Version != last[r.Stream]+1 {
				t.Fatalf("stream %s: version %d after %d", r.Stream, r.Version, last[r.Stream])
			}
			last[r.Stream] = r.Version
		}
		for _, n := range names {
			if last[n] != perStream {
				t.Fatalf("stream %s: read %d events, want %d", n, last[n], perStream)
			}
		}
		// Reading from the middle continues exactly where it stopped.
		if len(all) > 3 {
			rest := readAllFrom(t, s, all[2].GlobalPosition, 4)
			if len(rest) < len(all)-3 || rest[0].ID != all[3].ID {
				t.Fatalf("reading after position %d did not continue at the next event", all[2].GlobalPosition)
			}
		}
	})

	t.Run("cancelled_context_is_an_error", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		stream := uniqueStream(t, "cancel")
		if _, err := s.Append(cctx, stream, ports.NoStream(), records(1, stream)); err == nil {
			// A store may have finished before it looked at the context; then the
			// event must be there, since success was reported.
			if n := len(mustLoad(t, s, stream, 0)); n != 1 {
				t.Fatalf("append reported success but stored %d events", n)
			}
		}
		if _, err := s.ReadAll(cctx, 0, 10); err == nil {
			t.Fatal("read all with a cancelled context succeeded")
		}
	})
}
