package fly_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
)

// TestParseJSONGolden pins the `gosling parse` JSON of each kind. Run with
// -update to rewrite testdata/golden, then review the diff by eye.
func TestParseJSONGolden(t *testing.T) {
	full := filepath.Join("testdata", "valid", "full")
	tests := []struct {
		name string
		kind fly.Kind
		file string
	}{
		{"egg", fly.KindEgg, filepath.Join(full, "Eggs", "payments-api", "config.fly")},
		{"egg-serverless", fly.KindEgg, filepath.Join(full, "Eggs", "docs-site", "config.fly")},
		{"egg-minimal", fly.KindEgg, filepath.Join("testdata", "valid", "minimal", "Eggs", "solo", "config.fly")},
		{"eggsbucket", fly.KindEggsBucket, filepath.Join(full, "Eggs", "selected-services", "config.fly")},
		{"job", fly.KindJob, filepath.Join(full, "Jobs", "rotate-runner-tokens.fly")},
		{"job-defaults", fly.KindJob, filepath.Join(full, "Jobs", "nightly-cleanup.fly")},
		{"uglyfox", fly.KindUglyFox, filepath.Join(full, "UF", "config.fly")},
		{"mothergoose", fly.KindMotherGoose, filepath.Join(full, "MG", "config.fly")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			v, diags := fly.NewParser().ParseKind(context.Background(), tc.kind, tc.file, src)
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %s", diags.Error())
			}
			got, err := fly.MarshalParseJSON(tc.kind, v)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			var head struct {
				Kind          string `json:"kind"`
				SchemaVersion int    `json:"schema_version"`
			}
			if err := json.Unmarshal(got, &head); err != nil || head.Kind != string(tc.kind) || head.SchemaVersion != fly.SchemaVersion {
				t.Errorf("head = %+v, %v; want kind %s, schema_version %d", head, err, tc.kind, fly.SchemaVersion)
			}
			golden := filepath.Join("testdata", "golden", tc.name+".json")
			got = append(got, '\n')
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output:\n%s", golden, got)
			}
		})
	}
}

func TestMarshalParseJSON_pointer_and_wrong_type(t *testing.T) {
	src := mustRead(t, filepath.Join("testdata", "valid", "minimal", "Eggs", "solo", "config.fly"))
	v, diags := fly.NewParser().ParseKind(context.Background(), fly.KindEgg, "solo.fly", src)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	byValue, err := fly.MarshalParseJSON(fly.KindEgg, v)
	if err != nil {
		t.Fatal(err)
	}
	egg := v.(domain.EggConfig)
	byPointer, err := fly.MarshalParseJSON(fly.KindEgg, &egg)
	if err != nil || !bytes.Equal(byValue, byPointer) {
		t.Errorf("pointer form differs (%v):\n%s\n%s", err, byValue, byPointer)
	}
	if _, err := fly.MarshalParseJSON(fly.KindJob, egg); err == nil {
		t.Error("an egg marshalled as a job")
	}
	if _, err := fly.MarshalParseJSON("pipeline", egg); err == nil {
		t.Error("unknown kind accepted")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
