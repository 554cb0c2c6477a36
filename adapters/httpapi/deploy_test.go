package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
)

// noCompute is a compute target that is never reached: the test eggs are
// serverless and ask for no runner.
type noCompute struct{}

func (noCompute) Unavailable(string) string { return "" }
func (noCompute) Credential(context.Context, string) (string, string, error) {
	return "", "", fmt.Errorf("not in this test")
}
func (noCompute) Plan(context.Context, provisioner.Spec, bool) (provisioner.PlanResult, error) {
	return provisioner.PlanResult{}, fmt.Errorf("not in this test")
}
func (noCompute) Apply(context.Context, string, provisioner.PlanResult) (provisioner.Deployment, error) {
	return provisioner.Deployment{}, fmt.Errorf("not in this test")
}
func (noCompute) Deployed(context.Context, string) (provisioner.Deployment, bool, error) {
	return provisioner.Deployment{}, false, nil
}
func (noCompute) Workspaces(context.Context) ([]string, error) { return nil, nil }
func (noCompute) Forget(context.Context, string) error         { return nil }
func (noCompute) StoreSecret(context.Context, string, string, string, []byte) (string, error) {
	return "", fmt.Errorf("not in this test")
}

// withProvisioner runs a provisioner over the env's store as the API's Deployer.
func withProvisioner(t *testing.T) func(*httpapi.Config) {
	return func(cfg *httpapi.Config) {
		var n atomic.Int64
		p, err := provisioner.New(provisioner.Config{Store: cfg.Events, Codec: events.NewCodec(events.NewRegistry()), Handlers: cfg.Handlers,
			Compute: noCompute{}, PollInterval: 10 * time.Millisecond, NewID: func() string { return fmt.Sprintf("d%d", n.Add(1)) }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		cfg.Deployer = p
	}
}

func TestDeploy_plan_and_rollback_routes(t *testing.T) {
	e := newEnv(t, withProvisioner(t))
	auth := map[string]string{"Authorization": "Bearer " + apiToken}
	if _, err := e.handlers.RemoveEgg(context.Background(), commands.RemoveEgg{Name: "other-host", Commit: "c0ffee", Reason: "file removed"}); err != nil {
		t.Fatal(err)
	}

	// The plan changes nothing.
	before := e.head()
	status, body := e.do(http.MethodGet, "/eggs/web/plan", nil, auth)
	if status != http.StatusOK || body["egg"] != "web" || body["to_config_hash"] != "h-web" || body["changes"] != float64(0) {
		t.Fatalf("plan: %d %v", status, body)
	}
	for _, k := range []string{"from_config_hash", "runners", "diffs"} {
		if _, ok := body[k]; !ok {
			t.Errorf("plan without %s: %v", k, body)
		}
	}
	if recs := e.appended(before); len(recs) != 0 {
		t.Fatalf("the plan appended %+v", recs)
	}

	// A deploy of a converged egg finishes at once.
	status, body = e.do(http.MethodPost, "/eggs/web/deploy", nil, auth)
	if status != http.StatusAccepted || body["deploy_id"] == "" || body["kind"] != "deploy" || body["config_hash"] != "h-web" ||
		body["status"] != "finished" || body["outcome"] != "converged" || !strings.Contains(body["message"].(string), "at once") {
		t.Fatalf("deploy: %d %v", status, body)
	}
	if ids, ok := body["plan_ids"].([]any); !ok || len(ids) != 0 {
		t.Fatalf("plan_ids %v, want []", body["plan_ids"])
	}
	id := body["deploy_id"].(string)
	recs := e.appended(before)
	if len(recs) != 2 || recs[0].Type != events.EggDeployAskedV1 || recs[0].Actor != "api" || recs[1].Type != events.EggDeployFinishedV1 {
		t.Fatalf("appended %+v, want egg.deploy_asked by api then egg.deploy_finished", recs)
	}
	var asked events.EggDeployAsked
	if err := json.Unmarshal(recs[0].Payload, &asked); err != nil || asked.DeployID != id || asked.ConfigHash != "h-web" || asked.Actor != "api" {
		t.Fatalf("asked %+v %v", asked, err)
	}
	status, body = e.do(http.MethodGet, "/eggs/web/deploys/"+id, nil, auth)
	if status != http.StatusOK || body["status"] != "finished" || body["outcome"] != "converged" || body["deploy_id"] != id {
		t.Fatalf("deploy status: %d %v", status, body)
	}

	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code, message            string
	}{
		{"plan_unknown_egg", http.MethodGet, "/eggs/nope/plan", "", auth, 404, "ENOTFOUND", "egg nope does not exist"},
		{"deploy_unknown_egg", http.MethodPost, "/eggs/nope/deploy", "", auth, 404, "ENOTFOUND", "egg nope does not exist"},
		{"deploy_removed_egg", http.MethodPost, "/eggs/other-host/deploy", "", auth, 409, "ECONFLICT", "was removed from the Nest"},
		{"deploy_bad_name", http.MethodPost, "/eggs/NOT_AN_EGG!/deploy", "", auth, 400, "EINVALID", ""},
		{"rollback_nothing_to_roll_back_to", http.MethodPost, "/eggs/web/rollback", "", auth, 409, "ECONFLICT", "there is nothing to roll back to"},
		{"rollback_unknown_plan", http.MethodPost, "/eggs/web/rollback", `{"to_plan_id":"p-nope"}`, auth, 404, "ENOTFOUND", "plan p-nope does not exist"},
		{"rollback_unknown_field", http.MethodPost, "/eggs/web/rollback", `{"plan":"p1"}`, auth, 400, "EINVALID", "to_plan_id"},
		{"rollback_not_json", http.MethodPost, "/eggs/web/rollback", `to p1`, auth, 400, "EINVALID", ""},
		{"rollback_removed_egg", http.MethodPost, "/eggs/other-host/rollback", "", auth, 409, "ECONFLICT", "removed"},
		{"status_unknown_deploy", http.MethodGet, "/eggs/web/deploys/d-nope", "", auth, 404, "ENOTFOUND", "has no deploy or rollback"},
		{"plan_no_token", http.MethodGet, "/eggs/web/plan", "", nil, 401, "EUNAUTHORIZED", ""},
		{"deploy_no_token", http.MethodPost, "/eggs/web/deploy", "", nil, 401, "EUNAUTHORIZED", ""},
		{"rollback_wrong_token", http.MethodPost, "/eggs/web/rollback", "", map[string]string{"Authorization": "Bearer nope"}, 401, "EUNAUTHORIZED", ""},
		{"status_no_token", http.MethodGet, "/eggs/web/deploys/" + id, "", nil, 401, "EUNAUTHORIZED", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			status, body := e.do(tc.method, tc.path, []byte(tc.body), tc.header)
			errBody, _ := body["error"].(map[string]any)
			msg, _ := errBody["message"].(string)
			if status != tc.status || errBody["code"] != tc.code || !strings.Contains(msg, tc.message) {
				t.Fatalf("%d %v, want %d %s %q", status, body, tc.status, tc.code, tc.message)
			}
			if recs := e.appended(before); len(recs) != 0 {
				t.Fatalf("appended %+v", recs)
			}
		})
	}
	if status, _ := e.do(http.MethodGet, "/eggs/web/deploy", nil, auth); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET deploy: %d, want 405", status)
	}
}

func TestDeploy_without_a_provisioner_is_unavailable(t *testing.T) {
	e := newEnv(t)
	auth := map[string]string{"Authorization": "Bearer " + apiToken}
	for _, path := range []string{"/eggs/web/deploy", "/eggs/web/rollback"} {
		status, body := e.do(http.MethodPost, path, nil, auth)
		if errBody, _ := body["error"].(map[string]any); status != http.StatusServiceUnavailable || errBody["code"] != "EUNAVAILABLE" {
			t.Fatalf("%s: %d %v, want 503", path, status, body)
		}
	}
}

func TestOpenAPI_documents_deploy_rollback_and_plan(t *testing.T) {
	doc := mustOpenAPI(t, httpapi.OpenAPI())
	for _, tc := range []struct{ path, method, id, ok string }{
		{"/eggs/{name}/plan", "get", "planEgg", "200"},
		{"/eggs/{name}/deploy", "post", "deployEgg", "202"},
		{"/eggs/{name}/rollback", "post", "rollbackEgg", "202"},
		{"/eggs/{name}/deploys/{id}", "get", "getDeploy", "200"},
	} {
		var op struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Security    []map[string][]string      `json:"security"`
		}
		if err := json.Unmarshal(doc.Paths[tc.path][tc.method], &op); err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		if op.OperationID != tc.id || len(op.Security) != 1 || op.Security[0]["bearer"] == nil {
			t.Fatalf("%s %s: %+v, want %s behind the bearer token", tc.method, tc.path, op, tc.id)
		}
		for _, code := range []string{tc.ok, "401", "404", "503"} {
			if op.Responses[code] == nil {
				t.Errorf("%s %s: no %s response documented", tc.method, tc.path, code)
			}
		}
	}
}
