package secrets_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("s3cret-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GOSLING_TOKEN": "s3cret-env"}
	l := secrets.Local{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	tests := []struct {
		name, uri, want, code string
	}{
		{name: "env_set", uri: "env://GOSLING_TOKEN", want: "s3cret-env"},
		{name: "env_missing", uri: "env://NOPE", code: errs.ENOTFOUND},
		{name: "env_bad_name", uri: "env://1-bad", code: errs.EINVALID},
		{name: "file_present", uri: "file://" + path, want: "s3cret-file"},
		{name: "file_missing", uri: "file://" + filepath.Join(dir, "nope"), code: errs.ENOTFOUND},
		{name: "file_relative", uri: "file://relative/path", code: errs.EINVALID},
		{name: "file_unclean", uri: "file://" + dir + "/../x", code: errs.EINVALID},
		{name: "no_scheme", uri: "GOSLING_TOKEN", code: errs.EINVALID},
		{name: "unsupported_scheme", uri: "yc-lockbox://e6q/key", code: errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Resolve(context.Background(), tc.uri)
			if tc.code != "" {
				if errs.Code(err) != tc.code {
					t.Fatalf("Resolve(%q) error %v, want code %s", tc.uri, err, tc.code)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error leaks a value: %v", err)
				}
				if tc.name == "unsupported_scheme" && !strings.Contains(err.Error(), "env://") {
					t.Fatalf("error does not name the supported schemes: %v", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tc.uri, got, err, tc.want)
			}
		})
	}
}
