package httpapi

import (
	"os"
	"strings"
	"testing"
)

// The GitLab fixtures decode into the fields the webhook command reads.
func TestDecodePayload_reads_the_Job_Hook_fixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/job.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodePayload(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.ObjectKind != "build" || p.ProjectID != 31537070 || p.BuildID != 3580121225 || p.BuildStatus != "success" ||
		p.Ref != "main" || p.Repository == nil || p.Repository.Homepage != "https://gitlab.com/jsmithy2/release-tools-fake" {
		t.Fatalf("decoded %+v (repository %+v)", p, p.Repository)
	}
}

// Bodies that are not one JSON value, or do not fit the payload, are refused.
func TestDecodePayload_refuses_malformed_and_mistyped_bodies(t *testing.T) {
	for name, body := range map[string]string{
		"truncated":        `{"object_kind":"build"`,
		"trailing garbage": `{"object_kind":"build"} x`,
		"array":            `[{"object_kind":"build"}]`,
		"string id":        `{"object_kind":"build","project_id":"42"}`,
		"fractional id":    `{"object_kind":"build","build_id":1.5}`,
		"exponent id":      `{"object_kind":"build","build_id":1e3}`,
		"id over int64":    `{"object_kind":"build","build_id":9223372036854775808}`,
		"kind not string":  `{"object_kind":7}`,
		"tags not strings": `{"object_kind":"build","tags":[1]}`,
		"nested mistyped":  `{"object_kind":"push","project":{"id":"x"}}`,
		"project scalar":   `{"object_kind":"push","project":3}`,
		"NUL in a string":  "{\"object_kind\":\"bu\x00ild\"}",
		"raw newline":      "{\"object_kind\":\"build\",\"x\":\"a\nb\"}",
		"raw tab":          "{\"object_kind\":\"build\",\"ref\":\"a\tb\"}",
		"bad escape":       `{"object_kind":"build","ref":"\x41"}`,
		"lone backslash":   `{"object_kind":"build","ref":"a\"}`,
		"leading zero":     `{"object_kind":"build","x":01}`,
		"byte order mark":  "\xef\xbb\xbf{\"object_kind\":\"build\"}",
		"over 10000 deep":  `{"object_kind":"build","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodePayload([]byte(body)); err == nil {
				t.Fatalf("accepted %q", body)
			}
		})
	}
}
