package dynamodb

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		want URLSettings
		code string
	}{
		{"full", "dynamodb://gosling_?region=eu-central-1&endpoint=http://127.0.0.1:8000",
			URLSettings{TablePrefix: "gosling_", Region: "eu-central-1", Endpoint: "http://127.0.0.1:8000"}, ""},
		{"region_only", "dynamodb://prod-?region=eu-central-1", URLSettings{TablePrefix: "prod-", Region: "eu-central-1"}, ""},
		{"no_prefix", "dynamodb://?endpoint=http://localhost:8000", URLSettings{Endpoint: "http://localhost:8000"}, ""},
		{"bare", "dynamodb://gosling", URLSettings{TablePrefix: "gosling"}, ""},
		{"wrong_scheme", "sqlite:///tmp/x.db", URLSettings{}, errs.EINVALID},
		{"unknown_parameter", "dynamodb://g?regoin=eu-central-1", URLSettings{}, errs.EINVALID},
		{"repeated_parameter", "dynamodb://g?region=a&region=b", URLSettings{}, errs.EINVALID},
		{"path", "dynamodb://g/tables", URLSettings{}, errs.EINVALID},
		{"port", "dynamodb://g:8000", URLSettings{}, errs.EINVALID},
		{"bad_endpoint", "dynamodb://g?endpoint=127.0.0.1:8000", URLSettings{}, errs.EINVALID},
		{"bad_prefix", "dynamodb://g%21?region=x", URLSettings{}, errs.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURL(tc.raw)
			if errs.Code(err) != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConstructorsRefuseNilClient(t *testing.T) {
	if _, err := NewEventStore(Config{}); errs.Code(err) != errs.EINVALID {
		t.Fatalf("event store: got %v, want EINVALID", err)
	}
	if _, err := NewViewStore(Config{}); errs.Code(err) != errs.EINVALID {
		t.Fatalf("view store: got %v, want EINVALID", err)
	}
	if err := Migrate(context.Background(), nil, "x"); errs.Code(err) != errs.EINVALID {
		t.Fatalf("migrate: got %v, want EINVALID", err)
	}
}

// offlineStore has a client that must never be called: every case below is
// refused before any request.
func offlineStore(t *testing.T) *EventStore {
	t.Helper()
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")})
	s, err := NewEventStore(Config{Client: client, TablePrefix: "offline_"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAppendRefusesWhatDynamoDBCannotStore(t *testing.T) {
	s := offlineStore(t)
	big := porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{Reason: strings.Repeat("x", maxItemBytes)})
	mid := func() []events.Record {
		out := make([]events.Record, 12)
		for i := range out {
			out[i] = porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{Reason: strings.Repeat("y", 200*1024)})
		}
		return out
	}
	longID := porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{})
	longID.ID = strings.Repeat("i", maxKeyTextBytes+1)
	cases := []struct {
		name string
		evs  []events.Record
		opts []ports.AppendOption
	}{
		{"event_over_400kb", []events.Record{big}, nil},
		{"batch_over_4mb", mid(), nil},
		{"long_event_id", []events.Record{longID}, nil},
		{"long_idempotency_key", []events.Record{porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{})},
			[]ports.AppendOption{ports.WithIdempotencyKey(strings.Repeat("k", maxKeyTextBytes+1))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The client points nowhere and the context is cancelled, so an
			// EINVALID answer proves the append was refused before any request.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := s.Append(ctx, "s", ports.NoStream(), tc.evs, tc.opts...)
			if errs.Code(err) != errs.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestReadAllRefusesNonPositiveLimit(t *testing.T) {
	if _, err := offlineStore(t).ReadAll(context.Background(), 0, 0); errs.Code(err) != errs.EINVALID {
		t.Fatalf("got %v, want EINVALID", err)
	}
}

func TestFirstMissing(t *testing.T) {
	at := func(ps ...uint64) []events.Record {
		out := make([]events.Record, len(ps))
		for i, p := range ps {
			out[i].GlobalPosition = p
		}
		return out
	}
	cases := []struct {
		name     string
		recs     []events.Record
		from, to uint64
		want     uint64
	}{
		{"complete", at(3, 4, 5), 3, 5, 0},
		{"hole_in_the_middle", at(3, 5), 3, 5, 4},
		{"missing_first", at(4, 5), 3, 5, 3},
		{"missing_tail", at(3, 4), 3, 5, 5},
		{"nothing", nil, 1, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstMissing(tc.recs, tc.from, tc.to); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestClassifyCancellationReasons(t *testing.T) {
	tx := &appendTx{items: []txItem{
		{role: roleIdempotency, batch: -1}, {role: roleStreamCheck}, {role: roleStreamItem},
		{role: roleEventID, id: "evt-1"}, {role: roleCounter, batch: -1}, {role: roleLog},
	}}
	const ccf, none, busy = "ConditionalCheckFailed", "None", "TransactionConflict"
	cases := []struct {
		name    string
		reasons []types.CancellationReason
		want    verdict
		batch   int
		detail  string
	}{
		{"counter_moved", reasons(none, none, none, none, ccf, none), verdictRetry, -1, ""},
		{"transient_conflict", reasons(none, busy, none, none, none, none), verdictRetry, -1, ""},
		{"stream_behind", reasons(none, ccf, none, none, ccf, none), verdictConflict, 0, ""},
		{"stream_ahead", reasons(none, none, ccf, none, none, none), verdictConflict, 0, ""},
		{"key_used_wins_over_all", reasons(ccf, ccf, ccf, ccf, ccf, none), verdictDuplicate, -1, ""},
		{"event_id_taken", reasons(none, none, none, ccf, busy, none), verdictDuplicateID, 0, "evt-1"},
		{"only_first_failure_reported", reasons(ccf), verdictDuplicate, -1, ""},
		{"no_reasons", nil, verdictRetry, -1, ""},
		{"validation", reasons(none, none, "ValidationError"), verdictBroken, -1, "ValidationError: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, batch, detail := classify(tx, tc.reasons)
			if got != tc.want || batch != tc.batch || detail != tc.detail {
				t.Fatalf("got %d batch %d %q, want %d batch %d %q", got, batch, detail, tc.want, tc.batch, tc.detail)
			}
		})
	}
}

// A cancelled multi-stream append names the stream in conflict, preferring
// one whose batch does not expect Any (a conflict there is only retried).
func TestClassifyNamesTheConflictingStream(t *testing.T) {
	// Batch 0 expects Any, batch 1 NoStream, batch 2 a version: its check,
	// then one stream item, one id item and one log item per batch.
	tx := &appendTx{
		anyBatch: []bool{true, false, false},
		items: []txItem{
			{role: roleStreamItem, batch: 0}, {role: roleStreamItem, batch: 1},
			{role: roleStreamCheck, batch: 2}, {role: roleStreamItem, batch: 2},
			{role: roleEventID, batch: 0, id: "e0"}, {role: roleEventID, batch: 1, id: "e1"}, {role: roleEventID, batch: 2, id: "e2"},
			{role: roleCounter, batch: -1},
			{role: roleLog, batch: 0}, {role: roleLog, batch: 1}, {role: roleLog, batch: 2},
		},
	}
	const ccf, none = "ConditionalCheckFailed", "None"
	cases := []struct {
		name    string
		reasons []types.CancellationReason
		want    verdict
		batch   int
		detail  string
	}{
		{"second_stream_exists", reasons(none, ccf, none, none, none, none, none, ccf, none, none, none), verdictConflict, 1, ""},
		{"third_stream_behind", reasons(none, none, ccf, none, none, none, none, none, none, none, none), verdictConflict, 2, ""},
		{"first_in_request_order", reasons(none, ccf, ccf, ccf, none, none, none, none, none, none, none), verdictConflict, 1, ""},
		{"any_stream_only", reasons(ccf, none, none, none, none, none, none, ccf, none, none, none), verdictConflict, 0, ""},
		{"any_stream_yields_to_a_decided_one", reasons(ccf, none, none, ccf, none, none, none, none, none, none, none), verdictConflict, 2, ""},
		{"event_id_of_the_third_batch", reasons(none, none, none, none, none, none, ccf, none, none, none, none), verdictDuplicateID, 2, "e2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, batch, detail := classify(tx, tc.reasons)
			if got != tc.want || batch != tc.batch || detail != tc.detail {
				t.Fatalf("got %d batch %d %q, want %d batch %d %q", got, batch, detail, tc.want, tc.batch, tc.detail)
			}
		})
	}
}

func reasons(codes ...string) []types.CancellationReason {
	out := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		out[i].Code = aws.String(c)
	}
	return out
}

// streamBatches returns n batches of per events each, on streams
// prefix0, prefix1, ... all expecting exp.
func streamBatches(prefix string, n, per int, exp ports.ExpectedVersion, reason string) []ports.StreamBatch {
	out := make([]ports.StreamBatch, n)
	for i := range out {
		out[i] = ports.StreamBatch{Stream: fmt.Sprintf("%s%d", prefix, i), Expected: exp}
		for range per {
			out[i].Events = append(out[i].Events, porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{Reason: reason}))
		}
	}
	return out
}

// A multi-stream append must fit one transaction: 100 items (3 per event, 1
// per stream check, the counter) and 4 MB. What does not is EINVALID before
// any request; what does passes the same checks.
func TestAppendStreamsRefusesWhatOneTransactionCannotHold(t *testing.T) {
	s := offlineStore(t)
	concat := func(parts ...[]ports.StreamBatch) []ports.StreamBatch {
		var out []ports.StreamBatch
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	const items, events, bytes, keyLen = "transaction items", "at most 32 per append", "bytes in one append", "longer than"
	cases := []struct {
		name    string
		batches []ports.StreamBatch
		refusal string // "" when it fits
	}{
		{"32_new_streams_97_items", streamBatches("new", 32, 1, ports.NoStream(), ""), ""},
		{"24_existing_streams_97_items", streamBatches("old", 24, 1, ports.At(1), ""), ""},
		{"25_existing_streams_101_items", streamBatches("old", 25, 1, ports.At(1), ""), items},
		{"32_events_in_3_existing_streams_100_items", concat(streamBatches("a", 2, 11, ports.At(2), ""), streamBatches("b", 1, 10, ports.At(7), "")), ""},
		{"32_events_in_4_existing_streams_101_items", streamBatches("old", 4, 8, ports.At(3), ""), items},
		{"32_events_in_3_existing_and_29_new_streams", concat(streamBatches("old", 3, 1, ports.At(1), ""), streamBatches("new", 29, 1, ports.NoStream(), "")), ""},
		{"any_counts_as_existing_100_items", concat(streamBatches("old", 1, 30, ports.At(4), ""), streamBatches("any", 2, 1, ports.Any(), "")), ""},
		{"any_counts_as_existing_101_items", concat(streamBatches("old", 1, 29, ports.At(4), ""), streamBatches("any", 3, 1, ports.Any(), "")), items},
		{"33_events", streamBatches("new", 3, 11, ports.NoStream(), ""), events},
		{"over_4mb", streamBatches("big", 3, 4, ports.NoStream(), strings.Repeat("y", 200*1024)), bytes},
		{"long_label", []ports.StreamBatch{{Stream: "m", Expected: ports.NoStream(), Key: strings.Repeat("k", maxKeyTextBytes+1),
			Events: streamBatches("m", 1, 1, ports.NoStream(), "")[0].Events}}, keyLen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The client points nowhere and the context is cancelled, so an
			// EINVALID answer proves the append was refused before any
			// request, and an EUNAVAILABLE one that it passed the checks.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := s.AppendStreams(ctx, tc.batches)
			if tc.refusal == "" {
				if errs.Code(err) != errs.EUNAVAILABLE {
					t.Fatalf("got %v, want it to pass the checks and fail on the cancelled context", err)
				}
				return
			}
			if errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), tc.refusal) {
				t.Fatalf("got %v, want EINVALID for %q", err, tc.refusal)
			}
		})
	}
}
