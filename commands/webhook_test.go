package commands_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The webhook decision without HTTP: hand-written fakes for the egg
// directory, the secrets, the GitLab Jobs API and the limiter (ports), the
// real SQLite store underneath the handlers.

type fakeEggs struct {
	eggs        []ports.EggConfigRow // matched by project on Host "gitlab.com"
	lagging     bool                 // FindEggCaughtUp does not catch up
	caughtCalls atomic.Int32
}

func (f *fakeEggs) find(q commands.EggQuery) (ports.EggConfigRow, bool) {
	for _, e := range f.eggs {
		for _, p := range e.ProjectIDs {
			if p == q.Project && q.Host == "gitlab.com" {
				return e, true
			}
		}
	}
	return ports.EggConfigRow{}, false
}

func (f *fakeEggs) FindEgg(_ context.Context, q commands.EggQuery) (ports.EggConfigRow, bool, error) {
	e, ok := f.find(q)
	return e, ok, nil
}

func (f *fakeEggs) FindEggCaughtUp(_ context.Context, q commands.EggQuery) (ports.EggConfigRow, bool, error) {
	f.caughtCalls.Add(1)
	if f.lagging {
		return ports.EggConfigRow{}, false, errs.Errorf(errs.EUNAVAILABLE, "catching up")
	}
	e, ok := f.find(q)
	return e, ok, nil
}

type fakeSecrets map[string]string

func (f fakeSecrets) Resolve(_ context.Context, uri string) ([]byte, error) {
	if v, ok := f[uri]; ok {
		return []byte(v), nil
	}
	return nil, errs.Errorf(errs.EUNAVAILABLE, "secret store down")
}

// jobAnswer is what the fake Jobs API answers.
type jobAnswer struct {
	tags  []string
	asked bool
	err   error
}

type fakeJobTags struct {
	answer jobAnswer
	calls  atomic.Int32
}

func (f *fakeJobTags) JobTags(context.Context, string, int64, int64) ([]string, bool, error) {
	f.calls.Add(1)
	return f.answer.tags, f.answer.asked, f.answer.err
}

type fakeLimiter struct {
	deny  bool
	calls atomic.Int32
}

func (f *fakeLimiter) Allow(netip.Prefix) (time.Duration, bool) {
	f.calls.Add(1)
	if f.deny {
		return 1500 * time.Millisecond, false
	}
	return 0, true
}

type fakeSync struct{ n atomic.Int32 }

func (f *fakeSync) Trigger(string) { f.n.Add(1) }

const hookToken = "s3cret"

var (
	webEgg = ports.EggConfigRow{
		Name: "web", GitLabServer: "gitlab.com", ProjectIDs: []int64{15}, Tags: []string{"docker", "linux"},
		RunnerType: "SERVERLESS", Provider: "YANDEX", Region: "ru-central1-a", WebhookSecretURI: "env://HOOK",
	}
	noSecretEgg = ports.EggConfigRow{Name: "bare", GitLabServer: "gitlab.com", ProjectIDs: []int64{16}}
	lostEgg     = ports.EggConfigRow{Name: "lost", GitLabServer: "gitlab.com", ProjectIDs: []int64{17}, WebhookSecretURI: "env://GONE"}
)

type webhookEnv struct {
	w       *commands.Webhooks
	h       *commands.Handlers
	store   ports.EventStore
	eggs    *fakeEggs
	jobs    *fakeJobTags
	limiter *fakeLimiter
	sync    *fakeSync
}

func newWebhookEnv(t *testing.T) *webhookEnv {
	t.Helper()
	store := mustStore(t)
	e := &webhookEnv{
		h: mustHandlers(t, store), store: store,
		eggs: &fakeEggs{eggs: []ports.EggConfigRow{webEgg, noSecretEgg, lostEgg}},
		jobs: &fakeJobTags{}, limiter: &fakeLimiter{}, sync: &fakeSync{},
	}
	w, err := commands.NewWebhooks(commands.WebhooksConfig{
		Handlers: e.h, Eggs: e.eggs, Secrets: fakeSecrets{"env://HOOK": hookToken}, Limiter: e.limiter,
		JobTags: e.jobs, Sync: e.sync, TriggerToken: "trigger",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.w = w
	return e
}

func (e *webhookEnv) head(t *testing.T) uint64 {
	t.Helper()
	h, err := e.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// job is a pending Job Hook for project 15 on gitlab.com.
func job(id string, build int64, tags ...string) commands.ReceiveDelivery {
	return commands.ReceiveDelivery{
		ID: id, Event: "Job Hook", Token: hookToken,
		Payload: commands.HookPayload{
			ObjectKind: "build", ProjectID: 15, BuildID: build, BuildStatus: "pending", Tags: tags,
			Project: &commands.HookProject{WebURL: "https://gitlab.com/acme/web"},
		},
	}
}

func TestNewWebhooks_refuses_missing_dependencies(t *testing.T) {
	e := newWebhookEnv(t)
	full := commands.WebhooksConfig{Handlers: e.h, Eggs: e.eggs, Secrets: fakeSecrets{}, Limiter: e.limiter, TriggerToken: "t"}
	for name, mod := range map[string]func(*commands.WebhooksConfig){
		"no_handlers":      func(c *commands.WebhooksConfig) { c.Handlers = nil },
		"no_eggs":          func(c *commands.WebhooksConfig) { c.Eggs = nil },
		"no_secrets":       func(c *commands.WebhooksConfig) { c.Secrets = nil },
		"no_limiter":       func(c *commands.WebhooksConfig) { c.Limiter = nil },
		"no_trigger_token": func(c *commands.WebhooksConfig) { c.TriggerToken = "" },
	} {
		c := full
		mod(&c)
		if _, err := commands.NewWebhooks(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReceiveDelivery_pending_job_requests_a_runner_once(t *testing.T) {
	e := newWebhookEnv(t)
	ctx := context.Background()
	out, err := e.w.ReceiveDelivery(ctx, job("d-1", 42, "docker", "docker"))
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != commands.DeliveryAccepted || out.EventID == "" || out.Duplicate || !out.Authenticated || !out.RunnerRequested {
		t.Fatalf("outcome %+v", out)
	}
	envs := mustLoad(t, e.store, "runner-web-job-42")
	if len(envs) != 1 {
		t.Fatalf("runner stream has %d events", len(envs))
	}
	req := envs[0].Payload.(*events.RunnerRequested)
	if req.JobID != 42 || strings.Join(req.Tags, ",") != "docker" || envs[0].CausationID != out.EventID {
		t.Fatalf("requested %+v caused by %s", req, envs[0].CausationID)
	}
	if e.jobs.calls.Load() != 0 {
		t.Fatal("the Jobs API was asked for tags the payload has")
	}

	// A redelivery is answered with the original and appends nothing.
	before := e.head(t)
	again, err := e.w.ReceiveDelivery(ctx, job("d-1", 42, "docker"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.EventID != out.EventID || again.Status != commands.DeliveryAccepted || again.RunnerRequested {
		t.Fatalf("redelivery %+v, first %+v", again, out)
	}
	// Another delivery for the same job asks for no second runner.
	other, err := e.w.ReceiveDelivery(ctx, job("d-2", 42, "docker"))
	if err != nil {
		t.Fatal(err)
	}
	if other.Status != commands.DeliveryIgnored || !strings.Contains(other.Reason, "already requested") || other.RunnerRequested {
		t.Fatalf("second delivery of job 42: %+v", other)
	}
	if got := e.head(t); got != before+1 {
		t.Fatalf("appended %d events after the first delivery, want 1 (the ignored d-2)", got-before)
	}
}

func TestReceiveDelivery_refusals_append_nothing(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*commands.ReceiveDelivery)
		code string
	}{
		{"no_kind", func(d *commands.ReceiveDelivery) { d.Payload.ObjectKind, d.Event = "", "" }, errs.EINVALID},
		{"no_delivery_id", func(d *commands.ReceiveDelivery) { d.ID = "" }, errs.EINVALID},
		{"bad_delivery_id", func(d *commands.ReceiveDelivery) { d.ID = "a/b\n" }, errs.EINVALID},
		{"wrong_token", func(d *commands.ReceiveDelivery) { d.Token = "guess" }, errs.EUNAUTHORIZED},
		{"no_token", func(d *commands.ReceiveDelivery) { d.Token = "" }, errs.EUNAUTHORIZED},
		{"egg_without_secret", func(d *commands.ReceiveDelivery) { d.Payload.ProjectID = 16 }, errs.EUNAUTHORIZED},
		{"secret_unresolvable", func(d *commands.ReceiveDelivery) { d.Payload.ProjectID = 17 }, errs.EUNAVAILABLE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newWebhookEnv(t)
			d := job("d-1", 42, "docker")
			tc.mod(&d)
			_, err := e.w.ReceiveDelivery(context.Background(), d)
			wantCode(t, err, tc.code)
			if h := e.head(t); h != 0 {
				t.Fatalf("%d events appended", h)
			}
		})
	}
}

func TestReceiveDelivery_ignored_with_reason(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*commands.ReceiveDelivery)
		jobs   jobAnswer
		reason string
	}{
		{"event_header_disagrees", func(d *commands.ReceiveDelivery) { d.Event = "Push Hook" }, jobAnswer{}, `X-Gitlab-Event "Push Hook" does not match object_kind "build"`},
		{"kind_not_acted_on", func(d *commands.ReceiveDelivery) { d.Event, d.Payload.ObjectKind = "Pipeline Hook", "pipeline" }, jobAnswer{}, "event kind pipeline is not acted on"},
		{"kindless_event", func(d *commands.ReceiveDelivery) { d.Event, d.Payload.ObjectKind = "Member Hook", "" }, jobAnswer{}, "event kind member is not acted on"},
		{"job_running", func(d *commands.ReceiveDelivery) { d.Payload.BuildStatus = "running" }, jobAnswer{}, "job 42 is running: neither pending (which asks for a runner) nor ended (which frees its runner slot)"},
		{"job_succeeded", func(d *commands.ReceiveDelivery) { d.Payload.BuildStatus = "success" }, jobAnswer{}, "job 42 is success: the job has ended; the provisioner frees its runner slot"},
		{"job_failed", func(d *commands.ReceiveDelivery) { d.Payload.BuildStatus = "failed" }, jobAnswer{}, "job 42 is failed: the job has ended"},
		{"job_canceled", func(d *commands.ReceiveDelivery) { d.Payload.BuildStatus = "canceled" }, jobAnswer{}, "job 42 is canceled: the job has ended"},
		{"no_build_id", func(d *commands.ReceiveDelivery) { d.Payload.BuildID = 0 }, jobAnswer{}, "the pending job has no build_id (0)"},
		{"tags_not_served", func(d *commands.ReceiveDelivery) { d.Payload.Tags = []string{"gpu"} }, jobAnswer{}, "tags [gpu] not served by egg web"},
		{"gitlab_tags_not_served", func(d *commands.ReceiveDelivery) { d.Payload.Tags = nil }, jobAnswer{asked: true, tags: []string{"arm"}}, "tags [arm] not served by egg web"},
		{"gitlab_does_not_know_the_job", func(d *commands.ReceiveDelivery) { d.Payload.Tags = nil },
			jobAnswer{asked: true, err: errs.Errorf(errs.ENOTFOUND, "404 Job Not Found")}, "cannot read job 42's tags: 404 Job Not Found"},
		{"gitlab_refuses_the_token", func(d *commands.ReceiveDelivery) { d.Payload.Tags = nil },
			jobAnswer{asked: true, err: errs.Errorf(errs.EUNAUTHORIZED, "401")}, "cannot read job 42's tags: 401"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newWebhookEnv(t)
			e.jobs.answer = tc.jobs
			d := job("d-1", 42, "docker")
			tc.mod(&d)
			out, err := e.w.ReceiveDelivery(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != commands.DeliveryIgnored || !strings.Contains(out.Reason, tc.reason) || out.EventID == "" || out.RunnerRequested {
				t.Fatalf("outcome %+v, want ignored: %s", out, tc.reason)
			}
			if h := e.head(t); h != 1 {
				t.Fatalf("%d events appended, want the delivery alone", h)
			}
		})
	}
}

func TestReceiveDelivery_job_tags_from_gitlab(t *testing.T) {
	tests := []struct {
		name     string
		jobs     jobAnswer
		wantTags string
		wantCode string
	}{
		{"read", jobAnswer{asked: true, tags: []string{"linux"}}, "linux", ""},
		{"server_not_asked", jobAnswer{}, "docker,linux", ""},
		{"gitlab_unreachable", jobAnswer{asked: true, err: errs.Errorf(errs.EUNAVAILABLE, "timeout")}, "", errs.EUNAVAILABLE},
		{"token_unresolvable", jobAnswer{asked: true, err: errs.Errorf(errs.EINVALID, "no such secret")}, "", errs.EUNAVAILABLE},
		{"gitlab_fails", jobAnswer{asked: true, err: errors.New("500")}, "", errs.EUNAVAILABLE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newWebhookEnv(t)
			e.jobs.answer = tc.jobs
			out, err := e.w.ReceiveDelivery(context.Background(), job("d-1", 42))
			if tc.wantCode != "" {
				wantCode(t, err, tc.wantCode)
				if h := e.head(t); h != 0 {
					t.Fatalf("%d events appended; GitLab is to retry", h)
				}
				return
			}
			if err != nil || !out.RunnerRequested {
				t.Fatalf("outcome %+v, %v", out, err)
			}
			req := mustLoad(t, e.store, "runner-web-job-42")[0].Payload.(*events.RunnerRequested)
			if got := strings.Join(req.Tags, ","); got != tc.wantTags {
				t.Fatalf("tags %s, want %s", got, tc.wantTags)
			}
		})
	}
}

func TestReceiveDelivery_no_egg(t *testing.T) {
	ctx := context.Background()
	unknown := func(id string) commands.ReceiveDelivery {
		d := job(id, 7)
		d.Payload.ProjectID, d.Token = 999, ""
		return d
	}
	t.Run("recorded_unauthenticated_and_redelivered_bare", func(t *testing.T) {
		e := newWebhookEnv(t)
		out, err := e.w.ReceiveDelivery(ctx, unknown("d-9"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Authenticated || out.Status != commands.DeliveryIgnored || out.Reason != "no egg for project 999 on host gitlab.com" || out.EventID == "" {
			t.Fatalf("outcome %+v", out)
		}
		again, err := e.w.ReceiveDelivery(ctx, unknown("d-9"))
		if err != nil {
			t.Fatal(err)
		}
		if again != (commands.DeliveryOutcome{Duplicate: true}) {
			t.Fatalf("an unauthenticated redelivery was told %+v", again)
		}
		if e.limiter.calls.Load() != 2 || e.eggs.caughtCalls.Load() != 2 {
			t.Fatalf("limiter asked %d times, caught-up directory %d; want 2 and 2", e.limiter.calls.Load(), e.eggs.caughtCalls.Load())
		}
	})
	t.Run("rate_limited_before_the_view_is_read_again", func(t *testing.T) {
		e := newWebhookEnv(t)
		e.limiter.deny = true
		_, err := e.w.ReceiveDelivery(ctx, unknown("d-9"))
		var limited *commands.RateLimitedError
		if !errors.As(err, &limited) || limited.RetryAfterSeconds() != 2 || errs.Code(err) != errs.EUNAVAILABLE {
			t.Fatalf("error %v", err)
		}
		if e.eggs.caughtCalls.Load() != 0 || e.head(t) != 0 {
			t.Fatal("a rate-limited delivery read the view again or was appended")
		}
	})
	t.Run("view_not_caught_up", func(t *testing.T) {
		e := newWebhookEnv(t)
		e.eggs.lagging = true
		_, err := e.w.ReceiveDelivery(ctx, unknown("d-9"))
		wantCode(t, err, errs.EUNAVAILABLE)
		if e.head(t) != 0 {
			t.Fatal("appended while the view lags")
		}
	})
	t.Run("authenticated_deliveries_are_never_limited", func(t *testing.T) {
		e := newWebhookEnv(t)
		e.limiter.deny = true
		if _, err := e.w.ReceiveDelivery(ctx, job("d-1", 42, "docker")); err != nil {
			t.Fatal(err)
		}
		if e.limiter.calls.Load() != 0 {
			t.Fatal("the limiter was asked about an egg's delivery")
		}
	})
}

func TestReceiveDelivery_push_to_the_Nest_triggers_a_sync_once(t *testing.T) {
	e := newWebhookEnv(t)
	ctx := context.Background()
	push := commands.ReceiveDelivery{ID: "p-1", Event: "Push Hook", Token: "trigger", Payload: commands.HookPayload{
		ObjectKind: "push", ProjectID: 500, Ref: "refs/heads/main", Project: &commands.HookProject{WebURL: "https://gitlab.com/ops/nest"},
	}}
	for range 2 {
		out, err := e.w.ReceiveDelivery(ctx, push)
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != commands.DeliveryAccepted || !out.Authenticated {
			t.Fatalf("outcome %+v", out)
		}
	}
	if n := e.sync.n.Load(); n != 1 {
		t.Fatalf("%d syncs triggered, want 1", n)
	}
	if e.limiter.calls.Load() != 0 {
		t.Fatal("the trigger push was rate-limited as unauthenticated")
	}
	// A push carrying the trigger token whose header disagrees is recorded, not acted on.
	push.ID, push.Event = "p-2", "Tag Push Hook"
	out, err := e.w.ReceiveDelivery(ctx, push)
	if err != nil || out.Status != commands.DeliveryIgnored || e.sync.n.Load() != 1 {
		t.Fatalf("outcome %+v, %v, %d syncs", out, err, e.sync.n.Load())
	}
}
