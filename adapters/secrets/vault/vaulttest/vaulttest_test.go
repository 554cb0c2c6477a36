package vaulttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
)

// The fake's answers have the shapes of Vault's HTTP API documentation.
func TestWireShapes(t *testing.T) {
	fake := vaulttest.Start(t)
	tok := fake.NewToken(vaulttest.TokenOptions{})
	fake.Put("secret", "app", "k", "v")

	do := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, fake.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("X-Vault-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, path, raw)
		}
		return resp.StatusCode, m
	}

	if code, body := do("GET", "/v1/secret/data/app", "", ""); code != 403 || body["errors"].([]any)[0] != "permission denied" {
		t.Fatalf("no token: %d %v", code, body)
	}
	code, body := do("GET", "/v1/secret/data/app", tok, "")
	inner := body["data"].(map[string]any)
	if code != 200 || inner["data"].(map[string]any)["k"] != "v" || inner["metadata"].(map[string]any)["version"] != float64(1) {
		t.Fatalf("read: %d %v", code, body)
	}
	if code, body := do("GET", "/v1/secret/data/none", tok, ""); code != 404 || len(body["errors"].([]any)) != 0 {
		t.Fatalf("missing: %d %v", code, body)
	}
	if code, body := do("POST", "/v1/secret/data/app", tok, `{"options":{"cas":0},"data":{"k":"w"}}`); code != 400 || !strings.Contains(body["errors"].([]any)[0].(string), "check-and-set") {
		t.Fatalf("cas mismatch: %d %v", code, body)
	}
	if code, body := do("POST", "/v1/secret/data/app", tok, `{"options":{"cas":1},"data":{"k":"w"}}`); code != 200 || body["data"].(map[string]any)["version"] != float64(2) {
		t.Fatalf("write: %d %v", code, body)
	}
	fake.Throttle(1)
	if code, body := do("GET", "/v1/secret/data/app", tok, ""); code != 429 || body["errors"].([]any)[0] != "request rate limit exceeded" {
		t.Fatalf("throttled: %d %v", code, body)
	}
	fake.AddAppRole("", "r", "s", vaulttest.TokenOptions{TTL: 3600e9, Renewable: true})
	code, body = do("POST", "/v1/auth/approle/login", "", `{"role_id":"r","secret_id":"s"}`)
	auth := body["auth"].(map[string]any)
	if code != 200 || auth["client_token"] == "" || auth["lease_duration"] != float64(3600) || auth["renewable"] != true {
		t.Fatalf("login: %d %v", code, body)
	}
	code, body = do("GET", "/v1/auth/token/lookup-self", auth["client_token"].(string), "")
	if code != 200 || body["data"].(map[string]any)["ttl"] != float64(3600) {
		t.Fatalf("lookup-self: %d %v", code, body)
	}
	if c := fake.Counts(); c.Reads != 4 || c.Writes != 2 || c.Logins != 1 || c.Lookups != 1 {
		t.Fatalf("counts %+v", c)
	}
}
