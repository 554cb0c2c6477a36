package fly

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// sortDiagnostics orders diagnostics by file and position (those without a
// position first), keeping the order of equal positions.
func sortDiagnostics(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil && b.Subject == nil:
			return 0
		case a.Subject == nil:
			return -1
		case b.Subject == nil:
			return 1
		}
		return cmp.Or(
			cmp.Compare(a.Subject.Filename, b.Subject.Filename),
			cmp.Compare(a.Subject.Start.Line, b.Subject.Start.Line),
			cmp.Compare(a.Subject.Start.Column, b.Subject.Start.Column),
		)
	})
}

// capDiagnostics sorts diags (sortDiagnostics), bounds their texts
// (boundDiagnostic) and keeps at most
// MaxDiagnosticsPerFile of each file; the rest of a file become one
// diagnostic at the first one left out, which counts them. It is an error
// when any of them is.
func capDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	sortDiagnostics(diags)
	for _, d := range diags {
		boundDiagnostic(d)
	}
	if len(diags) <= MaxDiagnosticsPerFile {
		return diags
	}
	out := diags[:0:0]
	for i := 0; i < len(diags); {
		file := diagFile(diags[i])
		j := i
		for j < len(diags) && diagFile(diags[j]) == file {
			j++
		}
		if j-i <= MaxDiagnosticsPerFile {
			out = append(out, diags[i:j]...)
			i = j
			continue
		}
		out = append(out, diags[i:i+MaxDiagnosticsPerFile]...)
		rest := diags[i+MaxDiagnosticsPerFile : j]
		more := &hcl.Diagnostic{
			Severity: hcl.DiagWarning, Summary: "Too many problems",
			Detail:  fmt.Sprintf("This file has %d more problems from here on, not shown: only the first %d of a file are reported. Fix these and validate again.", len(rest), MaxDiagnosticsPerFile),
			Subject: rest[0].Subject,
		}
		for _, d := range rest {
			if d.Severity == hcl.DiagError {
				more.Severity = hcl.DiagError
				break
			}
		}
		out = append(out, more)
		i = j
	}
	return out
}

func diagFile(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return ""
	}
	return d.Subject.Filename
}

// DiagnosticJSON is one diagnostic in DiagnosticsJSON. Lines and columns
// start at 1; they are 0 for a diagnostic without a position.
type DiagnosticJSON struct {
	Severity  string `json:"severity"` // "error" or "warning"
	Summary   string `json:"summary"`
	Detail    string `json:"detail"`
	Filename  string `json:"filename"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
}

// DiagnosticsJSON encodes diagnostics as a JSON array (never null).
func DiagnosticsJSON(diags hcl.Diagnostics) []byte {
	out := make([]DiagnosticJSON, 0, len(diags))
	for _, d := range diags {
		j := DiagnosticJSON{Severity: severity(d), Summary: d.Summary, Detail: d.Detail}
		if d.Subject != nil {
			j.Filename = d.Subject.Filename
			j.Line, j.Column = d.Subject.Start.Line, d.Subject.Start.Column
			j.EndLine, j.EndColumn = d.Subject.End.Line, d.Subject.End.Column
		}
		out = append(out, j)
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // strings and ints only
	}
	return b
}

func severity(d *hcl.Diagnostic) string {
	if d.Severity == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}

// DiagnosticLine formats one diagnostic on one line, as
// WriteDiagnosticsText starts it (without escapes or colors):
// "path:line:col: error: summary: detail" ("warning" for a warning; no
// position without a subject), the lines of a multi-line detail joined by
// spaces.
func DiagnosticLine(d *hcl.Diagnostic) string {
	pos := ""
	if d.Subject != nil {
		pos = fmt.Sprintf("%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	line := pos + severity(d) + ": " + d.Summary
	if d.Detail != "" {
		line += ": " + strings.Join(strings.FieldsFunc(d.Detail, func(r rune) bool { return r == '\n' }), " ")
	}
	return line
}

func itoa(i int) string { return strconv.Itoa(i) }

// quoteAll returns every string of s as a Go string literal.
func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
