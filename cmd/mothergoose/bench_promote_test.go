package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/ports"
)

// BenchmarkPromote times a Nadir runner's promote, the append of its
// runner.pool_changed to apex until its row is IDLE again (an update plan
// with running = true starts its stopped agent, which heartbeats), against a
// cold provision measured in the same run as BenchmarkColdProvision does (a
// pending Job Hook's 202 until the new runner is IDLE), both on the local
// target through the real serve composition root. Rounds alternate which
// goes first; the figures are medians. x_cold is promote/cold (the issue
// asks promote to be measurably faster: < 1).
func BenchmarkPromote(b *testing.B) {
	env := newBenchEnv(b)
	const rounds = 3
	s := env.serve(b, "", 4)
	// One kept runner (min = max = 1: stopped, it still counts, so nothing
	// replaces it), and an egg whose every job gets a new runner.
	s.seedEgg(b, "nadir", 7201, 1, 1, 1)
	s.seedEgg(b, "cold", 7202, 0, rounds*b.N, 1)
	s.waitEggIdle(b, "nadir", 3*time.Minute)
	rows, err := ports.Runners.In(s.m.storage.Views.Read()).List(context.Background(), ports.Query{Eq: map[string]any{"egg": "nadir", "state": provisioner.StateIdle}})
	if err != nil || len(rows) != 1 {
		b.Fatalf("the nadir egg's runner: %+v %v", rows, err)
	}
	id := rows[0].ID
	move := func(to string) {
		b.Helper()
		if _, err := s.m.Handlers.ChangeRunnerPool(context.Background(), commands.ChangeRunnerPool{
			Meta: commands.Meta{Actor: "bench"}, RunnerID: id, To: to, Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	var promote, cold []time.Duration
	runPromote := func() {
		move("nadir")
		s.waitRunnerState(b, id, provisioner.StateStopped, 2*time.Minute)
		t0 := time.Now()
		move("apex")
		s.waitRunnerState(b, id, provisioner.StateIdle, 2*time.Minute)
		promote = append(promote, time.Since(t0))
	}
	job := int64(9000)
	runCold := func() {
		job++
		t0 := s.hook(b, 7202, job, "pending")
		s.waitRunnerState(b, fmt.Sprintf("cold-job-%d", job), provisioner.StateIdle, 3*time.Minute)
		cold = append(cold, time.Since(t0))
	}
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			if r%2 == 0 {
				runPromote()
				runCold()
			} else {
				runCold()
				runPromote()
			}
		}
	}
	p, c := percentile(promote, 0.5), percentile(cold, 0.5)
	b.ReportMetric(p.Seconds(), "promote_s")
	b.ReportMetric(c.Seconds(), "cold_s")
	b.ReportMetric(p.Seconds()/c.Seconds(), "x_cold")
}
