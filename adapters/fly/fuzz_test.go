package fly_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
)

// FuzzParseFile feeds arbitrary sources to the parser: it must never panic,
// must return a file exactly when there is no error, and must give every
// diagnostic a position. The seed corpus is testdata/fuzz/FuzzParseFile
// plus every .fly file of testdata; `make fuzz` runs it for 60 s, and the
// ordinary test run replays the seeds.
func FuzzParseFile(f *testing.F) {
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".fly") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f.Add(src)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	facts := domain.RunnerFacts{State: "failed", Pool: "apex", Type: "vm", Egg: "e", FailureCount: 4, Age: 2 * time.Hour, Cloud: "aws"}
	f.Fuzz(func(t *testing.T, src []byte) {
		p := fly.NewParser()
		file, diags := p.ParseFile(context.Background(), "fuzz.fly", src)
		if (file == nil) != diags.HasErrors() {
			t.Fatalf("file %v with errors %v", file != nil, diags.HasErrors())
		}
		for _, d := range diags {
			if d.Subject == nil || d.Subject.Start.Line < 1 || d.Summary == "" {
				t.Fatalf("diagnostic without position or summary: %#v", d)
			}
		}
		_ = fly.DiagnosticsJSON(diags)
		if err := fly.WriteDiagnosticsText(io.Discard, p.Files(), diags, 80, false); err != nil {
			t.Fatal(err)
		}
		if file != nil {
			for _, u := range file.UglyFox {
				_, _, _, _ = u.Decide(facts) // an evaluation error is fine, a panic is not
			}
		}
		for _, k := range fly.Kinds {
			v, diags := p.ParseKind(context.Background(), k, "fuzz.fly", src)
			if (v == nil) != diags.HasErrors() {
				t.Fatalf("%s: value %v with errors %v", k, v != nil, diags.HasErrors())
			}
			if v != nil {
				if _, err := fly.MarshalParseJSON(k, v); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
			}
		}
	})
}
