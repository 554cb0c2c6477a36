package fly

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// condition is the HCL implementation of domain.Condition: the `when`
// expression of a policy rule, type-checked at parse time against the
// runner variables and evaluated per runner. Durations are numbers of
// seconds on both sides: runner.age is the runner's age in seconds and
// duration("1h") is 3600, so runner.age > duration("1h") compares them.
// A condition is safe for concurrent use.
type condition struct {
	src    string
	expr   hcl.Expression
	vars   []string
	locals cty.Value // local.* of the file
}

var _ domain.Condition = (*condition)(nil)

func (c *condition) Source() string      { return c.src }
func (c *condition) Variables() []string { return slices.Clone(c.vars) }

// Eval evaluates the condition with the runner variables of f.
func (c *condition) Eval(f domain.RunnerFacts) (bool, error) {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"runner": runnerValue(f), "local": c.locals},
		Functions: conditionFunctions,
	}
	v, diags := c.expr.Value(ctx)
	if diags.HasErrors() {
		return false, fmt.Errorf("when %s: %s", c.src, diags.Error())
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Bool {
		return false, fmt.Errorf("when %s: the result is not true or false", c.src)
	}
	return v.True(), nil
}

// runnerObjectType is the type of `runner` in conditions.
var runnerObjectType = func() cty.Type {
	attrs := make(map[string]cty.Type, len(domain.RunnerVariables))
	for _, v := range domain.RunnerVariables {
		attrs[v.Name] = cty.String
		if v.Kind != domain.VarString {
			attrs[v.Name] = cty.Number
		}
	}
	return cty.Object(attrs)
}()

// runnerUnknown is `runner` at parse time: every variable of its type, value unknown.
var runnerUnknown = func() cty.Value {
	attrs := make(map[string]cty.Value, len(domain.RunnerVariables))
	for name, ty := range runnerObjectType.AttributeTypes() {
		attrs[name] = cty.UnknownVal(ty)
	}
	return cty.ObjectVal(attrs)
}()

func runnerValue(f domain.RunnerFacts) cty.Value {
	attrs := make(map[string]cty.Value, len(domain.RunnerVariables))
	for _, rv := range domain.RunnerVariables {
		switch x := rv.Value(f).(type) {
		case string:
			attrs[rv.Name] = cty.StringVal(x)
		case int:
			attrs[rv.Name] = cty.NumberIntVal(int64(x))
		case time.Duration:
			attrs[rv.Name] = cty.NumberFloatVal(x.Seconds())
		default:
			panic(fmt.Sprintf("fly: runner variable %s has type %T", rv.Name, x))
		}
	}
	return cty.ObjectVal(attrs)
}

func isRunnerVariable(name string) bool {
	for _, v := range domain.RunnerVariables {
		if v.Name == name {
			return true
		}
	}
	return false
}

func runnerVariableNames() []string {
	names := make([]string, len(domain.RunnerVariables))
	for i, v := range domain.RunnerVariables {
		names[i] = "runner." + v.Name
	}
	return names
}

// durationFunction is duration(text): the seconds of a duration ("1h" -> 3600).
var durationFunction = function.New(&function.Spec{
	Description: `The number of seconds of a duration such as "90s", "10m", "1h30m" or "3d".`,
	Params:      []function.Parameter{{Name: "text", Type: cty.String}},
	Type:        function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		d, err := domain.ParseDuration(args[0].AsString())
		if err != nil {
			return cty.UnknownVal(cty.Number), errors.New(errs.Message(err))
		}
		return cty.NumberFloatVal(d.D.Seconds()), nil
	},
})

var conditionFunctions = map[string]function.Function{"duration": durationFunction}

// condition builds the condition of a `when` expression: only runner
// variables, locals and duration() may be used, and the result must be a bool.
func (fc *fileCtx) condition(expr hcl.Expression) *condition {
	if !fc.checkRefs(expr, true) {
		return nil
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"runner": runnerUnknown, "local": fc.localsObj},
		Functions: conditionFunctions,
	}
	v, diags := expr.Value(ctx)
	fc.diags = append(fc.diags, diags...)
	if diags.HasErrors() {
		return nil
	}
	ty := v.Type()
	if ty == cty.DynamicPseudoType && !v.IsKnown() {
		return nil // a failed local, already reported
	}
	if ty != cty.Bool || v.IsNull() {
		what := ty.FriendlyName()
		if v.IsNull() {
			what = "null"
		}
		fc.errorf(expr.Range(), "Condition is not boolean", "The when expression returns %s; it must return a bool (true or false), for example runner.age > duration(\"1h\").", article(what))
		return nil
	}
	// Unknown values let some mistakes through ("apex" > 3 is only an
	// error once the string is known): evaluate once more with sample facts.
	sample := &hcl.EvalContext{
		Variables: map[string]cty.Value{"runner": runnerValue(sampleFacts), "local": fc.localsObj},
		Functions: conditionFunctions,
	}
	if _, diags := expr.Value(sample); diags.HasErrors() {
		for _, d := range diags {
			d.Expression, d.EvalContext = nil, nil // do not show the sample values as if they were real
		}
		fc.diags = append(fc.diags, diags...)
		return nil
	}
	fc.checkComparisons(expr)
	rng := expr.Range()
	c := &condition{
		src:    strings.TrimSpace(string(rng.SliceBytes(fc.src))),
		expr:   expr,
		locals: fc.localsObj,
	}
	for _, tr := range expr.Variables() {
		if tr.RootName() != "runner" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && !slices.Contains(c.vars, "runner."+a.Name) {
			c.vars = append(c.vars, "runner."+a.Name)
		}
	}
	slices.Sort(c.vars)
	if c.vars == nil {
		c.vars = []string{}
	}
	return c
}

// sampleFacts are plausible runner facts for checking conditions; the
// durations are odd values so that no expression divides by zero by chance.
var sampleFacts = domain.RunnerFacts{
	State: "active", Pool: "apex", Type: domain.EggVM.String(), Egg: "sample-egg", FailureCount: 2,
	Age: 90061 * time.Second, IdleFor: 3723 * time.Second, SinceHeartbeat: 47 * time.Second,
	Cloud: domain.ProviderYandex.String(), Region: "ru-central1-a",
}

// checkComparisons warns about runner.<variable> == "<text>" (or !=) where
// the text is outside the variable's closed set of values.
func (fc *fileCtx) checkComparisons(expr hcl.Expression) {
	se, ok := expr.(hclsyntax.Expression)
	if !ok {
		return
	}
	// The visitor adds its warnings to fc itself and returns none.
	_ = hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
		op, ok := n.(*hclsyntax.BinaryOpExpr)
		if !ok || op.Op != hclsyntax.OpEqual && op.Op != hclsyntax.OpNotEqual {
			return nil
		}
		for _, pair := range [][2]hclsyntax.Expression{{op.LHS, op.RHS}, {op.RHS, op.LHS}} {
			v, ok := closedVariable(pair[0])
			if !ok {
				continue
			}
			lit, ok := stringLiteral(pair[1])
			if !ok || slices.Contains(v.Values, lit) {
				continue
			}
			always := "false"
			if op.Op == hclsyntax.OpNotEqual {
				always = "true"
			}
			fc.warnf(pair[1].Range(), "Value never matches", "runner.%s is one of %s; %q is none of these, so this comparison is always %s.",
				v.Name, strings.Join(quoteAll(v.Values), ", "), lit, always)
		}
		return nil
	})
}

func closedVariable(e hclsyntax.Expression) (domain.RunnerVariable, bool) {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "runner" {
		return domain.RunnerVariable{}, false
	}
	a, ok := st.Traversal[1].(hcl.TraverseAttr)
	if !ok {
		return domain.RunnerVariable{}, false
	}
	for _, v := range domain.RunnerVariables {
		if v.Name == a.Name && v.Values != nil {
			return v, true
		}
	}
	return domain.RunnerVariable{}, false
}

func stringLiteral(e hclsyntax.Expression) (string, bool) {
	switch e := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		if e.Val.Type() == cty.String && e.Val.IsKnown() && !e.Val.IsNull() {
			return e.Val.AsString(), true
		}
	case *hclsyntax.TemplateExpr:
		if len(e.Parts) == 1 {
			return stringLiteral(e.Parts[0])
		}
	}
	return "", false
}

// article returns s with "a" or "an" before it ("null" as is).
func article(s string) string {
	if s == "null" || s == "" {
		return s
	}
	if strings.IndexByte("aeiou", s[0]) >= 0 {
		return "an " + s
	}
	return "a " + s
}
