package fly_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

// TestDiagnostics_quote_a_bounded_part_of_a_value: a value of megabytes is
// quoted in a diagnostic as its first bytes and its size, on the terminal
// and in the events.
func TestDiagnostics_quote_a_bounded_part_of_a_value(t *testing.T) {
	big := strings.Repeat("m", 5_000_000)
	for _, tc := range []struct{ name, src string }{
		{"enum", "egg \"e\" {\n  type = \"" + big + "\"\n}\n"},
		{"tag_from_package_domain", "egg \"e\" {\n  runner {\n    tags = [\"" + big + " \"]\n  }\n}\n"},
		{"hcl_attribute_name", "locals {\n  a = {}\n  b = local.a." + big + "\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fly.NewParser()
			_, diags := p.ParseFile(context.Background(), "Eggs/e/config.fly", []byte(tc.src))
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			found := false
			for _, d := range diags {
				if len(d.Summary) > fly.MaxSummary+20 || len(d.Detail) > fly.MaxDetail+20 {
					t.Errorf("%d + %d bytes: %.300s", len(d.Summary), len(d.Detail), d.Detail)
				}
				found = found || strings.Contains(d.Detail, "… (")
			}
			if !found {
				t.Errorf("no cut value in %s", fmtDiags(diags))
			}
			ev, err := json.Marshal(fly.EventDiagnostics(diags))
			if err != nil || len(ev) > 4000 {
				t.Errorf("events: %d bytes, %v", len(ev), err)
			}
			var out bytes.Buffer
			if err := fly.WriteDiagnosticsText(&out, p.Files(), diags, 0, false); err != nil {
				t.Fatal(err)
			}
			if out.Len() > 4000*len(diags) {
				t.Errorf("printed %d bytes:\n%.1000s", out.Len(), out.String())
			}
		})
	}
}

// TestWriteDiagnosticsText_escapes_controls: escape sequences, NUL, CR and
// C1 controls of a file reach the terminal escaped, in the snippet and in
// the texts; a long line is shown as a window around the range.
func TestWriteDiagnosticsText_escapes_controls(t *testing.T) {
	evil := "\x1b]0;pwned\x07\x1b[2J\x00\r\u009b31m\u202e"
	src := "# " + evil + "\negg \"e\" {\n  type = \"" + evil + "\" # " + strings.Repeat("z", 100_000) + evil + "\n}\n"
	p := fly.NewParser()
	_, diags := p.ParseFile(context.Background(), "evil.fly", []byte(src))
	if !diags.HasErrors() {
		t.Fatal("no error")
	}
	var out bytes.Buffer
	if err := fly.WriteDiagnosticsText(&out, p.Files(), diags, 80, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, bad := range []string{"\x1b", "\x00", "\r", "\x07", "\u009b", "\u202e"} {
		if strings.Contains(text, bad) {
			t.Errorf("output holds %q raw:\n%q", bad, text)
		}
	}
	if !strings.Contains(text, `type = "\x1b]0;pwned\x07`) || !strings.HasPrefix(text, "evil.fly:3:26: error: ") {
		t.Errorf("snippet not escaped as expected:\n%s", text)
	}
	for _, line := range strings.Split(text, "\n") {
		if len(line) > 400 {
			t.Errorf("a line of %d bytes: %.200q", len(line), line)
		}
	}
}

// TestWriteDiagnosticsText_format: one "FILE:LINE:COL: severity: summary:
// detail" line per diagnostic, the rest of a multi-line detail indented
// below it, then the source lines with carets under the range (tabs kept),
// a long line shown as a window, a multi-line range cut at five lines, and
// in color the severity and the range highlighted.
func TestWriteDiagnosticsText_format(t *testing.T) {
	long := strings.Repeat("x", 600)
	src := "egg \"e\" {\n  type = \"mainframe\"\n\tfoo = 1\n  # " + long + "\n}\n"
	p := fly.NewParser()
	if _, diags := p.ParseFile(context.Background(), "Eggs/e/config.fly", []byte(src)); len(diags) == 0 {
		t.Fatal("no diagnostics")
	}
	file := p.Files()["Eggs/e/config.fly"]
	rng := func(sl, sc, sb, el, ec, eb int) *hcl.Range {
		return &hcl.Range{Filename: "Eggs/e/config.fly", Start: hcl.Pos{Line: sl, Column: sc, Byte: sb}, End: hcl.Pos{Line: el, Column: ec, Byte: eb}}
	}
	at := strings.Index(src, "x") + 200
	col := at - strings.Index(src, "  # ") + 1
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Invalid value", Detail: `type must be one of "serverless", "vm"; got "mainframe".`, Subject: rng(2, 10, 19, 2, 21, 30)},
		{Severity: hcl.DiagWarning, Summary: "Odd indentation", Detail: "A tab.\nSecond line of the detail,\n\nand a third after a blank one.", Subject: rng(3, 2, 32, 3, 5, 35)},
		{Severity: hcl.DiagError, Summary: "Long", Subject: rng(4, col, at, 4, col+3, at+3)},
		{Severity: hcl.DiagError, Summary: "Whole block", Detail: "Spans the file.", Subject: rng(1, 1, 0, 6, 1, len(src))},
		{Severity: hcl.DiagError, Summary: "No position", Detail: "Nowhere."},
		{Severity: hcl.DiagError, Summary: "Unknown file", Detail: "Not parsed.", Subject: &hcl.Range{Filename: "other.fly", Start: hcl.Pos{Line: 7, Column: 3}}},
	}
	want := `Eggs/e/config.fly:2:10: error: Invalid value: type must be one of "serverless", "vm"; got "mainframe".
   2:   type = "mainframe"
               ^^^^^^^^^^^

Eggs/e/config.fly:3:2: warning: Odd indentation: A tab.
    Second line of the detail,

    and a third after a blank one.
   3: ` + "\tfoo = 1\n      \t^^^" + `

Eggs/e/config.fly:4:` + itoa(col) + `: error: Long
   4: …` + strings.Repeat("x", 160) + `…
       ` + strings.Repeat(" ", 40) + `^^^

Eggs/e/config.fly:1:1: error: Whole block: Spans the file.
   1: egg "e" {
      ^^^^^^^^^
   2:   type = "mainframe"
   3: ` + "\tfoo = 1" + `
   4:   # ` + long[:156] + `…
   5: }

error: No position: Nowhere.

other.fly:7:3: error: Unknown file: Not parsed.

`
	var got bytes.Buffer
	if err := fly.WriteDiagnosticsText(&got, map[string]*hcl.File{"Eggs/e/config.fly": file}, diags, 0, false); err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want)
	}
	got.Reset()
	if err := fly.WriteDiagnosticsText(&got, p.Files(), diags[:2], 0, true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"\x1b[1mEggs/e/config.fly:2:10:\x1b[0m \x1b[1;31merror:\x1b[0m Invalid value: ",
		"   2:   type = \x1b[1;4m\"mainframe\"\x1b[0m\n",
		"\x1b[1;33mwarning:\x1b[0m Odd indentation",
	} {
		if !strings.Contains(got.String(), s) {
			t.Errorf("color output lacks %q:\n%q", s, got.String())
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
