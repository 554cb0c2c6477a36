package porttest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// ProbeProjector writes Probes: one row per "probe-<id>" stream, counting
// its events and keeping the states of its runner.state_changed events.
type ProbeProjector struct{}

func (ProbeProjector) Name() string { return Probes.Name() }

func (ProbeProjector) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	id, ok := strings.CutPrefix(env.Stream, "probe-")
	if !ok {
		return nil
	}
	t := Probes.In(tx)
	row, found, err := t.Get(ctx, id)
	if err != nil || found && env.Version <= row.Version {
		return err
	}
	if env.Version != row.Version+1 {
		return &projections.GapError{View: Probes.Name(), Stream: env.Stream, Applied: row.Version, Got: env.Version}
	}
	at := env.OccurredAt.UTC()
	if !found {
		row = ProbeRow{ID: id, FirstAt: at}
	}
	row.Events++
	row.LastType, row.LastAt, row.Version = env.Type, at, env.Version
	row.Big = env.GlobalPosition << 40
	if e, ok := env.Payload.(*events.RunnerStateChanged); ok {
		row.States = append(append([]string(nil), row.States...), e.To)
		row.Labels = map[string]string{"reason": e.Reason}
		row.Done = e.To == "TERMINATED"
	}
	_, err = t.Put(ctx, row)
	return err
}

// AddedView checks that a view added by registration alone (Probes, with
// ProbeProjector, in ContractViews) works end to end on a store: open
// returns the log and the views of one store made with views. Events
// appended to the log are projected into the view beside the default ones,
// the view lists and pages in key order, and a replay of it (truncate and
// catch up) gives the same rows.
func AddedView(t *testing.T, open func(t *testing.T, views *ports.ViewSet) (ports.EventStore, ports.ViewStore)) {
	ctx := context.Background()
	store, views := open(t, ContractViews())
	codec := events.NewCodec(events.NewRegistry())
	base := uniqueKey("added")
	at := time.Date(2026, 11, 29, 9, 0, 0, 5, time.UTC)
	states := []string{"ACTIVE", "BUSY", "IDLE", "TERMINATED"}
	var ids []string
	for i := range 7 {
		id := fmt.Sprintf("%s-%02d", base, i)
		ids = append(ids, id)
		recs := make([]events.Record, 0, 4)
		for j := range 1 + i%4 {
			rec, err := codec.Encode(events.Envelope{
				Metadata: events.Metadata{ID: fmt.Sprintf("%s-e%d", id, j), OccurredAt: at.Add(time.Duration(i*10+j) * time.Second), Actor: "porttest"},
				Payload:  events.RunnerStateChanged{RunnerID: id, From: "PROVISIONING", To: states[j], Reason: fmt.Sprintf("step %d", j)},
			})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		if _, err := store.Append(ctx, "probe-"+id, ports.NoStream(), recs); err != nil {
			t.Fatal(err)
		}
	}
	loop, err := projections.NewLoop(projections.Config{Store: store, Views: views, Codec: codec,
		Projectors: append(projections.All(), ProbeProjector{}), BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.CatchUp(ctx); err != nil {
		t.Fatalf("catch up: %v", err)
	}
	read := Probes.In(views.Read())
	live, err := read.List(ctx, ports.Query{AfterKey: base, Limit: len(ids) + 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range live {
		if strings.HasPrefix(r.ID, base) {
			got = append(got, r.ID)
		}
	}
	if !reflect.DeepEqual(got, ids) {
		t.Fatalf("projected probes %v, want %v", got, ids)
	}
	live = live[:len(ids)]
	if r := live[3]; r.Events != 4 || !reflect.DeepEqual(r.States, states) || !r.Done || r.Labels["reason"] != "step 3" {
		t.Fatalf("probe %s: %+v", r.ID, r)
	}
	// Pages, filtered on the indexed column.
	var paged []string
	q := ports.Query{AfterKey: base, Limit: 2, Eq: map[string]any{"last_type": events.RunnerStateChangedV1}}
	for n := 0; n < 20; n++ {
		page, err := read.ListPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			if strings.HasPrefix(r.ID, base) {
				paged = append(paged, r.ID)
			}
		}
		if page.Next == "" || len(paged) == len(ids) {
			break
		}
		q.AfterKey = page.Next
	}
	if !reflect.DeepEqual(paged, ids) {
		t.Fatalf("paged probes %v, want %v", paged, ids)
	}
	// The default views were projected beside it: the audit trail has the events.
	if lag, err := loop.Lag(ctx); err != nil || lag[Probes.Name()] != 0 || lag[ports.ViewAuditLogs] != 0 {
		t.Fatalf("lag after catch-up: %v, %v", lag, err)
	}
	if err := projections.Replay(ctx, loop, Probes.Name()); err != nil {
		t.Fatalf("replay %s: %v", Probes.Name(), err)
	}
	replayed, err := read.List(ctx, ports.Query{AfterKey: base, Limit: len(ids)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(replayed, live) {
		t.Fatalf("replayed probes differ:\n got %+v\nwant %+v", replayed, live)
	}
}
