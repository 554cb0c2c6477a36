package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

// nestErrorsWith returns the errors the Nest in dir would gain if target
// held src: what a single file cannot show, such as a GitLab project
// already claimed by another egg (see nestErrorsAfter).
func nestErrorsWith(ctx context.Context, dir, target string, src []byte) (map[string]*hcl.File, hcl.Diagnostics, error) {
	rel, err := nestRel(dir, target)
	if err != nil {
		return nil, nil, err
	}
	return nestErrorsAfter(ctx, dir, func(scratch string) error {
		return writeFile(filepath.Join(scratch, rel), src)
	})
}

// nestRel is target relative to the Nest dir; a target outside it is an error.
func nestRel(dir, target string) (string, error) {
	rel, err := filepath.Rel(dir, target)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is not inside the Nest %s", target, dir)
	}
	return rel, nil
}

// nestErrorsAfter returns the errors the Nest in dir would gain from a
// change: edit makes it in a scratch copy of the Nest's .fly files (the
// root it is given), which is loaded before and after. The errors the Nest
// has already are dropped (a Nest broken elsewhere does not block a good
// change). Diagnostics and files name the real Nest paths.
func nestErrorsAfter(ctx context.Context, dir string, edit func(scratch string) error) (map[string]*hcl.File, hcl.Diagnostics, error) {
	scratch, err := os.MkdirTemp("", "gosling-add-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(scratch)
	if err := copyFlyFiles(dir, scratch); err != nil {
		return nil, nil, err
	}
	// Both loads are of the scratch copy, so that a problem the Nest has
	// already names its files the same way in both, however dir is spelled.
	_, _, before := fly.LoadNest(ctx, scratch)
	known := map[string]bool{}
	for _, d := range before {
		known[diagKey(d)] = true
	}
	if err := edit(scratch); err != nil {
		return nil, nil, err
	}
	_, p, after := fly.LoadNest(ctx, scratch)
	var gained hcl.Diagnostics
	for _, d := range after {
		if d.Severity == hcl.DiagError && !known[diagKey(d)] {
			gained = append(gained, renamed(d, scratch, dir))
		}
	}
	files := map[string]*hcl.File{}
	for name, f := range p.Files() {
		files[strings.Replace(name, scratch, dir, 1)] = f
	}
	return files, gained, nil
}

// copyFlyFiles copies every .fly file under from (hidden folders skipped,
// as LoadNest does) to the same place under to.
func copyFlyFiles(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != from && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".fly") {
			return nil
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(to, rel), data)
	})
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// renamed returns d with the scratch directory replaced by the Nest's in
// its ranges and text.
func renamed(d *hcl.Diagnostic, scratch, dir string) *hcl.Diagnostic {
	c := *d
	fix := func(r *hcl.Range) *hcl.Range {
		if r == nil {
			return nil
		}
		rc := *r
		rc.Filename = strings.Replace(rc.Filename, scratch, dir, 1)
		return &rc
	}
	c.Subject, c.Context = fix(d.Subject), fix(d.Context)
	c.Summary = strings.ReplaceAll(d.Summary, scratch, dir)
	c.Detail = strings.ReplaceAll(d.Detail, scratch, dir)
	return &c
}

func diagKey(d *hcl.Diagnostic) string {
	pos := ""
	if d.Subject != nil {
		pos = fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	return fmt.Sprintf("%d|%s|%s|%s", d.Severity, pos, d.Summary, d.Detail)
}
