package commands_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// TestFencedCommands_append_only_under_the_current_token: a command stamped
// with a lease's token appends while that token holds the lease; once
// another holder took the lease over (a new token), the old holder's
// commands are refused and append nothing, even though it still sends them.
func TestFencedCommands_append_only_under_the_current_token(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	leases := db.Leases()
	h := mustHandlers(t, db.Events(), commands.WithLeases(leases))
	// The handlers' clock is t0; the lease is taken against it.
	old, err := leases.Acquire(ctx, "uglyfox-sweep", "fox-a", time.Minute, t0.Add(-30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cmd := requestRunner
	cmd.Meta = commands.Meta{Actor: "uglyfox", FenceLease: "uglyfox-sweep", FenceToken: old.Token}
	if _, err := h.RequestRunner(ctx, cmd); err != nil {
		t.Fatalf("the holder's command: %v", err)
	}
	// fox-a pauses past its lease; fox-b takes it over.
	if _, err := leases.Acquire(ctx, "uglyfox-sweep", "fox-b", time.Minute, t0.Add(-time.Second)); err == nil {
		t.Fatal("fox-b took a lease still held")
	}
	if _, err := leases.Acquire(ctx, "uglyfox-sweep", "fox-b", 2*time.Minute, t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	stale := commands.AskTermination{Meta: commands.Meta{Actor: "uglyfox", FenceLease: "uglyfox-sweep", FenceToken: old.Token}, RunnerID: "r-01", Reason: "rule old-runners"}
	if _, err := h.AskTermination(ctx, stale); errs.Code(err) != errs.ECONFLICT {
		t.Fatalf("the old holder's command after the takeover: %v", err)
	}
	if got := mustLoad(t, db.Events(), "runner-r-01"); len(got) != 1 {
		t.Fatalf("%d events on the runner, want the first holder's 1", len(got))
	}
	// Unfenced commands are not checked; a fenced one without a lease store is refused.
	if _, err := mustHandlers(t, db.Events()).AskTermination(ctx, stale); errs.Code(err) != errs.EINVALID {
		t.Fatalf("a fenced command without a lease store: %v", err)
	}
}
