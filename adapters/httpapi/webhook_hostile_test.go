package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

// appended returns the events appended after position before.
func (e *env) appended(before uint64) []events.Record {
	e.t.Helper()
	recs, err := e.db.Events().ReadAll(context.Background(), before, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func mustDelivery(t *testing.T, rec events.Record) events.WebhookReceived {
	t.Helper()
	if rec.Type != events.WebhookReceivedV1 {
		t.Fatalf("appended a %s, want %s", rec.Type, events.WebhookReceivedV1)
	}
	var d events.WebhookReceived
	if err := json.Unmarshal(rec.Payload, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// A delivery for a project no egg owns is checked against no token, so it
// is recorded in a bounded form: fixed fields only, each capped, in its own
// namespace, however big the payload's strings are.
func TestWebhook_unauthenticated_delivery_is_recorded_bounded(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.MaxBody = 1 << 20 })
	huge := strings.Repeat("é", 10<<10) // 20 KiB per string
	tags := make([]string, 1000)
	for i := range tags {
		tags[i] = "tag-" + strconv.Itoa(i) + huge[:64]
	}
	body := fixture(t, "merge_request.json", map[string]any{
		"object_kind": "x" + huge, "ref": huge, "tags": tags, "build_status": huge,
		"project": map[string]any{"id": 424242, "web_url": "http://" + strings.Repeat("a", 1000) + ".example.com/x"},
	})
	before := e.head()
	status, resp := e.do(http.MethodPost, "/webhooks/gitlab", body, hookHeaders("unauth-big", "whatever"))
	if status != 202 || resp["outcome"] != "ignored" {
		t.Fatalf("%d %v", status, resp)
	}
	recs := e.appended(before)
	if len(recs) != 1 {
		t.Fatalf("appended %d events, want 1", len(recs))
	}
	if len(recs[0].Payload) > 2048 {
		t.Fatalf("the record of an unauthenticated delivery is %d bytes: %s", len(recs[0].Payload), recs[0].Payload[:200])
	}
	d := mustDelivery(t, recs[0])
	if !d.Unauthenticated || d.Ref != "" || d.Tags != nil || d.JobStatus != "" || d.ProjectID != 424242 ||
		len(d.EventKind) > domain.MaxWebhookEventKind || len(d.GitLabServer) > domain.MaxWebhookServer || len(d.Reason) > domain.MaxWebhookReason {
		t.Fatalf("recorded %+v", d)
	}
	if !strings.Contains(strings.Join(d.Truncated, ","), "event_kind") || !strings.Contains(strings.Join(d.Truncated, ","), "gitlab_server") {
		t.Fatalf("truncated %v, want event_kind and gitlab_server named", d.Truncated)
	}
	if recs[0].Stream != domain.UnauthenticatedWebhookStream("unauth-big") {
		t.Fatalf("stream %q", recs[0].Stream)
	}
}

// An authenticated delivery's strings are capped too, and the cut named.
func TestWebhook_authenticated_delivery_strings_are_capped(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.MaxBody = 1 << 20 })
	tags := make([]string, 200)
	for i := range tags {
		tags[i] = strings.Repeat("t", 300)
	}
	body := pendingJob(t, map[string]any{"build_id": 91, "ref": strings.Repeat("r", 40<<10), "tags": tags})
	before := e.head()
	status, resp := e.do(http.MethodPost, "/webhooks/gitlab", body, hookHeaders("auth-big", hookSecret))
	if status != 202 || resp["outcome"] != "ignored" || len(resp["reason"].(string)) > domain.MaxWebhookReason {
		t.Fatalf("%d %v", status, resp)
	}
	d := mustDelivery(t, e.appended(before)[0])
	if d.Unauthenticated || len(d.Ref) != domain.MaxWebhookRef || len(d.Tags) != domain.MaxWebhookTags || len(d.Tags[0]) != domain.MaxWebhookTag ||
		strings.Join(d.Truncated, ",") != "reason,ref,tags" {
		t.Fatalf("recorded ref %d bytes, %d tags, truncated %v", len(d.Ref), len(d.Tags), d.Truncated)
	}
}

// A sender without a token who sends a delivery id first does not make
// GitLab's real delivery of that id a duplicate: the job still gets its
// runner. The sender's own redelivery gets a bare 202.
func TestWebhook_unauthenticated_delivery_cannot_claim_an_id(t *testing.T) {
	e := newEnv(t)
	const id = "3b7c1e9a-claimed"
	forged := fixture(t, "merge_request.json", nil) // project 1: no egg
	s1, b1 := e.do(http.MethodPost, "/webhooks/gitlab", forged, hookHeaders(id, "guess"))
	if s1 != 202 || b1["outcome"] != "ignored" {
		t.Fatalf("forged: %d %v", s1, b1)
	}
	e.mustCatchUp() // a delivery for no egg is answered once the egg view has caught up
	s2, b2 := e.do(http.MethodPost, "/webhooks/gitlab", forged, hookHeaders(id, "guess"))
	if s2 != 202 || b2["duplicate"] != true || b2["event_id"] != nil || b2["outcome"] != nil || b2["reason"] != nil {
		t.Fatalf("unauthenticated redelivery: %d %v, want a bare 202", s2, b2)
	}
	s3, b3 := e.do(http.MethodPost, "/webhooks/gitlab", pendingJob(t, map[string]any{"build_id": 4242, "tags": []string{"docker"}}), hookHeaders(id, hookSecret))
	if s3 != 202 || b3["outcome"] != "accepted" || b3["duplicate"] != false || b3["event_id"] == b1["event_id"] {
		t.Fatalf("GitLab's delivery after a forged one of its id: %d %v", s3, b3)
	}
	e.mustCatchUp()
	if status, runner := e.get("/runners/web-job-4242"); status != 200 {
		t.Fatalf("no runner for the job: %d %v", status, runner)
	}
	// The authenticated redelivery is told the original outcome.
	s4, b4 := e.do(http.MethodPost, "/webhooks/gitlab", pendingJob(t, map[string]any{"build_id": 4242, "tags": []string{"docker"}}), hookHeaders(id, hookSecret))
	if s4 != 202 || b4["duplicate"] != true || b4["event_id"] != b3["event_id"] || b4["outcome"] != "accepted" {
		t.Fatalf("authenticated redelivery: %d %v", s4, b4)
	}
}

// Unauthenticated deliveries over the limit are 429 with Retry-After and
// append nothing; authenticated ones are not limited.
func TestWebhook_unauthenticated_deliveries_are_rate_limited(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits httpapi.UnauthenticatedLimits
	}{
		// A refill of one per 1,000 s: no test runs long enough to see one.
		{"per_source", httpapi.UnauthenticatedLimits{PerSource: 0.001, PerSourceBurst: 2, Total: 1000, TotalBurst: 1000}},
		{"total", httpapi.UnauthenticatedLimits{PerSource: 1000, PerSourceBurst: 1000, Total: 0.001, TotalBurst: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) { c.Unauthenticated = tc.limits })
			for i := range 2 {
				if status, body := e.do(http.MethodPost, "/webhooks/gitlab", fixture(t, "merge_request.json", nil), hookHeaders("rl-"+strconv.Itoa(i), "x")); status != 202 {
					t.Fatalf("delivery %d within the burst: %d %v", i, status, body)
				}
				e.mustCatchUp()
			}
			before := e.head()
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/gitlab", strings.NewReader(string(fixture(t, "merge_request.json", nil))))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range hookHeaders("rl-over", "x") {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if after, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || err != nil || after < 1 {
				t.Fatalf("over the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if e.head() != before {
				t.Fatal("a rate-limited delivery appended")
			}
			for i := range 5 {
				if status, body := e.do(http.MethodPost, "/webhooks/gitlab", fixture(t, "push.json", nil), hookHeaders("auth-"+strconv.Itoa(i), hookSecret)); status != 202 {
					t.Fatalf("authenticated delivery %d while unauthenticated ones are limited: %d %v", i, status, body)
				}
			}
		})
	}
}

// X-Gitlab-Event must agree with object_kind; a pending job whose build_id
// is 0 or missing asks for nothing.
func TestWebhook_event_header_and_build_id(t *testing.T) {
	e := newEnv(t)
	job := func(id any) []byte { return pendingJob(t, map[string]any{"build_id": id, "tags": []string{"docker"}}) }
	with := func(uuid, token, event string) map[string]string {
		h := hookHeaders(uuid, token)
		if event != "" {
			h["X-Gitlab-Event"] = event
		}
		return h
	}
	nestPush := fixture(t, "push.json", map[string]any{"project_id": 999, "project": map[string]any{"id": 999, "web_url": "http://example.com/ops/nest"}})
	tests := []struct {
		name       string
		body       []byte
		header     map[string]string
		outcome    string
		reason     string // a part of it
		wantRunner string // the runner that must exist afterwards, if any
	}{
		{"job_hook_agrees", job(501), with("eh-1", hookSecret, "Job Hook"), "accepted", "", "web-job-501"},
		{"no_header_agrees", job(502), with("eh-2", hookSecret, ""), "accepted", "", "web-job-502"},
		{"push_header_on_a_job", job(503), with("eh-3", hookSecret, "Push Hook"), "ignored", `X-Gitlab-Event "Push Hook" does not match object_kind "build"`, ""},
		{"unknown_header_on_a_job", job(504), with("eh-4", hookSecret, "Shiny Hook"), "ignored", "does not match", ""},
		{"unknown_header_unknown_kind", fixture(t, "push.json", map[string]any{"object_kind": "shiny"}), with("eh-5", hookSecret, "Shiny Hook"), "ignored", "event kind shiny is not acted on", ""},
		{"member_hook_without_object_kind", []byte(`{"event_name":"user_add_to_group","group_id":77}`), with("eh-6", "x", "Member Hook"), "ignored", "no egg", ""},
		{"build_id_zero", job(0), with("eh-7", hookSecret, "Job Hook"), "ignored", "no build_id", ""},
		{"build_id_null", job(nil), with("eh-8", hookSecret, "Job Hook"), "ignored", "no build_id", ""},
		{"build_id_negative", job(-3), with("eh-9", hookSecret, "Job Hook"), "ignored", "no build_id", ""},
		{"nest_push_with_a_job_header", nestPush, with("eh-10", triggerToken, "Job Hook"), "ignored", "does not match", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			status, body := e.do(http.MethodPost, "/webhooks/gitlab", tc.body, tc.header)
			e.mustCatchUp()
			if status != 202 || body["outcome"] != tc.outcome || !strings.Contains(fmt.Sprint(body["reason"]), tc.reason) {
				t.Fatalf("%d %v, want %s with reason containing %q", status, body, tc.outcome, tc.reason)
			}
			recs := e.appended(before)
			if d := mustDelivery(t, recs[0]); d.Outcome != tc.outcome {
				t.Fatalf("recorded %+v", d)
			}
			if tc.wantRunner == "" && len(recs) != 1 {
				t.Fatalf("appended %d events, want only the delivery", len(recs))
			}
		})
	}
	e.mustCatchUp()
	for _, tc := range tests {
		if tc.wantRunner != "" {
			if status, _ := e.get("/runners/" + tc.wantRunner); status != 200 {
				t.Errorf("%s: no runner %s", tc.name, tc.wantRunner)
			}
		}
	}
	if status, _ := e.get("/runners/web-job-0"); status != 404 {
		t.Fatalf("a runner named web-job-0 exists: %d", status)
	}
	if got := e.sync.triggers(); len(got) != 0 {
		t.Fatalf("a Nest push whose X-Gitlab-Event disagrees triggered %v", got)
	}
}

// Bodies encoding/json refuses are 400 and append nothing.
func TestWebhook_refuses_JSON_that_is_not_JSON(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"nul_in_string":     "{\"object_kind\":\"push\",\"ref\":\"a\x00b\",\"project_id\":15}",
		"newline_in_string": "{\"object_kind\":\"push\",\"ref\":\"a\nb\",\"project_id\":15}",
		"bad_escape":        `{"object_kind":"push","ref":"\q","project_id":15}`,
		"trailing_data":     `{"object_kind":"push","project_id":15}{}`,
		"leading_zero":      `{"object_kind":"push","project_id":015}`,
		"too_deep":          `{"object_kind":"push","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			before := e.head()
			if status, resp := e.do(http.MethodPost, "/webhooks/gitlab", []byte(body), hookHeaders("bad-"+name, hookSecret)); status != 400 {
				t.Fatalf("%d %v, want 400", status, resp)
			}
			if e.head() != before {
				t.Fatal("appended")
			}
		})
	}
}
