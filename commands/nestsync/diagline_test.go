package nestsync

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/events"
)

// TestDiagnosticLine: a diagnostic of an invalid commit is logged in the
// form gosling validate starts each diagnostic with.
func TestDiagnosticLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    events.Diagnostic
		want string
	}{
		{"error", events.Diagnostic{File: "Eggs/a/config.fly", Line: 2, Column: 10, Severity: "error", Summary: "Invalid value", Detail: "type must be vm."},
			"Eggs/a/config.fly:2:10: error: Invalid value: type must be vm."},
		{"warning_multiline_detail", events.Diagnostic{File: "UF/config.fly", Line: 1, Column: 1, Severity: "warning", Summary: "S", Detail: "one\ntwo"},
			"UF/config.fly:1:1: warning: S: one two"},
		{"no_position_no_detail", events.Diagnostic{Severity: "error", Summary: "Too many problems"},
			"error: Too many problems"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := diagnosticLine(tc.d); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
