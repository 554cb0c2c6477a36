package projections_test

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

var lastSeen = time.Date(2026, 11, 29, 11, 55, 0, 42, time.UTC)

func requested() events.RunnerRequested {
	return events.RunnerRequested{RunnerID: "r1", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a",
		Tags: []string{"docker", "linux"}, JobID: 1977, Reason: "pending job"}
}

func deployed() events.RunnerDeployed {
	return events.RunnerDeployed{RunnerID: "r1", Egg: "web", PlanID: "p1", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a",
		InstanceID: "fhm1", Address: "10.0.0.5", Hostname: "runner-r1", GoslingVersion: "0.1.0"}
}

// provisioning is the row after requested() as the first event.
func provisioning() ports.RunnerRow {
	return ports.RunnerRow{ID: "r1", Egg: "web", Type: "apex", State: "PROVISIONING", Provider: "yandex", Region: "ru-central1-a",
		Tags: []string{"docker", "linux"}, JobID: 1977, StateReason: "pending job", StateSince: occurredAt(1), CreatedAt: occurredAt(1), UpdatedAt: occurredAt(1), Version: 1}
}

// active is the row after requested() and deployed().
func active() ports.RunnerRow {
	r := provisioning()
	r.State, r.StateReason, r.PlanID, r.InstanceID, r.Address, r.Hostname, r.GoslingVersion = "ACTIVE", "deployed by plan p1", "p1", "fhm1", "10.0.0.5", "runner-r1", "0.1.0"
	r.DeployedAt, r.StateSince, r.UpdatedAt, r.Version = occurredAt(2), occurredAt(2), occurredAt(2), 2
	return r
}

func TestRunners(t *testing.T) {
	tests := []struct {
		name string
		evs  []events.Event
		want func() ports.RunnerRow
	}{
		{"requested_creates_a_provisioning_runner", []events.Event{requested()}, provisioning},
		{"requested_without_tags_has_nil_tags", []events.Event{events.RunnerRequested{RunnerID: "r1", Egg: "web", RunnerType: "serverless", Provider: "aws", Region: "eu-central-1", Tags: []string{}, Reason: "r"}},
			func() ports.RunnerRow {
				return ports.RunnerRow{ID: "r1", Egg: "web", Type: "serverless", State: "PROVISIONING", Provider: "aws", Region: "eu-central-1", StateReason: "r",
					StateSince: occurredAt(1), CreatedAt: occurredAt(1), UpdatedAt: occurredAt(1), Version: 1}
			}},
		{"deployed_activates_with_instance_address_and_plan", []events.Event{requested(), deployed()}, active},
		{"state_changed_moves_the_state", []events.Event{requested(), deployed(), events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "BUSY", Reason: "job 1977 started"}},
			func() ports.RunnerRow {
				r := active()
				r.State, r.StateReason, r.StateSince, r.UpdatedAt, r.Version = "BUSY", "job 1977 started", occurredAt(3), occurredAt(3), 3
				return r
			}},
		{"heartbeat_missed_counts_and_sets_last_seen", []events.Event{requested(), deployed(),
			events.RunnerHeartbeatMissed{RunnerID: "r1", LastSeenAt: lastSeen, ThresholdMS: 180000, Missed: 1},
			events.RunnerHeartbeatMissed{RunnerID: "r1", LastSeenAt: lastSeen, ThresholdMS: 180000, Missed: 2}},
			func() ports.RunnerRow {
				r := active()
				r.MissedHeartbeats, r.LastSeenAt, r.UpdatedAt, r.Version = 2, lastSeen, occurredAt(4), 4
				r.Silent, r.Silences = true, 2
				return r
			}},
		{"live_state_resets_missed_heartbeats", []events.Event{requested(), deployed(),
			events.RunnerHeartbeatMissed{RunnerID: "r1", LastSeenAt: lastSeen, ThresholdMS: 180000, Missed: 1},
			events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "IDLE"}},
			func() ports.RunnerRow {
				r := active()
				r.State, r.StateReason, r.LastSeenAt, r.StateSince, r.UpdatedAt, r.Version = "IDLE", "", lastSeen, occurredAt(4), occurredAt(4), 4
				// The silence stays recorded until UglyFox hears the runner again.
				r.Silent, r.Silences = true, 1
				return r
			}},
		{"failed_state_keeps_missed_heartbeats", []events.Event{requested(), deployed(),
			events.RunnerHeartbeatMissed{RunnerID: "r1", LastSeenAt: lastSeen, ThresholdMS: 180000, Missed: 1},
			events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "FAILED", Reason: "silent"}},
			func() ports.RunnerRow {
				r := active()
				r.State, r.StateReason, r.MissedHeartbeats, r.LastSeenAt, r.UpdatedAt, r.Version = "FAILED", "silent", 1, lastSeen, occurredAt(4), 4
				r.StateSince, r.Silent, r.Silences = occurredAt(4), true, 1
				return r
			}},
		{"pool_changed_changes_the_type", []events.Event{requested(), deployed(), events.RunnerPoolChanged{RunnerID: "r1", From: "apex", To: "nadir", Reason: "idle"}},
			func() ports.RunnerRow {
				r := active()
				r.Type, r.PoolSince, r.UpdatedAt, r.Version = "nadir", occurredAt(3), occurredAt(3), 3
				return r
			}},
		{"heartbeat_resumed_ends_the_silence", []events.Event{requested(), deployed(),
			events.RunnerHeartbeatMissed{RunnerID: "r1", LastSeenAt: lastSeen, ThresholdMS: 180000, Missed: 1},
			events.RunnerHeartbeatResumed{RunnerID: "r1", SilentSince: lastSeen, LastSeenAt: lastSeen.Add(time.Hour)}},
			func() ports.RunnerRow {
				r := active()
				r.LastSeenAt, r.Silences, r.UpdatedAt, r.Version = lastSeen.Add(time.Hour), 1, occurredAt(4), 4
				return r
			}},
		{"deferred_decision_kept_until_carried_out", []events.Event{requested(), deployed(),
			events.RunnerJobOverran{RunnerID: "r1", BusySince: lastSeen, LimitSeconds: 3600},
			events.UglyFoxDecisionDeferred{RunnerID: "r1", Action: "terminate", Reason: "rule old"}},
			func() ports.RunnerRow {
				r := active()
				r.OverranBusySince, r.DeferredAction, r.DeferredReason, r.UpdatedAt, r.Version = lastSeen, "terminate", "rule old", occurredAt(4), 4
				return r
			}},
		{"termination_asked_carries_out_the_deferred", []events.Event{requested(), deployed(),
			events.UglyFoxDecisionDeferred{RunnerID: "r1", Action: "terminate", Reason: "rule old"},
			events.RunnerTerminationAsked{RunnerID: "r1", Reason: "uglyfox: deferred: rule old"}},
			func() ports.RunnerRow {
				r := active()
				r.StateReason, r.TerminationAskedAt, r.UpdatedAt, r.Version = "termination asked: uglyfox: deferred: rule old", occurredAt(4), occurredAt(4), 4
				return r
			}},
		{"terminated_ends_the_runner", []events.Event{requested(), deployed(), events.RunnerTerminated{RunnerID: "r1", Reason: "policy", InstanceID: "fhm1"}},
			func() ports.RunnerRow {
				r := active()
				r.State, r.StateReason, r.TerminatedAt, r.StateSince, r.UpdatedAt, r.Version = "TERMINATED", "policy", occurredAt(3), occurredAt(3), occurredAt(3), 3
				return r
			}},
		{"request_served_by_another_runner_says_so", []events.Event{requested(),
			events.RunnerTerminationAsked{RunnerID: "r1", Reason: "job 1977 went to runner web-pool-1"},
			events.RunnerTerminated{RunnerID: "r1", Reason: "job 1977 went to runner web-pool-1", ServedBy: "web-pool-1"}},
			func() ports.RunnerRow {
				r := provisioning()
				r.State, r.StateReason, r.ServedBy = "TERMINATED", "job 1977 went to runner web-pool-1", "web-pool-1"
				r.TerminatedAt, r.StateSince, r.TerminationAskedAt, r.UpdatedAt, r.Version = occurredAt(3), occurredAt(3), occurredAt(2), occurredAt(3), 3
				return r
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.append("runner-r1", tc.evs...)
			f.append("runner-r2", requested()) // another runner stays apart
			f.mustCatchUp()
			got, ok, err := ports.Runners.In(f.views.Read()).Get(context.Background(), "r1")
			if err != nil || !ok {
				t.Fatalf("get r1: %v, %v", ok, err)
			}
			if want := tc.want(); !reflect.DeepEqual(got, want) {
				t.Fatalf("row\n got %+v\nwant %+v", got, want)
			}
			if rows := mustSnapshot(t, f.views).Runners; len(rows) != 2 || rows[1].ID != "r2" || rows[1].Version != 1 {
				t.Fatalf("runners view: %+v", rows)
			}
		})
	}
}

func eggSynced() events.EggSynced {
	return events.EggSynced{Name: "web", Kind: "egg", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a",
		GitLabServer: "https://gitlab.example.com", ProjectIDs: []int64{15}, GroupIDs: []int64{3}, Tags: []string{"docker"},
		CPU: 4, MemoryGB: 8, DiskGB: 64, Image: "ubuntu-2404", MinApex: 1, MaxApex: 5, MinNadir: 2,
		TokenSecretURI: "yc-lockbox://e6q0abc/runner-token", WebhookSecretURI: "yc-lockbox://e6q0abc/webhook",
		ConfigHash: "sha256:1f2e", Commit: "da15608", Path: "Eggs/web/config.fly"}
}

func eggRow() ports.EggConfigRow {
	return ports.EggConfigRow{Name: "web", Kind: "egg", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a",
		GitLabServer: "https://gitlab.example.com", ProjectIDs: []int64{15}, GroupIDs: []int64{3}, Tags: []string{"docker"},
		CPU: 4, MemoryGB: 8, DiskGB: 64, Image: "ubuntu-2404", MinApex: 1, MaxApex: 5, MinNadir: 2,
		TokenSecretURI: "yc-lockbox://e6q0abc/runner-token", WebhookSecretURI: "yc-lockbox://e6q0abc/webhook",
		ConfigHash: "sha256:1f2e", Commit: "da15608", Path: "Eggs/web/config.fly", SyncedAt: occurredAt(1), Version: 1}
}

func TestEggConfigs(t *testing.T) {
	resync := eggSynced()
	resync.Tags, resync.GroupIDs, resync.CPU, resync.ConfigHash, resync.Commit = nil, []int64{}, 8, "sha256:2a", "e0f1234"
	tests := []struct {
		name string
		evs  []events.Event
		want func() ports.EggConfigRow
	}{
		{"synced_upserts_the_config", []events.Event{eggSynced()}, eggRow},
		{"synced_again_replaces_the_config", []events.Event{eggSynced(), resync}, func() ports.EggConfigRow {
			r := eggRow()
			r.Tags, r.GroupIDs, r.CPU, r.ConfigHash, r.Commit, r.SyncedAt, r.Version = nil, nil, 8, "sha256:2a", "e0f1234", occurredAt(2), 2
			return r
		}},
		{"removed_marks_removed_and_keeps_the_config", []events.Event{eggSynced(), events.EggRemoved{Name: "web", Commit: "abc1234", Reason: "file removed"}}, func() ports.EggConfigRow {
			r := eggRow()
			r.Removed, r.Commit, r.SyncedAt, r.Version = true, "abc1234", occurredAt(2), 2
			return r
		}},
		{"synced_after_removal_restores", []events.Event{eggSynced(), events.EggRemoved{Name: "web", Commit: "abc1234"}, eggSynced()}, func() ports.EggConfigRow {
			r := eggRow()
			r.SyncedAt, r.Version = occurredAt(3), 3
			return r
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.append("egg-web", tc.evs...)
			f.mustCatchUp()
			rows := mustSnapshot(t, f.views).EggConfigs
			if want := []ports.EggConfigRow{tc.want()}; !reflect.DeepEqual(rows, want) {
				t.Fatalf("rows\n got %+v\nwant %+v", rows, want)
			}
		})
	}
}

func TestSyncHistory(t *testing.T) {
	started := time.Date(2026, 11, 29, 11, 59, 0, 0, time.UTC)
	f := newFixture(t)
	diag := events.Diagnostic{File: "Eggs/web/config.fly", Line: 3, Column: 5, Severity: "error", Summary: "Unsupported argument"}
	pos := f.append("nest",
		events.NestSynced{Commit: "da1560886d4f", Branch: "main", Trigger: "webhook", Changes: []events.FileChange{{Path: "Eggs/web/config.fly", Action: "added"}},
			EggsAdded: 1, JobsSynced: 2, UglyFoxSynced: true, StartedAt: started, DurationMS: 42},
		events.NestSyncFailed{Commit: "beef1234", PreviousCommit: "da1560886d4f", Trigger: "scheduled", Diagnostics: []events.Diagnostic{diag}, StartedAt: started, DurationMS: 7},
		events.NestSyncFailed{Trigger: "manual", Error: "fetch failed", DurationMS: 1},
	)
	f.mustCatchUp()
	want := []ports.SyncHistoryRow{
		{Key: ports.PositionKey(pos[0]), EventID: "evt-0001", Position: pos[0], Status: "SUCCESS", Commit: "da1560886d4f", Branch: "main", Trigger: "webhook",
			Changes: []events.FileChange{{Path: "Eggs/web/config.fly", Action: "added"}}, EggsAdded: 1, JobsSynced: 2, UglyFoxSynced: true, StartedAt: started, DurationMS: 42, Version: 1},
		{Key: ports.PositionKey(pos[1]), EventID: "evt-0002", Position: pos[1], Status: "FAILED", Commit: "beef1234", PreviousCommit: "da1560886d4f", Trigger: "scheduled",
			Diagnostics: []events.Diagnostic{diag}, StartedAt: started, DurationMS: 7, Version: 2},
		{Key: ports.PositionKey(pos[2]), EventID: "evt-0003", Position: pos[2], Status: "FAILED", Trigger: "manual", Error: "fetch failed",
			StartedAt: occurredAt(3), DurationMS: 1, Version: 3},
	}
	if got := mustSnapshot(t, f.views).SyncHistory; !reflect.DeepEqual(got, want) {
		t.Fatalf("rows\n got %+v\nwant %+v", got, want)
	}
}

// A repeat folds its cumulative count and last time into the row of the
// failure it repeats, in the same page or a later one; a repeat of a
// position that is no failure of that id changes nothing.
func TestSyncHistory_failure_repeats_fold_into_the_failure_row(t *testing.T) {
	started := time.Date(2026, 11, 29, 11, 59, 0, 0, time.UTC)
	f := newFixture(t)
	pos := f.append("nest",
		events.NestSynced{Commit: "da1560886d4f", Trigger: "manual", StartedAt: started},
		events.NestSyncFailed{Trigger: "scheduled", Error: "gitrepo: fetch: reference not found", StartedAt: started},
		events.NestSyncFailureRepeated{FailureEventID: "evt-0002", FailurePosition: 2, Count: 3, FirstAt: started.Add(time.Minute), LastAt: started.Add(3 * time.Minute)},
	)
	f.mustCatchUp()
	f.append("nest",
		events.NestSyncFailureRepeated{FailureEventID: "evt-0002", FailurePosition: pos[1], Count: 60, FirstAt: started.Add(time.Minute), LastAt: started.Add(time.Hour)},
		events.NestSyncFailureRepeated{FailureEventID: "evt-0001", FailurePosition: pos[0], Count: 9, FirstAt: started, LastAt: started}, // a success: ignored
		events.NestSyncFailureRepeated{FailureEventID: "evt-0009", FailurePosition: pos[1], Count: 9, FirstAt: started, LastAt: started}, // another id: ignored
	)
	f.mustCatchUp()
	rows := mustSnapshot(t, f.views).SyncHistory
	want := ports.SyncHistoryRow{Key: ports.PositionKey(pos[1]), EventID: "evt-0002", Position: pos[1], Status: "FAILED", Trigger: "scheduled",
		Error: "gitrepo: fetch: reference not found", StartedAt: started, Repeats: 60, LastAttemptAt: started.Add(time.Hour), Version: 4}
	if len(rows) != 2 || !reflect.DeepEqual(rows[1], want) || rows[0].Repeats != 0 || rows[0].Version != 1 {
		t.Fatalf("rows\n got %+v\nwant [success, %+v]", rows, want)
	}
}

func planCreated() events.PlanCreated {
	return events.PlanCreated{PlanID: "p1", RunnerID: "r1", Egg: "web", Action: "create", Module: "aws",
		Inputs: map[string]string{"cpu": "2"}, SecretURIs: map[string]string{"runner_token": "aws-sm://gosling/runner-token"},
		ConfigHash: "sha256:ab", PlanFile: "plans/p1.tfplan", PlanSHA256: "sha256:cd", TofuVersion: "1.12.6", PreviousPlanID: "p0"}
}

func pendingPlan() ports.DeploymentPlanRow {
	return ports.DeploymentPlanRow{PlanID: "p1", RunnerID: "r1", Egg: "web", Action: "create", Module: "aws", Status: "PENDING",
		Inputs: map[string]string{"cpu": "2"}, SecretURIs: map[string]string{"runner_token": "aws-sm://gosling/runner-token"},
		ConfigHash: "sha256:ab", PlanSHA256: "sha256:cd", TofuVersion: "1.12.6", PreviousPlanID: "p0",
		CreatedAt: occurredAt(1), UpdatedAt: occurredAt(1), Version: 1}
}

func TestDeploymentPlans(t *testing.T) {
	applied := events.PlanApplied{PlanID: "p1", RunnerID: "r1", Outputs: map[string]string{"instance_id": "i-0abc"}, DurationMS: 5120}
	tests := []struct {
		name string
		evs  []events.Event
		want func() ports.DeploymentPlanRow
	}{
		{"created_is_pending", []events.Event{planCreated()}, pendingPlan},
		{"created_without_secrets_has_nil_maps", []events.Event{events.PlanCreated{PlanID: "p1", RunnerID: "r1", Egg: "web", Action: "destroy", Module: "local", Inputs: map[string]string{}, ConfigHash: "h"}},
			func() ports.DeploymentPlanRow {
				return ports.DeploymentPlanRow{PlanID: "p1", RunnerID: "r1", Egg: "web", Action: "destroy", Module: "local", Status: "PENDING", ConfigHash: "h",
					CreatedAt: occurredAt(1), UpdatedAt: occurredAt(1), Version: 1}
			}},
		{"applied_sets_applied_at", []events.Event{planCreated(), applied}, func() ports.DeploymentPlanRow {
			r := pendingPlan()
			r.Status, r.AppliedAt, r.UpdatedAt, r.Version = "APPLIED", occurredAt(2), occurredAt(2), 2
			return r
		}},
		{"failed_keeps_stage_and_error", []events.Event{planCreated(), events.PlanFailed{PlanID: "p1", RunnerID: "r1", Stage: "apply", Error: "quota exceeded"}}, func() ports.DeploymentPlanRow {
			r := pendingPlan()
			r.Status, r.FailedStage, r.Error, r.UpdatedAt, r.Version = "FAILED", "apply", "quota exceeded", occurredAt(2), 2
			return r
		}},
		{"rolled_back_names_the_restored_plan", []events.Event{planCreated(), applied, events.PlanRolledBack{PlanID: "p1", RunnerID: "r1", RestoredPlanID: "p0", Reason: "operator"}}, func() ports.DeploymentPlanRow {
			r := pendingPlan()
			r.Status, r.RestoredPlanID, r.AppliedAt, r.UpdatedAt, r.Version = "ROLLED_BACK", "p0", occurredAt(2), occurredAt(3), 3
			return r
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.append("plan-p1", tc.evs...)
			f.mustCatchUp()
			rows := mustSnapshot(t, f.views).DeploymentPlans
			if want := []ports.DeploymentPlanRow{tc.want()}; !reflect.DeepEqual(rows, want) {
				t.Fatalf("rows\n got %+v\nwant %+v", rows, want)
			}
		})
	}
}

// everyEvent has one event of each type of the catalogue, with its stream.
func everyEvent() []struct {
	stream string
	ev     events.Event
} {
	return []struct {
		stream string
		ev     events.Event
	}{
		{"nest", events.NestSynced{Commit: "da1560886d4f094c3e6c", Trigger: "webhook", EggsAdded: 1, UglyFoxSynced: true}},
		{"nest", events.NestSyncFailed{Commit: "beef1234", Trigger: "scheduled", Diagnostics: []events.Diagnostic{{File: "Eggs/web/config.fly", Line: 3, Summary: "Unsupported argument"}}}},
		{"nest", events.NestSyncFailureRepeated{FailureEventID: "e2", FailurePosition: 2, Count: 3, FirstAt: lastSeen, LastAt: lastSeen}},
		{"egg-web", eggSynced()},
		{"egg-web", events.EggRemoved{Name: "web", Commit: "abc1234", Reason: "file removed"}},
		{"egg-web", events.EggRetryAsked{Egg: "web", Reason: "retry asked through the API"}},
		{"egg-web", events.EggReconcileFailed{Egg: "web", Server: "gitlab.com", Scope: "project 7", Code: "ENOTFOUND", Reason: "404 Project Not Found", RetryAfterMS: 60000}},
		{"egg-web", events.EggReconcileRecovered{Egg: "web", Server: "gitlab.com"}},
		{"egg-web", events.EggDeployAsked{Egg: "web", DeployID: "d1", ConfigHash: "h2", Actor: "api", Reason: "deploy asked through the API"}},
		{"egg-web", events.EggRollbackAsked{Egg: "web", DeployID: "d2", FromConfigHash: "h2", ToConfigHash: "h1", ToPlanID: "p0", Actor: "api", Reason: "rollback asked through the API"}},
		{"egg-web", events.EggDeployFinished{Egg: "web", DeployID: "d1", PlanIDs: []string{"p1"}, Outcome: "converged"}},
		{"job-rotate", events.JobSynced{Name: "rotate", Schedule: "0 3 * * *", Commit: "abc1234"}},
		{"uglyfox", events.UglyFoxConfigSynced{Commit: "abc1234", Policies: []string{"a", "b"}}},
		{"webhook-d1", events.WebhookReceived{DeliveryID: "d1", EventKind: "build", Outcome: "accepted", Egg: "web", JobID: 1977, JobStatus: "pending"}},
		{"runner-r1", requested()},
		{"plan-p1", planCreated()},
		{"plan-p1", events.PlanApplied{PlanID: "p1", RunnerID: "r1", DurationMS: 5120}},
		{"plan-p2", events.PlanCreated{PlanID: "p2", RunnerID: "r1", Egg: "web", Action: "update", Module: "aws", ConfigHash: "h"}},
		{"plan-p2", events.PlanFailed{PlanID: "p2", RunnerID: "r1", Stage: "apply", Error: "quota exceeded"}},
		{"plan-p1", events.PlanRolledBack{PlanID: "p1", RunnerID: "r1", RestoredPlanID: "p0", Reason: "operator"}},
		{"runner-r1", deployed()},
		{"runner-r1", events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "BUSY", Reason: "job started"}},
		{"runner-r1", events.RunnerHeartbeatMissed{RunnerID: "r1", LastSeenAt: lastSeen, ThresholdMS: 180000, Missed: 1}},
		{"runner-r1", events.RunnerHeartbeatResumed{RunnerID: "r1", SilentSince: lastSeen, LastSeenAt: lastSeen.Add(time.Hour)}},
		{"runner-r1", events.RunnerJobOverran{RunnerID: "r1", BusySince: lastSeen, LimitSeconds: 3600, Reason: "max_job_duration"}},
		{"runner-r1", events.UglyFoxDecisionDeferred{RunnerID: "r1", Action: "terminate", Reason: "rule old"}},
		{"runner-r1", events.RunnerPoolChanged{RunnerID: "r1", From: "apex", To: "nadir"}},
		{"runner-r1", events.RunnerJobAssigned{RunnerID: "r1", JobID: 7, RequestID: "web-job-7"}},
		{"runner-r1", events.RunnerQueued{RunnerID: "r1", Reason: "at max"}},
		{"runner-r1", events.RunnerTerminationAsked{RunnerID: "r1", Reason: "operator"}},
		{"runner-r1", events.RunnerGitLabRegistered{RunnerID: "r1", Egg: "web", GitLabServer: "gitlab.com", GitLabRunnerID: 9, RunnerType: "project_type", OwnerID: 15, TokenSecretURI: "file:///w/r1/gitlab-runner-token"}},
		{"runner-r1", events.RunnerGitLabUnregistered{RunnerID: "r1", Reason: "no token"}},
		{"runner-r1", events.RunnerGitLabPaused{RunnerID: "r1", GitLabRunnerID: 9, Reason: "terminating"}},
		{"runner-r1", events.RunnerGitLabDeleteOwed{RunnerID: "r1", GitLabServer: "gitlab.com", GitLabRunnerID: 9, Reason: "terminating"}},
		{"runner-r1", events.RunnerTerminated{RunnerID: "r1", Reason: "policy"}},
		{"runner-r1", events.RunnerGitLabDeleteFailed{RunnerID: "r1", GitLabRunnerID: 9, Code: "EUNAVAILABLE", Error: "down", RetryInSeconds: 4}},
		{"runner-r1", events.RunnerGitLabDeleted{RunnerID: "r1", GitLabRunnerID: 9}},
		{"egg-web", events.RunnerGitLabOrphanDeleted{Egg: "web", GitLabServer: "gitlab.com", GitLabRunnerID: 10, RunnerID: "r2", Reason: "not in the log"}},
		{"lease-uglyfox-sweep", events.UglyFoxLeaseAcquired{Lease: "uglyfox-sweep", Holder: "fox-a", Token: 1, TTLMS: 30000, ExpiresAt: lastSeen}},
		{"lease-uglyfox-sweep", events.UglyFoxLeaseLost{Lease: "uglyfox-sweep", Holder: "fox-a", Token: 1, Reason: "it lapsed"}},
		{"lease-uglyfox-sweep", events.UglyFoxLeaseReleased{Lease: "uglyfox-sweep", Holder: "fox-b", Token: 2}},
		{"binary-tofu", events.BinaryVersionRegistered{Binary: "tofu", Version: "1.12.6", Platform: "linux/amd64"}},
		{"binary-tofu", events.BinaryVersionActivated{Binary: "tofu", Version: "1.12.6", PreviousVersion: "1.12.5"}},
		{"egghooks-web", events.EggWebhookInstalled{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "project", ID: 15},
			HookID: 42, URL: "https://mg.example.com/webhooks/gitlab", Action: "created", ConfigHash: "h", WebhookSecretURI: "env://HOOK"}},
		{"egghooks-web", events.EggWebhookInstallFailed{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "group", ID: 7},
			Code: "EUNAVAILABLE", Reason: "GitLab answered 429 Too Many Requests", RetryAfterS: 30}},
		{"egghooks-web", events.EggWebhookSkipped{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "project", ID: 16},
			Reason: "no --public-url"}},
		{"egghooks-web", events.EggWebhookRemoved{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "project", ID: 15},
			HookID: 42, Reason: "egg web was removed from the Nest"}},
		{"secret-0123456789abcdef", events.SecretAccessed{URI: "vault://secret/data/gosling#token", Accessor: "mothergoose:apply", Purpose: "runner registration", Outcome: "resolved"}},
	}
}

func TestAuditLogs_one_row_per_event(t *testing.T) {
	f := newFixture(t)
	var positions []uint64
	var streams []string
	for _, e := range everyEvent() {
		positions = append(positions, f.append(e.stream, e.ev)...)
		streams = append(streams, e.stream)
	}
	f.mustCatchUp()
	rows := mustSnapshot(t, f.views).AuditLogs
	if len(rows) != len(positions) {
		t.Fatalf("%d audit rows for %d events", len(rows), len(positions))
	}
	types := map[string]bool{}
	for i, row := range rows {
		n := i + 1
		want := ports.AuditLogRow{Key: ports.PositionKey(positions[i]), Position: positions[i], EventID: fmt.Sprintf("evt-%04d", n),
			Stream: streams[i], StreamVersion: row.StreamVersion, Type: everyEvent()[i].ev.EventName(), Actor: "test",
			CorrelationID: fmt.Sprintf("corr-%d", n), CausationID: fmt.Sprintf("cause-%d", n), Summary: row.Summary,
			OccurredAt: occurredAt(n), RecordedAt: t0.Add(recordedAt), Version: row.StreamVersion}
		if !reflect.DeepEqual(row, want) {
			t.Fatalf("row %d\n got %+v\nwant %+v", i, row, want)
		}
		if row.StreamVersion != f.streamVersionOf(t, row.Stream, row.EventID) {
			t.Fatalf("row %d: stream version %d", i, row.StreamVersion)
		}
		if row.Summary == "" || strings.HasPrefix(row.Summary, "event ") {
			t.Fatalf("%s has no summary of its own: %q", row.Type, row.Summary)
		}
		types[row.Type] = true
	}
	for _, name := range events.NewRegistry().Names() {
		if !types[name] {
			t.Fatalf("the audit test has no %s event; add one to everyEvent", name)
		}
	}
}

func (f *fixture) streamVersionOf(t *testing.T, stream, id string) uint64 {
	t.Helper()
	recs, err := f.store.Load(context.Background(), stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.ID == id {
			return r.Version
		}
	}
	t.Fatalf("event %s not in %s", id, stream)
	return 0
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name string
		ev   events.Event
		want string
	}{
		{"nest_synced", events.NestSynced{Commit: "da1560886d4f094c3e6c", Trigger: "webhook", EggsAdded: 1, EggsUpdated: 2, JobsSynced: 1, UglyFoxSynced: true},
			"Nest synced at da1560886d4f (webhook): 1 eggs added, 2 updated, 0 removed, 1 jobs, UglyFox config"},
		{"nest_sync_failed_with_diagnostics", events.NestSyncFailed{Commit: "beef1234", Trigger: "scheduled", Diagnostics: []events.Diagnostic{{File: "Eggs/a.fly", Line: 3, Summary: "Unsupported argument"}, {}}},
			"Nest sync of beef1234 (scheduled) failed: 2 diagnostics, first Eggs/a.fly:3: Unsupported argument"},
		{"nest_sync_failed_without_commit", events.NestSyncFailed{Trigger: "manual", Error: "fetch failed:\n timeout"},
			"Nest sync of unknown commit (manual) failed: fetch failed: timeout"},
		{"nest_synced_in_full", events.NestSynced{Commit: "da1560886d4f094c3e6c", Trigger: "scheduled", EggsRemoved: 1, FullResyncReason: "the last synced commit is gone"},
			"Nest synced at da1560886d4f (scheduled): 0 eggs added, 0 updated, 1 removed, 0 jobs, in full: the last synced commit is gone"},
		{"nest_sync_failure_repeated", events.NestSyncFailureRepeated{FailureEventID: "e2", FailurePosition: 2, Count: 59, FirstAt: time.Date(2026, 11, 29, 11, 31, 0, 0, time.UTC), LastAt: time.Date(2026, 11, 29, 12, 30, 0, 0, time.UTC)},
			"Nest sync failure e2 repeated 59 times, the last at 2026-11-29T12:30:00Z"},
		{"runner_state_changed", events.RunnerStateChanged{RunnerID: "r1", From: "ACTIVE", To: "BUSY", Reason: "job started"}, "runner r1 ACTIVE -> BUSY: job started"},
		{"heartbeat_missed", events.RunnerHeartbeatMissed{RunnerID: "r1", ThresholdMS: 180000, Missed: 2}, "runner r1 missed heartbeat 2 in a row (threshold 3m0s)"},
		{"plan_failed_long_error_is_clipped", events.PlanFailed{PlanID: "p1", RunnerID: "r1", Stage: "apply", Error: strings.Repeat("é", 300)},
			"plan p1 for runner r1 failed at apply: " + strings.Repeat("é", 100) + "…"},
		{"secret_accessed_shows_the_uri_only", events.SecretAccessed{URI: "vault://secret/data/gosling#token", Accessor: "mothergoose:apply", Purpose: "registration", Outcome: "resolved"},
			"secret vault://secret/data/gosling#token resolved for mothergoose:apply (registration)"},
		{"binary_activated_first_version", events.BinaryVersionActivated{Binary: "gosling", Version: "0.1.0"}, "gosling 0.1.0 activated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := projections.Summary(events.Envelope{Type: tc.ev.EventName(), Payload: tc.ev})
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
