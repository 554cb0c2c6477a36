package porttest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// ViewFeatures declares what a view store legitimately lacks.
type ViewFeatures struct {
	// Transactional stores commit a Batch's rows and checkpoints together
	// and keep nothing of a Batch whose fn failed (SQLite). Stores without
	// multi-row transactions (DynamoDB) write one by one; the suite then skips
	// the rollback assertions and says so.
	Transactional bool
}

// ViewStore runs the view store contract against stores from newStore.
// newStore may return the same store each time: cases use unique keys and
// projector names, and the Truncate case, which empties whole views, runs last.
func ViewStore(t *testing.T, newStore func(t *testing.T) ports.ViewStore, f ViewFeatures) {
	ctx := context.Background()

	t.Run("round_trip_of_every_row_type", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("full")
		rows := fullRows(id)
		mustBatch(t, s, func(tx ports.ViewTx) error {
			for _, r := range rows {
				if ok, err := r.put(ctx, tx); err != nil || !ok {
					return fmt.Errorf("put %s: wrote %v, %w", r.view, ok, err)
				}
				// A batch reads its own writes.
				if got, err := r.get(ctx, tx); err != nil || !reflect.DeepEqual(got, r.row) {
					return fmt.Errorf("get %s inside the batch: %+v, %v; want %+v", r.view, got, err, r.row)
				}
			}
			return nil
		})
		mustReadBack(t, s, rows)
	})

	t.Run("nil_slices_maps_and_zero_times_round_trip", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("sparse")
		rows := sparseRows(id)
		mustBatch(t, s, func(tx ports.ViewTx) error {
			for _, r := range rows {
				if _, err := r.put(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
		mustReadBack(t, s, rows)
	})

	t.Run("get_of_a_missing_key_is_not_found", func(t *testing.T) {
		s := newStore(t)
		_, ok, err := s.Read().Runners().Get(ctx, uniqueKey("missing"))
		if err != nil || ok {
			t.Fatalf("get of a missing key: found %v, %v", ok, err)
		}
	})

	t.Run("put_refuses_stale_versions", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("stale")
		v2 := ports.RunnerRow{ID: id, Egg: "web", State: "ACTIVE", Version: 2}
		put := func(row ports.RunnerRow) bool {
			t.Helper()
			var wrote bool
			mustBatch(t, s, func(tx ports.ViewTx) error {
				var err error
				wrote, err = tx.Runners().Put(ctx, row)
				return err
			})
			return wrote
		}
		if !put(v2) {
			t.Fatal("first put reported no write")
		}
		older := v2
		older.Version, older.State = 1, "FAILED"
		if put(older) {
			t.Fatal("put of an older version reported a write")
		}
		equal := v2
		equal.State = "BUSY"
		if put(equal) {
			t.Fatal("put of an equal version reported a write")
		}
		if got := mustGetRunner(t, s.Read(), id); !reflect.DeepEqual(got, v2) {
			t.Fatalf("refused puts changed the row: %+v", got)
		}
		newer := v2
		newer.Version, newer.State = 3, "IDLE"
		if !put(newer) {
			t.Fatal("put of a newer version reported no write")
		}
		if got := mustGetRunner(t, s.Read(), id); !reflect.DeepEqual(got, newer) {
			t.Fatalf("row after newer put %+v, want %+v", got, newer)
		}
	})

	t.Run("put_of_an_empty_key_is_invalid", func(t *testing.T) {
		s := newStore(t)
		err := s.Batch(ctx, func(tx ports.ViewTx) error {
			_, err := tx.EggConfigs().Put(ctx, ports.EggConfigRow{Version: 1})
			return err
		})
		if errs.Code(err) != errs.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
	})

	t.Run("list_filters_orders_and_pages", func(t *testing.T) {
		s := newStore(t)
		egg := uniqueKey("egg")
		other := uniqueKey("egg")
		states := []string{"ACTIVE", "IDLE", "ACTIVE", "BUSY", "ACTIVE"}
		var keys []string
		mustBatch(t, s, func(tx ports.ViewTx) error {
			for i, st := range states {
				key := fmt.Sprintf("%s-r%d", egg, i)
				keys = append(keys, key)
				row := ports.RunnerRow{ID: key, Egg: egg, State: st, Type: "APEX", MissedHeartbeats: i % 2, Version: 1}
				if _, err := tx.Runners().Put(ctx, row); err != nil {
					return err
				}
			}
			_, err := tx.Runners().Put(ctx, ports.RunnerRow{ID: other + "-r0", Egg: other, State: "ACTIVE", Version: 1})
			return err
		})
		list := func(q ports.Query) []string {
			t.Helper()
			rows, err := s.Read().Runners().List(ctx, q)
			if err != nil {
				t.Fatalf("list %+v: %v", q, err)
			}
			var out []string
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		cases := []struct {
			name string
			q    ports.Query
			want []string
		}{
			{"eq_one_column", ports.Query{Eq: map[string]any{"egg": egg}}, keys},
			{"eq_two_columns", ports.Query{Eq: map[string]any{"egg": egg, "state": "ACTIVE"}}, []string{keys[0], keys[2], keys[4]}},
			{"eq_on_an_integer_column", ports.Query{Eq: map[string]any{"egg": egg, "missed_heartbeats": 1}}, []string{keys[1], keys[3]}},
			{"desc", ports.Query{Eq: map[string]any{"egg": egg}, Desc: true}, []string{keys[4], keys[3], keys[2], keys[1], keys[0]}},
			{"after_key", ports.Query{Eq: map[string]any{"egg": egg}, AfterKey: keys[1]}, keys[2:]},
			{"after_key_desc_continues_downwards", ports.Query{Eq: map[string]any{"egg": egg}, AfterKey: keys[3], Desc: true}, []string{keys[2], keys[1], keys[0]}},
			{"limit", ports.Query{Eq: map[string]any{"egg": egg}, Limit: 2}, keys[:2]},
			{"after_key_and_limit", ports.Query{Eq: map[string]any{"egg": egg, "state": "ACTIVE"}, AfterKey: keys[0], Limit: 1}, []string{keys[2]}},
			{"no_match", ports.Query{Eq: map[string]any{"egg": egg, "state": "TERMINATED"}}, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if got := list(tc.q); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}
		// Inside a batch, List sees the batch's own writes.
		mustBatch(t, s, func(tx ports.ViewTx) error {
			if _, err := tx.Runners().Put(ctx, ports.RunnerRow{ID: egg + "-r9", Egg: egg, State: "FAILED", Version: 1}); err != nil {
				return err
			}
			rows, err := tx.Runners().List(ctx, ports.Query{Eq: map[string]any{"egg": egg, "state": "FAILED"}})
			if err != nil {
				return err
			}
			if len(rows) != 1 || rows[0].ID != egg+"-r9" {
				return fmt.Errorf("list inside the batch: %+v", rows)
			}
			return nil
		})
	})

	t.Run("list_page_follows_next_with_filters", func(t *testing.T) {
		s := newStore(t)
		base := uniqueKey("page")
		egg, other := base+"-egg", base+"-other"
		states := []string{"ACTIVE", "IDLE", "ACTIVE"}
		var eggKeys, activeKeys, allKeys []string
		mustBatch(t, s, func(tx ports.ViewTx) error {
			for i := range 23 {
				a, b := fmt.Sprintf("%s-%02d-a", base, i), fmt.Sprintf("%s-%02d-b", base, i)
				eggKeys, allKeys = append(eggKeys, a), append(allKeys, a, b)
				if states[i%3] == "ACTIVE" {
					activeKeys = append(activeKeys, a)
				}
				if _, err := tx.Runners().Put(ctx, ports.RunnerRow{ID: a, Egg: egg, State: states[i%3], Version: 1}); err != nil {
					return err
				}
				if _, err := tx.Runners().Put(ctx, ports.RunnerRow{ID: b, Egg: other, State: "ACTIVE", Version: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		// pages follows Next from q until it is "" (or, without a filter, past
		// this case's keys), checking every page's size.
		pages := func(q ports.Query) []string {
			t.Helper()
			var out []string
			for n := 0; ; n++ {
				if n > 200 {
					t.Fatalf("%+v: more than 200 pages", q)
				}
				page, err := s.Read().Runners().ListPage(ctx, q)
				if err != nil {
					t.Fatalf("list page %+v: %v", q, err)
				}
				if len(page.Rows) > q.Limit {
					t.Fatalf("list page %+v: %d rows", q, len(page.Rows))
				}
				for _, r := range page.Rows {
					if len(q.Eq) == 0 && (r.ID < base || r.ID > base+"~") {
						return out // past this case's keys, in a shared store
					}
					out = append(out, r.ID)
				}
				if page.Next == "" {
					return out
				}
				q.AfterKey = page.Next
			}
		}
		reversed := slices.Clone(eggKeys)
		slices.Reverse(reversed)
		cases := []struct {
			name string
			q    ports.Query
			want []string
		}{
			{"one_filter", ports.Query{Eq: map[string]any{"egg": egg}, Limit: 5}, eggKeys},
			{"two_filters", ports.Query{Eq: map[string]any{"egg": egg, "state": "ACTIVE"}, Limit: 4}, activeKeys},
			{"desc", ports.Query{Eq: map[string]any{"egg": egg}, Desc: true, Limit: 3}, reversed},
			{"limit_one", ports.Query{Eq: map[string]any{"egg": egg}, Limit: 1}, eggKeys},
			{"one_page_holds_all", ports.Query{Eq: map[string]any{"egg": egg}, Limit: 100}, eggKeys},
			{"exact_fit", ports.Query{Eq: map[string]any{"egg": egg}, Limit: 23}, eggKeys},
			{"no_filter", ports.Query{AfterKey: base, Limit: 6}, allKeys},
			{"no_match", ports.Query{Eq: map[string]any{"egg": egg, "state": "TERMINATED"}, Limit: 5}, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if got := pages(tc.q); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("last_page_has_no_next", func(t *testing.T) {
			page, err := s.Read().Runners().ListPage(ctx, ports.Query{Eq: map[string]any{"egg": egg}, Limit: 23})
			if err != nil || len(page.Rows) != 23 || page.Next != "" {
				t.Fatalf("a page of all 23 rows: %d rows, next %q, %v", len(page.Rows), page.Next, err)
			}
		})
		t.Run("stable_under_inserts", func(t *testing.T) {
			q := ports.Query{Eq: map[string]any{"egg": egg}, Limit: 5}
			first, err := s.Read().Runners().ListPage(ctx, q)
			if err != nil || first.Next == "" {
				t.Fatalf("first page: %v, next %q", err, first.Next)
			}
			before, after := base+"-00-c", base+"-99-a"
			mustBatch(t, s, func(tx ports.ViewTx) error {
				for _, k := range []string{before, after} {
					if _, err := tx.Runners().Put(ctx, ports.RunnerRow{ID: k, Egg: egg, State: "IDLE", Version: 1}); err != nil {
						return err
					}
				}
				return nil
			})
			q.AfterKey = first.Next
			var got []string
			for _, r := range first.Rows {
				got = append(got, r.ID)
			}
			got = append(got, pages(q)...)
			if want := append(slices.Clone(eggKeys), after); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v (a row inserted behind the cursor is not read, one ahead is, once)", got, want)
			}
		})
		for _, limit := range []int{0, -1} {
			if _, err := s.Read().Runners().ListPage(ctx, ports.Query{Limit: limit}); errs.Code(err) != errs.EINVALID {
				t.Fatalf("limit %d: %v, want EINVALID", limit, err)
			}
		}
	})

	t.Run("list_with_a_bool_column", func(t *testing.T) {
		s := newStore(t)
		region := uniqueKey("region")
		mustBatch(t, s, func(tx ports.ViewTx) error {
			for i, removed := range []bool{false, true, false} {
				row := ports.EggConfigRow{Name: fmt.Sprintf("%s-e%d", region, i), Region: region, Removed: removed, Version: 1}
				if _, err := tx.EggConfigs().Put(ctx, row); err != nil {
					return err
				}
			}
			return nil
		})
		rows, err := s.Read().EggConfigs().List(ctx, ports.Query{Eq: map[string]any{"region": region, "removed": false}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Name != region+"-e0" || rows[1].Name != region+"-e2" {
			t.Fatalf("list of eggs not removed: %+v", rows)
		}
	})

	t.Run("list_rejects_bad_queries", func(t *testing.T) {
		s := newStore(t)
		for name, q := range map[string]ports.Query{
			"unknown_column":   {Eq: map[string]any{"no_such_column": "x"}},
			"go_field_name":    {Eq: map[string]any{"State": "ACTIVE"}},
			"wrong_value_type": {Eq: map[string]any{"state": 17}},
			"negative_limit":   {Limit: -1},
		} {
			if _, err := s.Read().Runners().List(ctx, q); errs.Code(err) != errs.EINVALID {
				t.Fatalf("%s: got %v, want EINVALID", name, err)
			}
		}
	})

	// An integer filter out of the column's range matches nothing (or is
	// EINVALID): it must not wrap round to the row holding the wrapped value.
	t.Run("integer_filter_out_of_range_does_not_wrap", func(t *testing.T) {
		s := newStore(t)
		egg := uniqueKey("egg")
		mustBatch(t, s, func(tx ports.ViewTx) error {
			_, err := tx.Runners().Put(ctx, ports.RunnerRow{ID: egg + "-r0", Egg: egg, JobID: math.MinInt64, MissedHeartbeats: math.MinInt, Version: 1})
			return err
		})
		for _, col := range []string{"job_id", "missed_heartbeats"} {
			rows, err := s.Read().Runners().List(ctx, ports.Query{Eq: map[string]any{"egg": egg, col: uint64(math.MaxInt64) + 1}})
			if err != nil && errs.Code(err) != errs.EINVALID {
				t.Fatalf("%s = 2^63: %v, want no rows or EINVALID", col, err)
			}
			if len(rows) != 0 {
				t.Fatalf("%s = 2^63 matched %+v", col, rows)
			}
		}
	})

	t.Run("failed_batch_returns_its_error", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("rollback")
		projector := uniqueKey("projector")
		boom := errors.New("boom")
		err := s.Batch(ctx, func(tx ports.ViewTx) error {
			if _, err := tx.Runners().Put(ctx, ports.RunnerRow{ID: id, State: "ACTIVE", Version: 1}); err != nil {
				return err
			}
			if err := tx.SaveCheckpoint(ctx, projector, 42); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("batch returned %v, want fn's error", err)
		}
		if !f.Transactional {
			t.Log("store is not transactional: rollback of a failed batch not checked")
			return
		}
		if _, ok, err := s.Read().Runners().Get(ctx, id); err != nil || ok {
			t.Fatalf("row of a failed batch is visible (found %v, %v)", ok, err)
		}
		if cp := mustCheckpoint(t, s.Read(), projector); cp != 0 {
			t.Fatalf("checkpoint of a failed batch is %d, want 0", cp)
		}
	})

	t.Run("checkpoints", func(t *testing.T) {
		s := newStore(t)
		projector := uniqueKey("projector")
		if cp := mustCheckpoint(t, s.Read(), projector); cp != 0 {
			t.Fatalf("unknown projector at %d, want 0", cp)
		}
		mustBatch(t, s, func(tx ports.ViewTx) error {
			cp, err := tx.Checkpoint(ctx, projector)
			if err != nil || cp != 0 {
				return fmt.Errorf("unknown projector inside a batch: %d, %v", cp, err)
			}
			if err := tx.SaveCheckpoint(ctx, projector, 17); err != nil {
				return err
			}
			if cp, err := tx.Checkpoint(ctx, projector); err != nil || cp != 17 {
				return fmt.Errorf("checkpoint read back inside the batch: %d, %v", cp, err)
			}
			return nil
		})
		if cp := mustCheckpoint(t, s.Read(), projector); cp != 17 {
			t.Fatalf("checkpoint %d, want 17", cp)
		}
		mustBatch(t, s, func(tx ports.ViewTx) error {
			if cp, err := tx.Checkpoint(ctx, projector); err != nil || cp != 17 {
				return fmt.Errorf("checkpoint in a later batch: %d, %v", cp, err)
			}
			return tx.SaveCheckpoint(ctx, projector, 1<<40)
		})
		if cp := mustCheckpoint(t, s.Read(), projector); cp != 1<<40 {
			t.Fatalf("checkpoint %d, want %d", cp, uint64(1<<40))
		}
	})

	t.Run("empty_projector_name_is_invalid", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Read().Checkpoint(ctx, ""); errs.Code(err) != errs.EINVALID {
			t.Fatalf("Checkpoint of no name: %v, want EINVALID", err)
		}
		err := s.Batch(ctx, func(tx ports.ViewTx) error { return tx.SaveCheckpoint(ctx, "", 1) })
		if errs.Code(err) != errs.EINVALID {
			t.Fatalf("SaveCheckpoint of no name: %v, want EINVALID", err)
		}
	})

	t.Run("cancelled_context_is_an_error", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		ran := false
		err := s.Batch(cctx, func(tx ports.ViewTx) error {
			ran = true
			_, err := tx.Runners().Put(cctx, ports.RunnerRow{ID: uniqueKey("cancel"), Version: 1})
			return err
		})
		if err == nil {
			t.Fatalf("batch with a cancelled context succeeded (fn ran: %v)", ran)
		}
		if _, _, err := s.Read().Runners().Get(cctx, "x"); err == nil {
			t.Fatal("get with a cancelled context succeeded")
		}
	})

	t.Run("truncate_unknown_view_is_invalid", func(t *testing.T) {
		s := newStore(t)
		if err := s.Truncate(ctx, "no_such_view"); errs.Code(err) != errs.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
	})

	// Last: Truncate empties whole views, which other cases' rows share.
	t.Run("truncate_empties_one_view_and_resets_its_checkpoint", func(t *testing.T) {
		s := newStore(t)
		id := uniqueKey("trunc")
		rows := fullRows(id)
		mustBatch(t, s, func(tx ports.ViewTx) error {
			for _, r := range rows {
				if _, err := r.put(ctx, tx); err != nil {
					return err
				}
			}
			for _, v := range append(slices.Clone(ports.AllViews), otherRunnersProjector) {
				if err := tx.SaveCheckpoint(ctx, v, 99); err != nil {
					return err
				}
			}
			return nil
		})
		if err := s.Truncate(ctx, ports.ViewRunners); err != nil {
			t.Fatal(err)
		}
		if rest, err := s.Read().Runners().List(ctx, ports.Query{}); err != nil || len(rest) != 0 {
			t.Fatalf("runners after truncate: %d rows, %v", len(rest), err)
		}
		if cp := mustCheckpoint(t, s.Read(), ports.ViewRunners); cp != 0 {
			t.Fatalf("runners checkpoint after truncate %d, want 0", cp)
		}
		// Only the projector named after the view is reset, not one whose
		// name merely starts with it.
		if cp := mustCheckpoint(t, s.Read(), otherRunnersProjector); cp != 99 {
			t.Fatalf("truncating runners moved the %s checkpoint to %d", otherRunnersProjector, cp)
		}
		for _, r := range rows {
			if r.view == ports.ViewRunners {
				continue
			}
			got, err := r.get(ctx, s.Read())
			if err != nil || !reflect.DeepEqual(got, r.row) {
				t.Fatalf("truncating runners changed %s: %+v, %v", r.view, got, err)
			}
			if cp := mustCheckpoint(t, s.Read(), r.view); cp != 99 {
				t.Fatalf("truncating runners moved the %s checkpoint to %d", r.view, cp)
			}
		}
	})
}

// otherRunnersProjector is a checkpoint name that starts with a view's name
// without being it.
const otherRunnersProjector = ports.ViewRunners + "_v2"

var viewKeySeq atomic.Uint64

// uniqueKey keeps cases independent when the factory reuses one store.
func uniqueKey(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), viewKeySeq.Add(1))
}

func mustBatch(t *testing.T, s ports.ViewStore, fn func(ports.ViewTx) error) {
	t.Helper()
	if err := s.Batch(context.Background(), fn); err != nil {
		t.Fatalf("batch: %v", err)
	}
}

// mustReadBack reads every row back outside any batch and compares it with what was put.
func mustReadBack(t *testing.T, s ports.ViewStore, rows []anyRow) {
	t.Helper()
	for _, r := range rows {
		got, err := r.get(context.Background(), s.Read())
		if err != nil {
			t.Fatalf("get %s: %v", r.view, err)
		}
		if !reflect.DeepEqual(got, r.row) {
			t.Fatalf("%s did not round-trip:\n got %#v\nwant %#v", r.view, got, r.row)
		}
	}
}

func mustCheckpoint(t *testing.T, tx ports.ViewTx, projector string) uint64 {
	t.Helper()
	cp, err := tx.Checkpoint(context.Background(), projector)
	if err != nil {
		t.Fatalf("checkpoint of %s: %v", projector, err)
	}
	return cp
}

func mustGetRunner(t *testing.T, tx ports.ViewTx, id string) ports.RunnerRow {
	t.Helper()
	r, ok, err := tx.Runners().Get(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("get runner %s: found %v, %v", id, ok, err)
	}
	return r
}

// anyRow is one row of any view with the calls to write and read it back.
type anyRow struct {
	view string
	row  ports.ViewRow
	put  func(context.Context, ports.ViewTx) (bool, error)
	get  func(context.Context, ports.ViewTx) (ports.ViewRow, error)
}

func rowOf[R ports.ViewRow](view string, row R, table func(ports.ViewTx) ports.Table[R]) anyRow {
	return anyRow{
		view: view,
		row:  row,
		put:  func(ctx context.Context, tx ports.ViewTx) (bool, error) { return table(tx).Put(ctx, row) },
		get: func(ctx context.Context, tx ports.ViewTx) (ports.ViewRow, error) {
			got, ok, err := table(tx).Get(ctx, row.RowKey())
			if err == nil && !ok {
				err = fmt.Errorf("%s %q not found", view, row.RowKey())
			}
			return got, err
		},
	}
}

// rowTime has nanoseconds so that a store truncating to micro- or milliseconds fails.
var rowTime = time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.UTC)

// fullRows has one row of each view with every field set.
func fullRows(id string) []anyRow {
	return []anyRow{
		rowOf(ports.ViewRunners, ports.RunnerRow{
			ID: id, Egg: "web", Type: "APEX", State: "BUSY", Provider: "YANDEX", Region: "ru-central1-a",
			Tags: []string{"docker", "linux"}, JobID: 1977, PlanID: "p-" + id, InstanceID: "fhm1", Address: "10.0.0.5",
			Hostname: "runner-1", GoslingVersion: "0.1.0", MissedHeartbeats: 2, LastSeenAt: rowTime.Add(-time.Minute),
			StateReason: "job started", CreatedAt: rowTime.Add(-time.Hour), UpdatedAt: rowTime, TerminatedAt: rowTime.Add(time.Second), Version: 9,
		}, ports.ViewTx.Runners),
		rowOf(ports.ViewEggConfigs, ports.EggConfigRow{
			Name: id, Kind: "bucket", RunnerType: "SERVERLESS", Provider: "AWS", Region: "eu-central-1",
			GitLabServer: "https://gitlab.example.com", ProjectIDs: []int64{15, 1 << 40}, GroupIDs: []int64{7},
			Tags: []string{"docker"}, CPU: 4, MemoryGB: 8, DiskGB: 64, Image: "ubuntu-2404", MinApex: 1, MaxApex: 5, MinNadir: 2,
			TokenSecretURI: "aws-sm://gosling/token", WebhookSecretURI: "aws-sm://gosling/webhook", ConfigHash: "sha256:1f",
			Commit: "da15608", Path: "Eggs/web/config.fly", Removed: true, SyncedAt: rowTime, Version: 3,
		}, ports.ViewTx.EggConfigs),
		rowOf(ports.ViewSyncHistory, ports.SyncHistoryRow{
			Key: id, EventID: "evt-" + id, Position: 1 << 33, Status: "FAILED", Commit: "da15608", PreviousCommit: "95790bf",
			Branch: "main", Trigger: "webhook", Changes: []events.FileChange{{Path: "Eggs/web/config.fly", Action: "modified"}},
			EggsAdded: 1, EggsUpdated: 2, EggsRemoved: 3, JobsSynced: 4, UglyFoxSynced: true,
			Diagnostics: []events.Diagnostic{{File: "Eggs/web/config.fly", Line: 3, Column: 5, Severity: "error", Summary: "Unsupported argument", Detail: "cpus"}},
			Error:       "fetch failed", StartedAt: rowTime, DurationMS: 42, Version: 1,
		}, ports.ViewTx.SyncHistory),
		rowOf(ports.ViewDeploymentPlans, ports.DeploymentPlanRow{
			PlanID: id, RunnerID: "r-" + id, Egg: "web", Action: "create", Module: "aws", Status: "ROLLED_BACK",
			Inputs: map[string]string{"cpu": "2", "region": "eu-central-1"}, SecretURIs: map[string]string{"runner_token": "aws-sm://t"},
			ConfigHash: "sha256:ab", PlanSHA256: "sha256:cd", TofuVersion: "1.12.6", PreviousPlanID: "p-0", RestoredPlanID: "p-00",
			FailedStage: "apply", Error: "quota", CreatedAt: rowTime.Add(-time.Hour), AppliedAt: rowTime.Add(-time.Minute), UpdatedAt: rowTime, Version: 4,
		}, ports.ViewTx.DeploymentPlans),
		rowOf(ports.ViewAuditLogs, ports.AuditLogRow{
			Key: id, Position: 1 << 34, EventID: "evt-" + id, Stream: "runner-" + id, StreamVersion: 12, Type: events.RunnerDeployedV1,
			Actor: "mothergoose:apply", CorrelationID: "corr-1", CausationID: "cmd-1", Summary: "runner deployed",
			OccurredAt: rowTime, RecordedAt: rowTime.Add(time.Millisecond), Version: 12,
		}, ports.ViewTx.AuditLogs),
	}
}

// sparseRows has one row of each view with nil slices and maps and zero times.
func sparseRows(id string) []anyRow {
	return []anyRow{
		rowOf(ports.ViewRunners, ports.RunnerRow{ID: id, State: "PROVISIONING", CreatedAt: rowTime, Version: 1}, ports.ViewTx.Runners),
		rowOf(ports.ViewEggConfigs, ports.EggConfigRow{Name: id, Version: 1}, ports.ViewTx.EggConfigs),
		rowOf(ports.ViewSyncHistory, ports.SyncHistoryRow{Key: id, Status: "SUCCESS", Version: 1}, ports.ViewTx.SyncHistory),
		rowOf(ports.ViewDeploymentPlans, ports.DeploymentPlanRow{PlanID: id, Status: "PENDING", Version: 1}, ports.ViewTx.DeploymentPlans),
		rowOf(ports.ViewAuditLogs, ports.AuditLogRow{Key: id, Version: 1}, ports.ViewTx.AuditLogs),
	}
}
