package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
)

const gitlabAPIToken = "glpat-jobs-api-token"

// jobsEnv is newEnv with JobTags reading from a fake GitLab, and an egg
// "jobs" on that GitLab (project 500, tags docker and linux) whose
// token_secret is set.
func jobsEnv(t *testing.T) (*env, *gitlabtest.Server) {
	t.Helper()
	fake := gitlabtest.New(t, gitlabAPIToken)
	t.Setenv("HTTPAPI_TEST_GITLAB_TOKEN", gitlabAPIToken)
	jobs, err := gitlab.NewJobs(gitlab.Config{Secrets: secrets.NewLocal(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *httpapi.Config) { c.JobTags = jobs.JobTags })
	_, err = e.handlers.SyncEgg(context.Background(), commands.SyncEgg{Config: events.EggSynced{
		Name: "jobs", Kind: "egg", RunnerType: "SERVERLESS", Provider: "YANDEX", Region: "ru-central1-a",
		GitLabServer: fake.URL(), ProjectIDs: []int64{500}, Tags: []string{"docker", "linux"}, CPU: 2, MemoryGB: 4,
		WebhookSecretURI: "env://HTTPAPI_TEST_SECRET", TokenSecretURI: "env://HTTPAPI_TEST_GITLAB_TOKEN",
		ConfigHash: "h-jobs", Commit: "c0ffee", Path: "Eggs/jobs/config.fly",
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp()
	return e, fake
}

// untaggedJob is the pending job.json (it has no tags) for project 500 on the fake.
func untaggedJob(t *testing.T, fake *gitlabtest.Server, job int64) []byte {
	t.Helper()
	return pendingJob(t, map[string]any{"project_id": 500, "build_id": job,
		"repository": map[string]any{"homepage": fake.URL() + "/jsmithy2/release-tools-fake"}})
}

func TestWebhook_untagged_job_gets_its_tags_from_the_jobs_API(t *testing.T) {
	e, fake := jobsEnv(t)
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 901, Name: "build", Stage: "test", Tags: []string{"linux"}})
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 902, Name: "gpu", Stage: "test", Tags: []string{"linux", "gpu"}})

	tests := []struct {
		name        string
		job         int64
		wantOutcome string
		wantReason  string
		wantTags    []string // of runner.requested; nil: none appended
	}{
		{"fetched_tags_requested", 901, "accepted", "", []string{"linux"}},
		{"fetched_tags_not_served", 902, "ignored", "tags [gpu] not served by egg jobs", nil},
		{"unknown_job", 903, "ignored", "cannot read job 903's tags: ", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, tc.job), hookHeaders("jt-"+tc.name, hookSecret))
			if status != 202 || body["outcome"] != tc.wantOutcome {
				t.Fatalf("%d %v", status, body)
			}
			if reason, _ := body["reason"].(string); !strings.HasPrefix(reason, tc.wantReason) {
				t.Fatalf("reason %q, want %q...", reason, tc.wantReason)
			}
			recs, err := e.db.Events().ReadAll(context.Background(), before, 10)
			if err != nil {
				t.Fatal(err)
			}
			var requested []events.RunnerRequested
			for _, r := range recs {
				if r.Type == events.RunnerRequestedV1 {
					var rr events.RunnerRequested
					if err := json.Unmarshal(r.Payload, &rr); err != nil {
						t.Fatal(err)
					}
					requested = append(requested, rr)
				}
			}
			switch {
			case tc.wantTags == nil && len(requested) != 0:
				t.Fatalf("runner requested: %+v", requested)
			case tc.wantTags != nil && (len(requested) != 1 || !slices.Equal(requested[0].Tags, tc.wantTags) || requested[0].JobID != tc.job || requested[0].Egg != "jobs"):
				t.Fatalf("runner.requested %+v, want one for job %d with tags %v", requested, tc.job, tc.wantTags)
			}
		})
	}
	if n := fake.Calls(); n != 3 {
		t.Fatalf("the Jobs API was called %d times, want 3", n)
	}
	// A payload that carries tags is not looked up.
	status, body := e.do(http.MethodPost, "/webhooks/gitlab", pendingJob(t, map[string]any{"project_id": 500, "build_id": 904, "tags": []string{"docker"},
		"repository": map[string]any{"homepage": fake.URL() + "/x"}}), hookHeaders("jt-tagged", hookSecret))
	if status != 202 || body["outcome"] != "accepted" || fake.Calls() != 3 {
		t.Fatalf("tagged job: %d %v, %d calls", status, body, fake.Calls())
	}
}

func TestWebhook_untagged_job_bad_API_token_is_ignored(t *testing.T) {
	e, fake := jobsEnv(t)
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 911, Tags: []string{"linux"}})
	t.Setenv("HTTPAPI_TEST_GITLAB_TOKEN", "glpat-revoked")
	status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 911), hookHeaders("jt-unauth", hookSecret))
	reason, _ := body["reason"].(string)
	if status != 202 || body["outcome"] != "ignored" || !strings.HasPrefix(reason, "cannot read job 911's tags: ") || strings.Contains(reason, "glpat-") {
		t.Fatalf("%d %v", status, body)
	}
}

func TestWebhook_untagged_job_GitLab_down_is_503(t *testing.T) {
	e, fake := jobsEnv(t)
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 921, Tags: []string{"linux"}})
	fake.Close()
	before := e.head()
	status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 921), hookHeaders("jt-down", hookSecret))
	if status != 503 {
		t.Fatalf("%d %v, want 503", status, body)
	}
	if e.head() != before {
		t.Fatalf("something was appended: head %d -> %d", before, e.head())
	}
}

func TestWebhook_untagged_job_unresolvable_API_token_uses_the_egg_tags(t *testing.T) {
	e, fake := jobsEnv(t)
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 931, Tags: []string{"gpu"}})
	t.Setenv("HTTPAPI_TEST_GITLAB_TOKEN", "")
	os.Unsetenv("HTTPAPI_TEST_GITLAB_TOKEN")
	status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 931), hookHeaders("jt-nosecret", hookSecret))
	if status != 202 || body["outcome"] != "accepted" || fake.Calls() != 0 {
		t.Fatalf("%d %v, %d calls", status, body, fake.Calls())
	}
}
