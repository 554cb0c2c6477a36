package httpapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fast parser must read what encoding/json reads into the same struct.
func TestParseHookPayload_matches_encoding_json(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	bodies := map[string]string{
		"nulls":      `{"object_kind":"build","project_id":null,"tags":null,"project":null}`,
		"group":      `{"object_kind":"push","group_id":9,"project":{"id":3,"namespace_id":9,"web_url":"https://gitlab.example.com/a/b"}}`,
		"empty_tags": `{"object_kind":"build","tags":[]}`,
		"escaped":    `{"object_kind":"bu\u0069ld","ref":"a\"b","repository":{"homepage":"https://h\/x"}}`,
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = string(raw)
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var want hookPayload
			if err := json.Unmarshal([]byte(body), &want); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			got, err := parseHookPayload([]byte(body))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if want.Tags != nil && len(want.Tags) == 0 {
				want.Tags = []string{} // both read [] as empty, not absent
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v (project %+v), want %+v (project %+v)", got, got.Project, want, want.Project)
			}
		})
	}
}

// What encoding/json refuses, the fast parser refuses too.
func TestParseHookPayload_refuses_malformed_and_mistyped_bodies(t *testing.T) {
	for name, tc := range map[string]struct{ body, msg string }{
		"truncated":        {`{"object_kind":"build"`, ""},
		"trailing garbage": {`{"object_kind":"build"} x`, ""},
		"array":            {`[{"object_kind":"build"}]`, "not an object"},
		"string id":        {`{"object_kind":"build","project_id":"42"}`, "project_id"},
		"fractional id":    {`{"object_kind":"build","build_id":1.5}`, "build_id"},
		"exponent id":      {`{"object_kind":"build","build_id":1e3}`, "build_id"},
		"id over int64":    {`{"object_kind":"build","build_id":9223372036854775808}`, "build_id"},
		"kind not string":  {`{"object_kind":7}`, "object_kind"},
		"tags not strings": {`{"object_kind":"build","tags":[1]}`, "tags[0]"},
		"nested mistyped":  {`{"object_kind":"push","project":{"id":"x"}}`, "project.id"},
		"project scalar":   {`{"object_kind":"push","project":3}`, "project"},
		"NUL in a string":  {"{\"object_kind\":\"bu\x00ild\"}", "in a string literal"},
		"raw newline":      {"{\"object_kind\":\"build\",\"x\":\"a\nb\"}", "in a string literal"},
		"bad escape":       {`{"object_kind":"build","ref":"\x41"}`, "escape"},
		"leading zero":     {`{"object_kind":"build","x":01}`, "after an object value"},
		"byte order mark":  {"\xef\xbb\xbf{\"object_kind\":\"build\"}", "beginning of a value"},
		"over 10000 deep":  {`{"object_kind":"build","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, "deeper than 10000"},
	} {
		t.Run(name, func(t *testing.T) {
			var ref hookPayload
			if json.Unmarshal([]byte(tc.body), &ref) == nil {
				t.Fatalf("encoding/json accepts %s; the case is wrong", tc.body)
			}
			_, err := parseHookPayload([]byte(tc.body))
			if err == nil {
				t.Fatalf("parse accepted %s", tc.body)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not name %q", err, tc.msg)
			}
		})
	}
}

// FuzzWebhook holds parseHookPayload to encoding/json: for any body, it fails
// exactly when json.Unmarshal into a hookPayload fails, and when both
// succeed they read the same fields. The seed corpus
// (testdata/fuzz/FuzzWebhook: the GitLab fixtures, control characters,
// escapes, invalid UTF-8, a byte order mark, duplicate and case-folded keys,
// numbers at and past int64, nesting at and past encoding/json's 10,000)
// runs in every go test; `make fuzz` explores from it.
func FuzzWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want hookPayload
		wantErr := json.Unmarshal(body, &want)
		got, err := parseHookPayload(body)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("body %q: parseHookPayload error %v, encoding/json error %v", body, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("body %q:\n got %#v (project %#v, repository %#v)\nwant %#v (project %#v, repository %#v)",
				body, got, got.Project, got.Repository, want, want.Project, want.Repository)
		}
	})
}
