package fly

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// fileCtx is the state of decoding one file. It collects every diagnostic
// instead of stopping at the first.
type fileCtx struct {
	src   []byte
	diags hcl.Diagnostics
	done  context.Context // cancelled: stop decoding between blocks

	locals      map[string]cty.Value // every defined local; unknown when it failed
	localRanges map[string]hcl.Range // where each local is defined
	localsObj   cty.Value            // local.* as an object
	ctx         *hcl.EvalContext     // for plain attributes (nil without locals)
}

func (fc *fileCtx) diag(sev hcl.DiagnosticSeverity, rng hcl.Range, summary, detail string) {
	fc.diags = append(fc.diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: rng.Ptr()})
}

func (fc *fileCtx) errorf(rng hcl.Range, summary, format string, args ...any) {
	fc.diag(hcl.DiagError, rng, summary, fmt.Sprintf(format, args...))
}

func (fc *fileCtx) warnf(rng hcl.Range, summary, format string, args ...any) {
	fc.diag(hcl.DiagWarning, rng, summary, fmt.Sprintf(format, args...))
}

// sentence turns a domain error into a diagnostic detail.
func sentence(err error) string {
	m := errs.Message(err)
	if m != "" && !strings.HasSuffix(m, ".") {
		m += "."
	}
	return capitalize(m)
}

// node is a decoded block body: its attribute values aligned with the spec,
// and its child blocks per block spec. A node for an absent block has no
// values, so its getters return the defaults.
type node struct {
	spec  *bodySpec
	block *hclsyntax.Block // nil for an absent block or the file body
	rng   hcl.Range        // the block's header, or where it would be
	label string
	vals  []attrValue
	free  []freeValue
	kids  [][]*node
}

// attrValue is one decoded attribute.
type attrValue struct {
	present bool // in the file and not null
	valid   bool // present and passed every check of its spec
	rng     hcl.Range
	s       string
	i       int64
	b       bool
	list    []string
	elems   []hcl.Range // list element ranges (the whole value's range when unknown)
	d       domain.Duration
	cond    *condition
}

// freeValue is an attribute of a body with free attribute names.
type freeValue struct {
	name      string
	nameRange hcl.Range
	v         attrValue
}

func emptyNode(spec *bodySpec, rng hcl.Range) *node {
	return &node{spec: spec, rng: rng, vals: make([]attrValue, len(spec.attrs)), kids: make([][]*node, len(spec.blocks))}
}

func (n *node) val(name string) *attrValue { return &n.vals[n.index(name)] }

func (n *node) index(name string) int {
	i := n.spec.attrIndex(name)
	if i < 0 {
		panic("fly: no attribute " + name + " in spec")
	}
	return i
}

// ok reports whether the attribute is present and valid.
func (n *node) ok(name string) bool { v := n.val(name); return v.valid }

// present reports whether the attribute is in the file (valid or not).
func (n *node) present(name string) bool { return n.val(name).present }

// valueOr is the attribute's value (get of it) when it is valid, else the
// spec's default, else T's zero value.
func valueOr[T any](n *node, name string, get func(*attrValue) T) T {
	i := n.index(name)
	if v := &n.vals[i]; v.valid {
		return get(v)
	}
	d, _ := n.spec.attrs[i].def.(T)
	return d
}

func (n *node) str(name string) string {
	return valueOr(n, name, func(v *attrValue) string { return v.s })
}

func (n *node) int(name string) int64 {
	return valueOr(n, name, func(v *attrValue) int64 { return v.i })
}

func (n *node) bool(name string) bool {
	return valueOr(n, name, func(v *attrValue) bool { return v.b })
}

func (n *node) dur(name string) domain.Duration {
	return valueOr(n, name, func(v *attrValue) domain.Duration { return v.d })
}

// list returns a fresh, non-nil slice.
func (n *node) list(name string) []string {
	return append([]string{}, valueOr(n, name, func(v *attrValue) []string { return v.list })...)
}

// child returns the block of a non-repeating block type, or the spec's
// shared empty node (read only: its getters give the defaults).
func (n *node) child(name string) *node {
	i := n.spec.blockIndex(name)
	if len(n.kids[i]) > 0 {
		return n.kids[i][0]
	}
	bs := n.spec.blocks[i].body
	bs.emptyOnce.Do(func() { bs.empty = emptyNode(bs, hcl.Range{}) })
	return bs.empty
}

func (n *node) children(name string) []*node { return n.kids[n.spec.blockIndex(name)] }

// labelRange is the range of the block's label, or its header.
func (n *node) labelRange() hcl.Range {
	if n.block != nil && len(n.block.LabelRanges) > 0 {
		return n.block.LabelRanges[0]
	}
	return n.rng
}

// sortedAttrs returns a body's attributes in source order.
func sortedAttrs(attrs hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hclsyntax.Attribute) int { return a.SrcRange.Start.Byte - b.SrcRange.Start.Byte })
	return out
}

// decodeBody checks body against spec and decodes it. header is the range
// to report missing items at.
func (fc *fileCtx) decodeBody(b *hclsyntax.Body, spec *bodySpec, header hcl.Range, what string) *node {
	n := emptyNode(spec, header)
	for _, a := range sortedAttrs(b.Attributes) {
		i := spec.attrIndex(a.Name)
		if i < 0 {
			if spec.free != nil {
				fv := freeValue{name: a.Name, nameRange: a.NameRange}
				fc.decodeAttr(a, spec.free, &fv.v)
				n.free = append(n.free, fv)
				continue
			}
			fc.unsupportedArgument(a, spec, what)
			continue
		}
		fc.decodeAttr(a, spec.attrs[i], &n.vals[i])
	}
	for i, as := range spec.attrs {
		if as.required && !n.vals[i].present {
			fc.errorf(header, "Missing required argument", "The argument %q is required in %s, but no definition was found.", as.name, what)
		}
	}
	var named []map[string]*node // per block spec: the first block of each name
	for _, bl := range b.Blocks {
		if fc.done != nil && fc.done.Err() != nil {
			return n // the caller drops a cancelled file
		}
		i := spec.blockIndex(bl.Type)
		if i < 0 {
			fc.unsupportedBlock(bl, spec, what)
			continue
		}
		bs := spec.blocks[i]
		if bs.skip {
			continue
		}
		label := fc.checkLabels(bl, bs)
		if !bs.multi && len(n.kids[i]) > 0 {
			fc.errorf(bl.DefRange(), "Duplicate "+bs.name+" block", "Only one %s block is allowed in %s; another was defined at line %d.",
				bs.name, what, n.kids[i][0].rng.Start.Line)
		}
		var prev *node
		if bs.label != "" && label != "" {
			if named == nil {
				named = make([]map[string]*node, len(spec.blocks))
			}
			if named[i] == nil {
				named[i] = map[string]*node{}
			}
			if prev = named[i][label]; prev != nil {
				fc.errorf(bl.LabelRanges[0], "Duplicate "+bs.name+" name", "The name %q is already used by the %s block at line %d; %s blocks need distinct names.",
					label, bs.name, prev.labelRange().Start.Line, bs.name)
			}
		}
		kidWhat := "the " + bs.name + " block"
		if label != "" {
			kidWhat = fmt.Sprintf("%s %q", bs.name, label)
		}
		kid := fc.decodeBody(bl.Body, bs.body, bl.DefRange(), kidWhat)
		kid.block, kid.label = bl, label
		n.kids[i] = append(n.kids[i], kid)
		if bs.label != "" && label != "" && prev == nil {
			named[i][label] = kid
		}
	}
	for i, bs := range spec.blocks {
		if bs.skip || len(n.kids[i]) >= bs.min {
			continue
		}
		switch {
		case bs.multi:
			fc.errorf(header, "Missing required block", "At least one %s block is required in %s.", bs.name, what)
		default:
			fc.errorf(header, "Missing required block", "%s block is required in %s.", capitalize(article(bs.name)), what)
		}
	}
	return n
}

// checkLabels checks the labels of bl against bs and returns its name ("" if none or invalid).
func (fc *fileCtx) checkLabels(bl *hclsyntax.Block, bs *blockSpec) string {
	if bs.label == "" {
		if len(bl.Labels) > 0 {
			fc.errorf(bl.LabelRanges[0], "Extraneous label for "+bs.name, "No labels are expected for %s blocks.", bs.name)
		}
		return ""
	}
	if len(bl.Labels) == 0 {
		fc.errorf(bl.DefRange(), "Missing name for "+bs.name, "%s block needs one label, its %s: %s \"<name>\" { ... }.", capitalize(article(bs.name)), bs.label, bs.name)
		return ""
	}
	if len(bl.Labels) > 1 {
		fc.errorf(bl.LabelRanges[1], "Extraneous label for "+bs.name, "Only one label, the %s, is expected for %s blocks.", bs.label, bs.name)
	}
	if err := domain.CheckConfigName(bl.Labels[0]); err != nil {
		fc.errorf(bl.LabelRanges[0], "Invalid name", "%s", sentence(err))
		return ""
	}
	return bl.Labels[0]
}

func (fc *fileCtx) unsupportedArgument(a *hclsyntax.Attribute, spec *bodySpec, what string) {
	if spec.blockIndex(a.Name) >= 0 {
		fc.errorf(a.NameRange, "Unsupported argument", "An argument named %q is not expected in %s. Did you mean to define a block of type %q?", a.Name, what, a.Name)
		return
	}
	names := make([]string, len(spec.attrs))
	for i, as := range spec.attrs {
		names[i] = as.name
	}
	if len(names) == 0 {
		fc.errorf(a.NameRange, "Unsupported argument", "An argument named %q is not expected in %s: it holds only blocks.", a.Name, what)
		return
	}
	fc.errorf(a.NameRange, "Unsupported argument", "An argument named %q is not expected in %s.%s", a.Name, what, didYouMean(a.Name, names, "arguments"))
}

func (fc *fileCtx) unsupportedBlock(bl *hclsyntax.Block, spec *bodySpec, what string) {
	if spec.attrIndex(bl.Type) >= 0 {
		fc.errorf(bl.TypeRange, "Unsupported block type", "Blocks of type %q are not expected in %s. Did you mean to define argument %q? If so, use the equals sign to assign it a value.", bl.Type, what, bl.Type)
		return
	}
	var names []string
	for _, bs := range spec.blocks {
		names = append(names, bs.name)
	}
	if len(names) == 0 {
		fc.errorf(bl.TypeRange, "Unsupported block type", "Blocks of type %q are not expected in %s: it holds no blocks.", bl.Type, what)
		return
	}
	fc.errorf(bl.TypeRange, "Unsupported block type", "Blocks of type %q are not expected in %s.%s", bl.Type, what, didYouMean(bl.Type, names, "block types"))
}

// didYouMean suggests the closest of names, or lists them all.
func didYouMean(s string, names []string, what string) string {
	if hint := suggestFrom(s, names); hint != "" {
		return hint
	}
	return " The " + what + " allowed here are: " + strings.Join(names, ", ") + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// eval evaluates a plain attribute expression. It reports problems and
// returns false for a failed or unknown value (unknown: a failed local,
// already reported).
func (fc *fileCtx) eval(expr hclsyntax.Expression) (cty.Value, bool) {
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		return e.Val, true
	case *hclsyntax.TemplateExpr:
		if len(e.Parts) == 1 {
			if lit, ok := e.Parts[0].(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String {
				return lit.Val, true
			}
		}
	}
	if !fc.checkRefs(expr, false) {
		return cty.NilVal, false
	}
	v, diags := expr.Value(fc.ctx)
	fc.diags = append(fc.diags, diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// checkRefs checks the variables an expression reads: local.<name> of this
// file, and runner.<variable> when runner is true.
func (fc *fileCtx) checkRefs(expr hcl.Expression, runner bool) bool {
	ok := true
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		var attrName string
		var isAttr bool
		if len(tr) > 1 {
			var a hcl.TraverseAttr
			a, isAttr = tr[1].(hcl.TraverseAttr)
			attrName = a.Name
		}
		switch {
		case root == "local":
			if len(tr) == 1 {
				continue
			}
			if !isAttr {
				fc.errorf(tr.SourceRange(), "Invalid local reference", "Refer to a local value as local.<name>.")
				ok = false
			} else if _, defined := fc.locals[attrName]; !defined {
				fc.errorf(tr.SourceRange(), "Undefined local value", "There is no local value named %q in this file; locals are defined in a locals block of the same file.%s",
					attrName, suggestFrom(attrName, fc.localNames()))
				ok = false
			}
		case root == "runner" && runner:
			if !isAttr || !isRunnerVariable(attrName) {
				fc.errorf(tr.SourceRange(), "Unknown runner variable", "%s is not a runner variable. The runner variables are %s.",
					traversalText(tr), strings.Join(runnerVariableNames(), ", "))
				ok = false
			}
		default:
			allowed := "Only local.<name> values of this file can be used here."
			if runner {
				allowed = "Only runner.<variable> and local.<name> can be used in a condition."
			}
			fc.errorf(tr.SourceRange(), "Unknown variable", "There is no variable named %q. %s", root, allowed)
			ok = false
		}
	}
	return ok
}

func traversalText(tr hcl.Traversal) string {
	var b strings.Builder
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		default:
			b.WriteString("[...]")
		}
	}
	return b.String()
}

func suggestFrom(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" Did you mean %q?", best)
	}
	return ""
}

func (fc *fileCtx) localNames() []string {
	names := make([]string, 0, len(fc.locals))
	for n := range fc.locals {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// decodeAttr evaluates and checks one attribute against its spec.
func (fc *fileCtx) decodeAttr(a *hclsyntax.Attribute, s *attrSpec, v *attrValue) {
	v.present, v.rng = true, a.Expr.Range()
	if s.typ == tCondition {
		v.cond = fc.condition(a.Expr)
		v.valid = v.cond != nil
		return
	}
	val, ok := fc.eval(a.Expr)
	if !ok {
		return
	}
	if val.IsNull() {
		v.present = false // null means "not set": the default applies
		return
	}
	if s.typ == tAny {
		v.valid = true
		return
	}
	wrongType := func(want string) {
		fc.errorf(v.rng, "Incorrect attribute value type", "Inappropriate value for attribute %q: %s required, got %s.", a.Name, want, val.Type().FriendlyName())
	}
	switch s.typ {
	case tInt:
		if val.Type() != cty.Number {
			wrongType("a number")
			return
		}
		v.i, v.valid = fc.checkInt(a.Name, s, val.AsBigFloat(), v.rng)
	case tBool:
		if val.Type() != cty.Bool {
			wrongType("a bool")
			return
		}
		v.b, v.valid = val.True(), true
	case tStringList, tTagList, tNameList:
		ty := val.Type()
		if !ty.IsTupleType() && !ty.IsListType() {
			wrongType("a list of strings")
			return
		}
		v.list, v.elems, v.valid = fc.checkList(a, s, val)
	default:
		if val.Type() != cty.String {
			wrongType("a string")
			return
		}
		v.s, v.d, v.valid = fc.checkString(a.Name, s, val.AsString(), v.rng)
	}
}

func (fc *fileCtx) checkInt(name string, s *attrSpec, f *big.Float, rng hcl.Range) (int64, bool) {
	if !f.IsInt() {
		fc.errorf(rng, "Invalid value", "%s must be a whole number; got %s.", name, f.Text('g', -1))
		return 0, false
	}
	i, acc := f.Int64()
	if acc != big.Exact || i < s.min || s.max != 0 && i > s.max {
		if s.max != 0 && s.max < maxGitLabID {
			fc.errorf(rng, "Value out of range", "%s must be between %d and %d; got %s.", name, s.min, s.max, f.Text('f', 0))
		} else {
			fc.errorf(rng, "Value out of range", "%s must be a whole number of at least %d; got %s.", name, s.min, f.Text('f', 0))
		}
		return 0, false
	}
	return i, true
}

// checkString checks a string-typed value; for tHost it returns the value lowercased.
func (fc *fileCtx) checkString(name string, s *attrSpec, str string, rng hcl.Range) (string, domain.Duration, bool) {
	var d domain.Duration
	fail := func(summary string, err error) (string, domain.Duration, bool) {
		fc.errorf(rng, summary, "%s", sentence(err))
		return "", d, false
	}
	switch s.typ {
	case tString:
		if str == "" {
			fc.errorf(rng, "Invalid value", "%s must not be empty.", name)
			return "", d, false
		}
	case tName:
		if err := domain.CheckConfigName(str); err != nil {
			return fail("Invalid name", err)
		}
	case tEnum:
		if !slices.Contains(s.enum, str) {
			fc.errorf(rng, "Invalid value", "%s must be one of %s; got %s.%s", name, strings.Join(quoteAll(s.enum), ", "), quoteValue(str), suggestFrom(str, s.enum))
			return "", d, false
		}
	case tDuration:
		var err error
		if d, err = domain.ParseDuration(str); err != nil {
			return fail("Invalid duration", err)
		}
		if d.D < s.dmin || d.D > s.dmax {
			fc.errorf(rng, "Value out of range", "%s must be between %s and %s; got %s.", name, fmtDuration(s.dmin), fmtDuration(s.dmax), quoteValue(str))
			return "", d, false
		}
	case tSecret:
		if _, err := domain.CheckSecretURIShape(str); err != nil {
			return fail("Invalid secret URI", err)
		}
	case tCron:
		if err := domain.CheckSchedule(str); err != nil {
			return fail("Invalid cron schedule", err)
		}
	case tHost:
		if err := domain.CheckGitLabServer(str); err != nil {
			return fail("Invalid host name", err)
		}
		str = strings.ToLower(str)
	case tVersion:
		if err := domain.CheckVersion(str); err != nil {
			return fail("Invalid version", err)
		}
	}
	if s.check != nil {
		if err := s.check(str); err != nil {
			return fail("Invalid value", err)
		}
	}
	return str, d, true
}

func (fc *fileCtx) checkList(a *hclsyntax.Attribute, s *attrSpec, val cty.Value) ([]string, []hcl.Range, bool) {
	var exprs []hclsyntax.Expression
	if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && len(t.Exprs) == val.LengthInt() {
		exprs = t.Exprs
	}
	rng := a.Expr.Range()
	out := make([]string, 0, val.LengthInt())
	ranges := make([]hcl.Range, 0, val.LengthInt())
	ok := true
	seen := make(map[string]int, val.LengthInt()) // element -> its index
	i := 0
	for it := val.ElementIterator(); it.Next(); i++ {
		_, ev := it.Element()
		erng := rng
		if exprs != nil {
			erng = exprs[i].Range()
		}
		if ev.IsNull() || ev.Type() != cty.String {
			fc.errorf(erng, "Incorrect attribute value type", "Inappropriate value for attribute %q: element %d must be a string, got %s.", a.Name, i, ev.Type().FriendlyName())
			ok = false
			continue
		}
		str := ev.AsString()
		var err error
		summary := "Invalid value"
		switch s.typ {
		case tTagList:
			err, summary = domain.CheckTag(str), "Invalid tag"
		case tNameList:
			err, summary = domain.CheckConfigName(str), "Invalid name"
		default:
			if str == "" {
				err = errs.Errorf(errs.EINVALID, "%s: element %d is empty", a.Name, i)
			} else if s.check != nil {
				err = s.check(str)
			}
		}
		if err != nil {
			fc.errorf(erng, summary, "%s", sentence(err))
			ok = false
			continue
		}
		if j, dup := seen[str]; dup {
			fc.errorf(erng, "Duplicate list element", "%s is already in %s (element %d).", quoteValue(str), a.Name, j)
			ok = false
			continue
		}
		seen[str] = len(out)
		out = append(out, str)
		ranges = append(ranges, erng)
	}
	if ok && len(out) < s.minItems {
		fc.errorf(rng, "Invalid value", "%s needs at least %d element(s).", a.Name, s.minItems)
		ok = false
	}
	return out, ranges, ok
}

// fmtDuration prints a limit the way a user would write it ("10m", "3d").
func fmtDuration(d time.Duration) string {
	h := d.Hours()
	switch {
	case h >= 24 && h == float64(int64(h/24))*24:
		return strconv.FormatInt(int64(h/24), 10) + "d"
	case h >= 1 && h == float64(int64(h)):
		return strconv.FormatInt(int64(h), 10) + "h"
	case h*60 >= 1 && h*60 == float64(int64(h*60)):
		return strconv.FormatInt(int64(h*60), 10) + "m"
	}
	return strconv.FormatFloat(h*3600, 'f', -1, 64) + "s"
}
