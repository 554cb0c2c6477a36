package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

func parseCommand(a *App) *cobra.Command {
	var kind string
	kinds := make([]string, len(fly.Kinds))
	for i, k := range fly.Kinds {
		kinds[i] = string(k)
	}
	list := strings.Join(kinds, ", ")
	c := &cobra.Command{
		Use:   "parse --type=KIND FILE",
		Short: "print one .fly file as normalized JSON (defaults applied)",
		Long: `parse reads FILE as the given kind (` + list + `) and prints
one JSON document on stdout: the typed configuration with defaults applied,
snake_case keys, durations as {"text","seconds"}, and "kind" and
"schema_version" fields. Diagnostics go to stderr; any error exits 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind == "" {
				return usagef("--type is required: one of %s", list)
			}
			k, err := fly.ParseKind(kind)
			if err != nil {
				return usagef("--type %q: want one of %s", kind, list)
			}
			name := a.path(args[0])
			src, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			p := fly.NewParser()
			v, diags := p.ParseKind(cmd.Context(), k, name, src)
			a.printDiagnostics(p.Files(), diags)
			if diags.HasErrors() {
				return errReported
			}
			out, err := fly.MarshalParseJSON(k, v)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.Stdout, "%s\n", out)
			return err
		},
	}
	c.Flags().StringVar(&kind, "type", "", "what FILE holds: "+list)
	_ = c.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(kinds, cobra.ShellCompDirectiveNoFileComp))
	return c
}
