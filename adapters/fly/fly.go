// Package fly parses the .fly files of a Nest (HCL native syntax, through
// hashicorp/hcl/v2) into the typed configuration of package domain.
//
// The schema is strict and held as data (schema.go): every attribute has a
// type, a range and a default, unknown attributes and blocks are errors, and
// every problem of a file is reported at once as an hcl.Diagnostic with its
// position. ExplainSchema renders the same tables. LoadNest walks a whole
// Nest, enforces where each block lives and checks across files.
//
// Decoding is done by hand over the hclsyntax tree rather than with gohcl:
// it keeps every problem with its exact range and avoids reflection.
package fly

import (
	"context"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// SchemaVersion is the version of the `gosling parse` JSON shape.
const SchemaVersion = 1

// Kind is what a .fly file holds, as named by `gosling parse --type`.
type Kind string

const (
	KindEgg         Kind = "egg"
	KindEggsBucket  Kind = "eggsbucket"
	KindJob         Kind = "job"
	KindUglyFox     Kind = "uglyfox"
	KindMotherGoose Kind = "mothergoose"
)

// Kinds lists every kind.
var Kinds = []Kind{KindEgg, KindEggsBucket, KindJob, KindUglyFox, KindMotherGoose}

// ParseKind returns the kind spelled s ("egg").
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", errs.Errorf(errs.EINVALID, "kind %q is not one of %s", s, strings.Join(names, ", "))
}

// File is the typed content of one .fly file.
type File struct {
	Eggs               []domain.EggConfig
	Buckets            []domain.EggsBucketConfig
	Jobs               []domain.JobConfig
	UglyFox            []domain.UglyFoxSettings
	MotherGoose        []domain.MotherGooseConfig
	UglyFoxDeployments []domain.UglyFoxDeploymentConfig
}

// Parser parses .fly files and keeps them, so that diagnostics can be
// rendered with source snippets (Files). A Parser is not safe for
// concurrent use; LoadNest parallelizes internally.
type Parser struct {
	hp *hclparse.Parser
}

// NewParser returns a parser with no files.
func NewParser() *Parser { return &Parser{hp: hclparse.NewParser()} }

// Files returns the files parsed so far by name, for WriteDiagnosticsText.
func (p *Parser) Files() map[string]*hcl.File { return p.hp.Files() }

// ParseFile parses any .fly file and returns its typed content, or nil and
// the diagnostics when it has errors. The diagnostics (warnings included)
// are every problem of the file, sorted by position (at most
// MaxDiagnosticsPerFile of them, then one that counts the rest). Parsing the
// same name again replaces the kept file. A cancelled ctx stops the decoding
// between blocks, with an error diagnostic.
func (p *Parser) ParseFile(ctx context.Context, filename string, src []byte) (*File, hcl.Diagnostics) {
	f, res, diags := parseSource(ctx, filename, src)
	p.keep(filename, f)
	if diags.HasErrors() {
		return nil, diags
	}
	return &res.file, diags
}

func (p *Parser) keep(filename string, f *hcl.File) {
	if f != nil {
		p.hp.AddFile(filename, f)
	}
}

// ParseKind parses a file that must hold exactly the given kind and returns
// its value: domain.EggConfig, domain.EggsBucketConfig, domain.JobConfig,
// domain.UglyFoxSettings or (KindMotherGoose) domain.ControlPlaneConfig,
// the mothergoose blocks with their uglyfox_deployment blocks. It returns
// nil when the diagnostics have errors.
func (p *Parser) ParseKind(ctx context.Context, kind Kind, filename string, src []byte) (any, hcl.Diagnostics) {
	rule, ok := kindRules[kind]
	if !ok {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown kind", Detail: "Kind " + string(kind) + " is not a kind of .fly file."}}
	}
	f, res, diags := parseSource(ctx, filename, src)
	p.keep(filename, f)
	if res != nil {
		diags = capDiagnostics(append(diags, rule.check(filename, res.blocks, "")...))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	switch kind {
	case KindEgg:
		return res.file.Eggs[0], diags
	case KindEggsBucket:
		return res.file.Buckets[0], diags
	case KindJob:
		return res.file.Jobs[0], diags
	case KindUglyFox:
		return res.file.UglyFox[0], diags
	default:
		return domain.ControlPlaneConfig{MotherGoose: res.file.MotherGoose, UglyFoxDeployments: res.file.UglyFoxDeployments}, diags
	}
}

// placement says which top-level blocks a file may hold.
type placement struct {
	where   string   // the file, as the user knows it ("Eggs/<name>/config.fly")
	allowed []string // block types
	one     bool     // exactly one block of the allowed types
	need    string   // at least one block of this type (when !one)
	label   string   // "folder" or "file": the label equals that name
}

// The Nest layout (LoadNest), also used by ParseKind.
var (
	eggPlacement = placement{where: "Eggs/<name>/config.fly", allowed: []string{"egg", "eggsbucket"}, one: true, label: "folder"}
	jobPlacement = placement{where: "Jobs/<name>.fly", allowed: []string{"job"}, one: true, label: "file"}
	ufPlacement  = placement{where: "UF/config.fly", allowed: []string{"uglyfox"}, one: true}
	mgPlacement  = placement{where: "MG/config.fly", allowed: []string{"mothergoose", "uglyfox_deployment"}, need: "mothergoose"}

	nestPlacements = []placement{eggPlacement, jobPlacement, ufPlacement, mgPlacement}

	kindRules = map[Kind]placement{
		KindEgg:         {where: "a file of kind egg", allowed: []string{"egg"}, one: true},
		KindEggsBucket:  {where: "a file of kind eggsbucket", allowed: []string{"eggsbucket"}, one: true},
		KindJob:         {where: "a file of kind job", allowed: []string{"job"}, one: true},
		KindUglyFox:     {where: "a file of kind uglyfox", allowed: []string{"uglyfox"}, one: true},
		KindMotherGoose: {where: "a file of kind mothergoose", allowed: mgPlacement.allowed, need: "mothergoose"},
	}
)

// home says where a block type belongs in a Nest.
func home(typ string) string {
	for _, pl := range nestPlacements {
		if slices.Contains(pl.allowed, typ) {
			return pl.where
		}
	}
	return "any file"
}

func (pl placement) what() string {
	if pl.one {
		return "exactly one " + strings.Join(pl.allowed, " or ") + " block"
	}
	return "one or more " + pl.need + " blocks (and " + strings.Join(pl.allowed[1:], ", ") + " blocks)"
}

// check reports blocks that do not belong in the file, a missing or extra
// block, and (with want set) a label that differs from the folder or file name.
func (pl placement) check(filename string, blocks []topBlock, want string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	add := func(rng hcl.Range, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
	}
	count, needed := 0, 0
	var first *topBlock
	for i, b := range blocks {
		if !slices.Contains(pl.allowed, b.typ) {
			add(b.typeRange, "Block not allowed in this file", "A "+b.typ+" block belongs in "+home(b.typ)+"; "+pl.where+" holds "+pl.what()+".")
			continue
		}
		count++
		if b.typ == pl.need {
			needed++
		}
		if pl.one && count > 1 {
			add(b.typeRange, "Extra block", pl.where+" holds "+pl.what()+"; the first was defined at line "+itoa(first.typeRange.Start.Line)+".")
			continue
		}
		if first == nil {
			first = &blocks[i]
		}
		if pl.label != "" && want != "" && b.name != "" && b.name != want {
			add(b.labelRange, "Label does not match "+pl.label+" name",
				"The "+b.typ+" is named \""+b.name+"\" but its "+pl.label+" is \""+want+"\"; in "+pl.where+" the label equals the "+pl.label+" name. Rename one of them.")
		}
	}
	switch {
	case pl.one && count == 0:
		add(fileStart(filename), "Missing block", pl.where+" must hold "+pl.what()+".")
	case pl.need != "" && needed == 0:
		add(fileStart(filename), "Missing block", pl.where+" must hold "+pl.what()+".")
	}
	return diags
}
