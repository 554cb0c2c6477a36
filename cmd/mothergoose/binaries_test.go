package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// storedBlobs lists every file under the data dir's blob store,
// temporary files included.
func storedBlobs(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// binaryEvents returns the events of the tofu and gosling streams.
func binaryEvents(t *testing.T, dataDir string) string {
	t.Helper()
	var all string
	for _, s := range []string{"binary-tofu", "binary-gosling"} {
		out, err := execute(context.Background(), "events", "--data-dir", dataDir, "--stream", s)
		if err != nil {
			t.Fatal(err)
		}
		all += out
	}
	return all
}

// TestBinariesAdd_wrong_sha256_is_refused_and_stores_nothing: from a
// file or a URL, bytes whose SHA-256 is not --sha256 are refused with
// EINVALID (exit 2) naming both, and leave no blob and no event; the
// right SHA-256 then registers it.
func TestBinariesAdd_wrong_sha256_is_refused_and_stores_nothing(t *testing.T) {
	ctx := context.Background()
	body := []byte("#!/bin/sh\necho tofu 1.9.0\n")
	file := filepath.Join(t.TempDir(), "tofu")
	if err := os.WriteFile(file, body, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	wrong := sha256Hex([]byte("something else"))
	for _, source := range [][]string{{"--file", file}, {"--url", srv.URL + "/tofu?token=not-recorded"}} {
		t.Run(strings.TrimPrefix(source[0], "--"), func(t *testing.T) {
			dataDir := t.TempDir()
			args := append([]string{"binaries", "add", "--data-dir", dataDir, "--kind", "tofu", "--version", "1.9.0", "--sha256", wrong}, source...)
			_, err := execute(ctx, args...)
			if err == nil || errs.Code(err) != errs.EINVALID || exitCode(err) != 2 {
				t.Fatalf("add with a wrong SHA-256: %v (exit %d), want EINVALID, exit 2", err, exitCode(err))
			}
			if !strings.Contains(err.Error(), sha256Hex(body)) || !strings.Contains(err.Error(), wrong) {
				t.Errorf("the error does not name both SHA-256s: %v", err)
			}
			if left := storedBlobs(t, dataDir); len(left) != 0 {
				t.Fatalf("a refused add left files: %v", left)
			}
			if evs := binaryEvents(t, dataDir); evs != "" {
				t.Fatalf("a refused add left events:\n%s", evs)
			}

			args = append([]string{"binaries", "add", "--data-dir", dataDir, "--kind", "tofu", "--version", "1.9.0", "--sha256", sha256Hex(body),
				"--actor", "alice", "--reason", "pin for web", "--activate"}, source...)
			if out, err := execute(ctx, args...); err != nil {
				t.Fatalf("add with the right SHA-256: %v\n%s", err, out)
			}
			if left := storedBlobs(t, dataDir); len(left) != 1 || filepath.Base(left[0]) != sha256Hex(body) {
				t.Fatalf("stored %v, want the one blob named by its SHA-256", left)
			}
			out, err := execute(ctx, "binaries", "list", "--data-dir", dataDir, "--format", "json")
			if err != nil {
				t.Fatal(err)
			}
			var rows []map[string]any
			if err := json.Unmarshal([]byte(out), &rows); err != nil {
				t.Fatalf("list: %v\n%s", err, out)
			}
			if len(rows) != 1 || rows[0]["version"] != "1.9.0" || rows[0]["active"] != true || rows[0]["actor"] != "alice" ||
				rows[0]["reason"] != "pin for web" || rows[0]["size"] != float64(len(body)) || strings.Contains(out, "not-recorded") {
				t.Fatalf("list: %s", out)
			}
			if _, err := execute(ctx, args...); errs.Code(err) != errs.ECONFLICT {
				t.Fatalf("adding it again: %v, want ECONFLICT", err)
			}
		})
	}
}

func TestBinariesAdd_refuses_bad_flags(t *testing.T) {
	sum := sha256Hex([]byte("x"))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown_kind", []string{"--kind", "rift", "--version", "1", "--file", "f", "--sha256", sum}},
		{"latest_is_reserved", []string{"--kind", "tofu", "--version", "latest", "--file", "f", "--sha256", sum}},
		{"version_with_a_slash", []string{"--kind", "tofu", "--version", "../1", "--file", "f", "--sha256", sum}},
		{"bad_platform", []string{"--kind", "tofu", "--version", "1", "--platform", "linux-amd64", "--file", "f", "--sha256", sum}},
		{"short_sha256", []string{"--kind", "tofu", "--version", "1", "--file", "f", "--sha256", "0f3c"}},
		{"file_and_url", []string{"--kind", "tofu", "--version", "1", "--file", "f", "--url", "https://example.com/t", "--sha256", sum}},
		{"neither_file_nor_url", []string{"--kind", "tofu", "--version", "1", "--sha256", sum}},
		{"ftp_url", []string{"--kind", "tofu", "--version", "1", "--url", "ftp://example.com/t", "--sha256", sum}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := t.TempDir()
			_, err := execute(context.Background(), append([]string{"binaries", "add", "--data-dir", dataDir}, tc.args...)...)
			if exitCode(err) != 2 {
				t.Fatalf("%v (exit %d), want a usage error", err, exitCode(err))
			}
			if left := storedBlobs(t, dataDir); len(left) != 0 {
				t.Fatalf("left files: %v", left)
			}
		})
	}
}
