package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

func TestRoutes_name_every_command_once_and_carry_meta(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	routes := h.Routes()
	seen := map[string]bool{}
	var request commands.Route
	for _, r := range routes {
		if seen[r.Name] {
			t.Fatalf("route %s twice", r.Name)
		}
		seen[r.Name] = true
		if got := r.New().CommandName(); got != r.Name {
			t.Fatalf("route %s makes a %s", r.Name, got)
		}
		if r.Name == requestRunner.CommandName() {
			request = r
		}
	}
	if len(routes) != 46 {
		t.Fatalf("%d routes, want 46", len(routes))
	}
	ctx := context.Background()
	if err := request.Handle(ctx, deployRunner, commands.Meta{}); errs.Code(err) != errs.EINVALID {
		t.Fatalf("a route handed another command: %v", err)
	}
	cmd := request.New().(*commands.RequestRunner)
	*cmd = requestRunner
	if err := request.Handle(ctx, cmd, commands.Meta{Actor: "uglyfox", CorrelationID: "corr-1", IdempotencyKey: "k-1"}); err != nil {
		t.Fatal(err)
	}
	envs := mustLoad(t, store, "runner-r-01")
	if len(envs) != 1 || envs[0].Actor != "uglyfox" || envs[0].CorrelationID != "corr-1" || envs[0].IdempotencyKey != "k-1" {
		t.Fatalf("appended %+v", envs)
	}
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"invalid", errs.Errorf(errs.EINVALID, "x"), true},
		{"not_found", errs.Errorf(errs.ENOTFOUND, "x"), true},
		{"rule_of_state", errs.Errorf(errs.ECONFLICT, "x"), true},
		{"version_conflict", &ports.ConflictError{Stream: "s"}, false},
		{"wrapped_version_conflict", errs.Wrap(errs.ECONFLICT, &ports.ConflictError{Stream: "s"}, "gave up"), false},
		{"unavailable", errs.Errorf(errs.EUNAVAILABLE, "x"), false},
		{"unknown", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := commands.Permanent(tc.err); got != tc.want {
				t.Fatalf("Permanent(%v) = %v", tc.err, got)
			}
		})
	}
}
