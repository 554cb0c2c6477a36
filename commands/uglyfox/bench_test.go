package uglyfox_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

const benchRunners = 10_000

// benchRules are five rules of the kind a Nest holds; few runners match
// early, so most evaluate several.
var benchRules = []events.UglyFoxRuleSpec{
	{Name: "terminate-old-failed", When: `runner.failure_count >= 3 && runner.age > duration("1h")`, Action: "terminate"},
	{Name: "terminate-silent", When: `runner.state != "terminated" && runner.since_heartbeat > duration("10m")`, Action: "terminate"},
	{Name: "demote-idle", When: `runner.pool == "apex" && runner.idle_for > duration("30m")`, Action: "demote_to_nadir"},
	{Name: "promote-payments", When: `runner.pool == "nadir" && runner.egg == "egg-3" && runner.cloud == "aws"`, Action: "promote_to_apex"},
	{Name: "old-in-frankfurt", When: `runner.region == "eu-central-1" && runner.age > duration("48h")`, Action: "terminate"},
}

// benchRows are n runner rows over ten eggs: IDLE, BUSY and ACTIVE Apex
// runners and dormant Nadir ones, all heard within the last minute.
func benchRows(n int, at time.Time) []uglyfox.Runner {
	rs := make([]uglyfox.Runner, n)
	for i := range rs {
		deployed := at.Add(-time.Duration(i%72) * time.Hour)
		r := uglyfox.Runner{
			Row: ports.RunnerRow{ID: fmt.Sprintf("r-%05d", i), Egg: fmt.Sprintf("egg-%d", i%10), Type: "apex", State: "IDLE",
				Provider: "yandex", Region: "ru-central1-a", CreatedAt: deployed, DeployedAt: deployed,
				StateSince: at.Add(-time.Duration(i%25) * time.Minute), Silences: i % 3, Version: 5},
			Heartbeat: ports.Heartbeat{RunnerID: fmt.Sprintf("r-%05d", i), At: at.Add(-time.Duration(i%50) * time.Second), CPUPercent: 40, MemoryPercent: 40},
			Heard:     true,
		}
		switch i % 10 {
		case 0, 1, 2:
			r.Row.State = "BUSY"
		case 3:
			r.Row.State = "ACTIVE"
		case 4, 5:
			r.Row.Type, r.Row.PoolSince = "nadir", at.Add(-10*time.Minute)
		}
		if i%7 == 0 {
			r.Row.Provider, r.Row.Region = "aws", "eu-central-1"
		}
		rs[i] = r
	}
	return rs
}

func benchSettings(b *testing.B) *uglyfox.Settings {
	b.Helper()
	s, err := uglyfox.CompileSettings(events.UglyFoxConfigSynced{ConfigHash: "sha256:bench", Settings: &events.UglyFoxSettingsSpec{
		FailedThreshold: 100, MaxAgeSeconds: 30 * 24 * 3600, CheckIntervalSeconds: 60, HeartbeatTimeoutSeconds: 180,
		Pools: []events.UglyFoxPoolsSpec{
			{Name: "low", Eggs: []string{"egg-0", "egg-1", "egg-2", "egg-3", "egg-4"}, ApexMin: 1, ApexMax: 1000, ApexCPUThreshold: 80, ApexMemoryThreshold: 80, NadirMax: 1000, NadirIdleTimeoutSeconds: 3600},
			{Name: "high", Eggs: []string{"egg-5", "egg-6", "egg-7", "egg-8", "egg-9"}, ApexMin: 1, ApexMax: 1000, ApexCPUThreshold: 80, ApexMemoryThreshold: 80, NadirMax: 1000, NadirIdleTimeoutSeconds: 3600},
		},
		Rules: benchRules,
	}}, fly.NewConditionCompiler())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// bare is the least a sweep must do: for each row, the runner variables and
// the rules in order to the first match, with nothing else.
func bare(rs []uglyfox.Runner, rules []uglyfox.Rule, now time.Time) (matched int) {
	for i := range rs {
		row := &rs[i].Row
		f := domain.RunnerFacts{
			State: strings.ToLower(row.State), Pool: row.Type, Type: "vm", Egg: row.Egg, FailureCount: row.Silences,
			Age: now.Sub(row.DeployedAt), SinceHeartbeat: now.Sub(rs[i].Heartbeat.At), Cloud: row.Provider, Region: row.Region,
		}
		if row.State != "BUSY" {
			f.IdleFor = now.Sub(row.StateSince)
		}
		for _, r := range rules {
			if ok, _ := r.When.Eval(f); ok {
				matched++
				break
			}
		}
	}
	return matched
}

// best runs fn reps times and returns its fastest run.
func best(reps int, fn func()) time.Duration {
	var m time.Duration
	for i := 0; i < reps; i++ {
		start := time.Now()
		fn()
		if d := time.Since(start); m == 0 || d < m {
			m = d
		}
	}
	return m
}

// BenchmarkSweep_10k_runners_5_rules: one sweep's decision pass over
// 10,000 runner rows with five rules against a bare loop evaluating the
// same compiled expressions over the same rows (x_bare, target <= 2), a
// whole sweep over SQLite (views and last-seen reads included, commands
// counted, not sent), the heap one pass allocates and the process's peak
// RSS (target <= 200 MB).
func BenchmarkSweep_10k_runners_5_rules(b *testing.B) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := benchSettings(b)
	rs := benchRows(benchRunners, at)
	in := uglyfox.Input{Now: at, Settings: s, Runners: rs}
	var decisions int
	for b.Loop() {
		ds, errs := uglyfox.Decide(in)
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		decisions = len(ds)
	}
	ours := best(5, func() { uglyfox.Decide(in) })
	bareT := best(5, func() { bare(rs, s.Rules, at) })

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	uglyfox.Decide(in)
	runtime.ReadMemStats(&m1)

	sweep := benchWholeSweep(b, rs, at)

	b.ReportMetric(float64(benchRunners), "runners")
	b.ReportMetric(float64(decisions), "decisions")
	b.ReportMetric(ms(ours), "decide_ms")
	b.ReportMetric(ms(bareT), "bare_ms")
	b.ReportMetric(float64(ours)/float64(bareT), "x_bare")
	b.ReportMetric(ms(sweep), "sweep_ms")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), "alloc_MB/pass")
	b.ReportMetric(peakRSSMB(b), "rss_MB")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchWholeSweep writes rs into the views and last-seen records of a
// SQLite store and times Sweeper.Sweep over it, with a sender that only counts.
func benchWholeSweep(b *testing.B, rs []uglyfox.Runner, at time.Time) time.Duration {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	err = db.Views().Batch(ctx, func(tx ports.ViewTx) error {
		for _, r := range rs {
			if _, err := ports.Runners.In(tx).Put(ctx, r.Row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rs {
		if err := db.LastSeen().Touch(ctx, r.Heartbeat); err != nil {
			b.Fatal(err)
		}
	}
	codec := events.NewCodec(events.NewRegistry())
	h, err := commands.NewHandlers(db.Events(), codec, func() time.Time { return at }, func() string { return "0193a1b2-0000-7000-8000-000000000001" })
	if err != nil {
		b.Fatal(err)
	}
	cfg := events.UglyFoxConfigSynced{ConfigHash: "sha256:bench", Commit: "c1", Path: "UF/config.fly", Settings: &events.UglyFoxSettingsSpec{
		FailedThreshold: 100, MaxAgeSeconds: 30 * 24 * 3600, CheckIntervalSeconds: 60, HeartbeatTimeoutSeconds: 180, Rules: benchRules}}
	if _, err := h.SyncUglyFoxConfig(ctx, commands.SyncUglyFoxConfig{Config: cfg}); err != nil {
		b.Fatal(err)
	}
	sent := &countingSender{}
	sw, err := uglyfox.NewSweeper(uglyfox.SweeperConfig{Store: db.Events(), Codec: codec, Views: db.Views(), LastSeen: db.LastSeen(),
		Compiler: fly.NewConditionCompiler(), Sender: sent, Clock: func() time.Time { return at }})
	if err != nil {
		b.Fatal(err)
	}
	return best(3, func() {
		sum, err := sw.Sweep(ctx, "bench", 1)
		if err != nil || sum.Runners != len(rs) {
			b.Fatalf("sweep: %d runners, %v", sum.Runners, err)
		}
	})
}

type countingSender struct{ n int }

func (c *countingSender) Send(context.Context, commands.Command) error { c.n++; return nil }

// peakRSSMB is the process's peak resident set (VmHWM), 0 where /proc is missing.
func peakRSSMB(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Logf("peak RSS unknown: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
