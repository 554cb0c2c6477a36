package fly_test

import (
	"bytes"
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

// FuzzParseFile feeds arbitrary sources to the parser: it must never panic
// or overflow the stack, must return a file exactly when there is no error,
// and must give every diagnostic a position. The seed corpus is
// testdata/fuzz/FuzzParseFile plus every .fly file of testdata, and every
// deep construct of deepConstructs; `make fuzz` runs it for 60 s, and the
// ordinary test run replays the seeds.
//
// construct and depth make inputs too large for a corpus file: with depth
// above 0, src follows deepConstructs[construct] nested depth levels deep
// (at most 5,000), or, for construct = len(deepConstructs), a file of
// MaxFileSize+depth bytes.
func FuzzParseFile(f *testing.F) {
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".fly") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f.Add(src, uint8(0), uint32(0))
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for i := range deepConstructs {
		f.Add([]byte("\n"), uint8(i), uint32(2*fly.MaxNesting))
	}
	f.Add([]byte("egg \"e\" {}\n"), uint8(len(deepConstructs)), uint32(1))
	facts := domain.RunnerFacts{State: "failed", Pool: "apex", Type: "vm", Egg: "e", FailureCount: 4, Age: 2 * time.Hour, Cloud: "aws"}
	f.Fuzz(func(t *testing.T, src []byte, construct uint8, depth uint32) {
		if depth > 0 {
			if int(construct)%(len(deepConstructs)+1) == len(deepConstructs) {
				src = append(bytes.Repeat([]byte("#"), fly.MaxFileSize+int(depth%4096)), src...)
			} else {
				deep := deepConstructs[int(construct)%(len(deepConstructs)+1)].src(int(depth % 5_001))
				src = append([]byte(deep), src...)
			}
		}
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
