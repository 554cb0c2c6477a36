package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab/gitlabtest"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite/sqlitetest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

const (
	// gitlabAPIToken is MotherGoose's API token on the fake GitLab, the only
	// token the fake accepts; it is in HTTPAPI_TEST_GITLAB_TOKEN.
	gitlabAPIToken = "glpat-jobs-api-token"
	apiTokenURI    = "env://HTTPAPI_TEST_GITLAB_TOKEN"
	// runnerToken is the egg's token_secret (HTTPAPI_TEST_RUNNER_TOKEN): a
	// runner authentication token, never sent to the API.
	runnerToken = "glrt-runner-auth-token"
)

// jobsEnv is newEnv with JobTags reading from a fake GitLab, APITokens from
// apiTokens(the fake's URL) (nil: none), logs in the returned buffer
// (debug and up), and an egg "jobs" on that GitLab (project 500, tags
// docker and linux) whose token_secret is a runner token.
func jobsEnv(t *testing.T, apiTokens func(server string) map[string]string) (*env, *gitlabtest.Server, *syncBuffer) {
	t.Helper()
	fake := gitlabtest.New(t, gitlabAPIToken)
	t.Setenv("HTTPAPI_TEST_GITLAB_TOKEN", gitlabAPIToken)
	t.Setenv("HTTPAPI_TEST_RUNNER_TOKEN", runnerToken)
	jobs, err := gitlab.NewJobs(gitlab.Config{Secrets: secrets.NewLocal(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	e := newEnv(t, func(c *httpapi.Config) {
		c.JobTags = jobs.JobTags
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if apiTokens != nil {
			c.APITokens = apiTokens(fake.URL())
		}
	})
	_, err = e.handlers.SyncEgg(context.Background(), commands.SyncEgg{Config: events.EggSynced{
		Name: "jobs", Kind: "egg", RunnerType: "serverless", Provider: "yandex", Region: "ru-central1-a",
		GitLabServer: fake.URL(), ProjectIDs: []int64{500}, Tags: []string{"docker", "linux"}, CPU: 2, MemoryGB: 4,
		WebhookSecretURI: "env://HTTPAPI_TEST_SECRET", TokenSecretURI: "env://HTTPAPI_TEST_RUNNER_TOKEN",
		ConfigHash: "h-jobs", Commit: "c0ffee", Path: "Eggs/jobs/config.fly",
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp()
	return e, fake, logs
}

// tokenFor configures the API token for the fake's server.
func tokenFor(server string) map[string]string { return map[string]string{server: apiTokenURI} }

// untaggedJob is the pending job.json (it has no tags) for project 500 on the fake.
func untaggedJob(t *testing.T, fake *gitlabtest.Server, job int64) []byte {
	t.Helper()
	return pendingJob(t, map[string]any{"project_id": 500, "build_id": job,
		"repository": map[string]any{"homepage": fake.URL() + "/jsmithy2/release-tools-fake"}})
}

// requested returns the runner.requested events appended after position before.
func (e *env) requested(before uint64) []events.RunnerRequested {
	e.t.Helper()
	recs, err := e.db.Events().ReadAll(context.Background(), before, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []events.RunnerRequested
	for _, r := range recs {
		if r.Type == events.RunnerRequestedV1 {
			var rr events.RunnerRequested
			if err := json.Unmarshal(r.Payload, &rr); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, rr)
		}
	}
	return out
}

func TestWebhook_untagged_job_gets_its_tags_from_the_jobs_API(t *testing.T) {
	e, fake, _ := jobsEnv(t, tokenFor)
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
			requested := e.requested(before)
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

// The API token is the configured one, whatever the egg's token_secret is:
// with a runner token there the job is read all the same, and with the
// fake's own token there but another one configured, GitLab refuses.
func TestWebhook_untagged_job_is_read_with_the_API_token_not_the_egg_token_secret(t *testing.T) {
	e, fake, _ := jobsEnv(t, tokenFor)
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 941, Tags: []string{"linux"}})
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 942, Tags: []string{"linux"}})

	before := e.head()
	status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 941), hookHeaders("jt-api-token", hookSecret))
	if got := e.requested(before); status != 202 || body["outcome"] != "accepted" || len(got) != 1 || !slices.Equal(got[0].Tags, []string{"linux"}) {
		t.Fatalf("%d %v, requested %+v", status, body, got)
	}

	t.Setenv("HTTPAPI_TEST_GITLAB_TOKEN", runnerToken)
	t.Setenv("HTTPAPI_TEST_RUNNER_TOKEN", gitlabAPIToken)
	status, body = e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 942), hookHeaders("jt-egg-token", hookSecret))
	if reason, _ := body["reason"].(string); status != 202 || body["outcome"] != "ignored" || !strings.HasPrefix(reason, "cannot read job 942's tags: ") {
		t.Fatalf("%d %v", status, body)
	}
	if n := fake.Calls(); n != 2 {
		t.Fatalf("the Jobs API was called %d times, want 2", n)
	}
}

// An API token key matches the egg's server as lower-case host[:port], with
// or without a scheme; one without a port serves the host on any port.
func TestWebhook_API_token_matches_the_egg_server(t *testing.T) {
	keys := map[string]func(server string) string{
		"url":          func(s string) string { return s },
		"url_upper":    func(s string) string { return strings.ToUpper(s) + "/" },
		"host_port":    func(s string) string { return strings.TrimPrefix(s, "http://") },
		"host_no_port": func(string) string { return "127.0.0.1" },
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			e, fake, _ := jobsEnv(t, func(s string) map[string]string { return map[string]string{key(s): apiTokenURI} })
			fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 951, Tags: []string{"linux"}})
			before := e.head()
			status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 951), hookHeaders("jt-key-"+name, hookSecret))
			if got := e.requested(before); status != 202 || len(got) != 1 || !slices.Equal(got[0].Tags, []string{"linux"}) || fake.Calls() != 1 {
				t.Fatalf("%d %v, requested %+v, %d calls", status, body, got, fake.Calls())
			}
		})
	}
}

// A server without an API token: the egg's tags, GitLab not asked, even
// though the egg's token_secret would be accepted by it.
func TestWebhook_untagged_job_without_API_token_gets_the_egg_tags(t *testing.T) {
	for name, tokens := range map[string]func(string) map[string]string{
		"none":         nil,
		"other_server": func(string) map[string]string { return map[string]string{"gitlab.example.org": apiTokenURI} },
		"other_port":   func(string) map[string]string { return map[string]string{"127.0.0.1:1": apiTokenURI} },
	} {
		t.Run(name, func(t *testing.T) {
			e, fake, logs := jobsEnv(t, tokens)
			t.Setenv("HTTPAPI_TEST_RUNNER_TOKEN", gitlabAPIToken)
			fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 961, Tags: []string{"gpu"}})
			before := e.head()
			status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 961), hookHeaders("jt-no-token", hookSecret))
			got := e.requested(before)
			if status != 202 || body["outcome"] != "accepted" || len(got) != 1 || !slices.Equal(got[0].Tags, []string{"docker", "linux"}) {
				t.Fatalf("%d %v, requested %+v", status, body, got)
			}
			if n := fake.Calls(); n != 0 {
				t.Fatalf("the Jobs API was called %d times", n)
			}
			if !strings.Contains(logs.String(), "no API token is configured for the egg's server") {
				t.Fatalf("no debug log says why:\n%s", logs)
			}
		})
	}
}

func TestWebhook_untagged_job_bad_API_token_is_ignored(t *testing.T) {
	e, fake, _ := jobsEnv(t, tokenFor)
	fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 911, Tags: []string{"linux"}})
	t.Setenv("HTTPAPI_TEST_GITLAB_TOKEN", "glpat-revoked")
	before := e.head()
	status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 911), hookHeaders("jt-unauth", hookSecret))
	reason, _ := body["reason"].(string)
	if status != 202 || body["outcome"] != "ignored" || !strings.HasPrefix(reason, "cannot read job 911's tags: ") || strings.Contains(reason, "glpat-") {
		t.Fatalf("%d %v", status, body)
	}
	if got := e.requested(before); len(got) != 0 || e.head() != before+1 {
		t.Fatalf("want the delivery alone recorded: head %d -> %d, requested %+v", before, e.head(), got)
	}
}

// GitLab down, or the API token not resolvable now (the secret store's
// problem: serve checked it at start): 503 so that GitLab retries, nothing
// appended, a warning with the token's URI and never its value.
func TestWebhook_untagged_job_cannot_be_read_is_503(t *testing.T) {
	tests := []struct {
		name     string
		breakIt  func(t *testing.T, fake *gitlabtest.Server)
		wantCode string
	}{
		{"GitLab_down", func(_ *testing.T, fake *gitlabtest.Server) { fake.Close() }, errs.EUNAVAILABLE},
		{"token_unresolvable", func(t *testing.T, _ *gitlabtest.Server) {
			t.Setenv("HTTPAPI_TEST_GITLAB_TOKEN", "")
			os.Unsetenv("HTTPAPI_TEST_GITLAB_TOKEN")
		}, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, fake, logs := jobsEnv(t, tokenFor)
			fake.AddJob(gitlabtest.Job{ProjectID: 500, ID: 921, Tags: []string{"linux"}})
			tc.breakIt(t, fake)
			before := e.head()
			status, body := e.do(http.MethodPost, "/webhooks/gitlab", untaggedJob(t, fake, 921), hookHeaders("jt-"+tc.name, hookSecret))
			if status != 503 {
				t.Fatalf("%d %v, want 503", status, body)
			}
			if e.head() != before {
				t.Fatalf("something was appended: head %d -> %d", before, e.head())
			}
			if n := fake.Calls(); n != 0 {
				t.Fatalf("the Jobs API answered %d requests", n)
			}
			out := logs.String()
			if !strings.Contains(out, "token_uri="+apiTokenURI) || !strings.Contains(out, "code="+tc.wantCode) {
				t.Fatalf("the warning lacks the token URI or code %s:\n%s", tc.wantCode, out)
			}
			if strings.Contains(out, gitlabAPIToken) || strings.Contains(out, runnerToken) {
				t.Fatalf("a token value was logged:\n%s", out)
			}
		})
	}
}

func TestNew_rejects_bad_API_tokens(t *testing.T) {
	core := sqlitetest.NewCore(t)
	for name, tokens := range map[string]map[string]string{
		"empty_server":    {"": apiTokenURI},
		"bad_server":      {"gitlab.com/group": apiTokenURI},
		"empty_uri":       {"gitlab.com": ""},
		"server_twice":    {"gitlab.com": apiTokenURI, "https://GitLab.com/": "env://OTHER"},
		"credentials_url": {"https://user:pw@gitlab.com": apiTokenURI},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := httpapi.New(httpapi.Config{
				Handlers: core.Handlers, Views: core.DB.Views(), Events: core.DB.Events(), Secrets: secrets.NewLocal(),
				APIToken: apiToken, TriggerToken: triggerToken, Registry: prometheus.NewRegistry(), APITokens: tokens,
			})
			if err == nil {
				t.Fatal("New accepted it")
			}
			if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "user") {
				t.Fatalf("the error shows credentials: %v", err)
			}
		})
	}
}

func TestServerHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"gitlab.com", "gitlab.com"},
		{"GitLab.Example.com:8443", "gitlab.example.com:8443"},
		{"https://gitlab.com", "gitlab.com"},
		{"HTTPS://GitLab.com:8443/", "gitlab.com:8443"},
		{"http://127.0.0.1:8080/gitlab", "127.0.0.1:8080"},
		{"[::1]:8443", "[::1]:8443"},
		{"", ""},
		{"  ", ""},
		{"gitlab.com/group", ""},
		{"gitlab.com:", ""},
		{"gitlab.com:99999", ""},
		{"gitlab.com:http", ""},
		{"https://", ""},
		{"https://u:p@gitlab.com", ""},
		{"gitlab_com", ""},
		{"-gitlab.com", ""},
	}
	for _, tc := range tests {
		got, err := commands.ServerHost(tc.in)
		if tc.want == "" {
			if errs.Code(err) != errs.EINVALID {
				t.Errorf("ServerHost(%q) = %q, %v; want an EINVALID error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ServerHost(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
