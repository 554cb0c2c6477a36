package commands_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

const hbCredential = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// heartbeatFixture is a store with one deployed local runner (r-01) whose
// runner.deployed records the SHA-256 of hbCredential, projected.
type heartbeatFixture struct {
	db   *sqlite.DB
	h    *commands.Handlers
	hb   *commands.Heartbeats
	loop *projections.Loop
}

func mustHeartbeatFixture(t *testing.T, hashed bool) *heartbeatFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &heartbeatFixture{db: db, h: mustHandlers(t, db.Events())}
	if f.hb, err = commands.NewHeartbeats(f.h, db.Views(), db.LastSeen(), clock); err != nil {
		t.Fatal(err)
	}
	if f.loop, err = projections.NewLoop(projections.Config{Store: db.Events(), Views: db.Views(), Codec: events.NewCodec(events.NewRegistry()), Projectors: projections.All()}); err != nil {
		t.Fatal(err)
	}
	mustOK(t)(f.h.RequestRunner(ctx, commands.RequestRunner{RunnerID: "r-01", Egg: "web", RunnerType: "apex", Provider: "local", Region: "local"}))
	sum := sha256.Sum256([]byte(hbCredential))
	deployed := events.RunnerDeployed{RunnerID: "r-01", PlanID: "p-01", InstanceID: "i-01"}
	if hashed {
		deployed.CredentialSHA256 = hex.EncodeToString(sum[:])
	}
	f.append(t, deployed)
	return f
}

// append appends ev to r-01's stream (the provisioner's runner.deployed
// carries the hash, which DeployRunner does not take yet) and projects.
func (f *heartbeatFixture) append(t *testing.T, ev events.Event) {
	t.Helper()
	ctx := context.Background()
	codec := events.NewCodec(events.NewRegistry())
	rec, err := codec.Encode(events.Envelope{Metadata: events.Metadata{ID: newID(), OccurredAt: t0, Actor: "test"}, Payload: ev})
	if err != nil {
		t.Fatal(err)
	}
	head := mustLoad(t, f.db.Events(), "runner-r-01")
	if _, err := f.db.Events().Append(ctx, "runner-r-01", ports.At(uint64(len(head))), []events.Record{rec}); err != nil {
		t.Fatal(err)
	}
	f.project(t)
}

func (f *heartbeatFixture) project(t *testing.T) {
	t.Helper()
	if err := f.loop.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *heartbeatFixture) streamLen(t *testing.T) int {
	t.Helper()
	return len(mustLoad(t, f.db.Events(), "runner-r-01"))
}

func beat(state string, jobs ...int64) commands.ReceiveHeartbeat {
	return commands.ReceiveHeartbeat{RunnerID: "r-01", Credential: hbCredential, State: state, RunningJobs: jobs, Version: "v0.4.0"}
}

func TestHeartbeats_first_heartbeat_makes_a_deployed_runner_idle(t *testing.T) {
	f := mustHeartbeatFixture(t, true)
	before := f.streamLen(t)
	ans, err := f.hb.Receive(context.Background(), beat("idle"))
	if err != nil {
		t.Fatal(err)
	}
	if ans.State != "IDLE" || !ans.Changed {
		t.Fatalf("answer %+v, want IDLE, changed", ans)
	}
	envs := mustLoad(t, f.db.Events(), "runner-r-01")
	if len(envs) != before+1 {
		t.Fatalf("stream has %d events, want %d", len(envs), before+1)
	}
	sc, ok := envs[len(envs)-1].Payload.(*events.RunnerStateChanged)
	if !ok || sc.From != "ACTIVE" || sc.To != "IDLE" || envs[len(envs)-1].Actor != "runner:r-01" {
		t.Fatalf("last event %#v (actor %q), want ACTIVE -> IDLE by runner:r-01", envs[len(envs)-1].Payload, envs[len(envs)-1].Actor)
	}
	seen, ok, err := f.db.LastSeen().Get(context.Background(), "r-01")
	if err != nil || !ok || !seen.At.Equal(t0) || seen.State != "IDLE" || seen.Version != "v0.4.0" {
		t.Fatalf("last seen %+v, %v, %v", seen, ok, err)
	}
}

func TestHeartbeats_repeated_idle_heartbeat_appends_nothing(t *testing.T) {
	f := mustHeartbeatFixture(t, true)
	ctx := context.Background()
	if _, err := f.hb.Receive(ctx, beat("IDLE")); err != nil {
		t.Fatal(err)
	}
	after := f.streamLen(t)
	// Before the view has caught up (it still says ACTIVE) and after.
	for _, project := range []bool{false, true} {
		if project {
			f.project(t)
		}
		ans, err := f.hb.Receive(ctx, beat("IDLE"))
		if err != nil || ans.State != "IDLE" || ans.Changed {
			t.Fatalf("projected=%v: answer %+v, %v; want IDLE unchanged", project, ans, err)
		}
		if n := f.streamLen(t); n != after {
			t.Fatalf("projected=%v: stream grew from %d to %d events", project, after, n)
		}
	}
}

func TestHeartbeats_busy_and_back_append_state_changes(t *testing.T) {
	f := mustHeartbeatFixture(t, true)
	ctx := context.Background()
	for i, tc := range []struct {
		state string
		jobs  []int64
		want  string
	}{{"IDLE", nil, "IDLE"}, {"BUSY", []int64{42}, "BUSY"}, {"BUSY", []int64{42, 43}, "BUSY"}, {"IDLE", nil, "IDLE"}} {
		before := f.streamLen(t)
		ans, err := f.hb.Receive(ctx, beat(tc.state, tc.jobs...))
		if err != nil || ans.State != tc.want {
			t.Fatalf("heartbeat %d (%s): %+v, %v", i, tc.state, ans, err)
		}
		f.project(t)
		grew := f.streamLen(t) - before
		if want := map[bool]int{true: 1, false: 0}[i != 2]; grew != want {
			t.Fatalf("heartbeat %d (%s) appended %d events, want %d", i, tc.state, grew, want)
		}
	}
	envs := mustLoad(t, f.db.Events(), "runner-r-01")
	if sc := envs[len(envs)-2].Payload.(*events.RunnerStateChanged); sc.From != "IDLE" || sc.To != "BUSY" {
		t.Fatalf("want IDLE -> BUSY before the last change, got %#v", sc)
	}
}

func TestHeartbeats_refusals_append_nothing(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		hashed bool
		cmd    commands.ReceiveHeartbeat
		code   string
	}{
		{"bad_credential", true, commands.ReceiveHeartbeat{RunnerID: "r-01", Credential: "not-it", State: "IDLE"}, errs.EUNAUTHORIZED},
		{"missing_credential", true, commands.ReceiveHeartbeat{RunnerID: "r-01", State: "IDLE"}, errs.EUNAUTHORIZED},
		{"runner_without_a_hash", false, beat("IDLE"), errs.EUNAUTHORIZED},
		{"unknown_runner", true, commands.ReceiveHeartbeat{RunnerID: "r-99", Credential: hbCredential, State: "IDLE"}, errs.ENOTFOUND},
		{"state_not_reportable", true, beat("ACTIVE"), errs.EINVALID},
		{"too_many_jobs", true, beat("BUSY", make([]int64, commands.MaxRunningJobs+1)...), errs.EINVALID},
		{"job_id_not_positive", true, beat("BUSY", 0), errs.EINVALID},
		{"version_with_control_characters", true, commands.ReceiveHeartbeat{RunnerID: "r-01", Credential: hbCredential, State: "IDLE", Version: "v1\n"}, errs.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustHeartbeatFixture(t, tc.hashed)
			before := f.streamLen(t)
			_, err := f.hb.Receive(ctx, tc.cmd)
			wantCode(t, err, tc.code)
			if n := f.streamLen(t); n != before {
				t.Fatalf("stream grew from %d to %d events", before, n)
			}
			if _, ok, _ := f.db.LastSeen().Get(ctx, tc.cmd.RunnerID); ok {
				t.Fatal("a refused heartbeat was recorded as last seen")
			}
		})
	}
}

func TestHeartbeats_terminated_runner_is_told_to_stop(t *testing.T) {
	ctx := context.Background()
	for _, projected := range []bool{true, false} {
		f := mustHeartbeatFixture(t, true)
		if _, err := f.hb.Receive(ctx, beat("IDLE")); err != nil {
			t.Fatal(err)
		}
		f.project(t)
		if projected {
			mustOK(t)(f.h.TerminateRunner(ctx, commands.TerminateRunner{RunnerID: "r-01", Reason: "egg removed"}))
			f.project(t)
		} else {
			// The view lags: it says IDLE, the stream says TERMINATED.
			mustOK(t)(f.h.TerminateRunner(ctx, commands.TerminateRunner{RunnerID: "r-01", Reason: "egg removed"}))
		}
		before := f.streamLen(t)
		_, err := f.hb.Receive(ctx, beat("BUSY", 7))
		var term *commands.RunnerTerminatedError
		if !errors.As(err, &term) || errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("projected=%v: %v, want RunnerTerminatedError (ECONFLICT)", projected, err)
		}
		if n := f.streamLen(t); n != before {
			t.Fatalf("projected=%v: stream grew from %d to %d events", projected, before, n)
		}
	}
}

func TestNewHeartbeats_refuses_nil_dependencies(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := mustHandlers(t, db.Events())
	for name, build := range map[string]func() (*commands.Heartbeats, error){
		"handlers": func() (*commands.Heartbeats, error) {
			return commands.NewHeartbeats(nil, db.Views(), db.LastSeen(), clock)
		},
		"views": func() (*commands.Heartbeats, error) { return commands.NewHeartbeats(h, nil, db.LastSeen(), clock) },
		"seen":  func() (*commands.Heartbeats, error) { return commands.NewHeartbeats(h, db.Views(), nil, clock) },
		"clock": func() (*commands.Heartbeats, error) { return commands.NewHeartbeats(h, db.Views(), db.LastSeen(), nil) },
	} {
		if _, err := build(); err == nil {
			t.Errorf("nil %s accepted", name)
		}
	}
}
