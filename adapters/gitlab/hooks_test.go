package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

const hookSecretValue = "whsec-hook-value"

func hookSpec(url string) commands.HookSpec {
	return commands.HookSpec{URL: url, Token: hookSecretValue, JobEvents: true, EnableSSLVerification: true}
}

// Add, list, edit, test and delete a project's and a group's hook: the
// fake holds what client-go sent (push events off explicitly, the token),
// and answers no token.
func TestHooks_add_list_edit_test_delete(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddProject(0, 15)
	fake.AddGroup(7)
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	jobs := mustJobs(t)
	ctx := context.Background()
	for _, owner := range []events.WebhookOwner{
		{GitLabServer: fake.URL(), Kind: "project", ID: 15},
		{GitLabServer: fake.URL(), Kind: "group", ID: 7},
	} {
		t.Run(owner.Kind, func(t *testing.T) {
			added, err := jobs.AddHook(ctx, "env://GITLAB_TEST_TOKEN", owner, hookSpec("https://mg.example.com/webhooks/gitlab"))
			if err != nil {
				t.Fatal(err)
			}
			held := fake.Hooks(owner.Kind, owner.ID)
			if len(held) != 1 || held[0].ID != added.ID || held[0].Token != hookSecretValue || !held[0].JobEvents || held[0].PushEvents ||
				!held[0].EnableSSLVerification || held[0].URL != "https://mg.example.com/webhooks/gitlab" {
				t.Fatalf("fake holds %+v after adding %+v", held, added)
			}
			list, next, err := jobs.Hooks(ctx, "env://GITLAB_TEST_TOKEN", owner, 1)
			if err != nil || next != 0 || len(list) != 1 || list[0] != added || !added.JobEvents || added.PushEvents || added.AlertStatus != "executable" {
				t.Fatalf("list %+v next %d err %v; added %+v", list, next, err, added)
			}
			fake.SetHook(added.ID, func(h *gitlabtest.Hook) {
				h.JobEvents, h.AlertStatus, h.DisabledUntil = false, "temporarily_disabled", time.Now().Add(time.Hour)
			})
			list, _, _ = jobs.Hooks(ctx, "env://GITLAB_TEST_TOKEN", owner, 1)
			if owner.Kind == "project" && (list[0].DisabledUntil.IsZero() || !list[0].Disabled(time.Now())) {
				t.Fatalf("a temporarily disabled hook reads %+v", list[0])
			}
			spec := hookSpec("https://mg2.example.com/webhooks/gitlab")
			spec.Token = "rotated"
			edited, err := jobs.EditHook(ctx, "env://GITLAB_TEST_TOKEN", owner, added.ID, spec)
			if err != nil || edited.URL != spec.URL || !edited.JobEvents {
				t.Fatalf("edit: %+v %v", edited, err)
			}
			if err := jobs.TestHook(ctx, "env://GITLAB_TEST_TOKEN", owner, added.ID); err != nil {
				t.Fatal(err)
			}
			if h := fake.Hooks(owner.Kind, owner.ID)[0]; h.Token != "rotated" || h.AlertStatus != "executable" {
				t.Fatalf("after edit and test: %+v", h)
			}
			if err := jobs.DeleteHook(ctx, "env://GITLAB_TEST_TOKEN", owner, added.ID); err != nil {
				t.Fatal(err)
			}
			if err := jobs.DeleteHook(ctx, "env://GITLAB_TEST_TOKEN", owner, added.ID); errs.Code(err) != errs.ENOTFOUND {
				t.Fatalf("deleting a deleted hook: %v", err)
			}
			if len(fake.Hooks(owner.Kind, owner.ID)) != 0 {
				t.Fatal("the hook is still there")
			}
		})
	}
}

func TestHooks_pages(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddProject(0, 15)
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	jobs := mustJobs(t)
	ctx := context.Background()
	owner := events.WebhookOwner{GitLabServer: fake.URL(), Kind: "project", ID: 15}
	for range 101 {
		if _, err := jobs.AddHook(ctx, "env://GITLAB_TEST_TOKEN", owner, hookSpec("https://other.example.com/x")); err != nil {
			t.Fatal(err)
		}
	}
	first, next, err := jobs.Hooks(ctx, "env://GITLAB_TEST_TOKEN", owner, 1)
	if err != nil || len(first) != 100 || next != 2 {
		t.Fatalf("page 1: %d hooks, next %d, %v", len(first), next, err)
	}
	second, next, err := jobs.Hooks(ctx, "env://GITLAB_TEST_TOKEN", owner, 2)
	if err != nil || len(second) != 1 || next != 0 {
		t.Fatalf("page 2: %d hooks, next %d, %v", len(second), next, err)
	}
}

// GitLab's error answers become coded errors that never carry the hook's
// token: 401 and 403 EUNAUTHORIZED, 404 (unknown project or group)
// ENOTFOUND, 429 a *ThrottledError with Retry-After, 5xx EUNAVAILABLE.
func TestHooks_errors(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddProject(0, 15)
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	jobs := mustJobs(t)
	ctx := context.Background()
	owner := events.WebhookOwner{GitLabServer: fake.URL(), Kind: "project", ID: 15}
	tests := []struct {
		name       string
		status     int
		code       string
		retryAfter time.Duration
	}{
		{"unauthorized", http.StatusUnauthorized, errs.EUNAUTHORIZED, 0},
		{"forbidden", http.StatusForbidden, errs.EUNAUTHORIZED, 0},
		{"not_found", http.StatusNotFound, errs.ENOTFOUND, 0},
		{"too_many_requests", http.StatusTooManyRequests, errs.EUNAVAILABLE, 7 * time.Second},
		{"server_error", http.StatusBadGateway, errs.EUNAVAILABLE, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake.Fail(http.MethodPost, "/projects/15/hooks", tc.status, 1, int(tc.retryAfter/time.Second))
			_, err := jobs.AddHook(ctx, "env://GITLAB_TEST_TOKEN", owner, hookSpec("https://mg.example.com/webhooks/gitlab"))
			if errs.Code(err) != tc.code {
				t.Fatalf("code %s, want %s: %v", errs.Code(err), tc.code, err)
			}
			var throttled *gitlab.ThrottledError
			if got := errors.As(err, &throttled); got != (tc.retryAfter > 0) || got && throttled.RetryAfter() != tc.retryAfter {
				t.Fatalf("throttled %v: %v", got, err)
			}
			if strings.Contains(err.Error(), hookSecretValue) || strings.Contains(err.Error(), apiToken) {
				t.Fatalf("the error shows a secret: %v", err)
			}
		})
	}
	if _, _, err := jobs.Hooks(ctx, "env://GITLAB_TEST_TOKEN", events.WebhookOwner{GitLabServer: fake.URL(), Kind: "group", ID: 99}, 1); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("an unknown group: %v", err)
	}
	if _, _, err := jobs.Hooks(ctx, "env://GITLAB_TEST_TOKEN", events.WebhookOwner{GitLabServer: fake.URL(), Kind: "user", ID: 1}, 1); errs.Code(err) != errs.EINVALID {
		t.Fatalf("an owner kind that is none: %v", err)
	}
	t.Setenv("GITLAB_TEST_TOKEN", "glpat-wrong")
	if _, _, err := jobs.Hooks(ctx, "env://GITLAB_TEST_TOKEN", owner, 1); errs.Code(err) != errs.EUNAUTHORIZED {
		t.Fatalf("a wrong token: %v", err)
	}
}
