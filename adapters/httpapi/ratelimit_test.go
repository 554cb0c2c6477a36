package httpapi

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand: no test waits on real time.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func addr(s string) netip.Prefix         { return sourceOf(s) }
func mustAllow(t *testing.T, l *sourceLimiter, src string, want bool) time.Duration {
	t.Helper()
	wait, ok := l.Allow(addr(src))
	if ok != want {
		t.Fatalf("allow(%s) = %v (wait %s), want %v", src, ok, wait, want)
	}
	return wait
}

func TestSourceLimiter_per_source_and_total(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newSourceLimiter(UnauthenticatedLimits{PerSource: 1, PerSourceBurst: 2, Total: 2, TotalBurst: 3, MaxSources: 10}, clock.now)
	mustAllow(t, l, "192.0.2.1:1000", true)
	mustAllow(t, l, "192.0.2.1:1001", true) // the port does not matter
	if wait := mustAllow(t, l, "192.0.2.1:1002", false); wait <= 0 || wait > time.Second {
		t.Fatalf("per-source wait %s, want within (0, 1s]", wait)
	}
	mustAllow(t, l, "192.0.2.2:1000", true) // another source: its own bucket
	// The total bucket (burst 3) is empty now, whatever the source.
	if wait := mustAllow(t, l, "192.0.2.3:1000", false); wait <= 0 {
		t.Fatalf("total wait %s", wait)
	}
	// A refused delivery took nothing: after 1 s the total has 2 again and
	// 192.0.2.3 its full burst.
	clock.add(time.Second)
	mustAllow(t, l, "192.0.2.3:1000", true)
	mustAllow(t, l, "192.0.2.3:1000", true)
	mustAllow(t, l, "192.0.2.3:1000", false)
}

// A spray of source addresses cannot grow the table past MaxSources, and
// sources idle long enough to have a full bucket again are dropped.
func TestSourceLimiter_table_is_bounded(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newSourceLimiter(UnauthenticatedLimits{PerSource: 10, PerSourceBurst: 20, Total: 1e9, TotalBurst: 1 << 30, MaxSources: 100}, clock.now)
	for i := range 10_000 {
		l.Allow(addr(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)))
		if n := l.size(); n > 100 {
			t.Fatalf("%d sources in the table after %d addresses", n, i+1)
		}
	}
	clock.add(l.idle)
	l.Allow(addr("192.0.2.9:1"))
	if n := l.size(); n != 1 {
		t.Fatalf("%d sources after all were idle for %s, want only the new one", n, l.idle)
	}
	// A source seen again is moved to the front and outlives older ones.
	l = newSourceLimiter(UnauthenticatedLimits{MaxSources: 2, Total: 1e9, TotalBurst: 1 << 30}, clock.now)
	l.Allow(addr("192.0.2.1:1"))
	l.Allow(addr("192.0.2.2:1"))
	l.Allow(addr("192.0.2.1:1"))
	l.Allow(addr("192.0.2.3:1")) // drops 192.0.2.2, the least recently seen
	if _, kept := l.sources[addr("192.0.2.1:1")]; !kept || l.size() != 2 {
		t.Fatalf("table %v", l.sources)
	}
}

func TestSourceOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1:443", "192.0.2.1/32"},
		{"[::ffff:192.0.2.1]:443", "192.0.2.1/32"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2::/64"}, // one /64 is one source
		{"[fe80::1%eth0]:1", "fe80::/64"},
		{"@", "invalid Prefix"},
	} {
		if got := sourceOf(tc.in).String(); got != tc.want {
			t.Errorf("sourceOf(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestUnauthenticatedLimits_Check(t *testing.T) {
	if err := (UnauthenticatedLimits{}).Check(); err != nil {
		t.Fatalf("zero limits (the defaults): %v", err)
	}
	for name, l := range map[string]UnauthenticatedLimits{
		"negative_rate":  {PerSource: -1},
		"nan_total":      {Total: nan()},
		"negative_burst": {TotalBurst: -1},
		"negative_table": {MaxSources: -5},
	} {
		if err := l.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func nan() float64 { var z float64; return z / z }
