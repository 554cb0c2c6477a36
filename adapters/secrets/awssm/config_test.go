package awssm_test

import (
	"context"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		region   string
		endpoint string
		keyID    string
		code     string
	}{
		{name: "nothing_set", env: map[string]string{}},
		{name: "region", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}, region: "eu-west-1"},
		{name: "default_region", env: map[string]string{"AWS_DEFAULT_REGION": "us-east-1"}, region: "us-east-1"},
		{name: "service_endpoint_first", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:2"}, endpoint: "http://127.0.0.1:2"},
		{name: "global_endpoint", env: map[string]string{"AWS_ENDPOINT_URL": "https://vpce.example"}, endpoint: "https://vpce.example"},
		{name: "bad_endpoint", env: map[string]string{"AWS_ENDPOINT_URL": "127.0.0.1:1"}, code: errs.EINVALID},
		{name: "static_keys", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "k"}, keyID: "AKIDENV"},
		{name: "key_id_without_secret", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := awssm.ConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.code != "" {
				if errs.Code(err) != tc.code {
					t.Fatalf("error %v, want code %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Region != tc.region || c.BaseEndpoint != tc.endpoint {
				t.Fatalf("region %q endpoint %q, want %q %q", c.Region, c.BaseEndpoint, tc.region, tc.endpoint)
			}
			if tc.keyID == "" {
				if c.Credentials != nil {
					t.Fatal("credentials set, want the default chain (nil)")
				}
				return
			}
			got, err := c.Credentials.Retrieve(context.Background())
			if err != nil || got.AccessKeyID != tc.keyID {
				t.Fatalf("credentials %q, %v; want %s", got.AccessKeyID, err, tc.keyID)
			}
		})
	}
}

// TestDefaultChainFromEnvironment runs the backend as the binaries do with
// nothing but the standard environment: the SDK's default chain finds the
// keys and the endpoint.
func TestDefaultChainFromEnvironment(t *testing.T) {
	srv := awssmtest.Start(t)
	isolateEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-key")
	t.Setenv("AWS_REGION", "eu-north-1")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL())
	b, err := awssm.New(context.Background(), awssm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Put("app", "token", planted)
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
	if got := srv.Signatures()[0]; got != (awssmtest.Signature{AccessKeyID: "AKIDFROMENV", Region: "eu-north-1"}) {
		t.Fatalf("request signed as %+v, want the environment's key and region", got)
	}
}
