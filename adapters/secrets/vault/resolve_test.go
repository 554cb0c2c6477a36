package vault_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestResolve(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.PutData("secret", "gitlab/gitlab.com/web", map[string]any{
		"runner-token": "glrt-abc",
		"port":         8443,
		"nested":       map[string]any{"a": true},
	})
	fake.AddMount("kv")
	fake.Put("kv", "team/app", "password", "pw")
	fake.Put("secret", "gone", "k", "v")
	fake.Delete("secret", "gone", false)
	fake.Put("secret", "destroyed", "k", "v")
	fake.Delete("secret", "destroyed", true)

	cases := []struct {
		name, uri, want, code string
		says                  []string
	}{
		{name: "string_value_as_is", uri: "vault://secret/gitlab/gitlab.com/web/runner-token", want: "glrt-abc"},
		{name: "number_as_json_text", uri: "vault://secret/gitlab/gitlab.com/web/port", want: "8443"},
		{name: "object_as_json_text", uri: "vault://secret/gitlab/gitlab.com/web/nested", want: `{"a":true}`},
		{name: "other_mount", uri: "vault://kv/team/app/password", want: "pw"},
		{name: "missing_secret", uri: "vault://secret/nope/key", code: errs.ENOTFOUND, says: []string{"vault://secret/nope/key", "no secret at secret/data/nope"}},
		{name: "missing_key", uri: "vault://secret/gitlab/gitlab.com/web/password", code: errs.ENOTFOUND, says: []string{`the secret has no key "password"`}},
		{name: "deleted_latest_version", uri: "vault://secret/gone/k", code: errs.ENOTFOUND, says: []string{"deleted or destroyed"}},
		{name: "destroyed_latest_version", uri: "vault://secret/destroyed/k", code: errs.ENOTFOUND, says: []string{"deleted or destroyed"}},
		{name: "unknown_mount", uri: "vault://nomount/app/key", code: errs.ENOTFOUND},
		{name: "too_few_segments", uri: "vault://secret/key", code: errs.EINVALID},
		{name: "other_scheme", uri: "aws-sm://app/key", code: errs.EINVALID},
		{name: "dot_dot_segment", uri: "vault://secret/../sys/key", code: errs.EINVALID},
		{name: "empty_segment", uri: "vault://secret//app/key", code: errs.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := b.Resolve(context.Background(), tc.uri)
			if tc.code != "" {
				wantCode(t, err, tc.code, tc.says...)
				return
			}
			if err != nil || string(v) != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", v, err, tc.want)
			}
		})
	}
}

func TestResolveRotation(t *testing.T) {
	fake, b := mustTokenBackend(t)
	const uri = "vault://secret/app/token"
	fake.Put("secret", "app", "token", "one")
	if got := mustResolve(t, b, uri); got != "one" {
		t.Fatalf("first = %q", got)
	}
	fake.Put("secret", "app", "token", "two")
	if got := mustResolve(t, b, uri); got != "two" {
		t.Fatalf("after rotation = %q, want two", got)
	}
}

func TestResolveAccessDenied(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "token", "v")
	fake.Deny("secret/data/app")
	_, err := b.Resolve(context.Background(), "vault://secret/app/token")
	wantCode(t, err, errs.EUNAUTHORIZED, "vault://secret/app/token", "secret/data/app")
}

func TestResolveThrottled(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "token", "v")
	mustResolve(t, b, "vault://secret/app/token") // the token's lookup done
	before := fake.Counts().Reads

	fake.Throttle(10)
	_, err := b.Resolve(context.Background(), "vault://secret/app/token")
	wantCode(t, err, errs.EUNAVAILABLE, "throttled")
	if got := fake.Counts().Reads - before; got != 2 {
		t.Fatalf("reads = %d, want 2 (one call, one retry of the client)", got)
	}

	fake.Throttle(1) // the client's one retry gets through
	if got := mustResolve(t, b, "vault://secret/app/token"); got != "v" {
		t.Fatalf("after one 429 = %q", got)
	}
}

func TestResolveSealed(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "token", "v")
	fake.Seal()
	_, err := b.Resolve(context.Background(), "vault://secret/app/token")
	wantCode(t, err, errs.EUNAVAILABLE, "sealed")
	fake.Unseal()
	mustResolve(t, b, "vault://secret/app/token")
}

func TestResolveBackendDownFailsFastAndRecovers(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "token", "v")
	mustResolve(t, b, "vault://secret/app/token")

	fake.Stop()
	start := time.Now()
	_, err := b.Resolve(context.Background(), "vault://secret/app/token")
	wantCode(t, err, errs.EUNAVAILABLE, "unreachable")
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a down Vault took %v to fail", took)
	}

	if err := fake.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := mustResolve(t, b, "vault://secret/app/token"); got != "v" {
		t.Fatalf("after restart = %q", got)
	}
}

func TestResolveTimeout(t *testing.T) {
	// A listener that accepts and never answers: only the timeout ends
	// the call.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	b := mustBackend(t, vault.Config{Address: "http://" + ln.Addr().String(), Token: "t", Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err = b.Resolve(context.Background(), "vault://secret/app/token")
	wantCode(t, err, errs.EUNAVAILABLE)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a silent Vault took %v to fail with a 200ms timeout", took)
	}
}

func TestResolveHonoursCancellation(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "token", "v")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Resolve(ctx, "vault://secret/app/token")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled in its chain", err)
	}
}

func TestNamespaceHeader(t *testing.T) {
	fake := vaulttest.Start(t)
	fake.Put("secret", "app", "token", "v")
	b := mustBackend(t, vault.Config{Address: fake.URL(), Token: fake.NewToken(vaulttest.TokenOptions{}), Namespace: "team-a"})
	mustResolve(t, b, "vault://secret/app/token")
	if got := fake.LastNamespace(); got != "team-a" {
		t.Fatalf("X-Vault-Namespace = %q", got)
	}
}

func TestNoValueInErrors(t *testing.T) {
	const planted = "s3cr3t-planted-value"
	fake, b := mustTokenBackend(t)
	fake.PutData("secret", "app", map[string]any{"other": planted})
	ctx := context.Background()
	var got []error

	_, err := b.Resolve(ctx, "vault://secret/app/missing") // the secret holds the value under another key
	got = append(got, err)
	fake.Deny("secret/data/app")
	_, err = b.Resolve(ctx, "vault://secret/app/other")
	got = append(got, err)
	got = append(got, b.Write(ctx, "vault://secret/app/other", []byte(planted)))
	fake.Allow("secret/data/app")
	fake.Throttle(100)
	got = append(got, b.Write(ctx, "vault://secret/app/new", []byte(planted)))
	fake.Throttle(0)
	fake.Stop()
	got = append(got, b.Write(ctx, "vault://secret/app/new", []byte(planted)))
	_, err = b.Resolve(ctx, "vault://secret/app/other")
	got = append(got, err)

	for i, err := range got {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		if strings.Contains(err.Error(), planted) || strings.Contains(errs.Message(err), planted) {
			t.Fatalf("case %d: the value leaks into the error %q", i, err)
		}
	}
}
