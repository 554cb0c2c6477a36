package dynamodb_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

var (
	t0 = time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.UTC)
	t1 = t0.Add(90 * time.Second)
)

func fullRunner(id string, version uint64) ports.RunnerRow {
	return ports.RunnerRow{
		ID: id, Egg: "payments", Type: "apex", State: "ACTIVE", Provider: "aws", Region: "eu-central-1",
		Tags: []string{"docker", "linux"}, JobID: 4242, PlanID: "plan-1", InstanceID: "i-0abc",
		Address: "10.0.0.7", Hostname: "runner-1", GoslingVersion: "1.4.2", MissedHeartbeats: 2,
		LastSeenAt: t1, StateReason: "healthy", CreatedAt: t0, UpdatedAt: t1, Version: version,
	}
}

func fullEggConfig() ports.EggConfigRow {
	return ports.EggConfigRow{
		Name: "payments", Kind: "egg", RunnerType: "serverless", Provider: "yc", Region: "ru-central1-a",
		GitLabServer: "https://gitlab.example.com", ProjectIDs: []int64{12, 7}, GroupIDs: []int64{3},
		Tags: []string{"go"}, CPU: 2, MemoryGB: 4, DiskGB: 20, Image: "alpine:3.20", MinApex: 1, MaxApex: 3,
		MinNadir: 1, TokenSecretURI: "lockbox://tok", WebhookSecretURI: "lockbox://hook", ConfigHash: "sha256:ab",
		Commit: "c0ffee", Path: "Eggs/payments.fly", Removed: true, SyncedAt: t0, Version: 9,
	}
}

func fullSyncHistory() ports.SyncHistoryRow {
	return ports.SyncHistoryRow{
		Key: ports.PositionKey(17), EventID: "evt-17", Position: 17, Status: "FAILED", Commit: "c1",
		PreviousCommit: "c0", Branch: "main", Trigger: "webhook",
		Changes:   []events.FileChange{{Path: "Eggs/a.fly", Action: "modified"}, {Path: "Eggs/b.fly", Action: "removed"}},
		EggsAdded: 1, EggsUpdated: 2, EggsRemoved: 3, JobsSynced: 4, UglyFoxSynced: true,
		Diagnostics: []events.Diagnostic{{File: "Eggs/a.fly", Line: 3, Column: 9, Severity: "error", Summary: "bad", Detail: "very"}},
		Error:       "1 invalid file", StartedAt: t0, DurationMS: 1500, Version: 1,
	}
}

func fullPlan() ports.DeploymentPlanRow {
	return ports.DeploymentPlanRow{
		PlanID: "plan-1", RunnerID: "r-1", Egg: "payments", Action: "create", Module: "modules/compute",
		Status: "APPLIED", Inputs: map[string]string{"cpu": "2", "empty": ""}, SecretURIs: map[string]string{"token": "vault://t"},
		ConfigHash: "sha256:cd", PlanSHA256: "ef01", TofuVersion: "1.8.0", PreviousPlanID: "plan-0",
		RestoredPlanID: "plan-00", FailedStage: "apply", Error: "boom", CreatedAt: t0, AppliedAt: t1, UpdatedAt: t1, Version: 4,
	}
}

func fullAudit(pos uint64) ports.AuditLogRow {
	return ports.AuditLogRow{
		Key: ports.PositionKey(pos), Position: pos, EventID: "evt-x", Stream: "runner-r-1", StreamVersion: 5,
		Type: events.RunnerDeployedV1, Actor: "user:alice", CorrelationID: "corr", CausationID: "cause",
		Summary: "runner r-1 deployed", OccurredAt: t0, RecordedAt: t1, Version: 1,
	}
}

// roundTrip puts row into tbl and checks that Get and List give it back
// unchanged.
func roundTrip[R ports.ViewRow](t *testing.T, tbl ports.Table[R], row R) {
	t.Helper()
	ctx := context.Background()
	wrote, err := tbl.Put(ctx, row)
	if err != nil || !wrote {
		t.Fatalf("put %s: wrote=%v err=%v", row.RowKey(), wrote, err)
	}
	got, ok, err := tbl.Get(ctx, row.RowKey())
	if err != nil || !ok {
		t.Fatalf("get %s: found=%v err=%v", row.RowKey(), ok, err)
	}
	if !reflect.DeepEqual(got, row) {
		t.Fatalf("get gave\n%#v\nwant\n%#v", got, row)
	}
	list, err := tbl.List(ctx, ports.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.RowKey() == row.RowKey() && !reflect.DeepEqual(r, row) {
			t.Fatalf("list gave\n%#v\nwant\n%#v", r, row)
		}
	}
}

func TestViewStoreRoundTripIntegration(t *testing.T) {
	v := mustViewStore(t).Read()
	t.Run("runners", func(t *testing.T) { roundTrip(t, ports.Runners.In(v), fullRunner("r-1", 3)) })
	t.Run("egg_configs", func(t *testing.T) { roundTrip(t, ports.EggConfigs.In(v), fullEggConfig()) })
	t.Run("sync_history", func(t *testing.T) { roundTrip(t, ports.SyncHistory.In(v), fullSyncHistory()) })
	t.Run("deployment_plans", func(t *testing.T) { roundTrip(t, ports.DeploymentPlans.In(v), fullPlan()) })
	t.Run("audit_logs", func(t *testing.T) { roundTrip(t, ports.AuditLogs.In(v), fullAudit(1)) })
	// Nil and empty collections come back as they went in, and zero times
	// stay zero.
	t.Run("nil_collections", func(t *testing.T) {
		roundTrip(t, ports.Runners.In(v), ports.RunnerRow{ID: "r-nil", Version: 1})
		roundTrip(t, ports.EggConfigs.In(v), ports.EggConfigRow{Name: "egg-nil", Version: 1})
		roundTrip(t, ports.SyncHistory.In(v), ports.SyncHistoryRow{Key: ports.PositionKey(99), Version: 1})
		roundTrip(t, ports.DeploymentPlans.In(v), ports.DeploymentPlanRow{PlanID: "plan-nil", Version: 1})
	})
	t.Run("empty_collections", func(t *testing.T) {
		roundTrip(t, ports.Runners.In(v), ports.RunnerRow{ID: "r-empty", Tags: []string{}, Version: 1})
		roundTrip(t, ports.EggConfigs.In(v), ports.EggConfigRow{Name: "egg-empty", ProjectIDs: []int64{}, GroupIDs: []int64{}, Tags: []string{}, Version: 1})
		roundTrip(t, ports.SyncHistory.In(v), ports.SyncHistoryRow{Key: ports.PositionKey(98), Changes: []events.FileChange{}, Diagnostics: []events.Diagnostic{}, Version: 1})
		roundTrip(t, ports.DeploymentPlans.In(v), ports.DeploymentPlanRow{PlanID: "plan-empty", Inputs: map[string]string{}, SecretURIs: map[string]string{}, Version: 1})
	})
	t.Run("missing_row", func(t *testing.T) {
		if _, ok, err := ports.Runners.In(v).Get(context.Background(), "nobody"); ok || err != nil {
			t.Fatalf("found=%v err=%v for a missing row", ok, err)
		}
	})
}

func TestViewStorePutRefusesStaleRowsIntegration(t *testing.T) {
	runners := ports.Runners.In(mustViewStore(t).Read())
	ctx := context.Background()
	if wrote, err := runners.Put(ctx, fullRunner("r-1", 5)); err != nil || !wrote {
		t.Fatalf("first put: wrote=%v err=%v", wrote, err)
	}
	cases := []struct {
		name    string
		version uint64
		wrote   bool
		stored  uint64
	}{
		{"same_version", 5, false, 5},
		{"older_version", 4, false, 5},
		{"newer_version", 6, true, 6},
		{"older_than_the_newer", 5, false, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row := fullRunner("r-1", tc.version)
			row.State = tc.name
			wrote, err := runners.Put(ctx, row)
			if err != nil || wrote != tc.wrote {
				t.Fatalf("put at %d: wrote=%v err=%v, want wrote=%v", tc.version, wrote, err, tc.wrote)
			}
			got, _, err := runners.Get(ctx, "r-1")
			if err != nil || got.Version != tc.stored {
				t.Fatalf("stored version %d (%v), want %d", got.Version, err, tc.stored)
			}
		})
	}
	if _, err := runners.Put(ctx, ports.RunnerRow{Version: 1}); errs.Code(err) != errs.EINVALID {
		t.Fatalf("put with an empty key: got %v, want EINVALID", err)
	}
}

func TestViewStoreListIntegration(t *testing.T) {
	runners := ports.Runners.In(mustViewStore(t).Read())
	ctx := context.Background()
	seed := []struct {
		id, egg, state string
	}{
		{"r-1", "a", "ACTIVE"}, {"r-2", "b", "IDLE"}, {"r-3", "a", "IDLE"},
		{"r-4", "a", "ACTIVE"}, {"r-5", "b", "ACTIVE"},
	}
	for _, s := range seed {
		row := fullRunner(s.id, 1)
		row.Egg, row.State = s.egg, s.state
		if _, err := runners.Put(ctx, row); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		q    ports.Query
		want []string
	}{
		{"all_by_key", ports.Query{}, []string{"r-1", "r-2", "r-3", "r-4", "r-5"}},
		{"eq_one_column", ports.Query{Eq: map[string]any{"state": "ACTIVE"}}, []string{"r-1", "r-4", "r-5"}},
		{"eq_two_columns", ports.Query{Eq: map[string]any{"state": "ACTIVE", "egg": "a"}}, []string{"r-1", "r-4"}},
		{"eq_number", ports.Query{Eq: map[string]any{"missed_heartbeats": 2, "egg": "b"}}, []string{"r-2", "r-5"}},
		{"eq_number_of_another_int_type", ports.Query{Eq: map[string]any{"job_id": int32(4242), "egg": "b"}}, []string{"r-2", "r-5"}},
		{"eq_time", ports.Query{Eq: map[string]any{"created_at": t0, "state": "IDLE"}}, []string{"r-2", "r-3"}},
		{"eq_no_match", ports.Query{Eq: map[string]any{"state": "FAILED"}}, nil},
		{"desc", ports.Query{Desc: true}, []string{"r-5", "r-4", "r-3", "r-2", "r-1"}},
		{"after_key", ports.Query{AfterKey: "r-2"}, []string{"r-3", "r-4", "r-5"}},
		{"after_key_desc", ports.Query{AfterKey: "r-4", Desc: true}, []string{"r-3", "r-2", "r-1"}},
		{"limit", ports.Query{Limit: 2}, []string{"r-1", "r-2"}},
		{"everything_at_once", ports.Query{Eq: map[string]any{"egg": "a"}, Desc: true, AfterKey: "r-4", Limit: 1}, []string{"r-3"}},
		{"after_the_last_key", ports.Query{AfterKey: "r-9"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := runners.List(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	bad := []struct {
		name string
		q    ports.Query
	}{
		{"unknown_column", ports.Query{Eq: map[string]any{"no_such_column": 1}}},
		{"go_field_name", ports.Query{Eq: map[string]any{"State": "ACTIVE"}}},
		{"number_for_a_string", ports.Query{Eq: map[string]any{"state": 1}}},
		{"string_for_a_number", ports.Query{Eq: map[string]any{"job_id": "4242"}}},
		{"slice_column", ports.Query{Eq: map[string]any{"tags": []string{"docker"}}}},
		{"negative_limit", ports.Query{Limit: -1}},
	}
	for _, tc := range bad {
		if _, err := runners.List(ctx, tc.q); errs.Code(err) != errs.EINVALID {
			t.Fatalf("%s: got %v, want EINVALID", tc.name, err)
		}
	}
}

func TestViewStoreTruncateIntegration(t *testing.T) {
	s := mustViewStore(t)
	ctx := context.Background()
	v := s.Read()
	const rows = 60 // more than one BatchWriteItem of 25
	for i := range rows {
		if _, err := ports.AuditLogs.In(v).Put(ctx, fullAudit(uint64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ports.Runners.In(v).Put(ctx, fullRunner("r-1", 1)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ports.ViewAuditLogs, ports.ViewAuditLogs + "_v2", ports.ViewRunners} {
		if err := v.SaveCheckpoint(ctx, p, 60); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Truncate(ctx, ports.ViewAuditLogs); err != nil {
		t.Fatal(err)
	}
	if left, err := ports.AuditLogs.In(v).List(ctx, ports.Query{}); err != nil || len(left) != 0 {
		t.Fatalf("%d audit rows left (%v)", len(left), err)
	}
	cases := []struct {
		projector string
		want      uint64
	}{
		{ports.ViewAuditLogs, 0},
		{ports.ViewAuditLogs + "_v2", 60}, // only the projector named after the view is reset
		{ports.ViewRunners, 60},
	}
	for _, tc := range cases {
		if got, err := v.Checkpoint(ctx, tc.projector); err != nil || got != tc.want {
			t.Fatalf("checkpoint of %s: %d (%v), want %d", tc.projector, got, err, tc.want)
		}
	}
	if _, ok, err := ports.Runners.In(v).Get(ctx, "r-1"); !ok || err != nil {
		t.Fatalf("truncating audit_logs touched runners: found=%v err=%v", ok, err)
	}
	if err := s.Truncate(ctx, "no_such_view"); errs.Code(err) != errs.EINVALID {
		t.Fatalf("unknown view: got %v, want EINVALID", err)
	}
}

func TestViewStoreCheckpointsIntegration(t *testing.T) {
	s := mustViewStore(t)
	ctx := context.Background()
	err := s.Batch(ctx, func(tx ports.ViewTx) error {
		if got, err := tx.Checkpoint(ctx, "runners"); err != nil || got != 0 {
			t.Fatalf("fresh checkpoint %d (%v), want 0", got, err)
		}
		for _, pos := range []uint64{5, 12} {
			if err := tx.SaveCheckpoint(ctx, "runners", pos); err != nil {
				return err
			}
		}
		_, err := ports.Runners.In(tx).Put(ctx, fullRunner("r-1", 1))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Read().Checkpoint(ctx, "runners"); err != nil || got != 12 {
		t.Fatalf("checkpoint %d (%v), want 12", got, err)
	}
	if _, ok, _ := ports.Runners.In(s.Read()).Get(ctx, "r-1"); !ok {
		t.Fatal("a batch's write is not visible after it")
	}
	if err := s.Read().SaveCheckpoint(ctx, "", 1); errs.Code(err) != errs.EINVALID {
		t.Fatalf("empty projector: got %v, want EINVALID", err)
	}
}

func TestViewStoreContractIntegration(t *testing.T) {
	client := mustLocalClient(t)
	cfg := dynamodb.Config{Client: client, Views: porttest.ContractViews()}
	cfg.TablePrefix = mustMigratedWith(t, cfg)
	s, err := dynamodb.NewViewStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	porttest.ViewStore(t, func(*testing.T) ports.ViewStore { return s }, porttest.ViewFeatures{})
}

// A view added by registration alone (porttest.Probes) is migrated,
// projected, paged and replayed on DynamoDB.
func TestAddedViewIntegration(t *testing.T) {
	porttest.AddedView(t, func(t *testing.T, views *ports.ViewSet) (ports.EventStore, ports.ViewStore) {
		cfg := dynamodb.Config{Client: mustLocalClient(t), Views: views}
		cfg.TablePrefix = mustMigratedWith(t, cfg)
		es, err := dynamodb.NewEventStore(cfg)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := dynamodb.NewViewStore(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return es, vs
	})
}

// A filtered page reads at most pageRounds Query pages of filteredReadItems
// items: when the matching rows are further on, it answers fewer rows (even
// none) and a Next, and following Next reads every match exactly once.
func TestViewStoreListPageBoundsItsReadsIntegration(t *testing.T) {
	s := mustViewStore(t)
	defer dynamodb.SetPageBounds(2, 5)()
	ctx := context.Background()
	want := []string{"r-27", "r-29"}
	err := s.Batch(ctx, func(tx ports.ViewTx) error {
		for i := range 30 {
			egg := "a"
			if i == 27 || i == 29 {
				egg = "b"
			}
			if _, err := ports.Runners.In(tx).Put(ctx, ports.RunnerRow{ID: fmt.Sprintf("r-%02d", i), Egg: egg, Version: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	q := ports.Query{Eq: map[string]any{"egg": "b"}, Limit: 1}
	page, err := ports.Runners.In(s.Read()).ListPage(ctx, q)
	if err != nil || len(page.Rows) != 0 || page.Next != "r-09" {
		t.Fatalf("first page: %+v, %v; want no rows and next r-09 (two reads of five items)", page, err)
	}
	var got []string
	for n := 0; page.Next != "" || n == 0; n++ {
		if n > 10 {
			t.Fatal("more than 10 pages")
		}
		q.AfterKey = page.Next
		if page, err = ports.Runners.In(s.Read()).ListPage(ctx, q); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			got = append(got, r.ID)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("followed pages to %v, want %v", got, want)
	}
}
