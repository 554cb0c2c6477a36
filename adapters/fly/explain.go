package fly

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/polar-gosling/polar-gosling/domain"
)

// ExplainSchema returns the schema of the .fly language for people
// (`gosling validate --explain`): every block and attribute with its type,
// range and default, rendered from the tables the parser checks against,
// followed by the rules the tables cannot show.
func ExplainSchema() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("The .fly language, schema version %d. Generated from the parser's own tables.\n\n", SchemaVersion)

	w("WHERE FILES LIVE\n")
	for _, pl := range nestPlacements {
		line := pl.what()
		if pl.label != "" {
			line += "; its label equals the " + pl.label + " name"
		}
		w("  %-24s %s\n", pl.where, line)
	}
	w("  Any file may also hold locals blocks. A .fly file anywhere else is an error; other files\n")
	w("  and hidden folders (.git) are ignored. An egg folder without config.fly is a warning.\n")
	w("  A symbolic link to a .fly file is read; one that loops, dangles or leads to a folder is an error.\n\n")

	w("LIMITS\n")
	w("  A .fly file holds at most %d bytes (%d MiB) and nests at most %d levels: each parenthesis,\n", MaxFileSize, MaxFileSize>>20, MaxNesting)
	w("  bracket, brace (blocks, objects), ${...} or %%{if}/%%{for} counts one, and so does every\n")
	w("  operator of one expression (!, -, +, &&, ==, ?:, indexing), counted again after a comma or\n")
	w("  a new line; a chain of local values that each use the next counts one per local. A file\n")
	w("  over either is one error and is not parsed. A file reports its first %d problems.\n\n", MaxDiagnosticsPerFile)

	w("NAMES\n")
	w("  Every block label is a name: ^[a-z][a-z0-9-]{0,62}$ (a DNS label: names become cloud\n")
	w("  resource names). Labels are unique among the blocks of one type in one place; egg and\n")
	w("  eggsbucket names share one namespace across the Nest, and job names are unique too.\n\n")

	w("SYNTAX\n")
	w("  HCL native syntax. Every attribute has the type shown; values are not converted\n")
	w("  (\"2\" is not a number). null means \"not set\": the default applies. Expressions may\n")
	w("  use local.<name> of the same file; no functions are available outside `when`.\n")
	w("  Unknown attributes and blocks are errors. Every problem of a file is reported at once;\n")
	w("  a file with a syntax error reports only its syntax errors.\n\n")

	w("BLOCKS\n")
	for _, bs := range fileSpec.blocks {
		explainBlock(&b, bs, 1)
		b.WriteString("\n")
	}

	w("VALUE TYPES\n")
	w("  duration    a Go duration plus d for 24h: \"90s\", \"10m\", \"1h30m\", \"3d\", \"1.5h\"; no sign.\n")
	w("              JSON gives {\"text\": \"10m\", \"seconds\": 600}.\n")
	w("  cron        five fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC,\n")
	w("              day of week 0-7 or SUN-SAT) with *, lists (,), ranges (-) and steps (/), each\n")
	w("              field checked on its own; or one of %s.\n", strings.Join(domain.ScheduleMacros, ", "))
	w("  tag         ^[a-zA-Z0-9_.:-]+$ (GitLab runner tags); no duplicates in a list.\n")
	w("  host name   a fully qualified host name, no scheme, port or path.\n")
	w("  version     MAJOR.MINOR.PATCH[-prerelease], without a leading v.\n")
	w("  secret URI  checked for shape only; the secret is never read by the parser:\n")
	for _, sh := range domain.SecretShapes {
		local := ""
		if sh.Local {
			local = "   (local/embedded use: a warning with a cloud provider)"
		}
		w("                %s%s\n", sh.Shape, local)
	}
	w("              No spaces, '?' or '#'; no empty path segments. In environment blocks, a\n")
	w("              value starting with one of these schemes is checked as a secret URI.\n\n")

	w("SECRET CONVENTIONS\n")
	w("  A gitlab block without token_secret / webhook_secret gets\n")
	w("    <scheme>://gitlab/<server>/<owner>/runner-token   and   .../webhook-secret\n")
	w("  where <scheme> is the provider's store (yandex: %s, aws: %s) and <owner> is the egg\n",
		domain.SecretSchemeFor(domain.ProviderYandex), domain.SecretSchemeFor(domain.ProviderAWS))
	w("  name, or <bucket>/<repo> for a repo of an eggsbucket.\n\n")

	w("REGIONS (the one table, domain.KnownRegions; a missing region is added there)\n")
	for _, p := range domain.CloudProviders {
		w("  %-7s %s\n", p, wrap(strings.Join(domain.KnownRegions[p], ", "), 80, "          "))
	}
	w("  aws also accepts an availability zone of a listed region (eu-central-1a).\n\n")

	w("POLICY CONDITIONS (uglyfox policies, rule.when)\n")
	w("  An HCL expression that must return a bool, checked when the file is parsed and\n")
	w("  evaluated per runner; rules apply in file order and the first match wins.\n")
	w("  Variables (durations are numbers of seconds):\n")
	for _, v := range domain.RunnerVariables {
		doc := v.Doc
		if v.Values != nil {
			doc = strings.TrimPrefix(strings.Join(quoteAll(v.Values), " | ")+"; "+doc, "; ")
			doc = strings.TrimSuffix(doc, "; ")
		}
		w("    runner.%-16s %-8s %s\n", v.Name, v.Kind, doc)
	}
	w("  Comparing a variable of a closed set with a string outside it (runner.pool == \"Apex\")\n")
	w("  is a warning: the comparison never matches.\n")
	w("  Function: duration(text) returns the seconds of a duration: duration(\"1h\") == 3600.\n")
	w("  Also local.<name> of the same file. Any other variable or function is an error.\n")
	w("  Example: runner.failure_count >= 3 && runner.age > duration(\"1h\")\n\n")

	w("CHECKS ACROSS FILES (LoadNest)\n")
	w("  - eggs_entities name eggs or eggsbuckets of the Nest; an egg is in one runners_condition\n")
	w("    at most; a serverless egg there is a warning (pools apply to vm eggs).\n")
	w("  - no GitLab project or group is claimed twice on one server (eggs and bucket repos).\n")
	w("  - egg/eggsbucket names and job names are unique across the Nest.\n")
	w("  - uglyfox_deployment.mothergoose names a mothergoose block of the same file.\n\n")

	w("WARNINGS (reported, but the configuration is valid)\n")
	w("  - a local secret scheme (env://, file://) used with a cloud provider;\n")
	w("  - disk set on a serverless egg (ignored);\n")
	w("  - a serverless egg in eggs_entities; an egg folder without config.fly; an empty Nest.\n")
	return b.String()
}

func explainBlock(b *strings.Builder, bs *blockSpec, depth int) {
	ind := strings.Repeat("  ", depth)
	head := bs.name
	if bs.label != "" {
		head += ` "<` + bs.label + `>"`
	}
	head += " {"
	var notes []string
	switch {
	case bs.min == 1 && bs.multi:
		notes = append(notes, "at least one")
	case bs.min == 1:
		notes = append(notes, "required")
	case bs.multi:
		notes = append(notes, "any number")
	default:
		notes = append(notes, "optional")
	}
	if bs.note != "" {
		notes = append(notes, bs.note)
	}
	line(b, ind+head, strings.Join(notes, "; "))
	if bs.body.free != nil {
		line(b, ind+"  "+bs.body.free.name+" = "+bs.body.free.typ.String(), bs.body.freeOn+"; "+bs.body.free.note)
	}
	for _, a := range bs.body.attrs {
		line(b, ind+"  "+a.name+" = "+a.typ.String(), attrNotes(a))
	}
	for _, kid := range bs.body.blocks {
		explainBlock(b, kid, depth+1)
	}
	b.WriteString(ind + "}\n")
}

func line(b *strings.Builder, left, comment string) {
	if comment == "" {
		b.WriteString(left + "\n")
		return
	}
	fmt.Fprintf(b, "%-44s # %s\n", left, comment)
}

func attrNotes(a *attrSpec) string {
	var parts []string
	if a.required {
		parts = append(parts, "required")
	}
	switch {
	case a.enum != nil:
		parts = append(parts, "one of "+strings.Join(quoteAll(a.enum), ", "))
	case a.typ == tInt && a.max != 0 && a.max < maxGitLabID:
		parts = append(parts, fmt.Sprintf("%d..%d", a.min, a.max))
	case a.typ == tInt:
		parts = append(parts, fmt.Sprintf(">= %d", a.min))
	case a.typ == tDuration:
		parts = append(parts, fmtDuration(a.dmin)+".."+fmtDuration(a.dmax))
	}
	if a.minItems > 0 {
		parts = append(parts, fmt.Sprintf("at least %d element(s)", a.minItems))
	}
	if a.rule != "" {
		parts = append(parts, a.rule)
	}
	switch d := a.def.(type) {
	case nil:
		if a.defDoc != "" {
			parts = append(parts, "default "+a.defDoc)
		}
	case string:
		parts = append(parts, "default "+strconv.Quote(d))
	case int64:
		parts = append(parts, fmt.Sprintf("default %d", d))
	case bool:
		parts = append(parts, fmt.Sprintf("default %t", d))
	case []string:
		parts = append(parts, "default []")
	case domain.Duration:
		parts = append(parts, "default "+strconv.Quote(d.Text))
	}
	if a.note != "" {
		parts = append(parts, a.note)
	}
	return strings.Join(parts, "; ")
}

// wrap breaks s at ", " so that lines stay under width.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	col := 0
	for i, item := range strings.Split(s, ", ") {
		if i > 0 {
			b.WriteString(",")
			col++
			if col+len(item)+1 > width {
				b.WriteString("\n" + indent)
				col = len(indent)
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(item)
		col += len(item)
	}
	return b.String()
}
