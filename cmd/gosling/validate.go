package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// validateReport is the JSON output of validate --format json.
type validateReport struct {
	Path        string          `json:"path"`
	Valid       bool            `json:"valid"`
	Errors      int             `json:"errors"`
	Warnings    int             `json:"warnings"`
	Summary     string          `json:"summary,omitempty"`
	Diagnostics json.RawMessage `json:"diagnostics"`
}

func validateCommand(a *App) *cobra.Command {
	var format string
	var explain bool
	c := &cobra.Command{
		Use:   "validate [PATH]",
		Short: "check a Nest or one .fly file and report every problem at once",
		Long: `validate checks PATH: a Nest directory (every file, and the references between
them) or a single .fly file. PATH defaults to the Nest found from the current
directory upward, else the current directory.

Diagnostics go to stderr, each as one "path:line:col: error: summary: detail"
line (or warning) and the source it points at (in color on a terminal
unless NO_COLOR is set); on success a one-line summary goes to
stdout. With --format json one JSON document goes to stdout instead:
{"path","valid","errors","warnings","summary","diagnostics"}.
Warnings do not fail; any error exits 1.

--explain prints the whole .fly schema: every block and attribute with its
type, range and default.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			if explain {
				_, err := fmt.Fprint(a.Stdout, fly.ExplainSchema())
				return err
			}
			target := a.defaultTarget()
			if len(args) == 1 {
				target = a.path(args[0])
			}
			return a.runValidate(cmd.Context(), target, format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output: text (diagnostics on stderr) or json (one document on stdout)")
	c.Flags().BoolVar(&explain, "explain", false, "print the .fly schema with types, ranges and defaults, and exit")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *App) runValidate(ctx context.Context, target, format string) error {
	fi, err := os.Stat(target)
	if err != nil {
		return usagef("%v", err)
	}
	var (
		files   map[string]*hcl.File
		diags   hcl.Diagnostics
		summary string
	)
	if fi.IsDir() {
		nest, p, d := fly.LoadNest(ctx, target)
		files, diags = p.Files(), d
		if !d.HasErrors() {
			summary = nestSummary(nest)
		}
	} else {
		src, err := os.ReadFile(target)
		if err != nil {
			return err
		}
		p := fly.NewParser()
		f, d := p.ParseFile(ctx, target, src)
		files, diags = p.Files(), d
		if !d.HasErrors() {
			summary = fileSummary(target, f)
		}
	}
	if err := ctx.Err(); err != nil {
		return errInterrupted(target)
	}
	nerr, nwarn := countDiagnostics(diags)
	if format == "json" {
		raw := json.RawMessage(fly.DiagnosticsJSON(diags))
		out, err := json.MarshalIndent(validateReport{
			Path: target, Valid: nerr == 0, Errors: nerr, Warnings: nwarn, Summary: summary, Diagnostics: raw,
		}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "%s\n", out)
	} else {
		a.printDiagnostics(files, diags)
		if nerr > 0 {
			fmt.Fprintf(a.Stderr, "%s: %s, %s\n", target, plural(nerr, "error", "errors"), plural(nwarn, "warning", "warnings"))
		} else {
			if nwarn > 0 {
				summary += " (" + plural(nwarn, "warning", "warnings") + ")"
			}
			fmt.Fprintln(a.Stdout, summary)
		}
	}
	if nerr > 0 {
		return errReported
	}
	return nil
}

// errInterrupted is a check stopped by a signal: exit status 1, not a
// verdict on the files.
func errInterrupted(target string) error {
	return errs.Errorf(errs.EUNAVAILABLE, "interrupted: the check of %s did not finish", target)
}

func countDiagnostics(diags hcl.Diagnostics) (errors, warnings int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// nestSummary is the success line of a Nest:
// "nest OK: 3 eggs, 1 bucket, 2 jobs, uglyfox, 1 mothergoose".
func nestSummary(n *domain.Nest) string {
	uf := "no uglyfox"
	if n.UglyFox != nil {
		uf = "uglyfox"
	}
	return fmt.Sprintf("nest OK: %s, %s, %s, %s, %d mothergoose",
		plural(len(n.Eggs), "egg", "eggs"), plural(len(n.Buckets), "bucket", "buckets"),
		plural(len(n.Jobs), "job", "jobs"), uf, len(n.MotherGoose))
}

// fileSummary is the success line of one file: "UF/config.fly OK: uglyfox".
func fileSummary(name string, f *fly.File) string {
	var parts []string
	for _, e := range f.Eggs {
		parts = append(parts, fmt.Sprintf("egg %q", e.Name))
	}
	for _, b := range f.Buckets {
		parts = append(parts, fmt.Sprintf("eggsbucket %q", b.Name))
	}
	for _, j := range f.Jobs {
		parts = append(parts, fmt.Sprintf("job %q", j.Name))
	}
	for range f.UglyFox {
		parts = append(parts, "uglyfox")
	}
	for _, m := range f.MotherGoose {
		parts = append(parts, fmt.Sprintf("mothergoose %q", m.Name))
	}
	for _, d := range f.UglyFoxDeployments {
		parts = append(parts, fmt.Sprintf("uglyfox_deployment %q", d.Name))
	}
	if len(parts) == 0 {
		parts = append(parts, "no blocks")
	}
	return name + " OK: " + strings.Join(parts, ", ")
}
