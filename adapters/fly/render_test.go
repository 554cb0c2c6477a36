package fly_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	if !strings.Contains(text, `type = "\x1b]0;pwned\x07`) || !strings.Contains(text, "  on evil.fly line 3, in egg \"e\":\n") {
		t.Errorf("snippet not escaped as expected:\n%s", text)
	}
	for _, line := range strings.Split(text, "\n") {
		if len(line) > 400 {
			t.Errorf("a line of %d bytes: %.200q", len(line), line)
		}
	}
}

// TestWriteDiagnosticsText_format is HCL's on ordinary files: summary,
// position with the block, the highlighted lines, the detail, as
// hcl.NewDiagnosticTextWriter writes them, in color and without.
func TestWriteDiagnosticsText_format(t *testing.T) {
	src := "egg \"e\" {\n  type = \"mainframe\"\n  runner {\n    tags = [\n      \"a b\",\n    ]\n  }\n}\n"
	p := fly.NewParser()
	_, diags := p.ParseFile(context.Background(), "f.fly", []byte(src))
	if len(diags) < 3 {
		t.Fatalf("diagnostics %s", fmtDiags(diags))
	}
	for _, color := range []bool{false, true} {
		var got, want bytes.Buffer
		if err := fly.WriteDiagnosticsText(&got, p.Files(), diags, 60, color); err != nil {
			t.Fatal(err)
		}
		if err := hcl.NewDiagnosticTextWriter(&want, p.Files(), 60, color).WriteDiagnostics(diags); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("color %v: got\n%s\nwant\n%s", color, got.String(), want.String())
		}
	}
}
