package dynamodb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

func freshPrefix(t *testing.T, client *awsdynamodb.Client, views *ports.ViewSet) string {
	prefix := fmt.Sprintf("mig%d_%d_", runID, prefixSeq.Add(1))
	t.Cleanup(func() {
		for _, n := range (dynamodb.Config{TablePrefix: prefix, Views: views}).TableNames() {
			_, _ = client.DeleteTable(context.Background(), &awsdynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})
	return prefix
}

// Tables of the release before view shapes and schema steps: the log's
// tables as they were (step 1 makes the same), the runners view keyed by
// `key` alone holding a row the log does not produce, the other views in
// today's key layout with no shape recorded, and every checkpoint at the
// head. Migrate (what serve and mothergoose migrate run) records the
// steps, makes the runners table again in the new key layout, empties the
// other views, resets the checkpoints and logs each view; the projector
// loop then rebuilds views equal to the SQLite ones from the same log, and
// equal to their replay.
func TestMigrate_tables_of_the_previous_release_are_rebuilt_Integration(t *testing.T) {
	ctx := context.Background()
	client := mustLocalClient(t)
	prefix := freshPrefix(t, client, nil)
	recorded := func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) } // both stores stamp alike
	cfg := dynamodb.Config{Client: client, TablePrefix: prefix, Logger: slog.New(slog.DiscardHandler), Now: recorded}
	// The previous release's log: write it with today's store, then take the
	// step records away.
	if err := cfg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := dynamodb.NewEventStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler), Now: recorded})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	codec := events.NewCodec(events.NewRegistry())
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	var seq int
	for _, b := range []struct {
		stream string
		evs    []events.Event
	}{
		{"runner-r1", []events.Event{events.RunnerRequested{RunnerID: "r1", Egg: "web", RunnerType: "APEX", Provider: "YANDEX", Region: "ru-central1-a"}, events.RunnerDeployed{RunnerID: "r1", Egg: "web", PlanID: "p1"}}},
		{"egg-web", []events.Event{events.EggSynced{Name: "web", Kind: "egg", RunnerType: "APEX", Provider: "YANDEX", Commit: "c1"}}},
		{"nest-main", []events.Event{events.NestSyncFailed{Commit: "c2", Trigger: "schedule", Error: "fetch failed"}}},
	} {
		recs := make([]events.Record, len(b.evs))
		for i, ev := range b.evs {
			seq++
			if recs[i], err = codec.Encode(events.Envelope{Metadata: events.Metadata{ID: fmt.Sprintf("0193a1b2-0000-7000-8000-%012d", seq), OccurredAt: at.Add(time.Duration(seq) * time.Second), Actor: "test"}, Payload: ev}); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range []ports.EventStore{es, db.Events()} {
			if _, err := s.Append(ctx, b.stream, ports.NoStream(), recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, step := range []string{"1", "2", "3"} { // the previous release recorded none
		mustDelete(t, client, prefix+"events", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "migration"}, "sk": &types.AttributeValueMemberN{Value: step}})
	}
	for _, v := range ports.AllViews {
		mustDelete(t, client, prefix+"checkpoints", map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: "shape#" + v}})
		mustPut(t, client, prefix+"checkpoints", map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: v}, "position": &types.AttributeValueMemberN{Value: fmt.Sprint(seq)}})
	}
	if _, err := client.DeleteTable(ctx, &awsdynamodb.DeleteTableInput{TableName: aws.String(prefix + ports.ViewRunners)}); err != nil {
		t.Fatal(err)
	}
	if err := awsdynamodb.NewTableNotExistsWaiter(client).Wait(ctx, &awsdynamodb.DescribeTableInput{TableName: aws.String(prefix + ports.ViewRunners)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateTable(ctx, &awsdynamodb.CreateTableInput{
		TableName:            aws.String(prefix + ports.ViewRunners),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("key"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("key"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, client, prefix+ports.ViewRunners, map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: "ghost"}, "id": &types.AttributeValueMemberS{Value: "ghost"}, "row_version": &types.AttributeValueMemberN{Value: "3"}})

	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	if err := cfg.Migrate(ctx); err != nil {
		t.Fatalf("migrate over the previous release's tables: %v", err)
	}
	if !strings.Contains(logs.String(), `steps="[1 (log tables`) {
		t.Errorf("schema step not logged:\n%s", logs.String())
	}
	for _, v := range ports.DefaultViews().All() {
		old := `old_shape="none recorded"`
		if v.Name() == ports.ViewRunners {
			old = `old_shape="none recorded (older key schema)"`
		}
		if line := fmt.Sprintf(`view=%s %s new_shape=%s+dynamodb.2`, v.Name(), old, v.Shape()); !strings.Contains(logs.String(), line) {
			t.Errorf("no log line with %s in:\n%s", line, logs.String())
		}
	}
	vs, err := dynamodb.NewViewStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	loop, err := projections.NewLoop(projections.Config{Store: es, Views: vs, Codec: codec, Projectors: projections.All()})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	sloop, err := projections.NewLoop(projections.Config{Store: db.Events(), Views: db.Views(), Codec: codec, Projectors: projections.All()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sloop.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, db.Views())
	if got := snapshot(t, vs); !reflect.DeepEqual(got, want) {
		t.Fatalf("rebuilt DynamoDB views differ from SQLite's:\n got %+v\nwant %+v", got, want)
	}
	for _, v := range ports.AllViews {
		if err := projections.Replay(ctx, loop, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := snapshot(t, vs); !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed DynamoDB views differ:\n got %+v\nwant %+v", got, want)
	}
	logs.Reset()
	if err := cfg.Migrate(ctx); err != nil || strings.Contains(logs.String(), "view shape changed") {
		t.Fatalf("second migrate: %v\n%s", err, logs.String())
	}
}

// Tables at step N migrated by code that knows steps up to M > N run
// N+1..M once; code older than the tables refuses them, naming the step.
func TestMigrate_runs_missing_steps_and_refuses_newer_tables_Integration(t *testing.T) {
	ctx := context.Background()
	client := mustLocalClient(t)
	cfg := dynamodb.Config{Client: client, TablePrefix: freshPrefix(t, client, nil), Logger: slog.New(slog.DiscardHandler)}
	if err := cfg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	runs := 0
	step := dynamodb.AddMigrationForTest(t, "test: a later release's step", func(context.Context, dynamodb.Config) error { runs++; return nil })
	for range 2 {
		if err := cfg.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 {
		t.Fatalf("step %d ran %d times, want once", step, runs)
	}
	mustPut(t, client, cfg.TablePrefix+"events", map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "migration"}, "sk": &types.AttributeValueMemberN{Value: fmt.Sprint(step + 3)},
		"name": &types.AttributeValueMemberS{Value: "from the future"}})
	err := cfg.Migrate(ctx)
	if !errors.Is(err, dynamodb.ErrNewerSchema) || errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), "from the future") {
		t.Fatalf("migrate of newer tables: %v, want EINVALID ErrNewerSchema naming the step", err)
	}
}

func mustPut(t *testing.T, client *awsdynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := client.PutItem(context.Background(), &awsdynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func mustDelete(t *testing.T, client *awsdynamodb.Client, table string, key map[string]types.AttributeValue) {
	t.Helper()
	if _, err := client.DeleteItem(context.Background(), &awsdynamodb.DeleteItemInput{TableName: aws.String(table), Key: key}); err != nil {
		t.Fatal(err)
	}
}

// snapshot is every row of every default view.
func snapshot(t *testing.T, vs ports.ViewStore) map[string][]ports.ViewRow {
	t.Helper()
	out := map[string][]ports.ViewRow{}
	for _, v := range ports.DefaultViews().All() {
		rows, err := vs.Read().Table(v).List(context.Background(), ports.Query{})
		if err != nil {
			t.Fatal(err)
		}
		out[v.Name()] = rows
	}
	if len(out[ports.ViewRunners]) != 1 || len(out[ports.ViewAuditLogs]) != 4 {
		t.Fatalf("unexpected views: %+v", out)
	}
	return out
}
