package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

func TestRouter_routes_by_scheme_and_opens_a_backend_once(t *testing.T) {
	opened := 0
	vault := &backend{values: map[string]string{"vault://kv/app/token": "from-vault"}}
	r := secrets.NewRouter(secrets.Local{LookupEnv: func(k string) (string, bool) { return "from-env", k == "TOKEN" }},
		map[string]secrets.Opener{"vault": func(context.Context) (ports.Secrets, error) { opened++; return vault, nil }})
	ctx := context.Background()
	for range 3 {
		if v, err := r.Resolve(ctx, "vault://kv/app/token"); err != nil || string(v) != "from-vault" {
			t.Fatalf("vault: %q, %v", v, err)
		}
	}
	if v, err := r.Resolve(ctx, "env://TOKEN"); err != nil || string(v) != "from-env" {
		t.Fatalf("env: %q, %v", v, err)
	}
	if opened != 1 {
		t.Fatalf("opened %d times, want 1", opened)
	}
	if _, err := r.Resolve(ctx, "aws-sm://app/token"); errs.Code(err) != errs.EINVALID {
		t.Fatalf("a scheme without a backend: %v, want EINVALID", err)
	}
	if err := r.Write(ctx, "vault://kv/app/other", []byte("written")); err != nil || vault.writes["vault://kv/app/other"] != "written" {
		t.Fatalf("write: %v %v", err, vault.writes)
	}
}

func TestRouter_a_backend_that_cannot_open_is_unavailable_and_tried_later(t *testing.T) {
	calls := 0
	r := secrets.NewRouter(secrets.NewLocal(), map[string]secrets.Opener{"vault": func(context.Context) (ports.Secrets, error) {
		calls++
		return nil, errors.New("dial tcp: connection refused")
	}})
	for range 3 {
		if _, err := r.Resolve(context.Background(), "vault://kv/app/token"); errs.Code(err) != errs.EUNAVAILABLE {
			t.Fatalf("err = %v, want EUNAVAILABLE", err)
		}
	}
	if calls != 1 {
		t.Fatalf("open attempts = %d, want 1 within the reopen delay", calls)
	}
}
