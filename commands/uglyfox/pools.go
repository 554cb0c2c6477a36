package uglyfox

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
)

// pools keeps each runners_condition's shape with the runners no earlier
// step decided on (acted: runner id -> its action this sweep):
//
//   - Apex under apex.min_count, or the Apex runners' mean CPU or memory
//     (their last heartbeats) above apex.cpu_threshold or
//     apex.memory_threshold while under apex.max_count: promote Nadir
//     runners, the most recently demoted first, so that a stopped runner
//     is started before the provisioner would provision a new one;
//   - Apex over apex.max_count: demote the idle ones, longest idle first,
//     while Nadir is under nadir.max_count;
//   - Nadir over nadir.max_count: terminate the oldest;
//   - a Nadir runner dormant past nadir.idle_timeout: terminate it, longest
//     dormant first, while Nadir keeps nadir.min_count.
func (d *decider) pools(rs []Runner, acted map[string]Kind) {
	if len(d.s.Pools) == 0 {
		return
	}
	apex := make([][]member, len(d.s.Pools))
	nadir := make([][]member, len(d.s.Pools))
	for i := range rs {
		r := &rs[i]
		gi, ok := d.group[r.Row.Egg]
		if !ok || !considered(r.Row) || !r.Row.TerminationAskedAt.IsZero() {
			continue
		}
		k := acted[r.Row.ID]
		if k == Terminate {
			continue
		}
		m := member{r: r}
		if r.Row.State != "BUSY" {
			m.idle = since(d.in.Now, latest(r.Row.StateSince, r.Row.PoolSince, r.Row.DeployedAt))
		}
		switch {
		case k == Promote, r.Row.Type == domain.RunnerApex.String() && live(r.Row) && k != Demote:
			apex[gi] = append(apex[gi], m)
		case k == Demote, r.Row.Type == domain.RunnerNadir.String() && r.Row.State != "FAILED":
			nadir[gi] = append(nadir[gi], m)
		}
	}
	free := func(m member) bool { return acted[m.r.Row.ID] == "" }
	for gi, p := range d.s.Pools {
		a, n := apex[gi], nadir[gi]
		group := fmt.Sprintf("runners_condition %q", p.Name)

		// Promote.
		need, cause := 0, ""
		if len(a) < p.ApexMin {
			need, cause = p.ApexMin-len(a), fmt.Sprintf("%s apex.min_count %d", group, p.ApexMin)
		} else if p.ApexMax == 0 || len(a) < p.ApexMax {
			if why := d.overloaded(a, p); why != "" {
				need, cause = 1, group+" "+why
			}
		}
		if need > 0 {
			cands := filter(n, func(m member) bool { return free(m) && m.r.Row.State != "BUSY" })
			slices.SortFunc(cands, func(x, y member) int {
				return cmp.Or(y.r.Row.PoolSince.Compare(x.r.Row.PoolSince), strings.Compare(x.r.Row.ID, y.r.Row.ID))
			})
			for _, m := range cands[:min(need, len(cands))] {
				d.pool(m.r, acted, Promote, cause, fmt.Sprintf("%s: %d Apex runners", cause, len(a)))
				n = slices.DeleteFunc(n, func(x member) bool { return x.r == m.r })
				a = append(a, m)
			}
		}

		// Demote the Apex surplus.
		if p.ApexMax > 0 && len(a) > p.ApexMax && len(n) < p.NadirMax {
			cause := fmt.Sprintf("%s apex.max_count %d", group, p.ApexMax)
			cands := filter(a, func(m member) bool {
				return free(m) && (m.r.Row.State == "IDLE" || m.r.Row.State == "ACTIVE") && m.r.Row.DeferredAction == ""
			})
			slices.SortFunc(cands, func(x, y member) int {
				return cmp.Or(cmp.Compare(y.idle, x.idle), strings.Compare(x.r.Row.ID, y.r.Row.ID))
			})
			k := min(len(a)-p.ApexMax, p.NadirMax-len(n), len(cands))
			for _, m := range cands[:k] {
				d.pool(m.r, acted, Demote, cause, fmt.Sprintf("%s: %d Apex runners, this one idle for %s", cause, len(a), m.idle.Round(time.Second)))
				n = append(n, m)
			}
		}

		// Terminate the Nadir surplus, oldest first.
		if len(n) > p.NadirMax {
			cause := fmt.Sprintf("%s nadir.max_count %d", group, p.NadirMax)
			cands := filter(n, func(m member) bool { return free(m) && m.r.Row.State != "BUSY" })
			slices.SortFunc(cands, func(x, y member) int {
				return cmp.Or(deployedAt(x.r.Row).Compare(deployedAt(y.r.Row)), strings.Compare(x.r.Row.ID, y.r.Row.ID))
			})
			k := min(len(n)-p.NadirMax, len(cands))
			for _, m := range cands[:k] {
				d.pool(m.r, acted, Terminate, cause, fmt.Sprintf("%s: %d Nadir runners, this one the oldest", cause, len(n)))
			}
			n = filter(n, free)
		}

		// Nadir idle_timeout.
		if t := p.NadirIdleTimeout; t > 0 && len(n) > p.NadirMin {
			cause := fmt.Sprintf("%s nadir.idle_timeout %s", group, t)
			cands := filter(n, func(m member) bool { return free(m) && m.r.Row.State != "BUSY" && m.idle > t })
			slices.SortFunc(cands, func(x, y member) int {
				return cmp.Or(cmp.Compare(y.idle, x.idle), strings.Compare(x.r.Row.ID, y.r.Row.ID))
			})
			for _, m := range cands[:min(len(n)-p.NadirMin, len(cands))] {
				d.pool(m.r, acted, Terminate, cause, fmt.Sprintf("%s: dormant for %s", cause, m.idle.Round(time.Second)))
			}
		}
	}
}

// overloaded says which Apex threshold the mean load of the Apex runners
// heard from exceeds, "" for none.
func (d *decider) overloaded(a []member, p Pools) string {
	var cpu, mem float64
	heard := 0
	for _, m := range a {
		if m.r.Heard {
			cpu += m.r.Heartbeat.CPUPercent
			mem += m.r.Heartbeat.MemoryPercent
			heard++
		}
	}
	if heard == 0 {
		return ""
	}
	cpu, mem = cpu/float64(heard), mem/float64(heard)
	switch {
	case p.ApexCPUThreshold > 0 && cpu > float64(p.ApexCPUThreshold):
		return fmt.Sprintf("apex.cpu_threshold %d%% (mean CPU of %d Apex runners %.0f%%)", p.ApexCPUThreshold, heard, cpu)
	case p.ApexMemoryThreshold > 0 && mem > float64(p.ApexMemoryThreshold):
		return fmt.Sprintf("apex.memory_threshold %d%% (mean memory of %d Apex runners %.0f%%)", p.ApexMemoryThreshold, heard, mem)
	}
	return ""
}

// member is a runner of a pool with its idle_for.
type member struct {
	r    *Runner
	idle time.Duration
}

func (d *decider) pool(r *Runner, acted map[string]Kind, k Kind, cause, reason string) {
	acted[r.Row.ID] = k
	d.add(Decision{RunnerID: r.Row.ID, Kind: k, Cause: cause, Reason: reason, RowVersion: r.Row.Version})
}

func filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
