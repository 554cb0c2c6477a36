package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox/lockboxtest"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
	"github.com/polar-gosling/polar-gosling/cmd/internal/secretsetup"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// TestRunnerSecretStore_writes_where_the_agent_reads: the registration
// path stores a cloud runner's GitLab token under --runner-secrets (a key
// of one Lockbox secret, a Secrets Manager or Vault secret per runner),
// (by default the Lockbox secret named polar-gosling-runners, and a
// Secrets Manager secret per runner under polar-gosling/runners), and the
// agent's backends, built from the VM's environment, read the
// same value at the URI the provisioner hands the module; the secret's
// other keys stay.
func TestRunnerSecretStore_writes_where_the_agent_reads(t *testing.T) {
	lb := lockboxtest.Start(t)
	lb.AllowToken("iam-token")
	lb.Put("e6q0runner0tokens001", "other-runner.runner-token", "kept-value")
	lb.PutNamed("b1gfolder", "polar-gosling-runners", "other-runner.runner-token", "kept-value")
	sm := awssmtest.Start(t)
	vt := vaulttest.Start(t)
	vt.Put("kv", "runners/r-3", "other", "kept-value")
	for k, v := range map[string]string{
		"YC_IAM_TOKEN": "iam-token", "YC_FOLDER_ID": "b1gfolder", "YC_LOCKBOX_PAYLOAD_ENDPOINT": lb.Addr(), "YC_LOCKBOX_ENDPOINT": lb.Addr(),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(), "AWS_REGION": "eu-west-1", "AWS_PROFILE": "",
		"AWS_ACCESS_KEY_ID": "AKIDSERVE", "AWS_SECRET_ACCESS_KEY": "serve-secret-key",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"VAULT_ADDR": vt.URL(), "VAULT_TOKEN": vt.NewToken(vaulttest.TokenOptions{}),
	} {
		t.Setenv(k, v)
	}
	cases := []struct {
		flag, provider, runner, wantURI string
		otherKey                        string // a key of the same secret that must stay
	}{
		{"yandex=yc-lockbox://e6q0runner0tokens001", "yandex", "r-1", "yc-lockbox://e6q0runner0tokens001/r-1.runner-token", "yc-lockbox://e6q0runner0tokens001/other-runner.runner-token"},
		{"", "yandex", "r-5", "yc-lockbox://polar-gosling-runners/r-5.runner-token", "yc-lockbox://polar-gosling-runners/other-runner.runner-token"},
		{"", "aws", "r-2", "aws-sm://polar-gosling/runners/r-2/runner-token", ""},
		{"yandex=vault://kv/runners", "yandex", "r-3", "vault://kv/runners/r-3/runner-token", "vault://kv/runners/r-3/other"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.wantURI, func(t *testing.T) {
			cfg := testConfig()
			if tc.flag != "" {
				cfg.RunnerSecrets = []string{tc.flag}
			}
			bases, problems := cfg.runnerSecretBases()
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			router := secretsetup.Router(secretsetup.Options{})
			defer router.Close()
			store := runnerSecretStore{bases: bases, writer: secrets.NewCache(secrets.CacheConfig{Backend: router})}
			token := "glrt-" + strings.Repeat(tc.runner, 8)
			uri, err := store.StoreRunnerSecret(ctx, tc.provider, tc.runner, "runner-token", []byte(token))
			if err != nil || uri != tc.wantURI {
				t.Fatalf("stored at %q, %v; want %s", uri, err, tc.wantURI)
			}
			agent := secretsetup.Router(secretsetup.Options{})
			defer agent.Close()
			if got, err := agent.Resolve(ctx, uri); err != nil || string(got) != token {
				t.Fatalf("the agent reads %q, %v", got, err)
			}
			if tc.otherKey != "" {
				if got, err := agent.Resolve(ctx, tc.otherKey); err != nil || string(got) != "kept-value" {
					t.Fatalf("the secret's other key: %q, %v", got, err)
				}
			}
		})
	}
	t.Run("no store for the provider", func(t *testing.T) {
		store := runnerSecretStore{bases: map[string]string{}, writer: secrets.NewCache(secrets.CacheConfig{Backend: secretsetup.Router(secretsetup.Options{})})}
		_, err := store.StoreRunnerSecret(ctx, "yandex", "r-4", "runner-token", []byte("glrt-x"))
		if errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), "--runner-secrets yandex=") {
			t.Fatalf("err = %v, want EINVALID naming the flag", err)
		}
	})
	t.Run("bad bases are refused", func(t *testing.T) {
		cfg := testConfig()
		cfg.RunnerSecrets = []string{"yandex=yc-lockbox://a/b", "gcp=vault://kv/x", "aws=s3://bucket", "aws"}
		if _, problems := cfg.runnerSecretBases(); len(problems) != 4 {
			t.Fatalf("problems %v, want 4", problems)
		}
	})
}
