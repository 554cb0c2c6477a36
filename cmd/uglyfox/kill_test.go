package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

// TestServe_kill_9_of_the_holder_fails_over_within_the_lease_time runs two
// real `uglyfox serve` processes on one SQLite file with the real sweep,
// kills the holder with SIGKILL (no release reaches the store), and
// checks that the other takes the lease within the lease time and that the
// lease log shows one holder at a time: a acquired, a lost (recorded by b),
// b acquired.
func TestServe_kill_9_of_the_holder_fails_over_within_the_lease_time(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the uglyfox binary and runs two processes (skipped under -short)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "uglyfox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const ttl = 3 * time.Second
	path := filepath.Join(dir, "gosling.db")
	start := func(holder string) *exec.Cmd {
		cmd := exec.Command(bin, "--store", "sqlite://"+path, "--log-level", "error", "serve", "--holder", holder, "--lease-ttl", ttl.String())
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	// The file exists (and is migrated) before either process opens it.
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holder := func() string {
		l, ok, err := db.Leases().Get(context.Background(), uglyfox.DefaultLease)
		if err != nil || !ok || !l.Held(time.Now()) {
			return ""
		}
		return l.Holder
	}
	a := start("fox-a")
	waitFor(t, "fox-a holds the lease", func() bool { return holder() == "fox-a" })
	start("fox-b")
	time.Sleep(ttl / 2)
	if h := holder(); h != "fox-a" {
		t.Fatalf("the lease moved to %q while fox-a was alive", h)
	}
	if err := a.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor(t, "fox-b takes the lease", func() bool { return holder() == "fox-b" })
	// fox-a's last renewal was at most TTL/3 before the kill; fox-b tries
	// every TTL/3 and as soon as the lease lapses: within TTL, plus a poll.
	if took := time.Since(killed); took > ttl+time.Second {
		t.Errorf("fox-b took over %s after the kill, want within the lease time %s", took.Round(10*time.Millisecond), ttl)
	}
	var log []string
	waitFor(t, "the lease log", func() bool {
		recs, err := db.Events().Load(context.Background(), domain.LeaseStream(uglyfox.DefaultLease), 0)
		if err != nil {
			return false
		}
		log = log[:0]
		for _, r := range recs {
			var p struct {
				Holder string `json:"holder"`
			}
			_ = json.Unmarshal(r.Payload, &p)
			log = append(log, r.Type+" "+p.Holder)
		}
		return len(log) >= 3
	})
	want := []string{events.UglyFoxLeaseAcquiredV1 + " fox-a", events.UglyFoxLeaseLostV1 + " fox-a", events.UglyFoxLeaseAcquiredV1 + " fox-b"}
	for i, w := range want {
		if i >= len(log) || log[i] != w {
			t.Fatalf("lease log %v, want %v first", log, want)
		}
	}
}
