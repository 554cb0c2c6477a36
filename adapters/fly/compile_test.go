package fly_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Every rule of a parsed UF/config.fly compiles again from its source and
// the locals it reads (as nest sync records them) to a condition that
// decides as the parsed one does.
func TestConditionCompiler_compiles_what_parsed(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/full/UF/config.fly")
	if err != nil {
		t.Fatal(err)
	}
	v, diags := fly.NewParser().ParseKind(context.Background(), fly.KindUglyFox, "UF/config.fly", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	u := v.(domain.UglyFoxSettings)
	facts := []domain.RunnerFacts{
		{State: "idle", Pool: "nadir", Type: "vm", Egg: "payments-api", Cloud: "yandex", Region: "ru-central1-a", Age: time.Hour},
		{State: "idle", Pool: "nadir", Type: "vm", Egg: "payments-api", Cloud: "yandex", Region: "ru-central1-a", Age: 100 * time.Hour},
		{State: "busy", Pool: "apex", FailureCount: 4, Age: 2 * time.Hour, IdleFor: time.Hour, SinceHeartbeat: 11 * time.Minute},
	}
	withLocals := 0
	for _, r := range u.Policies {
		locals, err := r.When.(domain.ConditionLocals).LocalsJSON()
		if err != nil {
			t.Fatal(err)
		}
		if locals != "" {
			withLocals++
		}
		c, err := fly.NewConditionCompiler().Compile(r.When.Source(), locals)
		if err != nil {
			t.Fatalf("rule %s (locals %s): %v", r.Name, locals, err)
		}
		if c.Source() != r.When.Source() {
			t.Errorf("rule %s: source %q, want %q", r.Name, c.Source(), r.When.Source())
		}
		for _, f := range facts {
			want, err1 := r.When.Eval(f)
			got, err2 := c.Eval(f)
			if got != want || err1 != nil || err2 != nil {
				t.Errorf("rule %s on %+v: compiled %v (%v), parsed %v (%v)", r.Name, f, got, err2, want, err1)
			}
		}
	}
	if withLocals != 1 {
		t.Fatalf("%d rules read locals, want the one of the testdata", withLocals)
	}
}

func TestConditionCompiler_refuses_what_the_parser_refuses(t *testing.T) {
	for _, tc := range []struct{ name, src, locals string }{
		{"unknown_variable", `runner.colour == "red"`, ""},
		{"not_boolean", `runner.age + 1`, ""},
		{"undefined_local", `runner.age > duration(local.old)`, ""},
		{"syntax", `runner.age >`, ""},
		{"bad_locals", `runner.age > 1`, `{"value":`},
		{"wrong_type", `runner.pool > 3`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := fly.NewConditionCompiler().Compile(tc.src, tc.locals); errs.Code(err) != errs.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}
