package dynamodb

import (
	"context"
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
	tx := &appendTx{
		roles: []itemRole{roleIdempotency, roleStreamCheck, roleStreamItem, roleEventID, roleCounter, roleLog},
		ids:   []string{"", "", "", "evt-1", "", ""},
	}
	reasons := func(codes ...string) []types.CancellationReason {
		out := make([]types.CancellationReason, len(codes))
		for i, c := range codes {
			out[i].Code = aws.String(c)
		}
		return out
	}
	const ccf, none, busy = "ConditionalCheckFailed", "None", "TransactionConflict"
	cases := []struct {
		name    string
		reasons []types.CancellationReason
		want    verdict
		detail  string
	}{
		{"counter_moved", reasons(none, none, none, none, ccf, none), verdictRetry, ""},
		{"transient_conflict", reasons(none, busy, none, none, none, none), verdictRetry, ""},
		{"stream_behind", reasons(none, ccf, none, none, ccf, none), verdictConflict, ""},
		{"stream_ahead", reasons(none, none, ccf, none, none, none), verdictConflict, ""},
		{"key_used_wins_over_all", reasons(ccf, ccf, ccf, ccf, ccf, none), verdictDuplicate, ""},
		{"event_id_taken", reasons(none, none, none, ccf, busy, none), verdictDuplicateID, "evt-1"},
		{"only_first_failure_reported", reasons(ccf), verdictDuplicate, ""},
		{"no_reasons", nil, verdictRetry, ""},
		{"validation", reasons(none, none, "ValidationError"), verdictBroken, "ValidationError: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, detail := classify(tx, tc.reasons)
			if got != tc.want || detail != tc.detail {
				t.Fatalf("got %d %q, want %d %q", got, detail, tc.want, tc.detail)
			}
		})
	}
}
