package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/polar-gosling/polar-gosling/commands"
)

// lastEventType is the type of the last event of stream, read through gosling events.
func lastEventType(t *testing.T, s *apiServer, stream string) string {
	t.Helper()
	r := mustRunCLI(t, 0, "events", "--format", "json", "--stream", stream, "--server", s.url, "--token", testAPIToken)
	recs := mustJSONLines(t, r.stdout)
	if len(recs) == 0 {
		t.Fatalf("stream %s has no events", stream)
	}
	return recs[len(recs)-1].Type
}

func TestTerminate_table_and_json(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed()
	api := []string{"--server", s.url, "--token", testAPIToken}

	r := mustRunCLI(t, 0, append([]string{"terminate", "web-job-1"}, api...)...)
	if !regexp.MustCompile(`^runner web-job-1: terminating \(version 2\)\n$`).MatchString(r.stdout) {
		t.Errorf("terminate table output:\n%q", r.stdout)
	}
	if typ := lastEventType(t, s, "runner-web-job-1"); !strings.HasPrefix(typ, "runner.termination_asked.") {
		t.Errorf("last event of runner-web-job-1 = %s, want runner.termination_asked", typ)
	}

	r = mustRunCLI(t, 0, append([]string{"terminate", "web-job-2", "--format", "json"}, api...)...)
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("terminate --format json: %v\n%s", err, r.stdout)
	}
	if out["runner_id"] != "web-job-2" || out["status"] != "terminating" || out["version"] != float64(3) || len(out) != 3 {
		t.Errorf("terminate json = %v", out)
	}
}

func TestRetry_table_and_json(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed()
	api := []string{"--server", s.url, "--token", testAPIToken}

	r := mustRunCLI(t, 0, append([]string{"retry", "web"}, api...)...)
	if !regexp.MustCompile(`^egg web: retrying \(version 2\)\n$`).MatchString(r.stdout) {
		t.Errorf("retry table output:\n%q", r.stdout)
	}
	if typ := lastEventType(t, s, "egg-web"); !strings.HasPrefix(typ, "egg.retry_asked.") {
		t.Errorf("last event of egg-web = %s, want egg.retry_asked", typ)
	}

	t.Setenv("GOSLING_SERVER", s.url)
	t.Setenv("GOSLING_TOKEN", testAPIToken)
	r = mustRunCLI(t, 0, "retry", "api", "--format", "json")
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("retry --format json: %v\n%s", err, r.stdout)
	}
	if out["egg"] != "api" || out["status"] != "retrying" || out["version"] != float64(2) || len(out) != 3 {
		t.Errorf("retry json = %v", out)
	}
}

func TestTerminateRetry_errors(t *testing.T) {
	s := newAPIServer(t)
	s.mustSeed()
	_, err := s.handlers.RemoveEgg(context.Background(), commands.RemoveEgg{Meta: commands.Meta{Actor: "user:alice"}, Name: "api", Commit: "c1", Reason: "test"})
	mustNoErr(t, err)
	api := []string{"--server", s.url, "--token", testAPIToken}

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"terminate_unknown_runner", append([]string{"terminate", "nope"}, api...), 1, "server answered 404 ENOTFOUND: "},
		{"retry_unknown_egg", append([]string{"retry", "nope"}, api...), 1, "server answered 404 ENOTFOUND: egg nope does not exist"},
		{"retry_removed_egg", append([]string{"retry", "api"}, api...), 1, "server answered 409 ECONFLICT: egg api was removed from the Nest"},
		{"terminate_wrong_token", []string{"terminate", "web-job-1", "--server", s.url, "--token", "wrong"}, 1, "unauthorized: check --token"},
		{"retry_no_token", []string{"retry", "web", "--server", s.url, "--token", ""}, 1, "unauthorized: check --token"},
		{"terminate_no_argument", append([]string{"terminate"}, api...), 2, "accepts 1 arg(s)"},
		{"retry_two_arguments", append([]string{"retry", "a", "b"}, api...), 2, "accepts 1 arg(s)"},
		{"terminate_empty_id", append([]string{"terminate", ""}, api...), 2, `"" is not a runner ID`},
		{"retry_dot_dot", append([]string{"retry", ".."}, api...), 2, `".." is not an egg name`},
		{"retry_bad_format", append([]string{"retry", "web", "--format", "xml"}, api...), 2, `--format "xml"`},
		{"terminate_bad_server", []string{"terminate", "x", "--server", "ftp://example.com"}, 2, "want an http:// or https:// URL"},
		{"terminate_reason_not_a_flag", append([]string{"terminate", "x", "--reason", "r"}, api...), 2, "unknown flag: --reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRunCLI(t, tc.code, tc.args...)
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("want %q in stderr, got\n%s", tc.stderr, r)
			}
			if r.code == 1 && strings.Contains(r.stderr, "--help") {
				t.Errorf("a runtime error is not a usage error:\n%s", r)
			}
			if r.stdout != "" {
				t.Errorf("a failed ask printed\n%s", r.stdout)
			}
		})
	}
	// Nothing was asked of the egg the failed retries named.
	if typ := lastEventType(t, s, "egg-api"); !strings.HasPrefix(typ, "egg.removed.") {
		t.Errorf("last event of egg-api = %s", typ)
	}
}

// TestTerminateRetry_request: a POST with the bearer token, to the name's
// escaped path under the server's base path.
func TestTerminateRetry_request(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.EscapedPath()+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		if strings.Contains(r.URL.Path, "/runners/") {
			_, _ = w.Write([]byte(`{"runner_id":"a/b c","status":"terminating","version":7}`))
		} else {
			_, _ = w.Write([]byte(`{"egg":"a/b c","status":"retrying","version":8,"extra":true}`))
		}
	}))
	t.Cleanup(srv.Close)
	r := mustRunCLI(t, 0, "terminate", "a/b c", "--server", srv.URL+"/base/", "--token", "tok")
	if r.stdout != "runner a/b c: terminating (version 7)\n" {
		t.Errorf("terminate printed %q", r.stdout)
	}
	r = mustRunCLI(t, 0, "retry", "a/b c", "--server", srv.URL+"/base", "--token", "tok", "--format", "json")
	var out map[string]any
	mustNoErr(t, json.Unmarshal([]byte(r.stdout), &out))
	if out["extra"] != true || out["version"] != float64(8) {
		t.Errorf("retry --format json does not print the API's answer as is: %s", r.stdout)
	}
	want := []string{"POST /base/runners/a%2Fb%20c/terminate Bearer tok", "POST /base/eggs/a%2Fb%20c/retry Bearer tok"}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
