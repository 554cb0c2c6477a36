package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// fakeCondition holds when pred holds; it stands for the HCL condition of adapters/fly.
type fakeCondition struct {
	src  string
	pred func(domain.RunnerFacts) (bool, error)
}

func (c fakeCondition) Source() string                          { return c.src }
func (c fakeCondition) Variables() []string                     { return []string{"runner.age"} }
func (c fakeCondition) Eval(f domain.RunnerFacts) (bool, error) { return c.pred(f) }

func TestUglyFoxSettings_Decide(t *testing.T) {
	old := fakeCondition{"runner.age > 3600", func(f domain.RunnerFacts) (bool, error) { return f.Age > time.Hour, nil }}
	failed := fakeCondition{`runner.state == "failed"`, func(f domain.RunnerFacts) (bool, error) { return f.State == "failed", nil }}
	broken := fakeCondition{"broken", func(domain.RunnerFacts) (bool, error) { return false, errors.New("boom") }}
	u := domain.UglyFoxSettings{Policies: []domain.PolicyRule{
		{Name: "old", When: old, Action: domain.ActionTerminate},
		{Name: "failed", When: failed, Action: domain.ActionDemoteToNadir},
		{Name: "broken", When: broken, Action: domain.ActionPromoteToApex},
	}}
	tests := []struct {
		name    string
		facts   domain.RunnerFacts
		action  string
		rule    string
		errCode string
	}{
		{"first_rule", domain.RunnerFacts{Age: 2 * time.Hour, State: "failed"}, domain.ActionTerminate, "old", ""},
		{"second_rule", domain.RunnerFacts{State: "failed"}, domain.ActionDemoteToNadir, "failed", ""},
		{"error_is_not_skipped", domain.RunnerFacts{State: "idle"}, "", "broken", errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			action, rule, matched, err := u.Decide(tc.facts)
			wantCode(t, err, tc.errCode)
			if action != tc.action || rule != tc.rule || matched != (tc.action != "") {
				t.Errorf("Decide = %q, %q, %v", action, rule, matched)
			}
		})
	}
	if _, _, matched, err := (domain.UglyFoxSettings{}).Decide(domain.RunnerFacts{}); matched || err != nil {
		t.Errorf("no rules: matched %v, %v", matched, err)
	}
}

func TestPolicyRule_JSON(t *testing.T) {
	r := domain.PolicyRule{Name: "old", Action: domain.ActionTerminate,
		When: fakeCondition{src: `runner.age > duration("1h") && runner.pool == "apex"`}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the parse output does; json.Marshal would write \u003e for >
	err := enc.Encode(r)
	want := `{"name":"old","when":{"source":"runner.age > duration(\"1h\") && runner.pool == \"apex\"","variables":["runner.age"]},"action":"terminate"}` + "\n"
	if err != nil || buf.String() != want {
		t.Errorf("Encode =\n%s, %v\nwant\n%s", buf.String(), err, want)
	}
}

func TestRunnerVariables_values(t *testing.T) {
	f := domain.RunnerFacts{State: "idle", Pool: "apex", Type: "vm", Egg: "e", FailureCount: 2, Age: time.Minute,
		IdleFor: time.Second, SinceHeartbeat: time.Hour, Cloud: "aws", Region: "eu-west-1"}
	got := map[string]any{}
	for _, v := range domain.RunnerVariables {
		got[v.Name] = v.Value(f)
		switch v.Value(f).(type) {
		case string:
			if v.Kind != domain.VarString {
				t.Errorf("%s: a string of kind %s", v.Name, v.Kind)
			}
		case int:
			if v.Kind != domain.VarNumber {
				t.Errorf("%s: an int of kind %s", v.Name, v.Kind)
			}
		case time.Duration:
			if v.Kind != domain.VarDuration {
				t.Errorf("%s: a duration of kind %s", v.Name, v.Kind)
			}
		}
	}
	if len(got) != 10 || got["since_heartbeat"] != time.Hour || got["failure_count"] != 2 || got["region"] != "eu-west-1" {
		t.Errorf("values = %v", got)
	}
}
