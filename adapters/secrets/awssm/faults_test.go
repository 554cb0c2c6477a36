package awssm_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestResolveAccessDenied(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.Put("app", "token", planted)
	srv.Deny("app")
	_, err := b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EUNAUTHORIZED)
	if n := srv.Calls("GetSecretValue"); n != 1 {
		t.Fatalf("GetSecretValue calls = %d, want 1 (access denied is not retried)", n)
	}
	srv.Allow("app")
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
}

func TestResolveThrottled(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.Put("app", "token", planted)

	srv.Throttle(1)
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
	if n := srv.Calls("GetSecretValue"); n != 2 {
		t.Fatalf("GetSecretValue calls = %d, want 2 (one throttled, one retry)", n)
	}

	srv.Throttle(100)
	_, err := b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("error %q does not say throttled", err)
	}
	if n := srv.Calls("GetSecretValue"); n != 4 {
		t.Fatalf("GetSecretValue calls = %d, want 4 (at most 2 attempts per resolution)", n)
	}
}

func TestResolveInternalError(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.Put("app", "token", planted)
	srv.FailInternal(2)
	_, err := b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EUNAVAILABLE)
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
}

func TestExpiredTokenRenewedTransparently(t *testing.T) {
	srv := awssmtest.Start(t)
	creds := &rotatingCredentials{keys: []string{"AKIDOLD", "AKIDNEW"}}
	b := mustBackend(t, srv, func(c *awssm.Config) { c.Credentials = creds })
	srv.Put("app", "token", planted)
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)

	srv.ExpireCredentials("AKIDOLD")
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
	var keys []string
	for _, s := range srv.Signatures() {
		keys = append(keys, s.AccessKeyID)
	}
	if got, want := strings.Join(keys, ","), "AKIDOLD,AKIDOLD,AKIDNEW"; got != want {
		t.Fatalf("requests signed with %s, want %s", got, want)
	}
	if n := creds.retrieved(); n != 2 {
		t.Fatalf("credentials retrieved %d times, want 2 (cached, then renewed once)", n)
	}
}

func TestExpiredTokenNotRenewable(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv) // static keys: nothing new to renew with
	srv.Put("app", "token", planted)
	srv.ExpireCredentials(testKeyID)
	_, err := b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EUNAUTHORIZED)
	if n := srv.Calls("GetSecretValue"); n != 2 {
		t.Fatalf("GetSecretValue calls = %d, want 2 (one retry after dropping the credentials)", n)
	}
}

func TestBackendDownFailsFastAndRecovers(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv, func(c *awssm.Config) { c.Timeout = 10 * time.Second })
	srv.Put("app", "token", planted)
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)

	srv.Stop()
	start := time.Now()
	_, err := b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EUNAVAILABLE)
	// Refused connections end the call, not the (long) timeout: at most two
	// attempts with a short backoff.
	if d := time.Since(start); d >= 10*time.Second {
		t.Fatalf("a refused connection took %v, the whole timeout", d)
	}
	if !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("error %q does not say unreachable", err)
	}

	srv.Restart()
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
}

func TestBackendHangingTimesOut(t *testing.T) {
	// A listener that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv, func(c *awssm.Config) {
		c.BaseEndpoint = "http://" + ln.Addr().String()
		c.Timeout = 300 * time.Millisecond
	})
	_, err = b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("error %q does not say timed out", err)
	}
}

func TestResolveHonoursCancellation(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.Put("app", "token", planted)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Resolve(ctx, "aws-sm://app/token")
	mustCode(t, err, errs.EUNAVAILABLE)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v is not context.Canceled", err)
	}
}

func TestNoCredentialsAtAll(t *testing.T) {
	srv := awssmtest.Start(t)
	// The default chain with nothing to find: no keys in the environment,
	// empty shared files, no instance metadata service.
	b := mustBackend(t, srv, func(c *awssm.Config) { c.Credentials = nil })
	_, err := b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EUNAUTHORIZED)
	if !strings.Contains(err.Error(), "no usable AWS credentials") {
		t.Fatalf("error %q does not say the credentials are missing", err)
	}
	if n := srv.Calls("GetSecretValue"); n != 0 {
		t.Fatalf("GetSecretValue calls = %d, want 0 (nothing to sign with)", n)
	}
}

// TestErrorCodes checks the mapping of the service's other documented
// errors to the port's codes.
func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name, awsCode, code string
		status              int
	}{
		{name: "kms_refuses_decryption", awsCode: "DecryptionFailure", status: 400, code: errs.EUNAUTHORIZED},
		{name: "unknown_access_key", awsCode: "UnrecognizedClientException", status: 400, code: errs.EUNAUTHORIZED},
		{name: "bad_signature", awsCode: "InvalidSignatureException", status: 400, code: errs.EUNAUTHORIZED},
		{name: "scheduled_for_deletion", awsCode: "InvalidRequestException", status: 400, code: errs.EINVALID},
		{name: "invalid_parameter", awsCode: "InvalidParameterException", status: 400, code: errs.EINVALID},
		{name: "quota", awsCode: "LimitExceededException", status: 400, code: errs.EUNAVAILABLE},
		{name: "gateway_error", awsCode: "SomethingNew", status: 502, code: errs.EUNAVAILABLE},
		{name: "undocumented_client_error", awsCode: "SomethingNew", status: 400, code: errs.EINTERNAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := awssmtest.Start(t)
			b := mustBackend(t, srv)
			srv.Put("app", "token", planted)
			srv.FailWith(tc.status, tc.awsCode, "injected "+tc.awsCode, 2)
			_, err := b.Resolve(context.Background(), "aws-sm://app/token")
			mustCode(t, err, tc.code)
		})
	}
}
