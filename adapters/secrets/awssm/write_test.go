package awssm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestWriteCreatesMissingSecret(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	ctx := context.Background()
	if err := b.Write(ctx, "aws-sm://gitlab/gitlab.com/web/runner-token", []byte(planted+"<&>")); err != nil {
		t.Fatal(err)
	}
	got, ok := srv.SecretString("gitlab/gitlab.com/web")
	if want := `{"runner-token":"` + planted + `<&>"}`; !ok || got != want {
		t.Fatalf("stored %q, want %q", got, want)
	}
	m, _ := srv.Describe("gitlab/gitlab.com/web")
	if m.Description != "managed by polar-gosling" || len(m.Tags) != 1 || m.Tags[0] != (awssmtest.Tag{Key: "managed-by", Value: "polar-gosling"}) {
		t.Fatalf("created secret described %q, tagged %v", m.Description, m.Tags)
	}
	if n := srv.Calls("CreateSecret"); n != 1 {
		t.Fatalf("CreateSecret calls = %d, want 1", n)
	}
	mustResolve(t, b, ctx, "aws-sm://gitlab/gitlab.com/web/runner-token", planted+"<&>")
}

func TestWriteKeepsOtherKeys(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	ctx := context.Background()
	srv.PutString("app", `{"webhook-secret":"`+planted+`-hook","port":5432}`)
	if err := b.Write(ctx, "aws-sm://app/runner-token", []byte(planted+"-token")); err != nil {
		t.Fatal(err)
	}
	got, _ := srv.SecretString("app")
	var obj map[string]any
	if err := json.Unmarshal([]byte(got), &obj); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"webhook-secret": planted + "-hook", "port": 5432.0, "runner-token": planted + "-token"}
	if len(obj) != len(want) {
		t.Fatalf("stored %v, want %v", obj, want)
	}
	for k, v := range want {
		if obj[k] != v {
			t.Fatalf("stored %v, want %v", obj, want)
		}
	}
	m, _ := srv.Describe("app")
	if m.Versions != 2 || srv.Calls("PutSecretValue") != 1 || srv.Calls("CreateSecret") != 0 {
		t.Fatalf("versions %d, PutSecretValue %d, CreateSecret %d; want a second version by one put",
			m.Versions, srv.Calls("PutSecretValue"), srv.Calls("CreateSecret"))
	}
	mustResolve(t, b, ctx, "aws-sm://app/runner-token", planted+"-token")
	mustResolve(t, b, ctx, "aws-sm://app/webhook-secret", planted+"-hook")

	// Overwriting the key replaces it and still keeps the others.
	if err := b.Write(ctx, "aws-sm://app/runner-token", []byte(planted+"-rotated")); err != nil {
		t.Fatal(err)
	}
	mustResolve(t, b, ctx, "aws-sm://app/runner-token", planted+"-rotated")
	mustResolve(t, b, ctx, "aws-sm://app/port", "5432")
}

func TestWriteRefused(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.PutString("plain", "not JSON at all")
	srv.PutBinary("binary", []byte{0, 1, 2})
	srv.Put("denied", "token", "old")
	srv.Deny("denied")

	tests := []struct {
		name, uri, code string
		value           []byte
	}{
		{name: "secret_not_json", uri: "aws-sm://plain/token", code: errs.EINVALID},
		{name: "binary_secret", uri: "aws-sm://binary/token", code: errs.EINVALID},
		{name: "access_denied", uri: "aws-sm://denied/token", code: errs.EUNAUTHORIZED},
		{name: "value_not_utf8", uri: "aws-sm://fresh/token", code: errs.EINVALID, value: []byte{0xff, 0xfe}},
		{name: "bad_uri", uri: "aws-sm://token", code: errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := tc.value
			if value == nil {
				value = []byte(planted)
			}
			mustCode(t, b.Write(context.Background(), tc.uri, value), tc.code)
		})
	}
	if n := srv.Calls("PutSecretValue") + srv.Calls("CreateSecret"); n != 0 {
		t.Fatalf("%d writes reached the service, want 0", n)
	}
	if got, _ := srv.SecretString("plain"); got != "not JSON at all" {
		t.Fatalf("a refused write changed the secret to %q", got)
	}
}

func TestWriteToSecretWithoutValue(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.CreateEmpty("app")
	if err := b.Write(context.Background(), "aws-sm://app/token", []byte(planted)); err != nil {
		t.Fatal(err)
	}
	// The create is refused (it exists), so the value is put into it.
	if c, p := srv.Calls("CreateSecret"), srv.Calls("PutSecretValue"); c != 1 || p != 1 {
		t.Fatalf("CreateSecret %d, PutSecretValue %d; want 1 and 1", c, p)
	}
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
}
