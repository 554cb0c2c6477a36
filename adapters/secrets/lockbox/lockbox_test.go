package lockbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox/lockboxtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// planted is a secret value no error text may contain.
const planted = "planted-Zq8v-do-not-leak"

// mustBackend returns a Backend of cfg closed at the end of the test.
func mustBackend(t *testing.T, cfg lockbox.Config) *lockbox.Backend {
	t.Helper()
	b, err := lockbox.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// setup starts a fake and a Backend authenticated by the fake's metadata
// service (a renewable token source), with secret "e6qsecret01234567890" holding
// password=planted and user=gosling.
func setup(t *testing.T) (*lockboxtest.Server, *lockbox.Backend) {
	t.Helper()
	fake := lockboxtest.Start(t)
	fake.Put("e6qsecret01234567890", "password", planted)
	fake.Put("e6qsecret01234567890", "user", "gosling")
	return fake, mustBackend(t, fake.Config())
}

func mustResolve(t *testing.T, b *lockbox.Backend, uri string) string {
	t.Helper()
	v, err := b.Resolve(context.Background(), uri)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", uri, err)
	}
	return string(v)
}

// wantCode fails unless err carries code and names no planted value.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	if strings.Contains(err.Error(), planted) || strings.Contains(errs.Message(err), planted) {
		t.Fatalf("error text contains the secret value: %v", err)
	}
}

func TestResolve_ok(t *testing.T) {
	_, b := setup(t)
	if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password"); got != planted {
		t.Fatalf("password = %q, want the stored value", got)
	}
	if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/user"); got != "gosling" {
		t.Fatalf("user = %q, want gosling", got)
	}
}

func TestResolve_binary_value(t *testing.T) {
	fake, b := setup(t)
	fake.PutBinary("e6qbinary01234567890", "cert", []byte{0, 1, 0xff})
	if got := mustResolve(t, b, "yc-lockbox://e6qbinary01234567890/cert"); got != "\x00\x01\xff" {
		t.Fatalf("cert = %q, want the binary value", got)
	}
}

func TestResolve_missing_secret_is_not_found(t *testing.T) {
	_, b := setup(t)
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qnosuch01234567890/password")
	wantCode(t, err, errs.ENOTFOUND)
	if !strings.Contains(err.Error(), "yc-lockbox://e6qnosuch01234567890/password") {
		t.Fatalf("error %q does not name the URI", err)
	}
}

func TestResolve_missing_key_is_not_found(t *testing.T) {
	_, b := setup(t)
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/token")
	wantCode(t, err, errs.ENOTFOUND)
	if !strings.Contains(err.Error(), `the secret has no key "token"`) {
		t.Fatalf("error %q does not say which key is missing", err)
	}
}

func TestResolve_access_denied_is_unauthorized(t *testing.T) {
	fake, b := setup(t)
	fake.Deny("e6qsecret01234567890")
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAUTHORIZED)
}

func TestResolve_throttled_is_unavailable(t *testing.T) {
	fake, b := setup(t)
	fake.Throttle(1)
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("error %q does not say throttled", err)
	}
	if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password"); got != planted {
		t.Fatal("the call after the throttled one did not get the value")
	}
}

func TestResolve_malformed_uri_is_invalid(t *testing.T) {
	_, b := setup(t)
	for _, uri := range []string{
		"yc-lockbox://e6qsecret01234567890",      // no key
		"yc-lockbox://e6qsecret01234567890/",     // empty key
		"yc-lockbox://e6q//password",             // empty segment
		"aws-sm://e6qsecret01234567890/password", // another scheme
		"yc-lockbox://e6q secret/password",       // a space
		"e6qsecret01234567890/password",
	} {
		_, err := b.Resolve(context.Background(), uri)
		if !errs.Is(err, errs.EINVALID) {
			t.Errorf("Resolve(%q) = %v, want EINVALID", uri, err)
		}
		if err := b.Write(context.Background(), uri, []byte(planted)); !errs.Is(err, errs.EINVALID) {
			t.Errorf("Write(%q) = %v, want EINVALID", uri, err)
		}
	}
}

func TestResolve_rotation_is_seen_by_the_next_call(t *testing.T) {
	fake, b := setup(t)
	mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/user")
	fake.Put("e6qsecret01234567890", "user", "gosling-2")
	if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/user"); got != "gosling-2" {
		t.Fatalf("after rotation user = %q, want gosling-2", got)
	}
}

func TestResolve_backend_down_is_unavailable_quickly_and_recovers(t *testing.T) {
	fake := lockboxtest.Start(t)
	fake.Put("e6qsecret01234567890", "password", planted)
	cfg := fake.Config()
	cfg.Timeout = 20 * time.Second // a refused connection must not wait for it
	b := mustBackend(t, cfg)
	mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")

	fake.Stop()
	start := time.Now()
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAVAILABLE)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("a refused connection took %v to fail: the call waited for the connection", elapsed)
	}

	fake.Restart()
	// grpc reconnects after its backoff (at most a second here).
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
		if err == nil {
			if string(v) != planted {
				t.Fatal("wrong value after restart")
			}
			return
		}
		wantCode(t, err, errs.EUNAVAILABLE)
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 10s after Restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestResolve_honours_a_cancelled_context(t *testing.T) {
	_, b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Resolve(ctx, "yc-lockbox://e6qsecret01234567890/password"); err == nil {
		t.Fatal("Resolve with a cancelled context succeeded")
	}
}

func TestWrite_then_resolve_round_trip(t *testing.T) {
	fake, b := setup(t)
	if err := b.Write(context.Background(), "yc-lockbox://e6qsecret01234567890/runner-token", []byte("glrt-new")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/runner-token"); got != "glrt-new" {
		t.Fatalf("runner-token = %q, want glrt-new", got)
	}
	if fake.Calls(lockboxtest.MethodAddVersion) != 1 || fake.Versions("e6qsecret01234567890") != 3 {
		t.Fatalf("AddVersion calls = %d, versions = %d; want 1 call adding a third version", fake.Calls(lockboxtest.MethodAddVersion), fake.Versions("e6qsecret01234567890"))
	}
}

func TestWrite_binary_value_round_trip(t *testing.T) {
	_, b := setup(t)
	if err := b.Write(context.Background(), "yc-lockbox://e6qsecret01234567890/blob", []byte{0xff, 0xfe}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/blob"); got != "\xff\xfe" {
		t.Fatalf("blob = %q", got)
	}
}

func TestWrite_keeps_the_other_keys(t *testing.T) {
	fake, b := setup(t)
	if err := b.Write(context.Background(), "yc-lockbox://e6qsecret01234567890/user", []byte("goose")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if v, _ := fake.Value("e6qsecret01234567890", "user"); v != "goose" {
		t.Fatalf("user = %q, want goose", v)
	}
	if v, ok := fake.Value("e6qsecret01234567890", "password"); !ok || v != planted {
		t.Fatal("password was not kept by the write of another key")
	}
}

func TestWrite_errors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*lockboxtest.Server)
		uri   string
		code  string
	}{
		{"missing_secret", func(*lockboxtest.Server) {}, "yc-lockbox://e6qnosuch01234567890/k", errs.ENOTFOUND},
		{"access_denied", func(f *lockboxtest.Server) { f.Deny("e6qsecret01234567890") }, "yc-lockbox://e6qsecret01234567890/k", errs.EUNAUTHORIZED},
		{"throttled", func(f *lockboxtest.Server) { f.Throttle(1) }, "yc-lockbox://e6qsecret01234567890/k", errs.EUNAVAILABLE},
		{"backend_down", func(f *lockboxtest.Server) { f.Stop() }, "yc-lockbox://e6qsecret01234567890/k", errs.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, b := setup(t)
			tc.fault(fake)
			err := b.Write(context.Background(), tc.uri, []byte(planted))
			wantCode(t, err, tc.code)
		})
	}
}

func TestErrors_never_contain_the_value(t *testing.T) {
	// Each failing path with the planted value stored or being written;
	// wantCode checks the text of every error.
	fake, b := setup(t)
	ctx := context.Background()
	_, err := b.Resolve(ctx, "yc-lockbox://e6qsecret01234567890/nokey")
	wantCode(t, err, errs.ENOTFOUND)
	fake.Throttle(2)
	_, err = b.Resolve(ctx, "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAVAILABLE)
	wantCode(t, b.Write(ctx, "yc-lockbox://e6qsecret01234567890/password", []byte(planted)), errs.EUNAVAILABLE)
	fake.Deny("e6qsecret01234567890")
	_, err = b.Resolve(ctx, "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAUTHORIZED)
	wantCode(t, b.Write(ctx, "yc-lockbox://e6qsecret01234567890/password", []byte(planted)), errs.EUNAUTHORIZED)
}

func TestWrite_operation_outcomes(t *testing.T) {
	t.Run("failed_operation_is_mapped_by_its_code", func(t *testing.T) {
		fake, b := setup(t)
		fake.FailOperations(codes.PermissionDenied, 1)
		wantCode(t, b.Write(context.Background(), "yc-lockbox://e6qsecret01234567890/k", []byte(planted)), errs.EUNAUTHORIZED)
		if _, ok := fake.Value("e6qsecret01234567890", "k"); ok {
			t.Fatal("a failed operation stored the value")
		}
	})
	t.Run("operation_not_done_is_accepted", func(t *testing.T) {
		fake, b := setup(t)
		fake.PendOperations(true)
		if err := b.Write(context.Background(), "yc-lockbox://e6qsecret01234567890/k", []byte("v")); err != nil {
			t.Fatalf("Write with a running operation: %v", err)
		}
		if v, _ := fake.Value("e6qsecret01234567890", "k"); v != "v" {
			t.Fatalf("k = %q, want v", v)
		}
	})
}

func TestResolve_slow_backend_is_unavailable_after_the_timeout(t *testing.T) {
	fake := lockboxtest.Start(t)
	fake.Put("e6qsecret01234567890", "password", planted)
	fake.AllowToken("t1.dev")
	cfg := fake.Config()
	cfg.IAMToken, cfg.Timeout = "t1.dev", 200*time.Millisecond
	b := mustBackend(t, cfg)
	fake.Delay(time.Minute)
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Fatalf("error %q is not the per-call timeout", err)
	}
}
