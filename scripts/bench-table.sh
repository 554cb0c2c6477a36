#!/usr/bin/env bash
# bench-table.sh: reads `go test -bench` output on stdin and prints each
# benchmark's custom metrics (the figures the README reports) as a table.
set -euo pipefail
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	line = sprintf("%-48s", name)
	for (i = 3; i < NF; i += 2) {
		unit = $(i + 1)
		if (unit == "ns/op" || unit == "B/op" || unit == "allocs/op") continue
		line = line sprintf("  %14s %-14s", $i, unit)
	}
	rows[++n] = line
}
END {
	print ""
	print "== figures =="
	for (i = 1; i <= n; i++) print rows[i]
}'
