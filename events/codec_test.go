package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

var update = flag.Bool("update", false, "rewrite golden files from the samples")

var at = time.Date(2026, 11, 29, 12, 30, 0, 0, time.UTC)

// samples holds one fully populated payload per event type; the golden test
// fails when a registered type has none.
var samples = map[string]events.Event{
	events.NestSyncedV1: events.NestSynced{Commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", PreviousCommit: "95790bf891e76fee5e1747ab589903a6a1f80f22", Branch: "main", Trigger: "webhook",
		Changes: []events.FileChange{{Path: "Eggs/web/config.fly", Action: "modified"}}, EggsUpdated: 1, JobsSynced: 0, StartedAt: at, DurationMS: 42,
		FullResyncReason: "the last synced commit 95790bf891e76fee5e1747ab589903a6a1f80f22 is not in the repository (the branch was rewritten)"},
	events.NestSyncFailedV1: events.NestSyncFailed{Commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", Trigger: "scheduled", StartedAt: at, DurationMS: 7,
		Diagnostics: []events.Diagnostic{{File: "Eggs/web/config.fly", Line: 3, Column: 5, Severity: "error", Summary: "Unsupported argument", Detail: `An argument named "cpus" is not expected here.`}}},
	events.NestSyncFailureRepeatedV1: events.NestSyncFailureRepeated{FailureEventID: "0193a1b2-0000-7000-8000-000000000000", FailurePosition: 16,
		Commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", Count: 59, FirstAt: at.Add(-59 * time.Minute), LastAt: at},
	events.EggSyncedV1: events.EggSynced{Name: "web", Kind: "egg", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", GitLabServer: "https://gitlab.example.com",
		ProjectIDs: []int64{15}, Tags: []string{"docker", "linux"}, CPU: 4, MemoryGB: 8, DiskGB: 64, Image: "ubuntu-2404", MinApex: 1, MaxApex: 5, MinNadir: 2,
		TokenSecretURI: "yc-lockbox://e6q0abc/runner-token", WebhookSecretURI: "yc-lockbox://e6q0abc/webhook", ConfigHash: "sha256:1f2e", Commit: "da15608", Path: "Eggs/web/config.fly",
		TofuVersion: "1.9.0", GoslingVersion: "0.4.2"},
	events.EggRemovedV1:     events.EggRemoved{Name: "web", Commit: "da15608", Reason: "file removed"},
	events.EggRetryAskedV1:  events.EggRetryAsked{Egg: "web", Reason: "retry asked through the API"},
	events.EggDeployAskedV1: events.EggDeployAsked{Egg: "web", DeployID: "d-01", ConfigHash: "sha256:1f2e", Actor: "api", Reason: "deploy asked through the API"},
	events.EggRollbackAskedV1: events.EggRollbackAsked{Egg: "web", DeployID: "d-02", FromConfigHash: "sha256:1f2e", ToConfigHash: "sha256:0a0b", ToPlanID: "p-00",
		Actor: "api", Reason: "rollback asked through the API"},
	events.EggDeployFinishedV1: events.EggDeployFinished{Egg: "web", DeployID: "d-01", PlanIDs: []string{"p-01", "p-02"}, Outcome: "failed", Reason: "egg web: its last 3 runners failed to provision"},
	events.JobSyncedV1:         events.JobSynced{Name: "rotate-tokens", Schedule: "0 3 * * *", Egg: "web", Image: "alpine:3.20", Tags: []string{"nest"}, ConfigHash: "sha256:9a", Commit: "da15608", Path: "Jobs/rotate-tokens.fly"},
	events.UglyFoxConfigSyncedV1: events.UglyFoxConfigSynced{ConfigHash: "sha256:77", Commit: "da15608", Path: "UF/config.fly", Policies: []string{"prune_failed", "demote_idle"},
		Settings: &events.UglyFoxSettingsSpec{FailedThreshold: 3, MaxAgeSeconds: 86400, CheckIntervalSeconds: 60, HeartbeatTimeoutSeconds: 180,
			Pools: []events.UglyFoxPoolsSpec{{Name: "default", Eggs: []string{"web"}, ApexMin: 1, ApexMax: 10, ApexCPUThreshold: 80, ApexMemoryThreshold: 70, NadirMin: 0, NadirMax: 5, NadirIdleTimeoutSeconds: 1800}},
			Rules: []events.UglyFoxRuleSpec{{Name: "prune_failed", When: `runner.failure_count >= 3 && runner.age > duration(local.old)`, Action: "terminate", Locals: `{"old":"1h"}`},
				{Name: "demote_idle", When: `runner.pool == "apex" && runner.idle_for > duration("30m")`, Action: "demote_to_nadir"}}}},
	events.RunnerHeartbeatResumedV1:  events.RunnerHeartbeatResumed{RunnerID: "r-01", SilentSince: at.Add(-10 * time.Minute), LastSeenAt: at},
	events.RunnerJobOverranV1:        events.RunnerJobOverran{RunnerID: "r-01", BusySince: at.Add(-2 * time.Hour), LimitSeconds: 3600, Reason: "egg web's max_job_duration is 1h0m0s"},
	events.UglyFoxDecisionDeferredV1: events.UglyFoxDecisionDeferred{RunnerID: "r-01", Action: "terminate", Reason: "pruning.max_age 24h0m0s (runner age 25h0m0s)"},
	events.WebhookReceivedV1: events.WebhookReceived{DeliveryID: "13792a34-cac6-4fda-95a8-c58e00a3954e", EventKind: "build", Outcome: "accepted", GitLabServer: "https://gitlab.example.com",
		Egg: "web", ProjectID: 15, JobID: 1977, JobStatus: "pending", Ref: "main", Tags: []string{"docker"}, Unauthenticated: true, Truncated: []string{"ref"}},
	events.RunnerRequestedV1: events.RunnerRequested{RunnerID: "r-01", Egg: "web", RunnerType: "serverless", Provider: "aws", Region: "eu-central-1", Tags: []string{"docker"}, JobID: 1977, Reason: "pending job"},
	events.PlanCreatedV1: events.PlanCreated{PlanID: "p-01", RunnerID: "r-01", Egg: "web", Action: "create", Module: "aws", Inputs: map[string]string{"cpu": "2", "region": "eu-central-1"},
		SecretURIs: map[string]string{"runner_token": "aws-sm://gosling/runner-token"}, ConfigHash: "sha256:ab", PlanFile: "plans/p-01.tfplan", PlanSHA256: "sha256:cd", TofuVersion: "1.12.6", PreviousPlanID: "p-00",
		EggConfigHash: "sha256:1f2e", DeployID: "d-01"},
	events.PlanAppliedV1:           events.PlanApplied{PlanID: "p-01", RunnerID: "r-01", Outputs: map[string]string{"instance_id": "i-0abc"}, DurationMS: 5120},
	events.PlanFailedV1:            events.PlanFailed{PlanID: "p-01", RunnerID: "r-01", Stage: "apply", Error: "quota exceeded", Diagnostics: []events.Diagnostic{{File: "main.tf", Line: 1, Column: 1, Severity: "error", Summary: "quota"}}},
	events.PlanRolledBackV1:        events.PlanRolledBack{PlanID: "p-02", RunnerID: "r-01", RestoredPlanID: "p-01", Reason: "operator rollback"},
	events.RunnerDeployedV1:        events.RunnerDeployed{RunnerID: "r-01", Egg: "web", PlanID: "p-01", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", InstanceID: "fhm1", Address: "10.0.0.5", Hostname: "runner-r-01", GoslingVersion: "0.1.0", CredentialSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	events.RunnerStateChangedV1:    events.RunnerStateChanged{RunnerID: "r-01", From: "ACTIVE", To: "BUSY", Reason: "job 1977 started"},
	events.RunnerHeartbeatMissedV1: events.RunnerHeartbeatMissed{RunnerID: "r-01", LastSeenAt: at.Add(-5 * time.Minute), ThresholdMS: 180000, Missed: 2},
	events.RunnerPoolChangedV1:     events.RunnerPoolChanged{RunnerID: "r-01", From: "apex", To: "nadir", Reason: "idle for 30m"},
	events.RunnerTerminatedV1:      events.RunnerTerminated{RunnerID: "r-01", Reason: "failed heartbeat policy", InstanceID: "fhm1", ServedBy: "web-pool-1a2b3c4d"},
	events.BinaryVersionRegisteredV1: events.BinaryVersionRegistered{Binary: "tofu", Version: "1.12.6", Platform: "linux/amd64", SHA256: "0f3c", Source: "go module",
		Size: 104857600, Actor: "alice@ops-1", Reason: "OpenTofu 1.12.6 fixes the S3 backend lock"},
	events.BinaryVersionActivatedV1: events.BinaryVersionActivated{Binary: "tofu", Version: "1.12.6", PreviousVersion: "1.12.5", Actor: "alice@ops-1", Reason: "rollout after canary"},
	events.RunnerJobAssignedV1:      events.RunnerJobAssigned{RunnerID: "r-01", JobID: 1977, RequestID: "web-job-1977", Reason: "runner r-01 is IDLE with a free slot"},
	events.RunnerQueuedV1:           events.RunnerQueued{RunnerID: "web-job-1977", JobID: 1977, Reason: "egg web is at its apex max_count of 2 runners"},
	events.RunnerTerminationAskedV1: events.RunnerTerminationAsked{RunnerID: "r-01", Reason: "operator alice: POST /runners/r-01/terminate"},
	events.EggReconcileFailedV1: events.EggReconcileFailed{Egg: "web", Server: "gitlab.com", Scope: "project 7", Code: "EUNAUTHORIZED",
		Reason: "GitLab refused the token to read the pending jobs of project 7 on gitlab.com: 401 Unauthorized", RetryAfterMS: 900000},
	events.EggReconcileRecoveredV1: events.EggReconcileRecovered{Egg: "web", Server: "gitlab.com"},
	events.EggWebhookInstalledV1: events.EggWebhookInstalled{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "project", ID: 15},
		HookID: 42, URL: "https://mothergoose.example.com/webhooks/gitlab", Action: "updated", Reason: "the egg's configuration changed", ConfigHash: "sha256:1f2e", WebhookSecretURI: "yc-lockbox://e6q0abc/webhook"},
	events.EggWebhookInstallFailedV1: events.EggWebhookInstallFailed{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "group", ID: 7},
		Code: "EUNAVAILABLE", Reason: "GitLab answered 429 Too Many Requests", RetryAfterS: 30},
	events.EggWebhookSkippedV1: events.EggWebhookSkipped{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "project", ID: 15},
		Reason: "no --gitlab-api-token for gitlab.example.com"},
	events.EggWebhookRemovedV1: events.EggWebhookRemoved{Egg: "web", WebhookOwner: events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: "project", ID: 15},
		HookID: 42, Reason: "egg web was removed from the Nest"},
	events.SecretAccessedV1: events.SecretAccessed{URI: "vault://secret/data/gosling#token", Accessor: "mothergoose:apply", Purpose: "runner registration", Outcome: "resolved"},
	events.RunnerGitLabRegisteredV1: events.RunnerGitLabRegistered{RunnerID: "r-01", Egg: "web", GitLabServer: "gitlab.example.com", GitLabRunnerID: 9001,
		RunnerType: "project_type", OwnerID: 15, Description: "polar-gosling runner r-01 (egg web)", TokenSecretURI: "file:///var/lib/gosling/work/r-01/gitlab-runner-token"},
	events.RunnerGitLabUnregisteredV1:  events.RunnerGitLabUnregistered{RunnerID: "r-01", Reason: "no --gitlab-api-token for gitlab.example.com"},
	events.RunnerGitLabPausedV1:        events.RunnerGitLabPaused{RunnerID: "r-01", GitLabRunnerID: 9001, RunningJobs: 1, Reason: "terminating"},
	events.RunnerGitLabDeleteOwedV1:    events.RunnerGitLabDeleteOwed{RunnerID: "r-01", GitLabServer: "gitlab.example.com", GitLabRunnerID: 9001, Reason: "terminating"},
	events.RunnerGitLabDeleteFailedV1:  events.RunnerGitLabDeleteFailed{RunnerID: "r-01", GitLabRunnerID: 9001, Code: "EUNAVAILABLE", Error: "GitLab answered 503", RetryInSeconds: 20},
	events.RunnerGitLabDeletedV1:       events.RunnerGitLabDeleted{RunnerID: "r-01", GitLabRunnerID: 9001, AlreadyGone: true},
	events.UglyFoxLeaseAcquiredV1:      events.UglyFoxLeaseAcquired{Lease: "uglyfox-sweep", Holder: "fox-1.example-4242-9f3a", Token: 7, TTLMS: 30000, ExpiresAt: at.Add(30 * time.Second)},
	events.UglyFoxLeaseReleasedV1:      events.UglyFoxLeaseReleased{Lease: "uglyfox-sweep", Holder: "fox-1.example-4242-9f3a", Token: 7},
	events.UglyFoxLeaseLostV1:          events.UglyFoxLeaseLost{Lease: "uglyfox-sweep", Holder: "fox-1.example-4242-9f3a", Token: 7, Reason: "the renewal was refused: the lease is held by fox-2"},
	events.RunnerGitLabOrphanDeletedV1: events.RunnerGitLabOrphanDeleted{Egg: "web", GitLabServer: "gitlab.example.com", GitLabRunnerID: 9002, RunnerID: "r-01", Reason: "a duplicate of the recorded GitLab runner 9001"},
}

func sampleEnvelope(name string, ev events.Event) events.Envelope {
	return events.Envelope{
		Metadata: events.Metadata{ID: "0193a1b2-0000-7000-8000-000000000001", OccurredAt: at, Actor: "mothergoose:test", CorrelationID: "corr-1", CausationID: "cmd-1"},
		Position: events.Position{Stream: "stream-" + strings.SplitN(name, ".", 2)[0], Version: 3, GlobalPosition: 17, RecordedAt: at.Add(time.Millisecond), IdempotencyKey: "idem-1"},
		Type:     name,
		Payload:  ev,
	}
}

func TestGolden_every_event_type(t *testing.T) {
	reg := events.NewRegistry()
	codec := events.NewCodec(reg)
	names := reg.Names()
	if len(names) != 47 {
		t.Fatalf("catalogue has %d types, want the 47 of the product", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ev, ok := samples[name]
			if !ok {
				t.Fatalf("no sample for %s: add one so its encoding is pinned", name)
			}
			if !strings.HasSuffix(name, ".v1") {
				t.Fatalf("%s: the first published version must be .v1", name)
			}
			rec, err := codec.Encode(sampleEnvelope(name, ev))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(rec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("golden file missing (run go test ./events -update once, then review it): %v", err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
				t.Fatalf("encoding of %s changed; a published event must keep its shape.\ngot:\n%s\nwant:\n%s", name, got, want)
			}
			// The golden file decodes back to the same envelope.
			var stored events.Record
			if err := json.Unmarshal(want, &stored); err != nil {
				t.Fatal(err)
			}
			env, err := codec.Decode(stored)
			if err != nil {
				t.Fatal(err)
			}
			wantPayload := reflect.New(reflect.TypeOf(ev))
			wantPayload.Elem().Set(reflect.ValueOf(ev))
			if !reflect.DeepEqual(env.Payload, wantPayload.Interface()) {
				t.Fatalf("decoded payload %#v, want %#v", env.Payload, wantPayload.Interface())
			}
			if env.Metadata != sampleEnvelope(name, ev).Metadata || env.Position != sampleEnvelope(name, ev).Position {
				t.Fatalf("metadata did not survive: %+v", env)
			}
		})
	}
}

// Events recorded before an optional field was added to their type
// (testdata/before_optional_fields, the golden files of that time) decode
// with the field empty: adding an omitempty field keeps a published
// event's shape.
func TestDecode_before_optional_fields(t *testing.T) {
	codec := events.NewCodec(events.NewRegistry())
	for _, tc := range []struct {
		file string
		want events.Event
	}{
		{"binary.version_registered.v1.json", &events.BinaryVersionRegistered{Binary: "tofu", Version: "1.12.6", Platform: "linux/amd64", SHA256: "0f3c", Source: "go module"}},
		{"binary.version_activated.v1.json", &events.BinaryVersionActivated{Binary: "tofu", Version: "1.12.6", PreviousVersion: "1.12.5"}},
		{"egg.synced.v1.json", &events.EggSynced{Name: "web", Kind: "egg", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", GitLabServer: "https://gitlab.example.com",
			ProjectIDs: []int64{15}, Tags: []string{"docker", "linux"}, CPU: 4, MemoryGB: 8, DiskGB: 64, Image: "ubuntu-2404", MinApex: 1, MaxApex: 5, MinNadir: 2,
			TokenSecretURI: "yc-lockbox://e6q0abc/runner-token", WebhookSecretURI: "yc-lockbox://e6q0abc/webhook", ConfigHash: "sha256:1f2e", Commit: "da15608", Path: "Eggs/web/config.fly"}},
		{"runner.terminated.v1.json", &events.RunnerTerminated{RunnerID: "r-01", Reason: "failed heartbeat policy", InstanceID: "fhm1"}},
		{"uglyfox.config_synced.v1.json", &events.UglyFoxConfigSynced{ConfigHash: "sha256:77", Commit: "da15608", Path: "UF/config.fly", Policies: []string{"prune_failed", "demote_idle"}}},
		{"plan.created.v1.json", &events.PlanCreated{PlanID: "p-01", RunnerID: "r-01", Egg: "web", Action: "create", Module: "aws", Inputs: map[string]string{"cpu": "2", "region": "eu-central-1"},
			SecretURIs: map[string]string{"runner_token": "aws-sm://gosling/runner-token"}, ConfigHash: "sha256:ab", PlanFile: "plans/p-01.tfplan", PlanSHA256: "sha256:cd", TofuVersion: "1.12.6", PreviousPlanID: "p-00"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "before_optional_fields", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var rec events.Record
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			env, err := codec.Decode(rec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(env.Payload, tc.want) {
				t.Fatalf("decoded %#v, want %#v", env.Payload, tc.want)
			}
		})
	}
}

func TestDecode_errors(t *testing.T) {
	codec := events.NewCodec(events.NewRegistry())
	tests := []struct {
		name    string
		rec     events.Record
		wantErr any
	}{
		{"unknown_type", events.Record{Type: "runner.exploded.v1", Payload: json.RawMessage(`{}`)}, new(*events.UnknownTypeError)},
		{"unknown_version", events.Record{Type: "runner.deployed.v9", Payload: json.RawMessage(`{}`)}, new(*events.UnknownTypeError)},
		{"corrupt_json", events.Record{Type: events.RunnerDeployedV1, Payload: json.RawMessage(`{"runner_id":`)}, new(*events.CorruptPayloadError)},
		{"wrong_field_type", events.Record{Type: events.RunnerDeployedV1, Payload: json.RawMessage(`{"runner_id":17}`)}, new(*events.CorruptPayloadError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := codec.Decode(tc.rec)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if !errors.As(err, tc.wantErr) {
				t.Fatalf("error %T (%v) is not %T", err, err, tc.wantErr)
			}
			if errs.Code(err) != errs.EINVALID {
				t.Fatalf("code %s, want EINVALID", errs.Code(err))
			}
		})
	}
}

func TestEncode_rejects_unregistered_payload(t *testing.T) {
	codec := events.NewCodec(events.NewEmptyRegistry())
	_, err := codec.Encode(events.Envelope{Payload: events.EggRemoved{Name: "x"}})
	var u *events.UnknownTypeError
	if !errors.As(err, &u) || u.Type != events.EggRemovedV1 {
		t.Fatalf("got %v, want UnknownTypeError for %s", err, events.EggRemovedV1)
	}
}

// runnerDeployedV2 splits the address into private and public, the kind of
// change that needs an upcaster.
type runnerDeployedV2 struct {
	RunnerID       string `json:"runner_id"`
	PrivateAddress string `json:"private_address"`
	PublicAddress  string `json:"public_address"`
}

func (runnerDeployedV2) EventName() string { return "runner.deployed.v2" }

func TestUpcast_v1_is_read_as_v2(t *testing.T) {
	reg := events.NewEmptyRegistry()
	if err := reg.Register(runnerDeployedV2{}); err != nil {
		t.Fatal(err)
	}
	err := reg.RegisterUpcaster(events.RunnerDeployedV1, "runner.deployed.v2", func(p json.RawMessage) (json.RawMessage, error) {
		var v1 events.RunnerDeployed
		if err := json.Unmarshal(p, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(runnerDeployedV2{RunnerID: v1.RunnerID, PrivateAddress: v1.Address})
	})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := json.Marshal(events.RunnerDeployed{RunnerID: "r-1", Address: "10.0.0.9"})
	env, err := events.NewCodec(reg).Decode(events.Record{Type: events.RunnerDeployedV1, Payload: old})
	if err != nil {
		t.Fatal(err)
	}
	if env.Type != "runner.deployed.v2" {
		t.Fatalf("type %s, want runner.deployed.v2", env.Type)
	}
	got := env.Payload.(*runnerDeployedV2)
	if got.RunnerID != "r-1" || got.PrivateAddress != "10.0.0.9" {
		t.Fatalf("upcast payload %+v", got)
	}
	if !reg.Known(events.RunnerDeployedV1) {
		t.Fatal("v1 must be known through its upcaster")
	}
}

func TestRegistry_rejects_bad_declarations(t *testing.T) {
	reg := events.NewEmptyRegistry()
	if err := reg.Register(events.EggRemoved{}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(events.EggRemoved{}); err == nil {
		t.Fatal("registered the same name twice")
	}
	noop := func(p json.RawMessage) (json.RawMessage, error) { return p, nil }
	for _, tc := range [][2]string{{"egg.removed.v1", "egg.removed.v3"}, {"egg.removed.v1", "egg.synced.v2"}, {"egg.removed", "egg.removed.v2"}} {
		if err := reg.RegisterUpcaster(tc[0], tc[1], noop); err == nil {
			t.Fatalf("accepted upcaster %s -> %s", tc[0], tc[1])
		}
	}
}

// nest.synced.v1 gained full_resync_reason after it was published: events
// stored before it still decode, with the reason empty.
func TestDecode_nest_synced_before_full_resync_reason(t *testing.T) {
	codec := events.NewCodec(events.NewRegistry())
	env, err := codec.Decode(events.Record{Type: events.NestSyncedV1, Payload: json.RawMessage(
		`{"commit":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","trigger":"webhook","changes":[],"eggs_added":0,"eggs_updated":0,"eggs_removed":0,"jobs_synced":0,"uglyfox_synced":false,"started_at":"2026-11-29T12:30:00Z","duration_ms":42}`)})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := env.Payload.(*events.NestSynced); !ok || s.FullResyncReason != "" || s.Commit != "da1560886d4f094c3e6c9ef40349f7d38b5d27d7" {
		t.Fatalf("decoded %#v", env.Payload)
	}
}

// Events recorded before providers and runner types were spelled in lower
// case (testdata/retired_spelling: "YANDEX", "APEX") decode to exactly the
// payload of the current golden file, whose spelling is the domain's.
func TestDecode_retired_spelling_is_read_in_the_current_one(t *testing.T) {
	codec := events.NewCodec(events.NewRegistry())
	decode := func(t *testing.T, path string) events.Envelope {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var rec events.Record
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		env, err := codec.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	old, err := filepath.Glob(filepath.Join("testdata", "retired_spelling", "*.json"))
	if err != nil || len(old) != 4 {
		t.Fatalf("retired_spelling holds %d files (%v), want egg.synced, runner.requested, runner.deployed, runner.pool_changed", len(old), err)
	}
	for _, path := range old {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			raw, _ := os.ReadFile(path)
			if !bytes.Contains(raw, []byte(`"APEX"`)) && !bytes.Contains(raw, []byte(`"SERVERLESS"`)) {
				t.Fatalf("%s has no retired spelling to read", path)
			}
			got, want := decode(t, path), decode(t, filepath.Join("testdata", name+".json"))
			if got.Type != name || !reflect.DeepEqual(got.Payload, want.Payload) {
				t.Fatalf("old %s decoded to %#v, want %#v", name, got.Payload, want.Payload)
			}
		})
	}
	if got := events.Respell("GCP"); got != "GCP" {
		t.Errorf("Respell(GCP) = %q: a value that was never retired is read as stored", got)
	}
}
