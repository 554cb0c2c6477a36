package commands_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func clock() time.Time { return t0 }

// mustStore opens a fresh SQLite event store in a temp directory.
func mustStore(t *testing.T) ports.EventStore {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Events()
}

func mustHandlers(t *testing.T, store ports.EventStore, opts ...commands.Option) *commands.Handlers {
	t.Helper()
	h, err := commands.NewHandlers(store, events.NewCodec(events.NewRegistry()), clock, newID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustLoad(t *testing.T, store ports.EventStore, stream string) []events.Envelope {
	t.Helper()
	recs, err := store.Load(context.Background(), stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	envs, err := events.NewCodec(events.NewRegistry()).DecodeAll(recs)
	if err != nil {
		t.Fatal(err)
	}
	return envs
}

func mustOK(t *testing.T) func(ports.AppendResult, error) ports.AppendResult {
	return func(res ports.AppendResult, err error) ports.AppendResult {
		t.Helper()
		if err != nil {
			t.Fatalf("command failed: %v", err)
		}
		return res
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := errs.Code(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

var (
	requestRunner = commands.RequestRunner{RunnerID: "r-01", Egg: "web", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", Reason: "pending job"}
	deployRunner  = commands.DeployRunner{RunnerID: "r-01", PlanID: "p-01", InstanceID: "fhm1"}
	eggConfig     = events.EggSynced{
		Name: "web", Kind: "egg", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a", ProjectIDs: []int64{15},
		CPU: 2, MemoryGB: 4, MinApex: 1, MaxApex: 2, WebhookSecretURI: "yc-lockbox://e6q/webhook", ConfigHash: "sha256:1f", Commit: "da15608", Path: "Eggs/web/config.fly",
	}
)

// activeRunner requests and deploys r-01.
func activeRunner(t *testing.T, h *commands.Handlers) {
	t.Helper()
	ctx := context.Background()
	mustOK(t)(h.RequestRunner(ctx, requestRunner))
	mustOK(t)(h.DeployRunner(ctx, deployRunner))
}

func TestNewHandlers_refuses_nil_dependencies(t *testing.T) {
	store := mustStore(t)
	codec := events.NewCodec(events.NewRegistry())
	tests := []struct {
		name  string
		store ports.EventStore
		codec *events.Codec
		clock func() time.Time
		newID func() string
		opts  []commands.Option
	}{
		{"nil_store", nil, codec, clock, newID, nil},
		{"nil_codec", store, nil, clock, newID, nil},
		{"nil_clock", store, codec, nil, newID, nil},
		{"nil_id", store, codec, clock, nil, nil},
		{"negative_retries", store, codec, clock, newID, []commands.Option{commands.WithConflictRetries(-1)}},
		{"bad_backoff", store, codec, clock, newID, []commands.Option{commands.WithConflictBackoff(time.Second, time.Millisecond)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if h, err := commands.NewHandlers(tc.store, tc.codec, tc.clock, tc.newID, tc.opts...); err == nil || h != nil {
				t.Fatalf("got %v, %v; want an error", h, err)
			}
		})
	}
}

// TestHandlers_happy_paths runs every command once, in an order where each is
// legal, and checks what it appended.
func TestHandlers_happy_paths(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	meta := commands.Meta{Actor: "user:alice", CorrelationID: "corr-1", CausationID: "cause-1"}
	secretURI := "vault://secret/data/gosling#token"
	steps := []struct {
		name   string
		run    func(context.Context) (ports.AppendResult, error)
		stream string
		want   string // type of the event the step appends
	}{
		{"request_runner", func(ctx context.Context) (ports.AppendResult, error) {
			c := requestRunner
			c.Meta = meta
			return h.RequestRunner(ctx, c)
		}, "runner-r-01", events.RunnerRequestedV1},
		{"create_plan", func(ctx context.Context) (ports.AppendResult, error) {
			return h.CreatePlan(ctx, commands.CreatePlan{Meta: meta, PlanID: "p-01", RunnerID: "r-01", Egg: "web", Action: "create", Module: "yandex",
				Inputs: map[string]string{"cpu": "2"}, SecretURIs: map[string]string{"token": "yc-lockbox://e6q/token"}, ConfigHash: "sha256:ab", PlanFile: "plans/p-01.tfplan"})
		}, "plan-p-01", events.PlanCreatedV1},
		{"apply_plan", func(ctx context.Context) (ports.AppendResult, error) {
			return h.ApplyPlan(ctx, commands.ApplyPlan{Meta: meta, PlanID: "p-01", Outputs: map[string]string{"instance_id": "fhm1"}, Duration: 5 * time.Second})
		}, "plan-p-01", events.PlanAppliedV1},
		{"deploy_runner", func(ctx context.Context) (ports.AppendResult, error) {
			c := deployRunner
			c.Meta = meta
			return h.DeployRunner(ctx, c)
		}, "runner-r-01", events.RunnerDeployedV1},
		{"change_runner_state", func(ctx context.Context) (ports.AppendResult, error) {
			return h.ChangeRunnerState(ctx, commands.ChangeRunnerState{Meta: meta, RunnerID: "r-01", To: "IDLE", Reason: "no jobs"})
		}, "runner-r-01", events.RunnerStateChangedV1},
		{"record_heartbeat_missed", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RecordHeartbeatMissed(ctx, commands.RecordHeartbeatMissed{Meta: meta, RunnerID: "r-01", LastSeenAt: t0.Add(-5 * time.Minute), Threshold: 3 * time.Minute})
		}, "runner-r-01", events.RunnerHeartbeatMissedV1},
		{"change_runner_pool", func(ctx context.Context) (ports.AppendResult, error) {
			return h.ChangeRunnerPool(ctx, commands.ChangeRunnerPool{Meta: meta, RunnerID: "r-01", To: "nadir", Reason: "idle"})
		}, "runner-r-01", events.RunnerPoolChangedV1},
		{"terminate_runner", func(ctx context.Context) (ports.AppendResult, error) {
			return h.TerminateRunner(ctx, commands.TerminateRunner{Meta: meta, RunnerID: "r-01", Reason: "policy"})
		}, "runner-r-01", events.RunnerTerminatedV1},
		{"create_second_plan", func(ctx context.Context) (ports.AppendResult, error) {
			return h.CreatePlan(ctx, commands.CreatePlan{Meta: meta, PlanID: "p-02", RunnerID: "r-01", Egg: "web", Action: "update", ConfigHash: "sha256:cd", PreviousPlanID: "p-01"})
		}, "plan-p-02", events.PlanCreatedV1},
		{"fail_plan", func(ctx context.Context) (ports.AppendResult, error) {
			return h.FailPlan(ctx, commands.FailPlan{Meta: meta, PlanID: "p-02", Stage: "apply", Error: "quota exceeded"})
		}, "plan-p-02", events.PlanFailedV1},
		{"create_third_plan", func(ctx context.Context) (ports.AppendResult, error) {
			return h.CreatePlan(ctx, commands.CreatePlan{Meta: meta, PlanID: "p-03", RunnerID: "r-01", Egg: "web", Action: "update", ConfigHash: "sha256:ef"})
		}, "plan-p-03", events.PlanCreatedV1},
		{"apply_third_plan", func(ctx context.Context) (ports.AppendResult, error) {
			return h.ApplyPlan(ctx, commands.ApplyPlan{Meta: meta, PlanID: "p-03"})
		}, "plan-p-03", events.PlanAppliedV1},
		{"roll_back_plan", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RollBackPlan(ctx, commands.RollBackPlan{Meta: meta, PlanID: "p-03", RestoredPlanID: "p-01", Reason: "operator"})
		}, "plan-p-03", events.PlanRolledBackV1},
		{"sync_egg", func(ctx context.Context) (ports.AppendResult, error) {
			return h.SyncEgg(ctx, commands.SyncEgg{Meta: meta, Config: eggConfig})
		}, "egg-web", events.EggSyncedV1},
		{"ask_egg_retry", func(ctx context.Context) (ports.AppendResult, error) {
			return h.AskEggRetry(ctx, commands.AskEggRetry{Meta: meta, Name: "web", Reason: "operator: retry"})
		}, "egg-web", events.EggRetryAskedV1},
		{"remove_egg", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RemoveEgg(ctx, commands.RemoveEgg{Meta: meta, Name: "web", Commit: "ee5577", Reason: "file removed"})
		}, "egg-web", events.EggRemovedV1},
		{"sync_job", func(ctx context.Context) (ports.AppendResult, error) {
			return h.SyncJob(ctx, commands.SyncJob{Meta: meta, Job: events.JobSynced{Name: "rotate-tokens", Schedule: "0 3 * * *", ConfigHash: "sha256:9a", Commit: "da15608"}})
		}, "job-rotate-tokens", events.JobSyncedV1},
		{"sync_uglyfox_config", func(ctx context.Context) (ports.AppendResult, error) {
			return h.SyncUglyFoxConfig(ctx, commands.SyncUglyFoxConfig{Meta: meta, Config: events.UglyFoxConfigSynced{ConfigHash: "sha256:77", Commit: "da15608", Path: "UF/config.fly"}})
		}, "uglyfox", events.UglyFoxConfigSyncedV1},
		{"record_nest_sync", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RecordNestSync(ctx, commands.RecordNestSync{Meta: meta, Sync: events.NestSynced{Commit: "da15608", Trigger: "manual", EggsAdded: 1}})
		}, "nest", events.NestSyncedV1},
		{"record_nest_sync_failed", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RecordNestSyncFailed(ctx, commands.RecordNestSyncFailed{Meta: meta, Failure: events.NestSyncFailed{Commit: "ee5577", Trigger: "webhook",
				Diagnostics: []events.Diagnostic{{File: "Eggs/web/config.fly", Line: 2, Column: 3, Severity: "error", Summary: "bad cpu"}}}})
		}, "nest", events.NestSyncFailedV1},
		{"record_nest_sync_failure_repeated", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RecordNestSyncFailureRepeated(ctx, commands.RecordNestSyncFailureRepeated{Meta: meta, Repeat: events.NestSyncFailureRepeated{
				FailureEventID: "ev-1", FailurePosition: 1, Commit: "ee5577", Count: 2, FirstAt: t0, LastAt: t0}})
		}, "nest", events.NestSyncFailureRepeatedV1},
		{"receive_webhook", func(ctx context.Context) (ports.AppendResult, error) {
			return h.ReceiveWebhook(ctx, commands.ReceiveWebhook{Meta: meta, Delivery: events.WebhookReceived{DeliveryID: "d-1", EventKind: "build", Outcome: "accepted", Egg: "web"}})
		}, "webhook-d-1", events.WebhookReceivedV1},
		{"register_binary_version", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RegisterBinaryVersion(ctx, commands.RegisterBinaryVersion{Meta: meta, Build: events.BinaryVersionRegistered{Binary: "tofu", Version: "1.12.6", Platform: "linux/amd64", SHA256: "0f3c"}})
		}, "binary-tofu", events.BinaryVersionRegisteredV1},
		{"activate_binary_version", func(ctx context.Context) (ports.AppendResult, error) {
			return h.ActivateBinaryVersion(ctx, commands.ActivateBinaryVersion{Meta: meta, Binary: "tofu", Version: "1.12.6"})
		}, "binary-tofu", events.BinaryVersionActivatedV1},
		{"record_secret_access", func(ctx context.Context) (ports.AppendResult, error) {
			return h.RecordSecretAccess(ctx, commands.RecordSecretAccess{Meta: meta, Access: events.SecretAccessed{URI: secretURI, Accessor: "mothergoose:apply", Purpose: "registration", Outcome: "resolved"}})
		}, domain.SecretAccessStream(secretURI), events.SecretAccessedV1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			res := mustOK(t)(s.run(context.Background()))
			envs := mustLoad(t, store, s.stream)
			last := envs[len(envs)-1]
			if res.Duplicate || res.FirstVersion != res.LastVersion || res.LastVersion != last.Version || res.LastPosition != last.GlobalPosition {
				t.Fatalf("result %+v, stream ends at version %d position %d", res, last.Version, last.GlobalPosition)
			}
			if last.Type != s.want {
				t.Fatalf("appended %s, want %s", last.Type, s.want)
			}
			if last.Actor != meta.Actor || last.CorrelationID != meta.CorrelationID || last.CausationID != meta.CausationID || !last.OccurredAt.Equal(t0) {
				t.Fatalf("metadata %+v", last.Metadata)
			}
			if _, err := uuid.Parse(last.ID); err != nil {
				t.Fatalf("event id %q is not from newID: %v", last.ID, err)
			}
		})
	}
	t.Run("nest_sync_fills_previous_commit", func(t *testing.T) {
		mustOK(t)(h.RecordNestSync(context.Background(), commands.RecordNestSync{Sync: events.NestSynced{Commit: "ff6688", Trigger: "scheduled"}}))
		envs := mustLoad(t, store, "nest")
		if got := envs[len(envs)-1].Payload.(*events.NestSynced).PreviousCommit; got != "da15608" {
			t.Fatalf("previous commit %q, want da15608", got)
		}
	})
}

func TestHandlers_illegal_transition_appends_nothing(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	mustOK(t)(h.RequestRunner(ctx, requestRunner))
	head, _ := store.Head(ctx)
	tests := []struct {
		name string
		run  func() (ports.AppendResult, error)
		code string
	}{
		{"provisioning_to_busy", func() (ports.AppendResult, error) {
			return h.ChangeRunnerState(ctx, commands.ChangeRunnerState{RunnerID: "r-01", To: "BUSY"})
		}, errs.ECONFLICT},
		{"terminated_by_state_change", func() (ports.AppendResult, error) {
			return h.ChangeRunnerState(ctx, commands.ChangeRunnerState{RunnerID: "r-01", To: "TERMINATED"})
		}, errs.ECONFLICT},
		{"request_twice", func() (ports.AppendResult, error) { return h.RequestRunner(ctx, requestRunner) }, errs.ECONFLICT},
		{"heartbeat_while_provisioning", func() (ports.AppendResult, error) {
			return h.RecordHeartbeatMissed(ctx, commands.RecordHeartbeatMissed{RunnerID: "r-01", Threshold: time.Minute})
		}, errs.ECONFLICT},
		{"unknown_runner", func() (ports.AppendResult, error) {
			return h.TerminateRunner(ctx, commands.TerminateRunner{RunnerID: "r-99"})
		}, errs.ENOTFOUND},
		{"bad_state", func() (ports.AppendResult, error) {
			return h.ChangeRunnerState(ctx, commands.ChangeRunnerState{RunnerID: "r-01", To: "running"})
		}, errs.EINVALID},
		{"bad_runner_id", func() (ports.AppendResult, error) {
			return h.TerminateRunner(ctx, commands.TerminateRunner{RunnerID: "R 1"})
		}, errs.EINVALID},
		{"apply_unknown_plan", func() (ports.AppendResult, error) { return h.ApplyPlan(ctx, commands.ApplyPlan{PlanID: "p-99"}) }, errs.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.run()
			wantCode(t, err, tc.code)
			if !reflect.DeepEqual(res, ports.AppendResult{}) {
				t.Fatalf("failed command returned %+v", res)
			}
			if now, _ := store.Head(ctx); now != head {
				t.Fatalf("log head moved from %d to %d", head, now)
			}
		})
	}
}

func TestHandlers_no_events_no_append(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	mustOK(t)(h.SyncEgg(ctx, commands.SyncEgg{Config: eggConfig}))
	again := eggConfig
	again.Commit = "ee5577" // same config hash, later commit
	if res := mustOK(t)(h.SyncEgg(ctx, commands.SyncEgg{Config: again})); !reflect.DeepEqual(res, ports.AppendResult{}) {
		t.Fatalf("unchanged egg appended %+v", res)
	}
	if n := len(mustLoad(t, store, "egg-web")); n != 1 {
		t.Fatalf("egg stream has %d events, want 1", n)
	}
}

func TestHandlers_webhook_delivered_twice_appends_once(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	cmd := commands.ReceiveWebhook{Delivery: events.WebhookReceived{DeliveryID: "13792a34-cac6-4fda-95a8-c58e00a3954e", EventKind: "build", Outcome: "accepted"}}
	first := mustOK(t)(h.ReceiveWebhook(ctx, cmd))
	second := mustOK(t)(h.ReceiveWebhook(ctx, cmd))
	if first.Duplicate || !second.Duplicate || second.LastVersion != first.LastVersion || second.LastPosition != first.LastPosition {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	if n := len(mustLoad(t, store, domain.WebhookStream(cmd.Delivery.DeliveryID))); n != 1 {
		t.Fatalf("webhook stream has %d events, want 1", n)
	}

	t.Run("concurrent_redeliveries", func(t *testing.T) {
		cmd := cmd
		cmd.Delivery.DeliveryID = "d-concurrent"
		const writers = 8
		results := make(chan ports.AppendResult, writers)
		failures := make(chan error, writers)
		var start sync.WaitGroup
		start.Add(1)
		for range writers {
			go func() {
				start.Wait()
				res, err := h.ReceiveWebhook(ctx, cmd)
				if err != nil {
					failures <- err
					return
				}
				results <- res
			}()
		}
		start.Done()
		originals := 0
		for range writers {
			select {
			case err := <-failures:
				t.Fatalf("a redelivery failed: %v", err)
			case res := <-results:
				if !res.Duplicate {
					originals++
				}
			}
		}
		if originals != 1 {
			t.Fatalf("%d deliveries appended, want 1", originals)
		}
		if n := len(mustLoad(t, store, "webhook-d-concurrent")); n != 1 {
			t.Fatalf("stream has %d events, want 1", n)
		}
	})
}

func TestHandlers_idempotency_key_answers_redelivered_command(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	activeRunner(t, h)
	cmd := commands.ChangeRunnerState{Meta: commands.Meta{IdempotencyKey: "k-1"}, RunnerID: "r-01", To: "BUSY"}
	first := mustOK(t)(h.ChangeRunnerState(ctx, cmd))
	// Decided again, BUSY -> BUSY would be a conflict; the key answers first.
	second := mustOK(t)(h.ChangeRunnerState(ctx, cmd))
	if !second.Duplicate || second.LastVersion != first.LastVersion || second.LastPosition != first.LastPosition {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	if n := len(mustLoad(t, store, "runner-r-01")); n != 3 {
		t.Fatalf("runner stream has %d events, want 3", n)
	}
}

// racingStore lets another writer in just before the first Append.
type racingStore struct {
	ports.EventStore
	once   sync.Once
	before func()
}

func (s *racingStore) Append(ctx context.Context, stream string, exp ports.ExpectedVersion, evs []events.Record, opts ...ports.AppendOption) (ports.AppendResult, error) {
	s.once.Do(s.before)
	return s.EventStore.Append(ctx, stream, exp, evs, opts...)
}

// countingStore counts loads and appends and fails appends with fail (when set).
type countingStore struct {
	ports.EventStore
	loads   atomic.Int32
	appends atomic.Int32
	fail    func(stream string) error
}

func (s *countingStore) Load(ctx context.Context, stream string, after uint64) ([]events.Record, error) {
	s.loads.Add(1)
	return s.EventStore.Load(ctx, stream, after)
}

func (s *countingStore) Append(ctx context.Context, stream string, exp ports.ExpectedVersion, evs []events.Record, opts ...ports.AppendOption) (ports.AppendResult, error) {
	s.appends.Add(1)
	if s.fail != nil {
		if err := s.fail(stream); err != nil {
			return ports.AppendResult{}, err
		}
	}
	return s.EventStore.Append(ctx, stream, exp, evs, opts...)
}

func TestHandlers_version_conflict_is_retried(t *testing.T) {
	missed := commands.RecordHeartbeatMissed{RunnerID: "r-01", LastSeenAt: t0.Add(-time.Hour), Threshold: time.Minute}

	t.Run("interleaved", func(t *testing.T) {
		store := mustStore(t)
		other := mustHandlers(t, store)
		activeRunner(t, other)
		raced := &racingStore{EventStore: store, before: func() {
			mustOK(t)(other.RecordHeartbeatMissed(context.Background(), missed))
		}}
		h := mustHandlers(t, raced)
		// h loads version 2, the other handler appends version 3, h's append
		// conflicts, h reloads and decides again on the new state.
		res := mustOK(t)(h.RecordHeartbeatMissed(context.Background(), missed))
		if res.LastVersion != 4 {
			t.Fatalf("appended at version %d, want 4", res.LastVersion)
		}
		envs := mustLoad(t, store, "runner-r-01")
		for i, want := range []int{1, 2} {
			if got := envs[2+i].Payload.(*events.RunnerHeartbeatMissed).Missed; got != want {
				t.Fatalf("miss %d recorded as %d", want, got)
			}
		}
	})

	t.Run("concurrent_writers_all_succeed", func(t *testing.T) {
		store := mustStore(t)
		h := mustHandlers(t, store, commands.WithConflictRetries(50))
		activeRunner(t, h)
		const writers = 6
		errc := make(chan error, writers)
		var start sync.WaitGroup
		start.Add(1)
		for range writers {
			go func() {
				start.Wait()
				_, err := h.RecordHeartbeatMissed(context.Background(), missed)
				errc <- err
			}()
		}
		start.Done()
		for range writers {
			if err := <-errc; err != nil {
				t.Fatalf("a racing handler failed: %v", err)
			}
		}
		envs := mustLoad(t, store, "runner-r-01")
		if len(envs) != 2+writers {
			t.Fatalf("stream has %d events, want %d", len(envs), 2+writers)
		}
		for i, env := range envs[2:] {
			if got := env.Payload.(*events.RunnerHeartbeatMissed).Missed; got != i+1 {
				t.Fatalf("event %d counts %d misses, want %d", i, got, i+1)
			}
		}
	})

	t.Run("gives_up_after_the_retries", func(t *testing.T) {
		store := &countingStore{EventStore: mustStore(t)}
		activeRunner(t, mustHandlers(t, store))
		store.appends.Store(0)
		store.fail = func(stream string) error { return &ports.ConflictError{Stream: stream} }
		h := mustHandlers(t, store, commands.WithConflictRetries(3), commands.WithConflictBackoff(time.Millisecond, 2*time.Millisecond))
		_, err := h.RecordHeartbeatMissed(context.Background(), missed)
		if !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("got %v, want a conflict", err)
		}
		wantCode(t, err, errs.ECONFLICT)
		if n := store.appends.Load(); n != 4 {
			t.Fatalf("%d appends, want 1 + 3 retries", n)
		}
	})

	t.Run("other_errors_are_not_retried", func(t *testing.T) {
		store := &countingStore{EventStore: mustStore(t)}
		activeRunner(t, mustHandlers(t, store))
		store.appends.Store(0)
		store.fail = func(string) error { return errs.Errorf(errs.EUNAVAILABLE, "disk gone") }
		_, err := mustHandlers(t, store).RecordHeartbeatMissed(context.Background(), missed)
		wantCode(t, err, errs.EUNAVAILABLE)
		if n := store.appends.Load(); n != 1 {
			t.Fatalf("%d appends, want 1", n)
		}
	})
}

func TestHandlers_context_cancellation(t *testing.T) {
	t.Run("cancelled_before", func(t *testing.T) {
		store := mustStore(t)
		h := mustHandlers(t, store)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.RequestRunner(ctx, requestRunner); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if head, _ := store.Head(context.Background()); head != 0 {
			t.Fatalf("a cancelled command appended (head %d)", head)
		}
	})
	t.Run("cancelled_during_backoff", func(t *testing.T) {
		store := &countingStore{EventStore: mustStore(t)}
		store.fail = func(stream string) error { return &ports.ConflictError{Stream: stream} }
		h := mustHandlers(t, store, commands.WithConflictRetries(1000), commands.WithConflictBackoff(time.Hour, time.Hour))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := h.RequestRunner(ctx, requestRunner)
			done <- err
		}()
		for store.appends.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the handler did not stop when its context was cancelled")
		}
	})
}
