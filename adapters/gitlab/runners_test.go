package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

const tokenURI = "env://GITLAB_TEST_TOKEN"

func mustRunners(t *testing.T) *gitlab.Runners {
	t.Helper()
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	r, err := gitlab.NewRunners(gitlab.Config{Secrets: secrets.NewLocal(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunners_create_pause_jobs_delete(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddProject(0, 7)
	fake.AddProject(0, 8)
	rs := mustRunners(t)
	ctx := context.Background()
	spec := provisioner.RegistrationSpec{Owner: provisioner.Owner{Type: "project_type", ID: 7}, Tags: []string{"docker", "linux"},
		Description: provisioner.Description("web-pool-1", "web"), MaximumTimeout: 3600}
	id, token, err := rs.Create(ctx, fake.URL(), tokenURI, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(token), "glrt-") {
		t.Fatalf("token %q is not a runner authentication token", token)
	}
	if err := rs.Enable(ctx, fake.URL(), tokenURI, id, 8); err != nil {
		t.Fatal(err)
	}
	got := fake.Runners()
	if len(got) != 1 {
		t.Fatalf("%d runners, want 1", len(got))
	}
	g := got[0]
	if g.ID != id || g.Type != "project_type" || !slices.Equal(g.ProjectIDs, []int64{7, 8}) || !slices.Equal(g.Tags, spec.Tags) ||
		g.RunUntagged || g.MaximumTimeout != 3600 || g.Description != "polar-gosling runner web-pool-1 (egg web)" || g.Token != string(token) {
		t.Fatalf("created %+v", g)
	}
	for _, project := range []int64{7, 8} {
		list, err := rs.List(ctx, fake.URL(), tokenURI, provisioner.Owner{Type: "project_type", ID: project})
		if err != nil || len(list) != 1 || list[0].ID != id || provisioner.RunnerOf(list[0].Description) != "web-pool-1" {
			t.Fatalf("project %d lists %+v, %v", project, list, err)
		}
	}
	if err := rs.Pause(ctx, fake.URL(), tokenURI, id); err != nil || !fake.Runners()[0].Paused {
		t.Fatalf("pause: %v, %+v", err, fake.Runners())
	}
	fake.SetRunningJob(id, 55, true)
	if n, err := rs.RunningJobs(ctx, fake.URL(), tokenURI, id); err != nil || n != 1 {
		t.Fatalf("running jobs %d, %v; want 1", n, err)
	}
	fake.SetRunningJob(id, 55, false)
	if n, err := rs.RunningJobs(ctx, fake.URL(), tokenURI, id); err != nil || n != 0 {
		t.Fatalf("running jobs %d, %v; want 0", n, err)
	}
	if gone, err := rs.Delete(ctx, fake.URL(), tokenURI, id); err != nil || gone {
		t.Fatalf("delete: gone %v, %v", gone, err)
	}
	if gone, err := rs.Delete(ctx, fake.URL(), tokenURI, id); err != nil || !gone {
		t.Fatalf("second delete: gone %v, %v; want already gone", gone, err)
	}
	if len(fake.Runners()) != 0 {
		t.Fatalf("runners left: %+v", fake.Runners())
	}
}

func TestRunners_group_runner_and_pages(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddProject(9, 90)
	rs := mustRunners(t)
	ctx := context.Background()
	id, _, err := rs.Create(ctx, fake.URL(), tokenURI, provisioner.RegistrationSpec{Owner: provisioner.Owner{Type: "group_type", ID: 9}, Tags: []string{"x"}, Description: "d"})
	if err != nil {
		t.Fatal(err)
	}
	for range 130 {
		fake.AddRunner(gitlabtest.Runner{Type: "group_type", GroupID: 9, Description: "someone else's"})
	}
	list, err := rs.List(ctx, fake.URL(), tokenURI, provisioner.Owner{Type: "group_type", ID: 9})
	if err != nil || len(list) != 131 || list[0].ID != id {
		t.Fatalf("%d listed, %v", len(list), err)
	}
	pages := 0
	for _, l := range fake.Lists() {
		if strings.HasPrefix(l, "/api/v4/groups/9/runners?") {
			pages++
			if !strings.Contains(l, "type=group_type") {
				t.Fatalf("list %s does not filter group runners", l)
			}
		}
	}
	if pages != 2 {
		t.Fatalf("%d pages read, want 2", pages)
	}
}

func TestRunners_errors_are_classified(t *testing.T) {
	spec := provisioner.RegistrationSpec{Owner: provisioner.Owner{Type: "project_type", ID: 7}, Description: "d"}
	for _, tc := range []struct {
		name       string
		status     int
		code       string
		retryAfter time.Duration
	}{
		{"unauthorized_401", http.StatusUnauthorized, errs.EUNAUTHORIZED, 0},
		{"forbidden_403", http.StatusForbidden, errs.EUNAUTHORIZED, 0},
		{"not_found_404", http.StatusNotFound, errs.ENOTFOUND, 0},
		{"throttled_429", http.StatusTooManyRequests, errs.EUNAVAILABLE, 7 * time.Second},
		{"server_error_500", http.StatusInternalServerError, errs.EUNAVAILABLE, 0},
		{"bad_gateway_502", http.StatusBadGateway, errs.EUNAVAILABLE, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := gitlabtest.New(t, apiToken)
			fake.AddProject(0, 7)
			rs := mustRunners(t)
			fake.Fail("POST", "/user/runners", tc.status, 1, int(tc.retryAfter/time.Second))
			_, token, err := rs.Create(context.Background(), fake.URL(), tokenURI, spec)
			if errs.Code(err) != tc.code || token != nil {
				t.Fatalf("code %s (%v), want %s", errs.Code(err), err, tc.code)
			}
			var throttled *gitlab.ThrottledError
			if got := errors.As(err, &throttled); got != (tc.retryAfter > 0) || (got && throttled.RetryAfter() != tc.retryAfter) {
				t.Fatalf("throttled %v (%v), want retry after %s", got, err, tc.retryAfter)
			}
			if strings.Contains(err.Error(), apiToken) {
				t.Fatal("the API token is in the error")
			}
			if len(fake.Runners()) != 0 {
				t.Fatal("a refused create made a runner")
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		fake := gitlabtest.New(t, apiToken)
		fake.Close()
		_, _, err := mustRunners(t).Create(context.Background(), fake.URL(), tokenURI, spec)
		if errs.Code(err) != errs.EUNAVAILABLE {
			t.Fatalf("code %s (%v)", errs.Code(err), err)
		}
	})
	t.Run("wrong_token", func(t *testing.T) {
		fake := gitlabtest.New(t, "another-token")
		fake.AddProject(0, 7)
		_, _, err := mustRunners(t).Create(context.Background(), fake.URL(), tokenURI, spec)
		if errs.Code(err) != errs.EUNAUTHORIZED {
			t.Fatalf("code %s (%v)", errs.Code(err), err)
		}
	})
}
