package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// TestServe_survives_hostile_Nest_commits commits, after a good Nest, files
// that used to crash serve (deep nesting: a fatal stack overflow at every
// sync and restart), bloat its log (a value of megabytes quoted in the
// nest.sync_failed event) or hold it for minutes (thousands of errors in one
// file, parsed in quadratic time). Each is one bounded nest.sync_failed; the
// last good configuration stays and webhooks are answered. Last, serve stops
// within its shutdown timeout while a large commit is being parsed.
func TestServe_survives_hostile_Nest_commits(t *testing.T) {
	t.Setenv("GOSLING_TEST_WEBHOOK_SECRET", "hook-secret")
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{"Eggs/diaspora/config.fly": eggFly("diaspora", "example.com", 15)})

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	m, stop := mustServe(ctx, t, cfg)
	defer m.Close()
	c := apiClient{t: t, base: "http://" + m.Addr()}

	syncs := func(status string) []ports.SyncHistoryRow {
		rows, err := ports.SyncHistory.In(m.storage.Views.Read()).List(ctx, ports.Query{Eq: map[string]any{"status": status}})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	waitFor(ctx, t, "the first sync", func() bool { return len(syncs("SUCCESS")) == 1 })
	good, ok, err := ports.EggConfigs.In(m.storage.Views.Read()).Get(ctx, "diaspora")
	if err != nil || !ok {
		t.Fatalf("egg not synced: %v %v", ok, err)
	}

	const n = 100_000
	var manyErrors strings.Builder
	manyErrors.WriteString("uglyfox {\n  policies {\n")
	for range 5000 {
		manyErrors.WriteString("    rule \"same\" {\n      when   = runner.age > 1\n      action = \"terminate\"\n    }\n")
	}
	manyErrors.WriteString("  }\n}\n")
	hostile := []struct {
		name, path, src, summary string
	}{
		{"deep_when", "UF/config.fly", "uglyfox {\n  policies {\n    rule \"r\" {\n      when = " + strings.Repeat("(", n) + "true" + strings.Repeat(")", n) + "\n      action = \"terminate\"\n    }\n  }\n}\n", "Nesting too deep"},
		{"deep_cpu", "Eggs/diaspora/config.fly", strings.Replace(eggFly("diaspora", "example.com", 15), "  runner {", "  resources {\n    cpu = "+strings.Repeat("(", n)+"2"+strings.Repeat(")", n)+"\n  }\n\n  runner {", 1), "Nesting too deep"},
		{"oversize", "Jobs/big.fly", "# " + strings.Repeat("x", 9<<20) + "\n", "File too large"},
		{"megabyte_value", "Eggs/diaspora/config.fly", strings.Replace(eggFly("diaspora", "example.com", 15), `"serverless"`, `"`+strings.Repeat("\x1b[31m", 1<<20)+`"`, 1), "Invalid value"},
		{"thousands_of_errors", "UF/config.fly", manyErrors.String(), "Duplicate rule name"},
	}
	for i, h := range hostile {
		head := origin.Commit(t, map[string]string{h.path: h.src})
		var row ports.SyncHistoryRow
		waitFor(ctx, t, h.name+": a failed sync", func() bool {
			for _, r := range syncs("FAILED") {
				if r.Commit == head {
					row = r
					return true
				}
			}
			return false
		})
		b, err := json.Marshal(row.Diagnostics)
		if err != nil || len(row.Diagnostics) == 0 || len(b) > 64<<10 {
			t.Fatalf("%s: %d diagnostics in %d bytes, %v", h.name, len(row.Diagnostics), len(b), err)
		}
		var first *events.Diagnostic
		for i, d := range row.Diagnostics {
			if d.Severity == "error" && first == nil {
				first = &row.Diagnostics[i]
			}
		}
		if first == nil || first.Summary != h.summary || first.File != h.path || first.Line < 1 {
			t.Errorf("%s: first error %+v", h.name, first)
		}
		if strings.Contains(string(b), "\x1b") || strings.Contains(string(b), `\u001b`) {
			t.Errorf("%s: an escape sequence reached the event: %.300s", h.name, b)
		}
		after, _, err := ports.EggConfigs.In(m.storage.Views.Read()).Get(ctx, "diaspora")
		if err != nil || !reflect.DeepEqual(after, good) {
			t.Fatalf("%s: the egg changed: %+v (was %+v) %v", h.name, after, good, err)
		}
		if status, _ := c.hook("push.json", nil, fmt.Sprintf("hostile-%d", i), "hook-secret"); status != http.StatusAccepted {
			t.Errorf("%s: webhook answered %d", h.name, status)
		}
		// Back to the good Nest.
		if h.path == "Eggs/diaspora/config.fly" {
			origin.Commit(t, map[string]string{h.path: eggFly("diaspora", "example.com", 15)})
		} else {
			origin.Commit(t, nil, h.path)
		}
	}

	// A large commit (files of thousands of eggs each, every one an error
	// but the first) is being parsed when serve is told to stop.
	big := strings.Repeat(eggFly("x", "example.com", 99), 12_000)
	files := map[string]string{}
	for i := range 4 {
		files[fmt.Sprintf("Eggs/big-%d/config.fly", i)] = strings.ReplaceAll(big, `egg "x"`, fmt.Sprintf(`egg "big-%d"`, i))
	}
	origin.Commit(t, files)
	time.Sleep(300 * time.Millisecond) // let the next tick fetch it and start parsing
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if d := time.Since(start); d > shutdownTimeout+5*time.Second {
		t.Errorf("serve took %v to stop during a sync, over its shutdown timeout of %v", d, shutdownTimeout)
	}
	t.Logf("stopped %v after the signal", time.Since(start))
}
