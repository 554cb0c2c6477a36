package dynamodb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// TestProjectionsMatchSQLiteIntegration runs the same commands, with the
// same clocks and ids, through the command handlers on DynamoDB and on
// SQLite, projects each log into its own store's views, and requires every
// view to be identical: the projections work on DynamoDB as they do on the
// embedded default. It then replays every DynamoDB view and compares again.
func TestProjectionsMatchSQLiteIntegration(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	// The stores' own clocks (recorded_at) may be read a different number
	// of times per append, so they stand still; the handlers' clock ticks.
	clocks := func() (func() time.Time, func() time.Time, func() string) {
		var tick, ids int
		return func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Second) },
			func() time.Time { return base.Add(time.Hour) },
			func() string { ids++; return fmt.Sprintf("0193a1b2-0000-7000-8000-%012d", ids) }
	}

	client := mustLocalClient(t)
	prefix := mustMigrated(t, client)
	dClock, dRecorded, dIDs := clocks()
	dEvents, err := dynamodb.NewEventStore(dynamodb.Config{Client: client, TablePrefix: prefix, Now: dRecorded})
	if err != nil {
		t.Fatal(err)
	}
	dViews, err := dynamodb.NewViewStore(dynamodb.Config{Client: client, TablePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}

	sClock, sRecorded, sIDs := clocks()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{Now: sRecorded})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	codec := events.NewCodec(events.NewRegistry())
	dynamoRunner := mustScenario(t, dEvents, dViews, codec, dClock, dIDs)
	mustScenario(t, db.Events(), db.Views(), codec, sClock, sIDs)

	want := mustViews(t, db.Views())
	got := mustViews(t, dViews)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DynamoDB views differ from SQLite's:\n got %+v\nwant %+v", got, want)
	}
	for _, view := range ports.AllViews {
		if err := projections.Replay(ctx, dynamoRunner, view); err != nil {
			t.Fatalf("replay %s on DynamoDB: %v", view, err)
		}
	}
	if replayed := mustViews(t, dViews); !reflect.DeepEqual(replayed, want) {
		t.Fatalf("DynamoDB views after replay differ:\n got %+v\nwant %+v", replayed, want)
	}
}

// mustScenario runs a lifecycle touching every projector and catches the
// views up.
func mustScenario(t *testing.T, store ports.EventStore, views ports.ViewStore, codec *events.Codec, clock func() time.Time, ids func() string) *projections.Loop {
	t.Helper()
	ctx := context.Background()
	h, err := commands.NewHandlers(store, codec, clock, ids)
	if err != nil {
		t.Fatal(err)
	}
	meta := commands.Meta{Actor: "user:alice", CorrelationID: "corr-1"}
	steps := []func() (ports.AppendResult, error){
		func() (ports.AppendResult, error) {
			return h.SyncEgg(ctx, commands.SyncEgg{Meta: meta, Config: events.EggSynced{Name: "web", Kind: "egg", RunnerType: "apex", Provider: "yandex",
				Region: "ru-central1-a", GitLabServer: "gitlab.com", ProjectIDs: []int64{15}, Tags: []string{"docker"}, CPU: 2, MemoryGB: 4, MinApex: 1, MaxApex: 3,
				WebhookSecretURI: "yc-lockbox://e6q/webhook", ConfigHash: "sha256:1f", Commit: "da15608", Path: "Eggs/web/config.fly"}})
		},
		func() (ports.AppendResult, error) {
			return h.RecordNestSync(ctx, commands.RecordNestSync{Meta: meta, Sync: events.NestSynced{Commit: "da15608", Trigger: "manual", EggsAdded: 1,
				Changes: []events.FileChange{{Path: "Eggs/web/config.fly", Action: "added"}}}})
		},
		func() (ports.AppendResult, error) {
			return h.ReceiveWebhook(ctx, commands.ReceiveWebhook{Meta: meta, Delivery: events.WebhookReceived{DeliveryID: "d-1", EventKind: "build", Outcome: "accepted", Egg: "web", ProjectID: 15, JobID: 7, JobStatus: "pending"}})
		},
		func() (ports.AppendResult, error) {
			return h.RequestRunner(ctx, commands.RequestRunner{Meta: meta, RunnerID: "r-01", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", Tags: []string{"docker"}, JobID: 7, Reason: "pending job"})
		},
		func() (ports.AppendResult, error) {
			return h.CreatePlan(ctx, commands.CreatePlan{Meta: meta, PlanID: "p-01", RunnerID: "r-01", Egg: "web", Action: "create", Module: "yandex",
				Inputs: map[string]string{"cpu": "2"}, SecretURIs: map[string]string{"token": "yc-lockbox://e6q/token"}, ConfigHash: "sha256:ab", PlanFile: "plans/p-01.tfplan"})
		},
		func() (ports.AppendResult, error) {
			return h.ApplyPlan(ctx, commands.ApplyPlan{Meta: meta, PlanID: "p-01", Outputs: map[string]string{"instance_id": "fhm1"}, Duration: 5 * time.Second})
		},
		func() (ports.AppendResult, error) {
			return h.DeployRunner(ctx, commands.DeployRunner{Meta: meta, RunnerID: "r-01", PlanID: "p-01", InstanceID: "fhm1", Address: "10.0.0.5"})
		},
		func() (ports.AppendResult, error) {
			return h.ChangeRunnerState(ctx, commands.ChangeRunnerState{Meta: meta, RunnerID: "r-01", To: "BUSY", Reason: "job 7"})
		},
		func() (ports.AppendResult, error) {
			return h.RecordNestSyncFailed(ctx, commands.RecordNestSyncFailed{Meta: meta, Failure: events.NestSyncFailed{Commit: "ee5577", Trigger: "webhook",
				Diagnostics: []events.Diagnostic{{File: "Eggs/web/config.fly", Line: 2, Column: 3, Severity: "error", Summary: "bad cpu"}}}})
		},
		func() (ports.AppendResult, error) {
			return h.TerminateRunner(ctx, commands.TerminateRunner{Meta: meta, RunnerID: "r-01", Reason: "done"})
		},
	}
	for i, step := range steps {
		if _, err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	runner, err := projections.NewLoop(projections.Config{Store: store, Views: views, Codec: codec, Projectors: projections.All()})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	return runner
}

type allViews struct {
	Runners []ports.RunnerRow
	Eggs    []ports.EggConfigRow
	Syncs   []ports.SyncHistoryRow
	Plans   []ports.DeploymentPlanRow
	Audit   []ports.AuditLogRow
}

func mustViews(t *testing.T, vs ports.ViewStore) allViews {
	t.Helper()
	ctx := context.Background()
	v := vs.Read()
	var a allViews
	var err error
	must := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	var e error
	a.Runners, e = ports.Runners.In(v).List(ctx, ports.Query{})
	must(e)
	a.Eggs, e = ports.EggConfigs.In(v).List(ctx, ports.Query{})
	must(e)
	a.Syncs, e = ports.SyncHistory.In(v).List(ctx, ports.Query{})
	must(e)
	a.Plans, e = ports.DeploymentPlans.In(v).List(ctx, ports.Query{})
	must(e)
	a.Audit, e = ports.AuditLogs.In(v).List(ctx, ports.Query{})
	must(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Runners) != 1 || len(a.Eggs) != 1 || len(a.Syncs) != 2 || len(a.Plans) != 1 || len(a.Audit) != 10 {
		t.Fatalf("unexpected view sizes: %d runners, %d eggs, %d syncs, %d plans, %d audit rows", len(a.Runners), len(a.Eggs), len(a.Syncs), len(a.Plans), len(a.Audit))
	}
	return a
}
