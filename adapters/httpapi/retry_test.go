package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
)

// TestRetryEgg: POST /eggs/{name}/retry records egg.retry_asked on the
// egg's stream (202); an unknown egg is 404, a removed one 409, and the
// route wants the API token.
func TestRetryEgg(t *testing.T) {
	e := newEnv(t)
	auth := map[string]string{"Authorization": "Bearer " + apiToken}

	before := e.head()
	status, body := e.do(http.MethodPost, "/eggs/web/retry", nil, auth)
	if status != http.StatusAccepted || body["egg"] != "web" || body["status"] != "retrying" {
		t.Fatalf("retry: %d %v, want 202 retrying", status, body)
	}
	recs := e.appended(before)
	if len(recs) != 1 || recs[0].Type != events.EggRetryAskedV1 || recs[0].Stream != "egg-web" || recs[0].Actor != "api" {
		t.Fatalf("appended %+v, want one egg.retry_asked on egg-web by api", recs)
	}
	var asked events.EggRetryAsked
	if err := json.Unmarshal(recs[0].Payload, &asked); err != nil || asked.Egg != "web" || asked.Reason == "" {
		t.Fatalf("payload %s: %v", recs[0].Payload, err)
	}

	if _, err := e.handlers.RemoveEgg(context.Background(), commands.RemoveEgg{Name: "other-host", Commit: "c0ffee", Reason: "file removed"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		status     int
		code       string
	}{
		{"unknown_egg", "/eggs/nope/retry", auth, http.StatusNotFound, "ENOTFOUND"},
		{"removed_egg", "/eggs/other-host/retry", auth, http.StatusConflict, "ECONFLICT"},
		{"bad_name", "/eggs/NOT_AN_EGG!/retry", auth, http.StatusBadRequest, "EINVALID"},
		{"no_token", "/eggs/web/retry", nil, http.StatusUnauthorized, "EUNAUTHORIZED"},
		{"wrong_token", "/eggs/web/retry", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized, "EUNAUTHORIZED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			status, body := e.do(http.MethodPost, tc.path, nil, tc.header)
			errBody, _ := body["error"].(map[string]any)
			if status != tc.status || errBody["code"] != tc.code {
				t.Fatalf("%d %v, want %d %s", status, body, tc.status, tc.code)
			}
			if recs := e.appended(before); len(recs) != 0 {
				t.Fatalf("appended %+v", recs)
			}
		})
	}
	if status, _ := e.do(http.MethodGet, "/eggs/web/retry", nil, auth); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET retry: %d, want 405", status)
	}
}

func TestOpenAPI_documents_the_retry(t *testing.T) {
	doc := mustOpenAPI(t, httpapi.OpenAPI())
	var op struct {
		OperationID string                     `json:"operationId"`
		Responses   map[string]json.RawMessage `json:"responses"`
		Security    []map[string][]string      `json:"security"`
	}
	if err := json.Unmarshal(doc.Paths["/eggs/{name}/retry"]["post"], &op); err != nil {
		t.Fatalf("POST /eggs/{name}/retry: %v", err)
	}
	if op.OperationID != "retryEgg" || len(op.Security) != 1 || op.Security[0]["bearer"] == nil {
		t.Fatalf("operation %+v, want retryEgg behind the bearer token", op)
	}
	for _, code := range []string{"202", "401", "404", "409"} {
		if op.Responses[code] == nil {
			t.Errorf("no %s response documented", code)
		}
	}
}
