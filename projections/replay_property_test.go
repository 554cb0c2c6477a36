package projections_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// Small pools of names, so that commands meet the same aggregates often:
// many commands are illegal in the state they meet (deploying a runner
// twice, applying a failed plan, ...), and pick adds malformed values now
// and then.
var (
	propRunners  = []string{"r1", "r2", "r3"}
	propPlans    = []string{"p1", "p2", "p3"}
	propEggs     = []string{"web", "api"}
	propStates   = []string{"PROVISIONING", "ACTIVE", "IDLE", "BUSY", "FAILED", "TERMINATED"}
	propTypes    = []string{"serverless", "apex", "nadir"}
	propTriggers = []string{"scheduled", "webhook", "manual"}
	propCommits  = []string{"da15608", "e0f1234", "beef"}
	propTags     = [][]string{nil, {}, {"docker"}, {"docker", "linux"}}
	badIDs       = []string{"", "Bad ID"}
)

// TestReplayEqualsLive_property runs random command sequences, legal and
// illegal, through commands.Handlers on SQLite while a live Runner catches
// up between steps, then rebuilds every view from the same log into a fresh
// database and requires the views to be identical.
func TestReplayEqualsLive_property(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "replay-property-")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		live := mustOpenRapid(rt, filepath.Join(dir, "live.db"))
		defer live.Close()
		codec := events.NewCodec(events.NewRegistry())

		var tick, ids int
		clock := func() time.Time {
			tick++
			return t0.Add(time.Duration(tick)*time.Second + time.Duration(tick))
		}
		newID := func() string {
			ids++
			return fmt.Sprintf("evt-%06d", ids)
		}
		h, err := commands.NewHandlers(live.Events(), codec, clock, newID, commands.WithConflictRetries(0))
		if err != nil {
			rt.Fatal(err)
		}
		batch := rapid.IntRange(1, 6).Draw(rt, "batch_size")
		runner, err := projections.NewLoop(projections.Config{Store: live.Events(), Views: live.Views(), Codec: codec, Projectors: projections.All(), BatchSize: batch})
		if err != nil {
			rt.Fatal(err)
		}

		var failures [][2]any // event id and position of each recorded nest.sync_failed
		do := func(rt *rapid.T, name string, res ports.AppendResult, err error) {
			switch errs.Code(err) {
			case "", errs.EINVALID, errs.ENOTFOUND, errs.ECONFLICT:
			default:
				rt.Fatalf("%s: %v (code %s): an illegal command must fail with a domain error", name, err, errs.Code(err))
			}
		}
		actions := map[string]func(*rapid.T){
			"request_runner": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.RequestRunner(ctx, commands.RequestRunner{
					RunnerID: pick(rt, bad, "runner", propRunners, badIDs), Egg: pick(rt, bad, "egg", propEggs, badIDs), RunnerType: pick(rt, bad, "type", propTypes, []string{"VM"}),
					Provider: pick(rt, bad, "provider", []string{"yandex", "aws"}, []string{"gcp"}), Region: pick(rt, bad, "region", []string{"ru-central1-a"}, []string{""}),
					Tags: draw(rt, "tags", propTags), JobID: pick(rt, bad, "job", []int64{0, 1977}, []int64{-1}), Reason: "pending job",
				})
				do(rt, "request runner", res, err)
			},
			"deploy_runner": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.DeployRunner(ctx, commands.DeployRunner{
					RunnerID: pick(rt, bad, "runner", propRunners, badIDs), PlanID: pick(rt, bad, "plan", propPlans, badIDs),
					InstanceID: pick(rt, bad, "instance", []string{"fhm1", "i-0abc"}, []string{""}), Address: draw(rt, "address", []string{"", "10.0.0.5"}),
				})
				do(rt, "deploy runner", res, err)
			},
			"change_runner_state": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.ChangeRunnerState(ctx, commands.ChangeRunnerState{
					RunnerID: pick(rt, bad, "runner", propRunners, badIDs), To: pick(rt, bad, "to", propStates, []string{"EXPLODED"}), Reason: draw(rt, "reason", []string{"", "job started"}),
				})
				do(rt, "change runner state", res, err)
			},
			"heartbeat_missed": func(rt *rapid.T) {
				bad := malformed(rt)
				seen := time.Time{}
				if rapid.Bool().Draw(rt, "seen") {
					seen = t0.Add(time.Duration(rapid.IntRange(0, 1e6).Draw(rt, "seen_ns")))
				}
				res, err := h.RecordHeartbeatMissed(ctx, commands.RecordHeartbeatMissed{
					RunnerID: pick(rt, bad, "runner", propRunners, badIDs), LastSeenAt: seen, Threshold: pick(rt, bad, "threshold", []time.Duration{time.Minute, 3 * time.Minute}, []time.Duration{0, -time.Second}),
				})
				do(rt, "heartbeat missed", res, err)
			},
			"change_runner_pool": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.ChangeRunnerPool(ctx, commands.ChangeRunnerPool{RunnerID: pick(rt, bad, "runner", propRunners, badIDs), To: pick(rt, bad, "to", propTypes, []string{"VM"})})
				do(rt, "change runner pool", res, err)
			},
			"terminate_runner": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.TerminateRunner(ctx, commands.TerminateRunner{RunnerID: pick(rt, bad, "runner", propRunners, badIDs), Reason: "policy"})
				do(rt, "terminate runner", res, err)
			},
			"create_plan": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.CreatePlan(ctx, commands.CreatePlan{
					PlanID: pick(rt, bad, "plan", propPlans, badIDs), RunnerID: pick(rt, bad, "runner", propRunners, badIDs), Egg: pick(rt, bad, "egg", propEggs, badIDs),
					Action: pick(rt, bad, "action", []string{"create", "update", "destroy"}, []string{"explode"}), Module: "aws",
					Inputs:     draw(rt, "inputs", []map[string]string{nil, {}, {"cpu": "2"}}),
					SecretURIs: pick(rt, bad, "secrets", []map[string]string{nil, {"token": "vault://secret/data/gosling#token"}}, []map[string]string{{"token": "plain-text"}}),
					ConfigHash: pick(rt, bad, "hash", []string{"sha256:ab"}, []string{""}), PlanFile: "plans/p.tfplan", PlanSHA256: "sha256:cd", TofuVersion: "1.12.6",
					PreviousPlanID: pick(rt, bad, "previous", append([]string{""}, propPlans...), []string{"Bad ID"}),
				})
				do(rt, "create plan", res, err)
			},
			"apply_plan": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.ApplyPlan(ctx, commands.ApplyPlan{PlanID: pick(rt, bad, "plan", propPlans, badIDs),
					Outputs: draw(rt, "outputs", []map[string]string{nil, {"instance_id": "i-0abc"}}), Duration: pick(rt, bad, "took", []time.Duration{0, 5 * time.Second}, []time.Duration{-time.Second})})
				do(rt, "apply plan", res, err)
			},
			"fail_plan": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.FailPlan(ctx, commands.FailPlan{PlanID: pick(rt, bad, "plan", propPlans, badIDs), Stage: pick(rt, bad, "stage", []string{"init", "plan", "apply"}, []string{"deploy"}),
					Error:       pick(rt, bad, "error", []string{"quota exceeded"}, []string{""}),
					Diagnostics: draw(rt, "diags", [][]events.Diagnostic{nil, {{File: "main.tf", Line: 1, Severity: "error", Summary: "quota"}}})})
				do(rt, "fail plan", res, err)
			},
			"roll_back_plan": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.RollBackPlan(ctx, commands.RollBackPlan{PlanID: pick(rt, bad, "plan", propPlans, badIDs), RestoredPlanID: pick(rt, bad, "restored", propPlans, badIDs), Reason: "operator"})
				do(rt, "roll back plan", res, err)
			},
			"sync_egg": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.SyncEgg(ctx, commands.SyncEgg{Config: events.EggSynced{
					Name: pick(rt, bad, "egg", propEggs, badIDs), Kind: pick(rt, bad, "kind", []string{"egg", "bucket"}, []string{"pond"}), RunnerType: pick(rt, bad, "type", propTypes, []string{"VM"}),
					Provider: "yandex", Region: "ru-central1-a", GitLabServer: "https://gitlab.example.com",
					ProjectIDs: pick(rt, bad, "projects", [][]int64{{15}, {15, 16}}, [][]int64{nil, {-1}}), GroupIDs: draw(rt, "groups", [][]int64{nil, {}, {3}}),
					Tags: draw(rt, "tags", propTags), CPU: pick(rt, bad, "cpu", []int{2, 4}, []int{0}), MemoryGB: 8, MaxApex: 2,
					TokenSecretURI: draw(rt, "token", []string{"", "yc-lockbox://e6q0abc/runner-token"}),
					ConfigHash:     pick(rt, bad, "hash", []string{"sha256:1", "sha256:2"}, []string{""}), Commit: pick(rt, bad, "commit", propCommits, []string{"not-hex"}), Path: "Eggs/x/config.fly",
				}})
				do(rt, "sync egg", res, err)
			},
			"remove_egg": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.RemoveEgg(ctx, commands.RemoveEgg{Name: pick(rt, bad, "egg", propEggs, badIDs), Commit: pick(rt, bad, "commit", propCommits, []string{"not-hex"}), Reason: "file removed"})
				do(rt, "remove egg", res, err)
			},
			"record_nest_sync": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.RecordNestSync(ctx, commands.RecordNestSync{Sync: events.NestSynced{
					Commit: pick(rt, bad, "commit", propCommits, []string{"not-hex"}), Trigger: pick(rt, bad, "trigger", propTriggers, []string{"cron"}),
					Changes:   draw(rt, "changes", [][]events.FileChange{nil, {}, {{Path: "Eggs/web/config.fly", Action: "modified"}}}),
					EggsAdded: pick(rt, bad, "added", []int{0, 2}, []int{-1}), StartedAt: t0, DurationMS: 42,
					FullResyncReason: draw(rt, "full_resync_reason", []string{"", "the last synced commit is not in the repository"}),
				}})
				do(rt, "record nest sync", res, err)
			},
			"record_nest_sync_failed": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.RecordNestSyncFailed(ctx, commands.RecordNestSyncFailed{Failure: events.NestSyncFailed{
					Commit: pick(rt, bad, "commit", append([]string{""}, propCommits...), []string{"not-hex"}), Trigger: pick(rt, bad, "trigger", propTriggers, []string{"cron"}),
					Diagnostics: draw(rt, "diags", [][]events.Diagnostic{nil, {}, {{File: "Eggs/web/config.fly", Line: 3, Column: 5, Severity: "error", Summary: "Unsupported argument"}}}),
					Error:       draw(rt, "error", []string{"", "fetch failed"}), DurationMS: 7,
				}})
				do(rt, "record nest sync failed", res, err)
				if err == nil {
					failures = append(failures, [2]any{res.EventIDs[0], res.LastPosition})
				}
			},
			"record_nest_sync_failure_repeated": func(rt *rapid.T) {
				// A repeat of a recorded failure, or of a position that is
				// none (a success's, or past the log).
				target := [2]any{"evt-999999", uint64(rapid.IntRange(1, 400).Draw(rt, "repeat_position"))}
				if len(failures) > 0 && rapid.IntRange(0, 3).Draw(rt, "repeat_known") > 0 {
					target = draw(rt, "repeated_failure", failures)
				}
				first := t0.Add(time.Duration(rapid.IntRange(0, 1e6).Draw(rt, "first_ns")))
				res, err := h.RecordNestSyncFailureRepeated(ctx, commands.RecordNestSyncFailureRepeated{Repeat: events.NestSyncFailureRepeated{
					FailureEventID: target[0].(string), FailurePosition: target[1].(uint64), Count: rapid.IntRange(0, 100).Draw(rt, "repeat_count"),
					FirstAt: first, LastAt: first.Add(time.Duration(rapid.IntRange(-1, 1e6).Draw(rt, "last_ns"))),
				}})
				do(rt, "record nest sync failure repeated", res, err)
			},
			"receive_webhook": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.ReceiveWebhook(ctx, commands.ReceiveWebhook{Delivery: events.WebhookReceived{
					DeliveryID: pick(rt, bad, "delivery", []string{"d-1", "d-2", "d-3"}, []string{"d 4", ""}), EventKind: pick(rt, bad, "kind", []string{"build", "push"}, []string{""}),
					Outcome: pick(rt, bad, "outcome", []string{"accepted", "ignored"}, []string{"maybe"}), Reason: draw(rt, "reason", []string{"", "unknown project"}),
					Egg: pick(rt, bad, "egg", append([]string{""}, propEggs...), []string{"Bad ID"}), JobID: 1977, Tags: draw(rt, "tags", propTags),
				}})
				do(rt, "receive webhook", res, err)
			},
			"register_binary_version": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.RegisterBinaryVersion(ctx, commands.RegisterBinaryVersion{Build: events.BinaryVersionRegistered{
					Binary: draw(rt, "binary", []string{"tofu", "gosling"}), Version: pick(rt, bad, "version", []string{"1.12.5", "1.12.6"}, []string{""}),
					Platform: pick(rt, bad, "platform", []string{"linux/amd64"}, []string{"linux"}), SHA256: "0f3c",
				}})
				do(rt, "register binary version", res, err)
			},
			"activate_binary_version": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.ActivateBinaryVersion(ctx, commands.ActivateBinaryVersion{
					Binary:  pick(rt, bad, "binary", []string{"tofu", "gosling"}, []string{"", "Bad Binary"}),
					Version: draw(rt, "version", []string{"1.12.5", "1.12.6"}),
				})
				do(rt, "activate binary version", res, err)
			},
			"record_webhook_outcome": func(rt *rapid.T) {
				bad := malformed(rt)
				o := events.WebhookOwner{GitLabServer: "gitlab.example.com", Kind: pick(rt, bad, "owner_kind", []string{"project", "group"}, []string{"user"}),
					ID: pick(rt, bad, "owner_id", []int64{15, 16}, []int64{0})}
				egg := pick(rt, bad, "hook_egg", propEggs, badIDs)
				reason := draw(rt, "hook_reason", []string{"no --public-url", "GitLab answered 500"})
				var res ports.AppendResult
				var err error
				switch draw(rt, "hook_outcome", []string{"installed", "failed", "skipped", "removed"}) {
				case "installed":
					res, err = h.RecordWebhookInstalled(ctx, commands.RecordWebhookInstalled{Installed: events.EggWebhookInstalled{Egg: egg, WebhookOwner: o,
						HookID: pick(rt, bad, "hook_id", []int64{1, 2}, []int64{0}), URL: "https://mg.example.com/webhooks/gitlab",
						Action: draw(rt, "hook_action", []string{"created", "updated", "verified"}), ConfigHash: draw(rt, "hook_hash", []string{"sha256:1", "sha256:2"}), WebhookSecretURI: "env://HOOK"}})
				case "failed":
					res, err = h.RecordWebhookInstallFailed(ctx, commands.RecordWebhookInstallFailed{Failure: events.EggWebhookInstallFailed{Egg: egg, WebhookOwner: o,
						Code: "EUNAVAILABLE", Reason: reason, RetryAfterS: draw(rt, "retry_after", []int64{0, 30})}})
				case "skipped":
					res, err = h.RecordWebhookSkipped(ctx, commands.RecordWebhookSkipped{Skipped: events.EggWebhookSkipped{Egg: egg, WebhookOwner: o, Reason: reason}})
				default:
					res, err = h.RecordWebhookRemoved(ctx, commands.RecordWebhookRemoved{Removed: events.EggWebhookRemoved{Egg: egg, WebhookOwner: o, HookID: 1, Reason: "egg removed"}})
				}
				do(rt, "record webhook outcome", res, err)
			},
			"record_secret_access": func(rt *rapid.T) {
				bad := malformed(rt)
				res, err := h.RecordSecretAccess(ctx, commands.RecordSecretAccess{Access: events.SecretAccessed{
					URI:      pick(rt, bad, "uri", []string{"vault://secret/data/gosling#token", "aws-sm://gosling/token"}, []string{"plain"}),
					Accessor: "mothergoose:apply", Purpose: "runner registration", Outcome: pick(rt, bad, "outcome", []string{"resolved", "failed"}, []string{""}),
				}})
				do(rt, "record secret access", res, err)
			},
		}
		names := slices.Sorted(maps.Keys(actions))
		steps := rapid.IntRange(1, 150).Draw(rt, "steps")
		for range steps {
			actions[rapid.SampledFrom(names).Draw(rt, "action")](rt)
			if rapid.Bool().Draw(rt, "catch_up") {
				if err := runner.CatchUp(ctx); err != nil {
					rt.Fatalf("live catch up: %v", err)
				}
			}
		}

		if err := runner.CatchUp(ctx); err != nil {
			rt.Fatalf("final live catch up: %v", err)
		}
		want := mustSnapshot(rt, live.Views())

		// Rebuild into a fresh database from the live one's log.
		fresh := mustOpenRapid(rt, filepath.Join(dir, "rebuilt.db"))
		defer fresh.Close()
		rebuilt, err := projections.NewLoop(projections.Config{Store: live.Events(), Views: fresh.Views(), Codec: codec, Projectors: projections.All(),
			BatchSize: rapid.IntRange(1, 500).Draw(rt, "rebuild_batch_size")})
		if err != nil {
			rt.Fatal(err)
		}
		if err := rebuilt.CatchUp(ctx); err != nil {
			rt.Fatalf("rebuild: %v", err)
		}
		if diff := snapshotDiff(mustSnapshot(rt, fresh.Views()), want); diff != "" {
			rt.Fatalf("rebuilt views differ from live ones: %s", diff)
		}

		// And in place: replaying one view gives it back unchanged.
		view := rapid.SampledFrom(ports.AllViews).Draw(rt, "replayed_view")
		if err := projections.Replay(ctx, runner, view); err != nil {
			rt.Fatalf("replay %s: %v", view, err)
		}
		if diff := snapshotDiff(mustSnapshot(rt, live.Views()), want); diff != "" {
			rt.Fatalf("replayed %s differs from live: %s", view, diff)
		}
	})
}

func draw[V any](rt *rapid.T, label string, from []V) V {
	return rapid.SampledFrom(from).Draw(rt, label)
}

// malformed decides whether a command gets malformed values (about one in
// eight); the rest are well-formed and fail, if they do, on the state they meet.
func malformed(rt *rapid.T) bool { return rapid.IntRange(0, 7).Draw(rt, "malformed") == 7 }

// pick draws from valid, or, in a malformed command, now and then from invalid.
func pick[V any](rt *rapid.T, bad bool, label string, valid, invalid []V) V {
	if bad && len(invalid) > 0 && rapid.Bool().Draw(rt, label+"_malformed") {
		return draw(rt, label, invalid)
	}
	return draw(rt, label, valid)
}

func mustOpenRapid(rt *rapid.T, path string) *sqlite.DB {
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		rt.Fatalf("open %s: %v", path, err)
	}
	return db
}
