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
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestPendingJobs_pages_through_pending_jobs_only(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	for id := int64(1); id <= 150; id++ {
		fake.AddJob(gitlabtest.Job{ProjectID: 7, ID: id, Tags: []string{"linux"}})
	}
	fake.AddJob(gitlabtest.Job{ProjectID: 7, ID: 500, Status: "running"})
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	jobs := mustJobs(t)
	ctx := context.Background()

	var ids []int64
	pages := 0
	for page := int64(1); page > 0; pages++ {
		got, next, err := jobs.PendingJobs(ctx, fake.URL(), "env://GITLAB_TEST_TOKEN", 7, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range got {
			ids = append(ids, j.ID)
			if !slices.Equal(j.Tags, []string{"linux"}) {
				t.Fatalf("job %d tags %v", j.ID, j.Tags)
			}
		}
		page = next
	}
	if pages != 2 || len(ids) != 150 || slices.Contains(ids, 500) {
		t.Fatalf("pages %d, %d jobs (running one included: %v)", pages, len(ids), slices.Contains(ids, 500))
	}
	for _, l := range fake.Lists() {
		if !strings.Contains(l, "scope%5B%5D=pending") || !strings.Contains(l, "per_page=100") {
			t.Fatalf("request %s does not ask for pending jobs 100 a page", l)
		}
	}
}

func TestGroupProjects_pages(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	for id := int64(1); id <= 101; id++ {
		fake.AddProject(9, id)
	}
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	jobs := mustJobs(t)
	first, next, err := jobs.GroupProjects(context.Background(), fake.URL(), "env://GITLAB_TEST_TOKEN", 9, 1)
	if err != nil || len(first) != 100 || next != 2 {
		t.Fatalf("page 1: %d projects, next %d, %v", len(first), next, err)
	}
	second, next, err := jobs.GroupProjects(context.Background(), fake.URL(), "env://GITLAB_TEST_TOKEN", 9, 2)
	if err != nil || !slices.Equal(second, []int64{101}) || next != 0 {
		t.Fatalf("page 2: %v, next %d, %v", second, next, err)
	}
	if l := fake.Lists()[0]; !strings.Contains(l, "include_subgroups=false") || !strings.Contains(l, "with_shared=false") {
		t.Fatalf("request %s lists subgroups' or shared projects", l)
	}
}

func TestLists_errors(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddProject(0, 7)
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	t.Setenv("GITLAB_TEST_BAD_TOKEN", "glpat-wrong")
	jobs := mustJobs(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		throttle bool
		fail     int // a status the fake answers once
		tokenURI string
		project  int64
		group    int64
		wantCode string
	}{
		{name: "unknown_project", tokenURI: "env://GITLAB_TEST_TOKEN", project: 8, wantCode: errs.ENOTFOUND},
		{name: "unknown_group", tokenURI: "env://GITLAB_TEST_TOKEN", group: 3, wantCode: errs.ENOTFOUND},
		{name: "wrong_token", tokenURI: "env://GITLAB_TEST_BAD_TOKEN", project: 7, wantCode: errs.EUNAUTHORIZED},
		{name: "no_token", tokenURI: "", project: 7, wantCode: errs.EUNAUTHORIZED},
		{name: "throttled", throttle: true, tokenURI: "env://GITLAB_TEST_TOKEN", project: 7, wantCode: errs.EUNAVAILABLE},
		{name: "forbidden", fail: http.StatusForbidden, tokenURI: "env://GITLAB_TEST_TOKEN", project: 7, wantCode: errs.EUNAUTHORIZED},
		{name: "server_error", fail: http.StatusBadGateway, tokenURI: "env://GITLAB_TEST_TOKEN", project: 7, wantCode: errs.EUNAVAILABLE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.throttle {
				fake.Throttle(1, 7)
			}
			if tc.fail != 0 {
				fake.Fail(http.MethodGet, "/projects/", tc.fail, 1, 0)
			}
			var err error
			if tc.group != 0 {
				_, _, err = jobs.GroupProjects(ctx, fake.URL(), tc.tokenURI, tc.group, 1)
			} else {
				_, _, err = jobs.PendingJobs(ctx, fake.URL(), tc.tokenURI, tc.project, 1)
			}
			if errs.Code(err) != tc.wantCode {
				t.Fatalf("code %q (%v), want %s", errs.Code(err), err, tc.wantCode)
			}
			if strings.Contains(err.Error(), apiToken) {
				t.Fatal("the token is in the error")
			}
			var th *gitlab.ThrottledError
			if errors.As(err, &th) != tc.throttle || (tc.throttle && th.RetryAfter() != 7*time.Second) {
				t.Fatalf("throttled: %v (%v)", th, err)
			}
		})
	}
}
