package domain_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

func TestEgg_AskDeploy(t *testing.T) {
	removed := events.EggRemoved{Name: "web", Commit: "aa11", Reason: "file removed"}
	asked := events.EggDeployAsked{Egg: "web", DeployID: "d1", ConfigHash: eggSynced.ConfigHash, Actor: "api", Reason: "operator"}
	superseded := events.EggDeployFinished{Egg: "web", DeployID: "d0", PlanIDs: []string{}, Outcome: domain.DeploySuperseded, Reason: "superseded by deploy d1"}
	earlier := events.EggDeployAsked{Egg: "web", DeployID: "d0", ConfigHash: eggSynced.ConfigHash, Reason: "operator"}
	tests := []struct {
		name    string
		history []events.Event
		id      string
		code    string
		want    []events.Event
	}{
		{"synced", []events.Event{eggSynced}, "d1", "", []events.Event{asked}},
		{"supersedes_the_deploy_in_force", []events.Event{eggSynced, earlier}, "d1", "", []events.Event{superseded, asked}},
		{"after_a_finished_one", []events.Event{eggSynced, earlier, events.EggDeployFinished{Egg: "web", DeployID: "d0", Outcome: "converged"}}, "d1", "", []events.Event{asked}},
		{"never_synced", nil, "d1", errs.ENOTFOUND, nil},
		{"removed", []events.Event{eggSynced, removed}, "d1", errs.ECONFLICT, nil},
		{"no_id", []events.Event{eggSynced}, "", errs.EINVALID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustEgg(t, tc.history...).AskDeploy(tc.id, "api", "operator")
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			wantEvents(t, evs, tc.want...)
			if after := mustEgg(t, append(tc.history, evs...)...); after.ActiveDeploy() != tc.id {
				t.Fatalf("active deploy %q, want %q", after.ActiveDeploy(), tc.id)
			}
		})
	}
}

func TestEgg_AskRollback(t *testing.T) {
	for _, tc := range []struct {
		name           string
		from, to, plan string
		history        []events.Event
		code           string
	}{
		{"to_an_earlier_configuration", eggSynced.ConfigHash, "h0", "p0", []events.Event{eggSynced}, ""},
		{"to_the_same_configuration", eggSynced.ConfigHash, eggSynced.ConfigHash, "p0", []events.Event{eggSynced}, errs.ECONFLICT},
		{"without_a_plan", eggSynced.ConfigHash, "h0", "", []events.Event{eggSynced}, errs.EINVALID},
		{"never_synced", eggSynced.ConfigHash, "h0", "p0", nil, errs.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustEgg(t, tc.history...).AskRollback("d1", tc.from, tc.to, tc.plan, "api", "operator")
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			wantEvents(t, evs, events.EggRollbackAsked{Egg: "web", DeployID: "d1", FromConfigHash: tc.from, ToConfigHash: tc.to, ToPlanID: tc.plan, Actor: "api", Reason: "operator"})
		})
	}
}

func TestEgg_FinishDeploy(t *testing.T) {
	asked := events.EggDeployAsked{Egg: "web", DeployID: "d1", ConfigHash: eggSynced.ConfigHash, Reason: "operator"}
	e := mustEgg(t, eggSynced, asked)
	if _, err := e.FinishDeploy("d1", nil, "exploded", ""); errs.Code(err) != errs.EINVALID {
		t.Fatalf("unknown outcome: %v, want EINVALID", err)
	}
	evs, err := e.FinishDeploy("d1", []string{"p1"}, domain.DeployConverged, "")
	if err != nil {
		t.Fatal(err)
	}
	wantEvents(t, evs, events.EggDeployFinished{Egg: "web", DeployID: "d1", PlanIDs: []string{"p1"}, Outcome: domain.DeployConverged})
	after := mustEgg(t, eggSynced, asked, evs[0])
	if after.ActiveDeploy() != "" {
		t.Fatalf("deploy still in force: %q", after.ActiveDeploy())
	}
	// Finishing it again, or one never in force, records nothing.
	for _, id := range []string{"d1", "d9"} {
		if evs, err := after.FinishDeploy(id, nil, domain.DeployConverged, ""); err != nil || len(evs) != 0 {
			t.Fatalf("finish %s again: %v %v, want nothing", id, evs, err)
		}
	}
}
