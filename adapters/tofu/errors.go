package tofu

import (
	"errors"
	"fmt"
	"strings"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// ErrBinaryMissing is in the chain of the error returned when the tofu binary
// does not exist or cannot be run.
var ErrBinaryMissing = errors.New("tofu binary missing")

// Diagnostic is one diagnostic from OpenTofu's -json output.
type Diagnostic struct {
	Severity string // "error" or "warning"
	Summary  string
	Detail   string
	Address  string // the object the diagnostic is about, when given
	File     string
	Line     int
	Column   int
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		fmt.Fprintf(&b, "%s:%d,%d: ", d.File, d.Line, d.Column)
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// VersionError says the binary is not an OpenTofu version the adapter accepts.
type VersionError struct {
	Binary string
	Got    string // "" when the version could not be read
	Want   string // a constraint such as ">= 1.6.0"
	Err    error
}

func (e *VersionError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("tofu: cannot read the version of %s (want %s): %v", e.Binary, e.Want, e.Err)
	}
	return fmt.Sprintf("tofu: %s is version %s, want %s", e.Binary, e.Got, e.Want)
}
func (e *VersionError) Unwrap() error     { return e.Err }
func (e *VersionError) ErrorCode() string { return errs.EUNAVAILABLE }

// InitError is a failed `tofu init` (module or provider installation).
type InitError struct {
	Dir    string
	Output string // combined stdout and stderr of the command
	Err    error
}

func (e *InitError) Error() string {
	return fmt.Sprintf("tofu init in %s: %v%s", e.Dir, e.Err, indent(e.Output))
}
func (e *InitError) Unwrap() error     { return e.Err }
func (e *InitError) ErrorCode() string { return errs.EUNAVAILABLE }

// PlanError is a failed `tofu plan`, with the diagnostics it reported. An
// invalid module input shows here with the module's validation message.
type PlanError struct {
	Dir         string
	Diagnostics []Diagnostic // errors first, then warnings
	Output      string
	Err         error
}

func (e *PlanError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tofu plan in %s failed", e.Dir)
	for _, d := range e.Diagnostics {
		if d.Severity == "error" {
			b.WriteString("\n  ")
			b.WriteString(d.String())
		}
	}
	if len(e.Diagnostics) == 0 {
		fmt.Fprintf(&b, ": %v%s", e.Err, indent(e.Output))
	}
	return b.String()
}
func (e *PlanError) Unwrap() error { return e.Err }

// ErrorCode is EINVALID when OpenTofu explained the failure in diagnostics
// (bad input or configuration), EUNAVAILABLE otherwise (timeout, crash).
func (e *PlanError) ErrorCode() string {
	for _, d := range e.Diagnostics {
		if d.Severity == "error" {
			return errs.EINVALID
		}
	}
	return errs.EUNAVAILABLE
}

// ApplyError is a failed `tofu apply` of a saved plan or `tofu destroy`.
type ApplyError struct {
	Op          string // "apply" or "destroy"
	Dir         string
	Diagnostics []Diagnostic // from the -json stream of an apply, errors first
	Output      string
	Err         error
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("tofu %s in %s: %v%s", e.Op, e.Dir, e.Err, indent(e.Output))
}
func (e *ApplyError) Unwrap() error     { return e.Err }
func (e *ApplyError) ErrorCode() string { return errs.EUNAVAILABLE }

// PlanFileError says a saved plan cannot be used: it is missing, it changed
// since it was planned, or OpenTofu cannot read it. Nothing was applied.
type PlanFileError struct {
	File   string
	Reason string
	Err    error
}

func (e *PlanFileError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("tofu plan file %s: %s: %v", e.File, e.Reason, e.Err)
	}
	return fmt.Sprintf("tofu plan file %s: %s", e.File, e.Reason)
}
func (e *PlanFileError) Unwrap() error     { return e.Err }
func (e *PlanFileError) ErrorCode() string { return errs.EINVALID }

func indent(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	const max = 4000
	if len(out) > max {
		out = "..." + out[len(out)-max:]
	}
	return "\n  " + strings.ReplaceAll(out, "\n", "\n  ")
}
