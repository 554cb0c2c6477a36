package fly_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func mustUglyFox(t *testing.T, src string) domain.UglyFoxSettings {
	t.Helper()
	v, diags := fly.NewParser().ParseKind(context.Background(), fly.KindUglyFox, "UF/config.fly", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %s", diags.Error())
	}
	return v.(domain.UglyFoxSettings)
}

// TestDecide evaluates the policies of the full Nest per runner: rules in
// file order, the first match wins.
func TestDecide(t *testing.T) {
	nest, _, diags := fly.LoadNest(context.Background(), filepath.Join("testdata", "valid", "full"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	uf := *nest.UglyFox
	healthy := domain.RunnerFacts{State: "idle", Pool: "apex", Type: "vm", Egg: "payments-api", Age: 2 * time.Hour,
		IdleFor: time.Minute, SinceHeartbeat: 10 * time.Second, Cloud: "yandex", Region: "ru-central1-a"}
	with := func(f func(*domain.RunnerFacts)) domain.RunnerFacts { r := healthy; f(&r); return r }
	tests := []struct {
		name   string
		facts  domain.RunnerFacts
		action string
		rule   string
	}{
		{"healthy_runner_matches_nothing", healthy, "", ""},
		{"old_and_failing", with(func(f *domain.RunnerFacts) { f.FailureCount = 3 }), domain.ActionTerminate, "terminate-old-failed"},
		{"failing_but_young", with(func(f *domain.RunnerFacts) { f.FailureCount = 3; f.Age = 59 * time.Minute }), "", ""},
		{"age_exactly_one_hour_is_not_older", with(func(f *domain.RunnerFacts) { f.FailureCount = 5; f.Age = time.Hour }), "", ""},
		{"silent", with(func(f *domain.RunnerFacts) { f.SinceHeartbeat = 11 * time.Minute }), domain.ActionTerminate, "terminate-silent"},
		{"silent_but_terminated", with(func(f *domain.RunnerFacts) { f.State = "terminated"; f.SinceHeartbeat = time.Hour }), "", ""},
		{"idle_apex", with(func(f *domain.RunnerFacts) { f.IdleFor = 31 * time.Minute }), domain.ActionDemoteToNadir, "demote-idle"},
		{"first_match_wins", with(func(f *domain.RunnerFacts) { f.IdleFor = time.Hour; f.FailureCount = 4 }), domain.ActionTerminate, "terminate-old-failed"},
		{"young_payments_nadir", with(func(f *domain.RunnerFacts) { f.Pool = "nadir" }), domain.ActionPromoteToApex, "promote-payments"},
		{"old_payments_nadir_uses_local", with(func(f *domain.RunnerFacts) { f.Pool = "nadir"; f.Age = 73 * time.Hour }), "", ""},
		{"other_region", with(func(f *domain.RunnerFacts) { f.Pool = "nadir"; f.Region = "ru-central1-b" }), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			action, rule, matched, err := uf.Decide(tc.facts)
			if err != nil {
				t.Fatal(err)
			}
			if action != tc.action || rule != tc.rule || matched != (tc.rule != "") {
				t.Errorf("Decide = %q, %q, %v; want %q, %q", action, rule, matched, tc.action, tc.rule)
			}
		})
	}
}

func TestCondition_source_and_variables(t *testing.T) {
	uf := mustUglyFox(t, `uglyfox {
  policies {
    rule "r" {
      when = (runner.age > duration("1h")
        && runner.age < duration("3d") && runner.state == "failed")
      action = "terminate"
    }
  }
}`)
	c := uf.Policies[0].When
	if want := "(runner.age > duration(\"1h\")\n        && runner.age < duration(\"3d\") && runner.state == \"failed\")"; c.Source() != want {
		t.Errorf("Source = %q, want %q", c.Source(), want)
	}
	if got := c.Variables(); !slices.Equal(got, []string{"runner.age", "runner.state"}) {
		t.Errorf("Variables = %q", got)
	}
	ok, err := c.Eval(domain.RunnerFacts{State: "failed", Age: 2 * time.Hour})
	if err != nil || !ok {
		t.Errorf("Eval = %v, %v; want true", ok, err)
	}
}

// TestCondition_runtime_error: an error that shows only for some runners
// is reported by Decide for that rule, not skipped.
func TestCondition_runtime_error(t *testing.T) {
	uf := mustUglyFox(t, `uglyfox {
  policies {
    rule "odd" {
      when   = runner.failure_count > 5 && duration(runner.egg) > 0
      action = "terminate"
    }
    rule "all" {
      when   = true
      action = "demote_to_nadir"
    }
  }
}`)
	if action, _, _, err := uf.Decide(domain.RunnerFacts{FailureCount: 1, Egg: "e"}); err != nil || action != domain.ActionDemoteToNadir {
		t.Fatalf("Decide = %q, %v", action, err)
	}
	_, rule, matched, err := uf.Decide(domain.RunnerFacts{FailureCount: 6, Egg: "e"})
	if !errs.Is(err, errs.EINVALID) || rule != "odd" || matched {
		t.Fatalf("Decide = rule %q, matched %v, err %v; want EINVALID from rule odd", rule, matched, err)
	}
}

// TestCondition_concurrent_eval runs one condition from many goroutines (-race).
func TestCondition_concurrent_eval(t *testing.T) {
	uf := mustUglyFox(t, `uglyfox {
  policies {
    rule "r" {
      when   = runner.failure_count >= 3
      action = "terminate"
    }
  }
}`)
	var wg sync.WaitGroup
	results := make(chan bool, 64)
	for i := range 64 {
		wg.Go(func() {
			ok, err := uf.Policies[0].When.Eval(domain.RunnerFacts{FailureCount: i % 6})
			results <- err == nil && ok == (i%6 >= 3)
		})
	}
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Fatal("a concurrent evaluation was wrong")
		}
	}
}
