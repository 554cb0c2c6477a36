package tofu

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Kept plans past their retention go; recent ones, and files that are no
// plans, stay; a second prune within pruneEvery does not scan again.
func TestCompute_prunes_plans_past_their_retention(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	write := func(name string, age time.Duration) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("plan"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := write("aaaa.tfplan", 48*time.Hour)
	recent := write("bbbb.tfplan", time.Hour)
	other := write("notes.txt", 48*time.Hour)
	c := &Compute{cfg: ComputeConfig{PlansDir: dir, PlanRetention: 24 * time.Hour}}
	if err := c.prune(now); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{old: false, recent: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	again := write("cccc.tfplan", 48*time.Hour)
	if err := c.prune(now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(again); err != nil {
		t.Errorf("a prune within pruneEvery scanned again: %v", err)
	}
	if err := c.prune(now.Add(pruneEvery + time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(again); err == nil {
		t.Error("an old plan survived the next prune")
	}
}
