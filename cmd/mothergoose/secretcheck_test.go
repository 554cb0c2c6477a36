package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
)

// lockedBuffer is a log destination the test reads while serve writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// warnings returns the secret warnings logged, one line each.
func (l *lockedBuffer) warnings() []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "egg webhook secret cannot be resolved") {
			out = append(out, line)
		}
	}
	return out
}

func eggWithSecret(name string, project int64, uri string) string {
	src := eggFly(name, "gitlab.com", project)
	if uri == "" {
		return strings.Replace(src, "    webhook_secret = \"env://GOSLING_TEST_WEBHOOK_SECRET\"\n", "", 1)
	}
	return strings.Replace(src, "env://GOSLING_TEST_WEBHOOK_SECRET", uri, 1)
}

// TestServe_warns_once_per_egg_of_webhook_secrets_it_cannot_resolve: at
// start and after a sync that changes eggs, serve logs each egg whose
// webhook secret URI it cannot resolve (a cloud backend that cannot
// authenticate here, an unset env://, a missing file://) once, with the URI
// and what it means, never a value; a restarted serve says it again at its start.
func TestServe_warns_once_per_egg_of_webhook_secrets_it_cannot_resolve(t *testing.T) {
	t.Setenv("GOSLING_TEST_WEBHOOK_SECRET", "s3cret-value-never-logged")
	// The cloud backends find no credentials: no metadata service, no
	// region, no Vault (a port nothing listens on).
	t.Setenv("YC_METADATA_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	missingFile := "file://" + filepath.Join(t.TempDir(), "absent")
	origin := gitrepotest.NewOrigin(t, "main")
	origin.Commit(t, map[string]string{
		"Eggs/good/config.fly":    eggWithSecret("good", 1, "env://GOSLING_TEST_WEBHOOK_SECRET"),
		"Eggs/lockbox/config.fly": eggWithSecret("lockbox", 2, "yc-lockbox://gitlab/lockbox/webhook-secret"),
		"Eggs/default/config.fly": eggWithSecret("default", 3, ""), // the provider's store: yc-lockbox://
		"Eggs/unset/config.fly":   eggWithSecret("unset", 4, "env://GOSLING_TEST_UNSET_SECRET"),
		"Eggs/nofile/config.fly":  eggWithSecret("nofile", 5, missingFile),
		"Eggs/vault/config.fly":   eggWithSecret("vault", 6, "vault://kv/gitlab/webhook"),
		"Eggs/awssm/config.fly":   eggWithSecret("awssm", 7, "aws-sm://gitlab/webhook"),
	})

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.PollInterval = 20 * time.Millisecond
	cfg.Nest = origin.URL
	cfg.DataDir = dir
	cfg.SyncInterval = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	serve := func(logs *lockedBuffer) (*Main, func() error) {
		t.Helper()
		m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		if err := m.Open(ctx); err != nil {
			t.Fatal(err)
		}
		runCtx, stopRun := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- m.Run(runCtx) }()
		var once sync.Once
		var runErr error
		stop := func() error {
			once.Do(func() { stopRun(); runErr = <-done; _ = m.Close() })
			return runErr
		}
		t.Cleanup(func() { _ = stop() })
		return m, stop
	}
	bad := []string{"awssm", "default", "lockbox", "nofile", "unset", "vault"}
	waitWarned := func(logs *lockedBuffer, eggs ...string) {
		t.Helper()
		waitFor(ctx, t, "warnings for "+strings.Join(eggs, ", "), func() bool {
			w := strings.Join(logs.warnings(), "\n")
			for _, e := range eggs {
				if !strings.Contains(w, " egg="+e+" ") {
					return false
				}
			}
			return true
		})
	}
	countFor := func(logs *lockedBuffer, egg string) int {
		n := 0
		for _, w := range logs.warnings() {
			if strings.Contains(w, " egg="+egg+" ") {
				n++
			}
		}
		return n
	}

	logs := &lockedBuffer{}
	_, stop := serve(logs)
	waitWarned(logs, bad...)
	for _, want := range []string{
		`egg=lockbox uri=yc-lockbox://gitlab/lockbox/webhook-secret reason=`,
		`egg=default uri=yc-lockbox://`,
		`egg=unset uri=env://GOSLING_TEST_UNSET_SECRET reason="secret env://GOSLING_TEST_UNSET_SECRET: environment variable GOSLING_TEST_UNSET_SECRET is not set"`,
		`egg=nofile uri=` + missingFile,
		`egg=vault uri=vault://kv/gitlab/webhook`,
		`egg=awssm uri=aws-sm://gitlab/webhook`,
		`will answer 503 until it can be`,
		// The cloud backends are there; here they cannot authenticate.
		`reason="secret yc-lockbox://gitlab/lockbox/webhook-secret: the secret is named (Lockbox secret \"gitlab-lockbox\"), not an ID: set YC_FOLDER_ID`,
		`reason="secret aws-sm://gitlab/webhook: no AWS region`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}

	// A sync that changes eggs checks again: the new egg is reported, the
	// others are not reported twice. (zz-late sorts last, so its warning
	// comes after the rest of the same check.)
	origin.Commit(t, map[string]string{
		"Eggs/good/config.fly":    eggWithSecret("good", 1, "env://GOSLING_TEST_WEBHOOK_SECRET") + "# changed\n",
		"Eggs/zz-late/config.fly": eggWithSecret("zz-late", 8, "yc-lockbox://gitlab/zz-late/webhook-secret"),
	})
	waitWarned(logs, "zz-late")
	for _, e := range append(bad, "zz-late") {
		if n := countFor(logs, e); n != 1 {
			t.Errorf("egg %s reported %d times, want once:\n%s", e, n, logs.String())
		}
	}
	if n := countFor(logs, "good"); n != 0 || strings.Contains(logs.String(), "s3cret-value") {
		t.Errorf("the resolvable egg was reported or a value was logged:\n%s", logs.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A new process says it again at its start, with nothing new to sync.
	logs2 := &lockedBuffer{}
	serve(logs2)
	waitWarned(logs2, append(bad, "zz-late")...)
	if n := countFor(logs2, "lockbox"); n != 1 {
		t.Errorf("lockbox reported %d times after a restart:\n%s", n, logs2.String())
	}
}
