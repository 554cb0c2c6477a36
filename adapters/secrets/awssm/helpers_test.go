package awssm_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// planted is in every value the tests store, so that an error carrying a
// value is caught.
const planted = "pl4nted-s3cret"

const testKeyID = "AKIDTESTKEY"

// isolateEnv clears the AWS settings of the machine running the tests, so
// that only the Config of each test counts.
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// mustBackend returns a backend on srv in us-east-1 with static
// credentials; edit changes the Config first.
func mustBackend(t *testing.T, srv *awssmtest.Server, edit ...func(*awssm.Config)) *awssm.Backend {
	t.Helper()
	isolateEnv(t)
	return mustBackendInEnv(t, srv, edit...)
}

// mustBackendInEnv is mustBackend in the environment the test set up.
func mustBackendInEnv(t *testing.T, srv *awssmtest.Server, edit ...func(*awssm.Config)) *awssm.Backend {
	t.Helper()
	c := awssm.Config{
		Region:       "us-east-1",
		BaseEndpoint: srv.URL(),
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, "test-secret-key", ""),
		Timeout:      2 * time.Second,
	}
	for _, e := range edit {
		e(&c)
	}
	b, err := awssm.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustCode fails unless err has code, and checks that it carries no value.
func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if errs.Code(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	if strings.Contains(err.Error(), planted) || strings.Contains(errs.Message(err), planted) {
		t.Fatalf("error leaks a value: %v", err)
	}
}

func mustResolve(t *testing.T, b *awssm.Backend, ctx context.Context, uri, want string) {
	t.Helper()
	got, err := b.Resolve(ctx, uri)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", uri, err)
	}
	if string(got) != want {
		t.Fatalf("Resolve(%s) = %q, want %q", uri, got, want)
	}
}

// rotatingCredentials hands out keys[0] first, then keys[1] once asked
// again (after the backend dropped its cached credentials), as a role's
// provider does after the session expired.
type rotatingCredentials struct {
	mu    sync.Mutex
	keys  []string
	calls int
}

func (r *rotatingCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.keys[min(r.calls, len(r.keys)-1)]
	r.calls++
	return aws.Credentials{AccessKeyID: k, SecretAccessKey: "secret-of-" + k, SessionToken: "session-" + k, Source: "test"}, nil
}

func (r *rotatingCredentials) retrieved() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}
