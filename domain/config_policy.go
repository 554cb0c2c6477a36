package domain

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Condition is the `when` of an UglyFox policy rule: an expression over the
// runner variables (RunnerVariables), checked when the configuration is
// parsed and evaluated per runner. adapters/fly implements it with HCL.
type Condition interface {
	// Source is the expression as written in the file.
	Source() string
	// Variables lists the runner variables the expression reads
	// ("runner.age"), sorted and without duplicates.
	Variables() []string
	// Eval evaluates the expression for one runner.
	Eval(RunnerFacts) (bool, error)
}

// ConditionLocals is implemented by a Condition that can say which locals
// of its file it reads: LocalsJSON returns their values as a JSON object
// ("" when it reads none), so that the condition compiles again from its
// Source elsewhere (UglyFox compiles the rules recorded in the log).
type ConditionLocals interface {
	LocalsJSON() (string, error)
}

// RunnerFacts are the values of the runner variables for one runner. Text
// values are lowercase: State "provisioning", "active", "idle", "busy",
// "failed" or "terminated"; Pool "apex", "nadir" or "" (serverless runners
// have no pool); Type "serverless" or "vm"; Cloud "yandex" or "aws".
type RunnerFacts struct {
	State          string
	Pool           string
	Type           string
	Egg            string
	FailureCount   int
	Age            time.Duration
	IdleFor        time.Duration
	SinceHeartbeat time.Duration
	Cloud          string
	Region         string
}

// VariableKind is the type of a runner variable in a condition.
type VariableKind int

const (
	VarString   VariableKind = iota // text
	VarNumber                       // a whole number
	VarDuration                     // a duration; conditions see it as a number of seconds
)

func (k VariableKind) String() string {
	switch k {
	case VarNumber:
		return "number"
	case VarDuration:
		return "duration"
	}
	return "string"
}

// RunnerVariable is one variable a condition may read, as runner.<Name>.
type RunnerVariable struct {
	Name   string
	Kind   VariableKind
	Doc    string
	Values []string // the closed set of values of a VarString, nil if open
	get    func(RunnerFacts) any
}

// Value returns the variable's value for f: a string, an int or a time.Duration.
func (v RunnerVariable) Value(f RunnerFacts) any { return v.get(f) }

// RunnerVariables is the one table of the variables of policy conditions.
var RunnerVariables = []RunnerVariable{
	{"state", VarString, "the runner's state", []string{"provisioning", "active", "idle", "busy", "failed", "terminated"}, func(f RunnerFacts) any { return f.State }},
	{"pool", VarString, `"" for serverless runners`, []string{RunnerApex.String(), RunnerNadir.String(), ""}, func(f RunnerFacts) any { return f.Pool }},
	{"type", VarString, "", Spellings(EggTypes), func(f RunnerFacts) any { return f.Type }},
	{"egg", VarString, "the egg or eggsbucket name", nil, func(f RunnerFacts) any { return f.Egg }},
	{"failure_count", VarNumber, "heartbeat silences UglyFox recorded since the runner was deployed", nil, func(f RunnerFacts) any { return f.FailureCount }},
	{"age", VarDuration, "time since the runner was deployed", nil, func(f RunnerFacts) any { return f.Age }},
	{"idle_for", VarDuration, "time since the runner last ran a job", nil, func(f RunnerFacts) any { return f.IdleFor }},
	{"since_heartbeat", VarDuration, "time since the last heartbeat", nil, func(f RunnerFacts) any { return f.SinceHeartbeat }},
	{"cloud", VarString, "", Spellings(CloudProviders), func(f RunnerFacts) any { return f.Cloud }},
	{"region", VarString, "the runner's region or zone", nil, func(f RunnerFacts) any { return f.Region }},
}

// Policy actions of UglyFox rules.
const (
	ActionTerminate     = "terminate"
	ActionDemoteToNadir = "demote_to_nadir"
	ActionPromoteToApex = "promote_to_apex"
)

// PolicyActions lists the actions a rule may take.
var PolicyActions = []string{ActionTerminate, ActionDemoteToNadir, ActionPromoteToApex}

// PolicyRule is a `rule` of the uglyfox `policies` block.
type PolicyRule struct {
	Name   string
	When   Condition
	Action string
}

type conditionJSON struct {
	Source    string   `json:"source"`
	Variables []string `json:"variables"`
}

type policyRuleJSON struct {
	Name   string         `json:"name"`
	When   *conditionJSON `json:"when"`
	Action string         `json:"action"`
}

// MarshalJSON encodes the rule with its condition as source text plus the
// variables it reads: {"name", "when": {"source", "variables"}, "action"}.
func (r PolicyRule) MarshalJSON() ([]byte, error) {
	j := policyRuleJSON{Name: r.Name, Action: r.Action}
	if r.When != nil {
		vars := r.When.Variables()
		if vars == nil {
			vars = []string{}
		}
		j.When = &conditionJSON{Source: r.When.Source(), Variables: vars}
	}
	return marshalNoEscape(j)
}

// marshalNoEscape is json.Marshal without HTML escaping, so that conditions
// keep their operators readable ("a > b && c", not "a \u003e b \u0026\u0026 c").
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decide applies the policy rules to one runner in file order: the first
// rule whose condition holds wins. matched is false when no rule holds. An
// evaluation error stops at that rule (a broken rule is not skipped).
func (u UglyFoxSettings) Decide(f RunnerFacts) (action, rule string, matched bool, err error) {
	for _, r := range u.Policies {
		if r.When == nil {
			continue
		}
		ok, err := r.When.Eval(f)
		if err != nil {
			return "", r.Name, false, errs.Wrap(errs.EINVALID, err, "policy rule %s", r.Name)
		}
		if ok {
			return r.Action, r.Name, true, nil
		}
	}
	return "", "", false, nil
}
