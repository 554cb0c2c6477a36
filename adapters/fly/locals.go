package fly

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// localDef is one local value being resolved.
type localDef struct {
	attr  *hclsyntax.Attribute
	state int // unvisited, visiting, done
	ok    bool
}

const (
	unvisited = iota
	visiting
	done
)

// evalLocals evaluates the locals blocks of a file in dependency order (a
// local may use other locals, in any order) and sets up the evaluation
// context of the file's attributes. A local that fails is unknown, so that
// what depends on it is not reported a second time.
func (fc *fileCtx) evalLocals(b *hclsyntax.Body) {
	fc.localsObj = cty.EmptyObjectVal
	var defs map[string]*localDef
	var order []string
	for _, bl := range b.Blocks {
		if bl.Type != "locals" {
			continue
		}
		if defs == nil {
			defs = map[string]*localDef{}
			fc.locals = map[string]cty.Value{}
			fc.localRanges = map[string]hcl.Range{}
		}
		if len(bl.Labels) > 0 {
			fc.errorf(bl.LabelRanges[0], "Extraneous label for locals", "No labels are expected for locals blocks.")
		}
		for _, inner := range bl.Body.Blocks {
			fc.errorf(inner.TypeRange, "Unsupported block type", "Blocks of type %q are not expected in locals; a locals block holds only arguments.", inner.Type)
		}
		for _, a := range sortedAttrs(bl.Body.Attributes) {
			if prev, dup := fc.localRanges[a.Name]; dup {
				fc.errorf(a.NameRange, "Duplicate local value", "local.%s was already defined at line %d.", a.Name, prev.Start.Line)
				continue
			}
			fc.localRanges[a.Name] = a.NameRange
			fc.locals[a.Name] = cty.DynamicVal // defined; its value below
			defs[a.Name] = &localDef{attr: a}
			order = append(order, a.Name)
		}
	}
	if len(order) == 0 {
		return
	}
	for _, name := range order {
		fc.visitLocal(name, defs, 0)
	}
	fc.localsObj = cty.ObjectVal(fc.locals)
	fc.ctx = &hcl.EvalContext{Variables: map[string]cty.Value{"local": fc.localsObj}}
}

// visitLocal evaluates one local after the locals it uses; depth is how
// many locals wait for it (bounded by MaxNesting: the walk recurses).
func (fc *fileCtx) visitLocal(name string, defs map[string]*localDef, depth int) bool {
	d := defs[name]
	switch d.state {
	case done:
		return d.ok
	case visiting:
		return false
	}
	d.state = visiting
	expr := d.attr.Expr
	vars := expr.Variables()
	ok := fc.checkRefs(expr, false)
	for _, tr := range vars {
		if !ok {
			break
		}
		if len(tr) < 2 {
			fc.errorf(tr.SourceRange(), "Invalid local reference", "A local value cannot use the whole local object; refer to local.<name>.")
			ok = false
			break
		}
		dep := tr[1].(hcl.TraverseAttr).Name // checkRefs passed: local.<name>
		switch {
		case dep == name:
			fc.errorf(tr.SourceRange(), "Circular local values", "local.%s refers to itself.", name)
			ok = false
		case defs[dep].state == visiting:
			fc.errorf(tr.SourceRange(), "Circular local values", "local.%s refers to local.%s, which depends on local.%s: local values cannot refer to each other in a cycle.", name, dep, name)
			ok = false
		case defs[dep].state == unvisited && depth >= MaxNesting:
			fc.errorf(tr.SourceRange(), "Local values nest too deep", "local.%s is the end of a chain of more than %d local values that each use the next; shorten the chain.", name, MaxNesting)
			ok = false
		case !fc.visitLocal(dep, defs, depth+1):
			ok = false
		}
	}
	if ok {
		var ctx *hcl.EvalContext
		if len(vars) > 0 {
			// Only the locals it uses: the whole object per local would be
			// quadratic in the number of locals.
			used := make(map[string]cty.Value, len(vars))
			for _, tr := range vars {
				dep := tr[1].(hcl.TraverseAttr).Name
				used[dep] = fc.locals[dep]
			}
			ctx = &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(used)}}
		}
		v, diags := expr.Value(ctx)
		fc.diags = append(fc.diags, diags...)
		ok = !diags.HasErrors() && v.IsWhollyKnown()
		if ok {
			fc.locals[name] = v
		}
	}
	d.state, d.ok = done, ok
	return ok
}
