package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/commands"
)

// maxRecordedEvent bounds what one delivery may append, whatever its body:
// every recorded string is capped (domain.BoundDelivery), so a 64 KiB body
// of one huge ref or a thousand tags still records a few KiB.
const maxRecordedEvent = 32 << 10

// FuzzWebhook drives the real webhook handler over a real store with any
// body, encoding/json being the oracle of what is JSON: a body it refuses
// is 400 and appends nothing; a body it reads never makes the handler
// fail (no 5xx, no panic), and what it appends is bounded. Its seed corpus
// (testdata/fuzz/FuzzWebhook: control characters, bad escapes, BOM, deep
// nesting, duplicate and case-folded keys, huge numbers, ...) and the
// GitLab fixtures run in every `make test`; `make fuzz` explores further.
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
	e := newEnv(f, func(c *httpapi.Config) {
		// The limiter has its own tests; here every body must reach the decision.
		c.Unauthenticated = httpapi.UnauthenticatedLimits{PerSource: 1e9, PerSourceBurst: 1 << 30, Total: 1e9, TotalBurst: 1 << 30, MaxSources: 16}
	})
	var n int
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		var p commands.HookPayload
		jsonErr := json.Unmarshal(body, &p)
		head := func() uint64 {
			h, err := e.db.Events().Head(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		before := head()
		req := httptest.NewRequest(http.MethodPost, "/webhooks/gitlab", strings.NewReader(string(body)))
		for k, v := range hookHeaders(fmt.Sprintf("fuzz-%d", n), hookSecret) {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		after := head()
		// The egg view catches up as serve's projectors would, so that the
		// next delivery for an unknown project is not held waiting for it.
		if err := e.proj.CatchUp(context.Background()); err != nil {
			t.Fatal(err)
		}
		switch {
		case jsonErr != nil:
			if rec.Code != http.StatusBadRequest || after != before {
				t.Fatalf("body %q that encoding/json refuses (%v): status %d, %d events appended; want 400 and none", body, jsonErr, rec.Code, after-before)
			}
			return
		case rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		case rec.Code == http.StatusBadRequest && p.ObjectKind != "" && after != before:
			t.Fatalf("body %q: 400 but %d events appended", body, after-before)
		}
		recs, err := e.db.Events().ReadAll(context.Background(), before, 16)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if len(r.Payload) > maxRecordedEvent {
				t.Fatalf("body of %d bytes recorded a %s of %d bytes", len(body), r.Type, len(r.Payload))
			}
		}
	})
}
