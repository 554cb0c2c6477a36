package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/blobs"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
)

// mustRegister stores body as kind's version for platform and records it.
func (e *env) mustRegister(b *blobs.Dir, kind, version, platform string, body []byte) string {
	e.t.Helper()
	s := sha256.Sum256(body)
	sum := hex.EncodeToString(s[:])
	if _, err := b.Put(context.Background(), sum, bytes.NewReader(body), 0); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.handlers.RegisterBinaryVersion(context.Background(), commands.RegisterBinaryVersion{Build: events.BinaryVersionRegistered{
		Binary: kind, Version: version, Platform: platform, SHA256: sum, Size: int64(len(body)), Actor: "alice", Reason: "test"}}); err != nil {
		e.t.Fatal(err)
	}
	return sum
}

func (e *env) mustActivate(kind, version string) {
	e.t.Helper()
	if _, err := e.handlers.ActivateBinaryVersion(context.Background(), commands.ActivateBinaryVersion{Binary: kind, Version: version, Actor: "alice"}); err != nil {
		e.t.Fatal(err)
	}
	e.mustCatchUp()
}

// fetch GETs path without credentials (as cloud-init does) with header.
func (e *env) fetch(path string, header map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, raw
}

func TestBinaries_download_serves_the_registered_bytes(t *testing.T) {
	b, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *httpapi.Config) { c.Blobs = b })
	v1 := bytes.Repeat([]byte("gosling agent 0.1.0\n"), 5000)
	v2 := bytes.Repeat([]byte("gosling agent 0.2.0\n"), 6000)
	sum1 := e.mustRegister(b, "gosling", "0.1.0", "linux/amd64", v1)
	sum2 := e.mustRegister(b, "gosling", "0.2.0", "linux/amd64", v2)
	e.mustActivate("gosling", "0.1.0")

	t.Run("full", func(t *testing.T) {
		resp, body := e.fetch("/v1/binaries/gosling/0.2.0/linux-amd64", nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, v2) {
			t.Fatalf("status %d, %d bytes; want 200 and the %d registered bytes", resp.StatusCode, len(body), len(v2))
		}
		raw, _ := hex.DecodeString(sum2)
		for h, want := range map[string]string{
			"ETag": `"` + sum2 + `"`, "X-Checksum-Sha256": sum2, "Digest": "sha-256=" + base64.StdEncoding.EncodeToString(raw),
			"Content-Type": "application/octet-stream", "Content-Disposition": "attachment; filename=gosling", "Accept-Ranges": "bytes",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
	})
	t.Run("range", func(t *testing.T) {
		resp, body := e.fetch("/v1/binaries/gosling/0.2.0/linux-amd64", map[string]string{"Range": "bytes=100-299"})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, v2[100:300]) {
			t.Fatalf("status %d, body %q; want 206 and bytes 100-299", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Range"); got != "bytes 100-299/120000" {
			t.Errorf("Content-Range %q", got)
		}
	})
	t.Run("if_none_match_is_304", func(t *testing.T) {
		resp, body := e.fetch("/v1/binaries/gosling/0.2.0/linux-amd64", map[string]string{"If-None-Match": `"` + sum2 + `"`})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Fatalf("status %d with %d bytes, want 304 and none", resp.StatusCode, len(body))
		}
		resp, _ = e.fetch("/v1/binaries/gosling/0.2.0/linux-amd64", map[string]string{"If-None-Match": `"` + sum1 + `"`})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("another ETag: status %d, want 200", resp.StatusCode)
		}
	})
	t.Run("latest_follows_activation", func(t *testing.T) {
		resp, body := e.fetch("/v1/binaries/gosling/latest/linux-amd64", nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, v1) || resp.Header.Get("X-Binary-Version") != "0.1.0" {
			t.Fatalf("before: status %d, version %q", resp.StatusCode, resp.Header.Get("X-Binary-Version"))
		}
		e.mustActivate("gosling", "0.2.0")
		resp, body = e.fetch("/v1/binaries/gosling/latest/linux-amd64", nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, v2) || resp.Header.Get("ETag") != `"`+sum2+`"` {
			t.Fatalf("after activating 0.2.0: status %d, version %q", resp.StatusCode, resp.Header.Get("X-Binary-Version"))
		}
	})
	t.Run("unknown_is_404_json", func(t *testing.T) {
		for _, path := range []string{
			"/v1/binaries/gosling/9.9.9/linux-amd64", // no such version
			"/v1/binaries/gosling/0.2.0/linux-arm64", // not for that platform
			"/v1/binaries/rift/0.2.0/linux-amd64",    // no such kind
			"/v1/binaries/tofu/latest/linux-amd64",   // nothing active
			"/v1/binaries/gosling/0.2.0/linuxamd64",  // not os-arch
		} {
			code, body := e.do(http.MethodGet, path, nil, nil)
			errBody, _ := body["error"].(map[string]any)
			if code != http.StatusNotFound || errBody["code"] != "ENOTFOUND" {
				t.Errorf("GET %s: %d %v, want 404 ENOTFOUND", path, code, body)
			}
		}
	})
	t.Run("list_needs_the_bearer_token", func(t *testing.T) {
		if code, _ := e.do(http.MethodGet, "/binaries", nil, nil); code != http.StatusUnauthorized {
			t.Fatalf("GET /binaries without a token: %d, want 401", code)
		}
		code, body := e.get("/binaries?kind=gosling")
		rows, _ := body["binaries"].([]any)
		if code != http.StatusOK || len(rows) != 2 {
			t.Fatalf("GET /binaries: %d %v", code, body)
		}
		for _, r := range rows {
			row := r.(map[string]any)
			if want := row["version"] == "0.2.0"; row["active"] != want || row["actor"] != "alice" {
				t.Errorf("row %v: active should be %v", row, want)
			}
		}
	})
}
