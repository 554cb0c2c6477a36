package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox/lockboxtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
)

// TestRunner_resolves_its_credential_in_each_cloud_store: the agent on a
// cloud VM reads the secret URIs its module gave it with the same backends
// as MotherGoose, configured from the machine's standard environment
// (here: each store's fake on 127.0.0.1).
func TestRunner_resolves_its_credential_in_each_cloud_store(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T) (uri string, env map[string]string)
	}{
		{"lockbox", func(t *testing.T) (string, map[string]string) {
			lb := lockboxtest.Start(t)
			lb.AllowToken("agent-iam-token")
			lb.Put("e6q0runner0credent01", "r-1.credential", agentCredential)
			return "yc-lockbox://e6q0runner0credent01/r-1.credential", map[string]string{
				"YC_IAM_TOKEN": "agent-iam-token", "YC_LOCKBOX_PAYLOAD_ENDPOINT": lb.Addr(),
			}
		}},
		{"aws-sm", func(t *testing.T) (string, map[string]string) {
			sm := awssmtest.Start(t)
			sm.Put("polar-gosling/runners/r-1", "credential", agentCredential)
			// The region is the one the aws module sets (GOSLING_REGION);
			// AWS_REGION would be another.
			t.Cleanup(func() {
				if sigs := sm.Signatures(); len(sigs) == 0 || sigs[0].Region != "eu-west-1" {
					t.Errorf("Secrets Manager was asked in %+v, want the runner's region eu-west-1", sigs)
				}
			})
			return "aws-sm://polar-gosling/runners/r-1/credential", map[string]string{
				"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(), "GOSLING_REGION": "eu-west-1", "AWS_REGION": "us-east-2",
				"AWS_ACCESS_KEY_ID": "AKIDAGENT", "AWS_SECRET_ACCESS_KEY": "agent-secret-key",
				"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
			}
		}},
		{"vault", func(t *testing.T) (string, map[string]string) {
			vt := vaulttest.Start(t)
			vt.AddAppRole("approle", "agent-role", "agent-secret-id", vaulttest.TokenOptions{})
			vt.Put("kv", "runners/r-1", "credential", agentCredential)
			return "vault://kv/runners/r-1/credential", map[string]string{
				"VAULT_ADDR": vt.URL(), "VAULT_ROLE_ID": "agent-role", "VAULT_SECRET_ID": "agent-secret-id",
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// AWS's SDK reads the process environment too: keep the
			// developer's profile out of it.
			t.Setenv("AWS_PROFILE", "")
			uri, env := tc.setup(t)
			env[envSecretURIs] = fmt.Sprintf(`{"GOSLING_RUNNER_CREDENTIAL":%q}`, uri)
			mg := newFakeMotherGoose(t, func(int) int { return http.StatusOK })
			code, log := runAgentUntil(t, agentEnv(mg.srv.URL, env), func(cancel context.CancelFunc, _ func() string) {
				mg.waitBeats(t, 2)
				cancel()
			})
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, log)
			}
			mg.mu.Lock()
			auth := mg.auths[0]
			mg.mu.Unlock()
			if auth != "Bearer "+agentCredential {
				t.Fatalf("heartbeat Authorization %q, want the credential from %s", auth, uri)
			}
			if strings.Contains(log, agentCredential) || !strings.Contains(log, "credential_uri="+uri) {
				t.Fatalf("log (the URI, never the value):\n%s", log)
			}
		})
	}
}

// TestRunner_redacts_its_credential_from_its_log: a value the agent
// resolved never reaches its log, even planted in an error MotherGoose
// answers (defence in depth behind never logging values).
func TestRunner_redacts_its_credential_from_its_log(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		// A broken proxy echoing the Authorization header into its error.
		fmt.Fprintf(w, `{"error":{"code":"EUNAVAILABLE","message":"upstream refused %s"}}`, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	code, log := runAgentUntil(t, agentEnv(srv.URL, nil), func(cancel context.CancelFunc, logSoFar func() string) {
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(logSoFar(), "heartbeat failed") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if !strings.Contains(log, "upstream refused Bearer [REDACTED]") {
		t.Fatalf("the planted error is not in the log, redacted:\n%s", log)
	}
	if strings.Contains(log, agentCredential) {
		t.Fatalf("the credential is in the log:\n%s", log)
	}
}
