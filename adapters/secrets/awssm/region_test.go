package awssm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

func TestRegionFromScopeOrDefault(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv, func(c *awssm.Config) { c.Region = "eu-central-1" })
	srv.Put("app", "token", planted)

	tests := []struct{ name, scope, want string }{
		{name: "no_scope", scope: "", want: "eu-central-1"},
		{name: "egg_region", scope: "us-west-2", want: "us-west-2"},
		{name: "egg_zone", scope: "eu-west-1a", want: "eu-west-1"},
		{name: "govcloud_region", scope: "us-gov-west-1", want: "us-gov-west-1"},
		{name: "yandex_zone_is_not_aws", scope: "ru-central1-a", want: "eu-central-1"},
		{name: "yandex_region_is_not_aws", scope: "ru-central1", want: "eu-central-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ports.WithSecretScope(context.Background(), ports.SecretScope{Purpose: "test", Region: tc.scope})
			mustResolve(t, b, ctx, "aws-sm://app/token", planted)
			sigs := srv.Signatures()
			if got := sigs[len(sigs)-1].Region; got != tc.want {
				t.Fatalf("request signed for %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRegionFromEnvironment(t *testing.T) {
	srv := awssmtest.Start(t)
	isolateEnv(t)
	t.Setenv("AWS_REGION", "ap-southeast-2")
	b := mustBackendInEnv(t, srv, func(c *awssm.Config) { c.Region = "" })
	srv.Put("app", "token", planted)
	mustResolve(t, b, context.Background(), "aws-sm://app/token", planted)
	if got := srv.Signatures()[0].Region; got != "ap-southeast-2" {
		t.Fatalf("request signed for %s, want the environment's ap-southeast-2", got)
	}
}

func TestNoRegionAtAll(t *testing.T) {
	srv := awssmtest.Start(t)
	b := mustBackend(t, srv, func(c *awssm.Config) { c.Region = "" })
	_, err := b.Resolve(context.Background(), "aws-sm://app/token")
	mustCode(t, err, errs.EINVALID)
	if !strings.Contains(err.Error(), "no AWS region") {
		t.Fatalf("error %q does not say the region is missing", err)
	}
	if n := srv.Calls("GetSecretValue"); n != 0 {
		t.Fatalf("GetSecretValue calls = %d, want 0", n)
	}
}
