package fly

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// MaxConditionSource bounds the source text Compile accepts, in bytes.
const MaxConditionSource = 16 << 10

// ConditionCompiler compiles a policy rule's `when` from its source text
// (as recorded in uglyfox.config_synced) with the checks the parser makes,
// so a rule that parsed compiles to the same condition. It is UglyFox's
// port (commands/uglyfox.ConditionCompiler).
type ConditionCompiler struct{}

// NewConditionCompiler returns the compiler.
func NewConditionCompiler() ConditionCompiler { return ConditionCompiler{} }

// Compile compiles source; locals is the JSON object of the file locals it
// reads (domain.ConditionLocals), "" for none. Every diagnostic is in the
// EINVALID error.
func (ConditionCompiler) Compile(source, locals string) (domain.Condition, error) {
	if len(source) > MaxConditionSource {
		return nil, errs.Errorf(errs.EINVALID, "condition: %d bytes, more than %d", len(source), MaxConditionSource)
	}
	fc := &fileCtx{src: []byte(source), done: context.Background(), locals: map[string]cty.Value{}, localRanges: map[string]hcl.Range{}, localsObj: cty.EmptyObjectVal}
	if locals != "" {
		var obj ctyjson.SimpleJSONValue
		if err := obj.UnmarshalJSON([]byte(locals)); err != nil {
			return nil, errs.Wrap(errs.EINVALID, err, "condition %s: locals", source)
		}
		if !obj.Type().IsObjectType() {
			return nil, errs.Errorf(errs.EINVALID, "condition %s: locals are %s, not an object", source, obj.Type().FriendlyName())
		}
		for name, v := range obj.AsValueMap() {
			fc.locals[name] = v
		}
		fc.localsObj = cty.ObjectVal(fc.locals)
	}
	expr, diags := hclsyntax.ParseExpression(fc.src, "when", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, errs.Errorf(errs.EINVALID, "condition %s: %s", source, diags.Error())
	}
	c := fc.condition(expr)
	if fc.diags.HasErrors() || c == nil {
		return nil, errs.Errorf(errs.EINVALID, "condition %s: %s", source, fc.diags.Errs()[0].Error()+moreErrors(fc.diags))
	}
	return c, nil
}

func moreErrors(d hcl.Diagnostics) string {
	if n := len(d.Errs()); n > 1 {
		var b strings.Builder
		for _, e := range d.Errs()[1:] {
			b.WriteString("; " + e.Error())
		}
		return b.String()
	}
	return ""
}

// LocalsJSON returns the locals the condition reads as a JSON object
// ({"old": "72h"}: cty's simple JSON, types implied), "" when it reads none.
func (c *condition) LocalsJSON() (string, error) {
	var names []string
	for _, tr := range c.expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && !slices.Contains(names, a.Name) {
			names = append(names, a.Name)
		}
	}
	if len(names) == 0 || c.locals.IsNull() || !c.locals.Type().IsObjectType() {
		return "", nil
	}
	read := make(map[string]cty.Value, len(names))
	for _, n := range names {
		if !c.locals.Type().HasAttribute(n) {
			return "", errors.New("fly: condition reads an undefined local " + n)
		}
		read[n] = c.locals.GetAttr(n)
	}
	b, err := ctyjson.SimpleJSONValue{Value: cty.ObjectVal(read)}.MarshalJSON()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

var _ domain.ConditionLocals = (*condition)(nil)
