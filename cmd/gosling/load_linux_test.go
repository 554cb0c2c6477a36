package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestProcLoad_measures_deltas_and_memory: CPU load is the busy share of
// the time between two readings of /proc/stat (none at the first), memory
// the share of MemTotal not available; unreadable files give nothing.
func TestProcLoad_measures_deltas_and_memory(t *testing.T) {
	dir := t.TempDir()
	stat, meminfo := filepath.Join(dir, "stat"), filepath.Join(dir, "meminfo")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// user nice system idle iowait irq softirq steal
	write(stat, "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
	write(meminfo, "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n")
	p := &procLoad{stat: stat, meminfo: meminfo}
	cpu, mem := p.measure()
	if cpu != nil {
		t.Fatalf("cpu %v at the first reading, want none", *cpu)
	}
	if mem == nil || *mem != 75 {
		t.Fatalf("memory %v, want 75", mem)
	}
	// +300 busy (user 200, system 100), +100 idle: 75 %.
	write(stat, "cpu  300 0 200 800 100 0 0 0 0 0\n")
	if cpu, _ = p.measure(); cpu == nil || *cpu != 75 {
		t.Fatalf("cpu %v, want 75", cpu)
	}
	// No time passed: no figure rather than a division by zero.
	if cpu, _ = p.measure(); cpu != nil {
		t.Fatalf("cpu %v without elapsed time, want none", *cpu)
	}
	gone := &procLoad{stat: filepath.Join(dir, "none"), meminfo: filepath.Join(dir, "none")}
	if cpu, mem := gone.measure(); cpu != nil || mem != nil {
		t.Fatalf("unreadable /proc gave %v %v", cpu, mem)
	}
	// The real /proc of this machine is in range.
	real := newLoadMeter()
	real.measure()
	if cpu, mem := real.measure(); (cpu != nil && (*cpu < 0 || *cpu > 100)) || mem == nil || *mem < 0 || *mem > 100 {
		t.Fatalf("this machine: cpu %v memory %v", cpu, mem)
	}
}
