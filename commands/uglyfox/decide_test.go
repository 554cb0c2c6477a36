package uglyfox_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/ports"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// now is the sweep's clock in every case: ten hours after t0.
var now = t0.Add(10 * time.Hour)

func mustRule(t testing.TB, name, when, action string) uglyfox.Rule {
	t.Helper()
	c, err := fly.NewConditionCompiler().Compile(when, "")
	if err != nil {
		t.Fatalf("rule %s: %v", name, err)
	}
	return uglyfox.NewRule(name, action, c)
}

// runner is a live Apex runner of egg web deployed at t0, IDLE since t0
// and heard a minute ago, changed by opts.
func runner(id string, opts ...func(*uglyfox.Runner)) uglyfox.Runner {
	r := uglyfox.Runner{
		Row: ports.RunnerRow{ID: id, Egg: "web", Type: "apex", State: "IDLE", Provider: "yandex", Region: "ru-central1-a",
			CreatedAt: t0, DeployedAt: t0, StateSince: t0, Version: 4},
		Heartbeat: ports.Heartbeat{RunnerID: id, At: now.Add(-time.Minute), State: "IDLE"},
		Heard:     true,
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func state(s string, since time.Time) func(*uglyfox.Runner) {
	return func(r *uglyfox.Runner) { r.Row.State, r.Row.StateSince = s, since }
}
func pool(p string, since time.Time) func(*uglyfox.Runner) {
	return func(r *uglyfox.Runner) { r.Row.Type, r.Row.PoolSince = p, since }
}
func heard(at time.Time) func(*uglyfox.Runner) {
	return func(r *uglyfox.Runner) { r.Heartbeat.At = at }
}
func neverHeard(r *uglyfox.Runner) { r.Heard, r.Heartbeat = false, ports.Heartbeat{} }
func deployed(at time.Time) func(*uglyfox.Runner) {
	return func(r *uglyfox.Runner) { r.Row.DeployedAt, r.Row.CreatedAt, r.Row.StateSince = at, at, at }
}
func load(cpu, mem float64) func(*uglyfox.Runner) {
	return func(r *uglyfox.Runner) { r.Heartbeat.CPUPercent, r.Heartbeat.MemoryPercent = cpu, mem }
}
func row(f func(*ports.RunnerRow)) func(*uglyfox.Runner) {
	return func(r *uglyfox.Runner) { f(&r.Row) }
}

// base are the settings of every case before its own changes: silence
// after 3m, no age limit, no rules, no pools.
func base() uglyfox.Settings {
	return uglyfox.Settings{ConfigHash: "sha256:1", CheckInterval: time.Minute, HeartbeatTimeout: 3 * time.Minute}
}

// show prints decisions as "<runner> <kind>[ <action>] <cause>".
func show(ds []uglyfox.Decision) []string {
	out := []string{}
	for _, d := range ds {
		s := fmt.Sprintf("%s %s", d.RunnerID, d.Kind)
		if d.Action != "" {
			s += " " + d.Action
		}
		out = append(out, s+" "+d.Cause)
	}
	return out
}

type decideCase struct {
	name     string
	settings func(t testing.TB, s *uglyfox.Settings)
	runners  []uglyfox.Runner
	limits   map[string]time.Duration
	want     []string
}

func rules(rs ...[3]string) func(testing.TB, *uglyfox.Settings) {
	return func(t testing.TB, s *uglyfox.Settings) {
		for _, r := range rs {
			s.Rules = append(s.Rules, mustRule(t, r[0], r[1], r[2]))
		}
	}
}

var decideCases = []decideCase{
	// Heartbeats.
	{name: "heard_recently_nothing", runners: []uglyfox.Runner{runner("r1")}, want: []string{}},
	{name: "silent_past_timeout_recorded", runners: []uglyfox.Runner{runner("r1", heard(now.Add(-5*time.Minute)))},
		want: []string{"r1 heartbeat_missed pruning.heartbeat_timeout 3m0s"}},
	{name: "silence_already_recorded_not_again", runners: []uglyfox.Runner{runner("r1", heard(now.Add(-5*time.Minute)),
		row(func(r *ports.RunnerRow) { r.Silent, r.LastSeenAt, r.Silences = true, now.Add(-5*time.Minute), 1 }))}, want: []string{}},
	{name: "heard_again_after_silence_resumed", runners: []uglyfox.Runner{runner("r1", heard(now.Add(-10*time.Second)),
		row(func(r *ports.RunnerRow) { r.Silent, r.LastSeenAt, r.Silences = true, now.Add(-5*time.Minute), 1 }))},
		want: []string{"r1 heartbeat_resumed heartbeat"}},
	{name: "never_heard_silent_since_deployed", runners: []uglyfox.Runner{runner("r1", neverHeard, deployed(now.Add(-4*time.Minute)))},
		want: []string{"r1 heartbeat_missed pruning.heartbeat_timeout 3m0s"}},
	{name: "never_heard_within_timeout_nothing", runners: []uglyfox.Runner{runner("r1", neverHeard, deployed(now.Add(-2*time.Minute)))}, want: []string{}},
	{name: "nadir_dormant_not_silent", runners: []uglyfox.Runner{runner("r1", pool("nadir", now.Add(-time.Hour)), heard(now.Add(-time.Hour)))}, want: []string{}},
	{name: "provisioning_and_terminated_ignored", runners: []uglyfox.Runner{runner("r1", neverHeard, state("PROVISIONING", t0)), runner("r2", neverHeard, state("TERMINATED", t0))}, want: []string{}},

	// Pruning.
	{name: "failed_threshold_terminates",
		settings: func(_ testing.TB, s *uglyfox.Settings) { s.FailedThreshold = 3 },
		runners:  []uglyfox.Runner{runner("r1", row(func(r *ports.RunnerRow) { r.Silences = 3 })), runner("r2", row(func(r *ports.RunnerRow) { r.Silences = 2 }))},
		want:     []string{"r1 terminate pruning.failed_threshold 3"}},
	{name: "max_age_terminates_idle",
		settings: func(_ testing.TB, s *uglyfox.Settings) { s.MaxAge = 8 * time.Hour },
		runners:  []uglyfox.Runner{runner("r1"), runner("r2", deployed(now.Add(-time.Hour)))},
		want:     []string{"r1 terminate pruning.max_age 8h0m0s"}},
	{name: "max_age_busy_deferred",
		settings: func(_ testing.TB, s *uglyfox.Settings) { s.MaxAge = 8 * time.Hour },
		runners:  []uglyfox.Runner{runner("r1", state("BUSY", now.Add(-time.Minute)))},
		want:     []string{"r1 deferred terminate pruning.max_age 8h0m0s"}},
	{name: "max_age_busy_deferred_once",
		settings: func(_ testing.TB, s *uglyfox.Settings) { s.MaxAge = 8 * time.Hour },
		runners: []uglyfox.Runner{runner("r1", state("BUSY", now.Add(-time.Minute)),
			row(func(r *ports.RunnerRow) {
				r.DeferredAction, r.DeferredReason = "terminate", "pruning.max_age 8h0m0s: age 10h0m0s"
			}))},
		want: []string{}},
	{name: "deferred_carried_out_when_idle",
		settings: func(_ testing.TB, s *uglyfox.Settings) { s.MaxAge = 0 },
		runners: []uglyfox.Runner{runner("r1", state("IDLE", now.Add(-time.Second)),
			row(func(r *ports.RunnerRow) {
				r.DeferredAction, r.DeferredReason = "terminate", "pruning.max_age 8h0m0s: age 10h0m0s"
			}))},
		want: []string{"r1 terminate deferred terminate"}},
	{name: "termination_asked_not_asked_again",
		settings: func(_ testing.TB, s *uglyfox.Settings) { s.MaxAge = time.Hour },
		runners:  []uglyfox.Runner{runner("r1", row(func(r *ports.RunnerRow) { r.TerminationAskedAt = now.Add(-time.Minute) }))},
		want:     []string{}},
	{name: "busy_past_job_limit_reported",
		runners: []uglyfox.Runner{runner("r1", state("BUSY", now.Add(-2*time.Hour))), runner("r2", state("BUSY", now.Add(-30*time.Minute)))},
		limits:  map[string]time.Duration{"web": time.Hour},
		want:    []string{"r1 job_overran egg web runner.max_job_duration 1h0m0s"}},
	{name: "busy_past_job_limit_reported_once",
		runners: []uglyfox.Runner{runner("r1", state("BUSY", now.Add(-2*time.Hour)), row(func(r *ports.RunnerRow) { r.OverranBusySince = now.Add(-2 * time.Hour) }))},
		limits:  map[string]time.Duration{"web": time.Hour},
		want:    []string{}},

	// Policies.
	{name: "tie_first_rule_wins",
		settings: rules([3]string{"first", `runner.age > duration("1h")`, "terminate"}, [3]string{"second", `runner.idle_for > duration("1h")`, "demote_to_nadir"}),
		runners:  []uglyfox.Runner{runner("r1")},
		want:     []string{`r1 terminate rule "first"`}},
	{name: "tie_order_reversed",
		settings: rules([3]string{"second", `runner.idle_for > duration("1h")`, "demote_to_nadir"}, [3]string{"first", `runner.age > duration("1h")`, "terminate"}),
		runners:  []uglyfox.Runner{runner("r1")},
		want:     []string{`r1 demote_to_nadir rule "second"`}},
	{name: "pruning_before_rules",
		settings: func(t testing.TB, s *uglyfox.Settings) {
			s.MaxAge = time.Hour
			rules([3]string{"demote", `runner.pool == "apex"`, "demote_to_nadir"})(t, s)
		},
		runners: []uglyfox.Runner{runner("r1")},
		want:    []string{"r1 terminate pruning.max_age 1h0m0s"}},
	{name: "busy_demote_deferred",
		settings: rules([3]string{"demote-old", `runner.age > duration("1h")`, "demote_to_nadir"}),
		runners:  []uglyfox.Runner{runner("r1", state("BUSY", now.Add(-time.Minute)))},
		want:     []string{`r1 deferred demote_to_nadir rule "demote-old"`}},
	{name: "busy_terminate_supersedes_deferred_demote",
		settings: rules([3]string{"old", `runner.age > duration("1h")`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", state("BUSY", now.Add(-time.Minute)),
			row(func(r *ports.RunnerRow) { r.DeferredAction, r.DeferredReason = "demote_to_nadir", "rule x" }))},
		want: []string{`r1 deferred terminate rule "old"`}},
	{name: "busy_terminated_by_explicit_state_rule",
		settings: rules([3]string{"kill-stuck", `runner.state == "busy" && runner.age > duration("9h")`, "terminate"}),
		runners:  []uglyfox.Runner{runner("r1", state("BUSY", now.Add(-time.Minute)))},
		want:     []string{`r1 terminate rule "kill-stuck"`}},
	{name: "demote_of_nadir_is_nothing",
		settings: rules([3]string{"demote", `runner.age > duration("1h")`, "demote_to_nadir"}),
		runners:  []uglyfox.Runner{runner("r1", pool("nadir", now.Add(-time.Minute)))},
		want:     []string{}},
	{name: "promote_rule",
		settings: rules([3]string{"wake", `runner.pool == "nadir"`, "promote_to_apex"}),
		runners:  []uglyfox.Runner{runner("r1", pool("nadir", now.Add(-time.Minute))), runner("r2")},
		want:     []string{`r1 promote_to_apex rule "wake"`}},
	// One rule per runner variable: r1 matches, r2 does not.
	{name: "var_state", settings: rules([3]string{"v", `runner.state == "failed"`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", state("FAILED", t0)), runner("r2")}, want: []string{`r1 terminate rule "v"`}},
	{name: "var_pool", settings: rules([3]string{"v", `runner.pool == "apex"`, "demote_to_nadir"}),
		runners: []uglyfox.Runner{runner("r1"), runner("r2", pool("nadir", t0))}, want: []string{`r1 demote_to_nadir rule "v"`}},
	{name: "var_type", settings: rules([3]string{"v", `runner.type == "serverless"`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", pool("serverless", time.Time{})), runner("r2")}, want: []string{`r1 terminate rule "v"`}},
	{name: "var_egg", settings: rules([3]string{"v", `runner.egg == "api"`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", row(func(r *ports.RunnerRow) { r.Egg = "api" })), runner("r2")}, want: []string{`r1 terminate rule "v"`}},
	{name: "var_failure_count", settings: rules([3]string{"v", `runner.failure_count >= 2`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", row(func(r *ports.RunnerRow) { r.Silences = 2 })), runner("r2", row(func(r *ports.RunnerRow) { r.Silences = 1 }))},
		want:    []string{`r1 terminate rule "v"`}},
	{name: "var_age", settings: rules([3]string{"v", `runner.age > duration("5h")`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1"), runner("r2", deployed(now.Add(-time.Hour)))}, want: []string{`r1 terminate rule "v"`}},
	{name: "var_idle_for", settings: rules([3]string{"v", `runner.idle_for > duration("30m")`, "demote_to_nadir"}),
		runners: []uglyfox.Runner{runner("r1"), runner("r2", state("IDLE", now.Add(-10*time.Minute))), runner("r3", state("BUSY", t0))},
		want:    []string{`r1 demote_to_nadir rule "v"`}},
	{name: "var_since_heartbeat", settings: rules([3]string{"v", `runner.since_heartbeat > duration("2m")`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", heard(now.Add(-150*time.Second))), runner("r2")}, want: []string{`r1 terminate rule "v"`}},
	{name: "var_cloud", settings: rules([3]string{"v", `runner.cloud == "aws"`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", row(func(r *ports.RunnerRow) { r.Provider = "aws" })), runner("r2")}, want: []string{`r1 terminate rule "v"`}},
	{name: "var_region", settings: rules([3]string{"v", `runner.region == "ru-central1-b"`, "terminate"}),
		runners: []uglyfox.Runner{runner("r1", row(func(r *ports.RunnerRow) { r.Region = "ru-central1-b" })), runner("r2")}, want: []string{`r1 terminate rule "v"`}},

	// Pools.
	{name: "apex_under_min_promotes_latest_dormant",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMin: 2, ApexMax: 4, NadirMax: 5}),
		runners:  []uglyfox.Runner{runner("a1"), runner("n1", pool("nadir", now.Add(-2*time.Hour))), runner("n2", pool("nadir", now.Add(-time.Hour)))},
		want:     []string{`n2 promote_to_apex runners_condition "default" apex.min_count 2`}},
	{name: "apex_cpu_threshold_promotes",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMin: 1, ApexMax: 4, NadirMax: 5, ApexCPUThreshold: 80, ApexMemoryThreshold: 90}),
		runners:  []uglyfox.Runner{runner("a1", load(95, 10)), runner("a2", load(75, 10)), runner("n1", pool("nadir", now.Add(-time.Hour)))},
		want:     []string{`n1 promote_to_apex runners_condition "default" apex.cpu_threshold 80% (mean CPU of 2 Apex runners 85%)`}},
	{name: "apex_cpu_under_threshold_nothing",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMin: 1, ApexMax: 4, NadirMax: 5, ApexCPUThreshold: 80, ApexMemoryThreshold: 90}),
		runners:  []uglyfox.Runner{runner("a1", load(85, 10)), runner("a2", load(70, 10)), runner("n1", pool("nadir", now.Add(-time.Hour)))},
		want:     []string{}},
	{name: "apex_memory_threshold_at_max_nothing",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMin: 1, ApexMax: 2, NadirMax: 5, ApexCPUThreshold: 80, ApexMemoryThreshold: 50}),
		runners:  []uglyfox.Runner{runner("a1", load(10, 95)), runner("a2", load(10, 95)), runner("n1", pool("nadir", now.Add(-time.Hour)))},
		want:     []string{}},
	{name: "apex_over_max_demotes_longest_idle",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMin: 0, ApexMax: 1, NadirMax: 5}),
		runners:  []uglyfox.Runner{runner("a1", state("IDLE", now.Add(-time.Minute))), runner("a2", state("IDLE", now.Add(-time.Hour))), runner("a3", state("BUSY", now))},
		want:     []string{`a1 demote_to_nadir runners_condition "default" apex.max_count 1`, `a2 demote_to_nadir runners_condition "default" apex.max_count 1`}},
	{name: "apex_over_max_nadir_full_nothing",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMax: 1, NadirMax: 1}),
		runners:  []uglyfox.Runner{runner("a1"), runner("a2"), runner("n1", pool("nadir", now.Add(-time.Minute)))},
		want:     []string{}},
	{name: "nadir_over_max_terminates_oldest",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMax: 5, NadirMax: 1}),
		runners: []uglyfox.Runner{runner("n1", pool("nadir", now.Add(-time.Minute)), deployed(now.Add(-2*time.Hour))),
			runner("n2", pool("nadir", now.Add(-time.Minute)), deployed(now.Add(-3*time.Hour)))},
		want: []string{`n2 terminate runners_condition "default" nadir.max_count 1`}},
	{name: "nadir_idle_timeout_keeps_min",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"web"}, ApexMax: 5, NadirMin: 1, NadirMax: 5, NadirIdleTimeout: 30 * time.Minute}),
		runners: []uglyfox.Runner{runner("n1", pool("nadir", now.Add(-2*time.Hour))), runner("n2", pool("nadir", now.Add(-3*time.Hour))),
			runner("n3", pool("nadir", now.Add(-10*time.Minute)))},
		want: []string{`n1 terminate runners_condition "default" nadir.idle_timeout 30m0s`, `n2 terminate runners_condition "default" nadir.idle_timeout 30m0s`}},
	{name: "egg_outside_every_pool_untouched",
		settings: poolsOf(uglyfox.Pools{Name: "default", Eggs: []string{"api"}, ApexMin: 3, ApexMax: 5, NadirMax: 0}),
		runners:  []uglyfox.Runner{runner("n1", pool("nadir", now.Add(-time.Minute)))},
		want:     []string{}},
}

func poolsOf(ps ...uglyfox.Pools) func(testing.TB, *uglyfox.Settings) {
	return func(_ testing.TB, s *uglyfox.Settings) { s.Pools = ps }
}

func TestDecide(t *testing.T) {
	for _, tc := range decideCases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			if tc.settings != nil {
				tc.settings(t, &s)
			}
			got, errs := uglyfox.Decide(uglyfox.Input{Now: now, Settings: &s, Runners: tc.runners, JobLimits: tc.limits})
			if len(errs) > 0 {
				t.Fatalf("rule errors: %v", errs)
			}
			if g := show(got); !slices.Equal(g, tc.want) {
				t.Fatalf("decisions\n got %q\nwant %q", g, tc.want)
			}
			for _, d := range got {
				if d.Reason == "" || d.Cause == "" {
					t.Errorf("decision %+v has no cause or reason", d)
				}
			}
		})
	}
}

// Every runner variable is read by at least one case's rule.
func TestDecide_cases_cover_every_runner_variable(t *testing.T) {
	var sources []string
	for _, tc := range decideCases {
		if tc.settings == nil {
			continue
		}
		s := base()
		tc.settings(t, &s)
		for _, r := range s.Rules {
			sources = append(sources, r.When.Source())
		}
	}
	all := strings.Join(sources, "\n")
	for _, v := range domain.RunnerVariables {
		if !regexp.MustCompile(`runner\.` + v.Name + `\b`).MatchString(all) {
			t.Errorf("no case reads runner.%s", v.Name)
		}
	}
}

// A BUSY runner past max_age: deferred once, nothing while it stays BUSY
// (the deferral is in its row), terminated once it is IDLE.
func TestDecide_busy_runner_past_max_age_goes_when_idle(t *testing.T) {
	s := base()
	s.MaxAge = 8 * time.Hour
	r := runner("r1", state("BUSY", now.Add(-time.Minute)))
	step := func(r uglyfox.Runner, at time.Time) []string {
		got, _ := uglyfox.Decide(uglyfox.Input{Now: at, Settings: &s, Runners: []uglyfox.Runner{r}})
		return show(got)
	}
	if got := step(r, now); !slices.Equal(got, []string{"r1 deferred terminate pruning.max_age 8h0m0s"}) {
		t.Fatalf("first sweep %q", got)
	}
	r.Row.DeferredAction, r.Row.DeferredReason, r.Row.Version = "terminate", "pruning.max_age 8h0m0s: age 10h0m0s", 5
	if got := step(r, now.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("second sweep, still BUSY: %q", got)
	}
	r.Row.State, r.Row.StateSince, r.Row.Version = "IDLE", now.Add(90*time.Second), 6
	r.Heartbeat.At = now.Add(90 * time.Second)
	got, _ := uglyfox.Decide(uglyfox.Input{Now: now.Add(2 * time.Minute), Settings: &s, Runners: []uglyfox.Runner{r}})
	if len(got) != 1 || got[0].Kind != uglyfox.Terminate || !strings.Contains(got[0].Reason, "pruning.max_age 8h0m0s") {
		t.Fatalf("third sweep, IDLE: %+v", got)
	}
}

// A rule that fails to evaluate is reported and gives its runner no
// policy decision; the later rules are not tried for it.
func TestDecide_rule_error_reported(t *testing.T) {
	s := base()
	s.Rules = []uglyfox.Rule{uglyfox.NewRule("broken", "terminate", failing{}), mustRule(t, "all", "true", "terminate")}
	got, errs := uglyfox.Decide(uglyfox.Input{Now: now, Settings: &s, Runners: []uglyfox.Runner{runner("r1")}})
	if len(got) != 0 || len(errs) != 1 || errs[0].Rule != "broken" || errs[0].RunnerID != "r1" {
		t.Fatalf("decisions %q, errors %v", show(got), errs)
	}
}

type failing struct{}

func (failing) Source() string                        { return "broken" }
func (failing) Variables() []string                   { return nil }
func (failing) Eval(domain.RunnerFacts) (bool, error) { return false, fmt.Errorf("boom") }

// TestDecide_only_an_explicit_state_rule_terminates_a_busy_runner_now: the
// terminate of a rule reading runner.state that matched a BUSY runner asks
// the provisioner to destroy it even under its job; a rule that does not
// read runner.state, or the same rule on an idle runner, never does.
func TestDecide_only_an_explicit_state_rule_terminates_a_busy_runner_now(t *testing.T) {
	for _, tc := range []struct {
		name, when, state string
		want              bool
	}{
		{"state_rule_busy", `runner.state == "busy" && runner.age > duration("9h")`, "BUSY", true},
		{"state_rule_idle", `runner.state != "busy" && runner.age > duration("9h")`, "IDLE", false},
		{"age_rule_busy", `runner.age > duration("9h")`, "BUSY", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			rules([3]string{"r", tc.when, "terminate"})(t, &s)
			got, _ := uglyfox.Decide(uglyfox.Input{Now: now, Settings: &s, Runners: []uglyfox.Runner{runner("r1", state(tc.state, now.Add(-time.Minute)))}})
			even := false
			for _, d := range got {
				even = even || (d.Kind == uglyfox.Terminate && d.EvenIfBusy)
			}
			if even != tc.want {
				t.Fatalf("even if busy: %v, want %v (%s)", even, tc.want, show(got))
			}
		})
	}
}
