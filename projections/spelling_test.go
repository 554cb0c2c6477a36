package projections_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// A log written before providers and runner types were spelled in lower case
// ("YANDEX", "APEX") builds, live and by replay, exactly the views of the same
// log in the current spelling: the codec reads the retired spelling as the
// current one (events/respell.go), so no view keeps the old one.
func TestReplay_of_a_log_in_the_retired_spelling_builds_the_current_one(t *testing.T) {
	log := func(provider, apex, nadir, serverless, aws string) []struct {
		stream string
		ev     events.Event
	} {
		return []struct {
			stream string
			ev     events.Event
		}{
			{"egg-web", events.EggSynced{Name: "web", Kind: "egg", RunnerType: apex, Provider: provider, Region: "ru-central1-a",
				ProjectIDs: []int64{15}, CPU: 2, MemoryGB: 4, MaxApex: 2, ConfigHash: "sha256:1", Commit: "c1", Path: "Eggs/web/config.fly"}},
			{"runner-r1", events.RunnerRequested{RunnerID: "r1", Egg: "web", RunnerType: apex, Provider: provider, Region: "ru-central1-a", Reason: "min pool"}},
			{"runner-r1", events.RunnerDeployed{RunnerID: "r1", Egg: "web", PlanID: "p1", RunnerType: apex, Provider: provider, Region: "ru-central1-a", InstanceID: "fhm1"}},
			{"runner-r1", events.RunnerPoolChanged{RunnerID: "r1", From: apex, To: nadir, Reason: "idle"}},
			{"runner-r2", events.RunnerRequested{RunnerID: "r2", Egg: "web", RunnerType: serverless, Provider: aws, Region: "eu-central-1", JobID: 7, Reason: "pending job"}},
		}
	}
	build := func(t *testing.T, provider, apex, nadir, serverless, aws string) *fixture {
		f := newFixture(t)
		for _, e := range log(provider, apex, nadir, serverless, aws) {
			f.append(e.stream, e.ev)
		}
		f.mustCatchUp()
		return f
	}
	old := build(t, "YANDEX", "APEX", "NADIR", "SERVERLESS", "AWS")
	cur := build(t, "yandex", "apex", "nadir", "serverless", "aws")

	// The stored events keep their bytes: only how they are read changed.
	recs, err := old.store.ReadAll(context.Background(), 0, 100)
	if err != nil || len(recs) != 5 || !bytes.Contains(recs[0].Payload, []byte(`"provider":"YANDEX"`)) {
		t.Fatalf("old log: %d records, %v; first %s", len(recs), err, recs[0].Payload)
	}

	want := mustSnapshot(t, cur.views)
	if r := want.Runners; len(r) != 2 || r[0].Type != "nadir" || r[0].Provider != "yandex" || r[1].Type != "serverless" || r[1].Provider != "aws" {
		t.Fatalf("runners %+v", r)
	}
	if e := want.EggConfigs; len(e) != 1 || e[0].RunnerType != "apex" || e[0].Provider != "yandex" {
		t.Fatalf("egg configs %+v", e)
	}
	mustSameSnapshot(t, mustSnapshot(t, old.views), want)
	for _, view := range ports.AllViews {
		if err := projections.Replay(context.Background(), old.runner, view); err != nil {
			t.Fatalf("replay %s: %v", view, err)
		}
	}
	mustSameSnapshot(t, mustSnapshot(t, old.views), want)
}
