package sqlite_test

import (
	"context"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func TestLeasesContract(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "gosling.db"))
	porttest.Leases(t, func(t *testing.T) ports.Leases { return db.Leases() })
}

// TestLeases_two_handles_on_one_file_agree: two opens of one file (two
// processes on one host) see one holder.
func TestLeases_two_handles_on_one_file_agree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gosling.db")
	a, b := mustOpen(t, path), mustOpen(t, path)
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if _, err := a.Leases().Acquire(ctx, "uglyfox", "a", time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Leases().Acquire(ctx, "uglyfox", "b", time.Minute, now.Add(time.Second)); errs.Code(err) != errs.ECONFLICT {
		t.Fatalf("the second handle took a held lease: %v", err)
	}
	l, err := b.Leases().Acquire(ctx, "uglyfox", "b", time.Minute, now.Add(time.Minute))
	if err != nil || l.Token != 2 {
		t.Fatalf("take over after the lapse: %+v %v", l, err)
	}
	if err := a.Leases().Check(ctx, "uglyfox", 1, now.Add(time.Minute)); errs.Code(err) != errs.ECONFLICT {
		t.Fatalf("the first handle's old token passes: %v", err)
	}
}
