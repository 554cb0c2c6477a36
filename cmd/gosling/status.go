package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/ports"
)

// runnerStates is the order runner counts are printed in.
var runnerStates = []string{"PROVISIONING", "ACTIVE", "IDLE", "BUSY", "FAILED", "STOPPED", "TERMINATED"}

// statusReport is what `gosling status --format json` prints.
type statusReport struct {
	Server         string                `json:"server"`
	Eggs           []statusEgg           `json:"eggs"`
	Runners        int                   `json:"runners"`
	RunnersByState map[string]int        `json:"runners_by_state"`
	LastSync       *ports.SyncHistoryRow `json:"last_sync"`
	// Deferred are UglyFox's decisions waiting for a BUSY runner to be idle
	// (the first maxDeferredShown); DeferredTotal counts them all.
	Deferred      []statusDeferred `json:"deferred"`
	DeferredTotal int              `json:"deferred_total"`
}

// statusDeferred is one UglyFox decision waiting for its runner to be idle.
type statusDeferred struct {
	Runner string `json:"runner"`
	Egg    string `json:"egg"`
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// maxDeferredShown bounds the deferred decisions status lists.
const maxDeferredShown = 50

type statusEgg struct {
	Name     string      `json:"name"`
	Kind     string      `json:"kind"`
	Type     string      `json:"type"`
	Provider string      `json:"provider"`
	Region   string      `json:"region"`
	Removed  bool        `json:"removed"`
	Pools    statusPools `json:"pools"`
}

// statusPools counts an egg's live runners (neither FAILED nor
// TERMINATED) by pool: Apex (active VMs) and, of those, the BUSY ones;
// Nadir (dormant VMs kept for a fast promotion) and, of those, the ones
// stopped already; serverless.
type statusPools struct {
	Apex         int `json:"apex"`
	ApexBusy     int `json:"apex_busy"`
	Nadir        int `json:"nadir"`
	NadirStopped int `json:"nadir_stopped"`
	Serverless   int `json:"serverless"`
}

// count adds row to p if it is live.
func (p statusPools) count(row ports.RunnerRow) statusPools {
	if row.State == "FAILED" || row.State == "TERMINATED" {
		return p
	}
	switch row.Type {
	case "apex":
		p.Apex++
		if row.State == "BUSY" {
			p.ApexBusy++
		}
	case "nadir":
		p.Nadir++
		if row.State == "STOPPED" {
			p.NadirStopped++
		}
	case "serverless":
		p.Serverless++
	}
	return p
}

func statusCommand(a *App) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "show MotherGoose's eggs with their Apex and Nadir pools, runner counts by state and the last Nest sync",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			eggs, err := c.Eggs(ctx)
			if err != nil {
				return err
			}
			total, byState, pools, deferred, deferredTotal, err := c.RunnerCounts(ctx)
			if err != nil {
				return err
			}
			last, err := c.LastSync(ctx)
			if err != nil {
				return err
			}
			r := statusReport{Server: c.base.String(), Eggs: []statusEgg{}, Runners: total, RunnersByState: byState, LastSync: last,
				Deferred: append([]statusDeferred{}, deferred...), DeferredTotal: deferredTotal}
			for _, e := range eggs {
				r.Eggs = append(r.Eggs, statusEgg{Name: e.Name, Kind: e.Kind, Type: e.RunnerType, Provider: e.Provider, Region: e.Region, Removed: e.Removed, Pools: pools[e.Name]})
			}
			slices.SortFunc(r.Eggs, func(x, y statusEgg) int { return cmp.Compare(x.Name, y.Name) })
			if f.format == "json" {
				enc := json.NewEncoder(a.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return writeStatusTable(a, r)
		},
	}
	f.add(cmd)
	return cmd
}

func writeStatusTable(a *App, r statusReport) error {
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "EGGS (%d)\n", len(r.Eggs))
	if len(r.Eggs) > 0 {
		fmt.Fprintln(tw, "NAME\tKIND\tTYPE\tPROVIDER\tREGION\tREMOVED")
		for _, e := range r.Eggs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Kind, e.Type, e.Provider, e.Region, yesNo(e.Removed))
		}
	}
	if len(r.Eggs) > 0 {
		fmt.Fprintln(tw, "\nPOOLS (live runners)")
		fmt.Fprintln(tw, "EGG\tAPEX\tAPEX BUSY\tNADIR\tNADIR STOPPED\tSERVERLESS")
		for _, e := range r.Eggs {
			p := e.Pools
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", e.Name, p.Apex, p.ApexBusy, p.Nadir, p.NadirStopped, p.Serverless)
		}
	}
	if r.DeferredTotal > 0 {
		fmt.Fprintf(tw, "\nDEFERRED (%d: UglyFox decisions waiting for a BUSY runner to be idle)\n", r.DeferredTotal)
		fmt.Fprintln(tw, "RUNNER\tEGG\tACTION\tWHY")
		for _, d := range r.Deferred {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Runner, d.Egg, d.Action, d.Reason)
		}
		if n := r.DeferredTotal - len(r.Deferred); n > 0 {
			fmt.Fprintf(tw, "... and %d more (gosling status --format json, or GET /runners)\n", n)
		}
	}
	fmt.Fprintf(tw, "\nRUNNERS (%d)\n", r.Runners)
	fmt.Fprintln(tw, "STATE\tCOUNT")
	states := slices.Clone(runnerStates)
	for s := range r.RunnersByState {
		if !slices.Contains(states, s) {
			states = append(states, s)
		}
	}
	for _, s := range states {
		fmt.Fprintf(tw, "%s\t%d\n", s, r.RunnersByState[s])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.Stdout, "\nLAST SYNC")
	s := r.LastSync
	if s == nil {
		_, err := fmt.Fprintln(a.Stdout, "no Nest sync recorded")
		return err
	}
	line := fmt.Sprintf("%s at %s (%s, %s), commit %s", s.Status, s.StartedAt.UTC().Format(time.RFC3339), s.Trigger,
		(time.Duration(s.DurationMS) * time.Millisecond).String(), shortCommit(s.Commit))
	if s.Status == "SUCCESS" {
		line += fmt.Sprintf(": eggs +%d ~%d -%d, jobs %d", s.EggsAdded, s.EggsUpdated, s.EggsRemoved, s.JobsSynced)
	} else if s.Error != "" {
		line += ": " + s.Error
	}
	_, err := fmt.Fprintln(a.Stdout, line)
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func shortCommit(c string) string {
	if c == "" {
		return "-"
	}
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
