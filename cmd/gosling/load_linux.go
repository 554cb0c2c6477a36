package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// procLoad reads /proc: CPU load is the share of non-idle time between two
// heartbeats (deltas of the first line of /proc/stat), memory the share not
// available (1 - MemAvailable/MemTotal of /proc/meminfo).
type procLoad struct {
	stat, meminfo string
	// the previous /proc/stat totals; ok false before the first read
	busy, total uint64
	ok          bool
}

func newLoadMeter() loadMeter { return &procLoad{stat: "/proc/stat", meminfo: "/proc/meminfo"} }

func (p *procLoad) measure() (cpu, mem *float64) {
	if busy, total, ok := readCPUTimes(p.stat); ok {
		// The first heartbeat has no previous reading: no CPU figure yet.
		if p.ok && total > p.total {
			cpu = clampPercent(100 * float64(busy-min(busy, p.busy)) / float64(total-p.total))
		}
		p.busy, p.total, p.ok = busy, total, true
	}
	if used, ok := readMemoryUsed(p.meminfo); ok {
		mem = clampPercent(used)
	}
	return cpu, mem
}

// readCPUTimes sums the "cpu" line of /proc/stat: user nice system idle
// iowait irq softirq steal (guest time is already in user and nice); idle
// and iowait are not busy.
func readCPUTimes(path string) (busy, total uint64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, total > 0
}

// readMemoryUsed is the percentage of memory not available.
func readMemoryUsed(path string) (float64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var totalKB, availKB float64
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(f)
	for sc.Scan() && !(haveTotal && haveAvail) {
		key, rest, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		switch key {
		case "MemTotal":
			totalKB, haveTotal = v, true
		case "MemAvailable":
			availKB, haveAvail = v, true
		}
	}
	if !haveTotal || !haveAvail || totalKB <= 0 {
		return 0, false
	}
	return 100 * (1 - availKB/totalKB), true
}
