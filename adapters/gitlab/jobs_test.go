package gitlab_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

const apiToken = "glpat-s3cret-jobs-token"

func mustJobs(t *testing.T) *gitlab.Jobs {
	t.Helper()
	j, err := gitlab.NewJobs(gitlab.Config{Secrets: secrets.NewLocal(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJobTags(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 42, Name: "build", Stage: "test", Tags: []string{"docker", "linux"}})
	fake.AddJob(gitlabtest.Job{ProjectID: 15, ID: 43, Name: "untagged"})
	down := gitlabtest.New(t, apiToken)
	down.Close()
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	t.Setenv("GITLAB_TEST_BAD_TOKEN", "glpat-wrong-token-value")
	jobs := mustJobs(t)

	tests := []struct {
		name     string
		server   string
		project  int64
		job      int64
		tokenURI string
		want     []string
		wantCode string
	}{
		{"tags_returned", fake.URL(), 15, 42, "env://GITLAB_TEST_TOKEN", []string{"docker", "linux"}, ""},
		{"no_tags", fake.URL(), 15, 43, "env://GITLAB_TEST_TOKEN", []string{}, ""},
		{"bad_token", fake.URL(), 15, 42, "env://GITLAB_TEST_BAD_TOKEN", nil, errs.EUNAUTHORIZED},
		{"no_token_uri", fake.URL(), 15, 42, "", nil, errs.EUNAUTHORIZED},
		{"unknown_job", fake.URL(), 15, 99, "env://GITLAB_TEST_TOKEN", nil, errs.ENOTFOUND},
		{"unknown_project", fake.URL(), 16, 42, "env://GITLAB_TEST_TOKEN", nil, errs.ENOTFOUND},
		{"server_down", down.URL(), 15, 42, "env://GITLAB_TEST_TOKEN", nil, errs.EUNAVAILABLE},
		{"token_not_set", fake.URL(), 15, 42, "env://GITLAB_TEST_NO_SUCH_VAR", nil, errs.EINVALID},
		{"token_scheme_unsupported", fake.URL(), 15, 42, "yc-lockbox://gitlab/example.com/web/runner-token", nil, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jobs.JobTags(context.Background(), tc.server, tc.project, tc.job, tc.tokenURI)
			if tc.wantCode != "" {
				if errs.Code(err) != tc.wantCode {
					t.Fatalf("err = %v, want code %s", err, tc.wantCode)
				}
				for _, secret := range []string{apiToken, "glpat-wrong-token-value"} {
					if strings.Contains(err.Error(), secret) || strings.Contains(errs.Message(err), secret) {
						t.Fatalf("the error shows a token: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("tags = %v, want %v", got, tc.want)
			}
		})
	}
	if n := fake.Calls(); n != 5 {
		t.Fatalf("the fake saw %d calls, want 5", n)
	}
}

func TestJobTags_cancelled_context(t *testing.T) {
	fake := gitlabtest.New(t, apiToken)
	fake.AddJob(gitlabtest.Job{ProjectID: 1, ID: 1})
	t.Setenv("GITLAB_TEST_TOKEN", apiToken)
	jobs := mustJobs(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := jobs.JobTags(ctx, fake.URL(), 1, 1, "env://GITLAB_TEST_TOKEN")
	if errs.Code(err) != errs.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
}

func TestNewJobs_refuses_nil_secrets(t *testing.T) {
	if _, err := gitlab.NewJobs(gitlab.Config{}); err == nil {
		t.Fatal("NewJobs accepted nil secrets")
	}
}
