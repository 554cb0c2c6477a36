package awssm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestResolve(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.Put("app/db", "password", planted+"-db")
	srv.PutString("typed", `{"port": 5432 , "tls": true, "nested": {"a": "`+planted+`"}, "list": ["`+planted+`"], "none": null}`)
	srv.PutString("plain", planted+" is not JSON")
	srv.PutString("array", `["`+planted+`"]`)
	srv.PutBinary("binary", []byte(planted))

	tests := []struct {
		name, uri, want, code, says string
	}{
		{name: "string_key_of_a_nested_name", uri: "aws-sm://app/db/password", want: planted + "-db"},
		{name: "number_as_its_json_text", uri: "aws-sm://typed/port", want: "5432"},
		{name: "boolean_as_its_json_text", uri: "aws-sm://typed/tls", want: "true"},
		{name: "missing_secret", uri: "aws-sm://nope/password", code: errs.ENOTFOUND, says: "aws-sm://nope/password"},
		{name: "missing_key", uri: "aws-sm://app/db/user", code: errs.ENOTFOUND, says: `the secret has no key "user"`},
		{name: "object_member", uri: "aws-sm://typed/nested", code: errs.EINVALID, says: "not a string"},
		{name: "array_member", uri: "aws-sm://typed/list", code: errs.EINVALID, says: "not a string"},
		{name: "null_member", uri: "aws-sm://typed/none", code: errs.EINVALID, says: "null"},
		{name: "not_json", uri: "aws-sm://plain/password", code: errs.EINVALID, says: "not a JSON object"},
		{name: "json_array_secret", uri: "aws-sm://array/password", code: errs.EINVALID, says: "not a JSON object"},
		{name: "binary_secret", uri: "aws-sm://binary/password", code: errs.EINVALID, says: "SecretBinary"},
		{name: "no_key", uri: "aws-sm://app", code: errs.EINVALID},
		{name: "empty_segment", uri: "aws-sm://app//password", code: errs.EINVALID},
		{name: "other_scheme", uri: "vault://kv/app/password", code: errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.Resolve(context.Background(), tc.uri)
			if tc.code == "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("Resolve(%s) = %q, %v; want %q", tc.uri, got, err, tc.want)
				}
				return
			}
			mustCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

func TestResolveMakesOneCallPerResolution(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.Put("app", "token", planted)
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
	// The backend caches no value: the router in front of it does.
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
	if n := srv.Calls("GetSecretValue"); n != 2 {
		t.Fatalf("GetSecretValue calls = %d, want 2", n)
	}
}

func TestResolvePicksUpRotation(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv)
	srv.Put("app", "token", planted+"-v1")
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted+"-v1")
	srv.Put("app", "token", planted+"-v2")
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted+"-v2")
}
