package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

func fmtCommand(a *App) *cobra.Command {
	var check bool
	c := &cobra.Command{
		Use:   "fmt [--check] [PATH...]",
		Short: "rewrite .fly files in canonical format (hclwrite)",
		Long: `fmt formats every .fly file under each PATH (a file or a directory; default:
the Nest found from the current directory upward, else the current directory)
the way hclwrite does, and rewrites the files that change, atomically. It
prints the names of the files it rewrote. Formatting is idempotent.

A file with a syntax error is reported as a diagnostic and left untouched
(exit status 1). With --check nothing is written: fmt lists the files that
would change and exits 1 if there are any.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{a.defaultTarget()}
			}
			return a.runFmt(args, check)
		},
	}
	c.Flags().BoolVar(&check, "check", false, "write nothing; list the files that are not formatted and exit 1 if any")
	return c
}

func (a *App) runFmt(paths []string, check bool) error {
	files, err := a.flyFiles(paths)
	if err != nil {
		return err
	}
	failed := false
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		out, hf, diags := formatFly(name, src)
		if diags.HasErrors() {
			a.printDiagnostics(map[string]*hcl.File{name: hf}, diags)
			failed = true
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		if check {
			fmt.Fprintln(a.Stdout, name)
			failed = true
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(name, out, fi.Mode().Perm(), true); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout, name)
	}
	if failed {
		return errReported
	}
	return nil
}

// formatFly returns src in canonical form, or the syntax diagnostics (and
// the parsed file, for their snippets) when src is not valid HCL.
func formatFly(name string, src []byte) ([]byte, *hcl.File, hcl.Diagnostics) {
	if diags := fly.CheckSource(name, src); diags.HasErrors() {
		return nil, nil, diags // too large or too deep to parse
	}
	hf, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, hf, diags
	}
	return hclwrite.Format(src), hf, nil
}

// flyFiles lists the .fly files named by paths: files as given, directories
// walked (skipping hidden directories such as .git), sorted, without duplicates.
func (a *App) flyFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		p = a.path(p)
		fi, err := os.Stat(p)
		if err != nil {
			return nil, usagef("%v", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".fly") && !strings.HasPrefix(d.Name(), ".") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}
