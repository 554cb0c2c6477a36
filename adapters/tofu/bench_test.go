package tofu_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/tofu"
)

// BenchmarkRenderInitPlan times what the adapter adds: render + init + plan
// of the local target through terraform-exec ("ours"), against the bare
// commands `tofu init` and `tofu plan -out` run with os/exec on the same
// rendered files in the same run ("bare"). Both start from a fresh .terraform
// directory each iteration. x_bare is ours/bare; the target is <= 1.10.
func BenchmarkRenderInitPlan(b *testing.B) {
	ctx := context.Background()
	e := mustExecutor(b, tofu.Config{CLI: tofu.CLIConfig{PluginCacheDir: b.TempDir()}})
	bin := e.Binary()
	spec := localSpec(b, "r-bench-1")
	var ours, bare time.Duration
	runOurs := func() {
		start := time.Now()
		w, err := e.Prepare(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Init(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Plan(ctx); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		resetData(b, w.Dir)
	}
	runBare := func() {
		dir := e.Dir(spec.RunnerID) // the files the adapter rendered
		start := time.Now()
		for _, args := range [][]string{
			{"init", "-input=false", "-no-color"},
			{"plan", "-input=false", "-no-color", "-out=" + tofu.PlanFile},
		} {
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, tofu.CLIConfigFile), "CHECKPOINT_DISABLE=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("bare tofu %s: %v\n%s", args[0], err, out)
			}
		}
		bare += time.Since(start)
		resetData(b, dir)
	}
	runOurs() // warm-up: creates the files the bare runs use; not counted
	ours = 0
	const rounds = 6 // per iteration, alternating which goes first
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			if r%2 == 0 {
				runOurs()
				runBare()
			} else {
				runBare()
				runOurs()
			}
		}
	}
	n := float64(b.N * rounds)
	b.ReportMetric(ours.Seconds()/n, "ours_s/op")
	b.ReportMetric(bare.Seconds()/n, "bare_s/op")
	b.ReportMetric(ours.Seconds()/bare.Seconds(), "x_bare")
}

// resetData drops the data dir and saved plan so the next run starts cold.
func resetData(b *testing.B, dir string) {
	b.Helper()
	for _, p := range []string{".terraform", tofu.PlanFile} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			b.Fatal(err)
		}
	}
}
