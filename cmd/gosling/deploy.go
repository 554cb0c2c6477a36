package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Plan answers what a deploy of egg would do (GET /eggs/{name}/plan).
func (c *apiClient) Plan(ctx context.Context, egg string) (commands.DeployPlan, error) {
	var out commands.DeployPlan
	err := c.get(ctx, "/eggs/"+url.PathEscape(egg)+"/plan", nil, &out)
	return out, err
}

// Deploy asks a deploy of egg (POST /eggs/{name}/deploy).
func (c *apiClient) Deploy(ctx context.Context, egg string) (commands.DeployAnswer, error) {
	var out commands.DeployAnswer
	err := c.post(ctx, "/eggs/"+url.PathEscape(egg)+"/deploy", &out)
	return out, err
}

// Rollback asks a rollback of egg, to plan toPlanID's configuration when
// it is not "" (POST /eggs/{name}/rollback).
func (c *apiClient) Rollback(ctx context.Context, egg, toPlanID string) (commands.DeployAnswer, error) {
	body, err := json.Marshal(map[string]string{"to_plan_id": toPlanID})
	if err != nil {
		return commands.DeployAnswer{}, err
	}
	var out commands.DeployAnswer
	err = c.send(ctx, "POST", "/eggs/"+url.PathEscape(egg)+"/rollback", nil, body, &out)
	return out, err
}

// DeployStatus reads a deploy's progress (GET /eggs/{name}/deploys/{id}).
func (c *apiClient) DeployStatus(ctx context.Context, egg, id string) (commands.DeployStatus, error) {
	var out commands.DeployStatus
	err := c.get(ctx, "/eggs/"+url.PathEscape(egg)+"/deploys/"+url.PathEscape(id), nil, &out)
	return out, err
}

func eggArg(arg string) error {
	if strings.TrimSpace(arg) == "" || arg == "." || arg == ".." {
		return usagef("%q is not an egg name", arg)
	}
	return nil
}

func planCommand(a *App) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "plan EGG",
		Short: "show what a deploy of an egg would change, changing nothing",
		Long: `plan asks MotherGoose what a deploy of the egg would do (GET /eggs/{name}/plan),
and records nothing: per runner keep, replace (a BUSY runner or one holding a job
waits until it is idle), create or destroy with the reason, and, per egg
configuration its runners have now, the fields that change (cpu, memory_gb,
disk_gb, image, tags, pool sizes, ...). --format json prints the API's answer.`,
		Example: "  gosling plan web --server http://127.0.0.1:8080",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := eggArg(args[0]); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			plan, err := c.Plan(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if f.format == "json" {
				return writeJSONOut(a.Stdout, plan)
			}
			return writePlanTable(a.Stdout, plan)
		},
	}
	f.add(cmd)
	return cmd
}

// waitFlags are deploy's and rollback's --wait, --timeout and --poll.
type waitFlags struct {
	wait          bool
	timeout, poll time.Duration
}

func (w *waitFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "wait until the egg has converged, printing each plan's progress; exit 1 if it fails or --timeout passes")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 15*time.Minute, "with --wait: how long to wait")
	cmd.Flags().DurationVar(&w.poll, "poll", time.Second, "with --wait: how often to read the progress")
}

func (w *waitFlags) check() error {
	if w.timeout <= 0 || w.poll <= 0 {
		return usagef("--timeout and --poll must be positive")
	}
	return nil
}

func deployCommand(a *App) *cobra.Command {
	var (
		f apiFlags
		w waitFlags
	)
	cmd := &cobra.Command{
		Use:   "deploy EGG",
		Short: "bring an egg's runners to the Nest's configuration",
		Long: `deploy asks MotherGoose to bring the egg's runners to the Nest's configuration and
pool sizes (POST /eggs/{name}/deploy; it ends a rollback's pin). The provisioner
replaces stale runners one at a time, never one holding a job or BUSY (it waits
until the runner is idle), fills the pool, and records egg.deploy_finished when
the egg has converged. It prints the deploy's id and the changes it will make;
with --wait it follows the deploy (GET /eggs/{name}/deploys/{id}), printing each
plan as its status changes, and exits 1 if the deploy fails or --timeout passes.
With --format json it prints the API's answer (with --wait, the deploy's final
status; the progress lines go to stderr).`,
		Example: "  gosling deploy web --wait --server http://127.0.0.1:8080",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd.Context(), a, &f, &w, args[0], func(ctx context.Context, c *apiClient) (commands.DeployAnswer, error) {
				return c.Deploy(ctx, args[0])
			})
		},
	}
	f.add(cmd)
	w.add(cmd)
	return cmd
}

func rollbackCommand(a *App) *cobra.Command {
	var (
		f  apiFlags
		w  waitFlags
		to string
	)
	cmd := &cobra.Command{
		Use:   "rollback EGG",
		Short: "bring an egg's runners back to an earlier configuration",
		Long: `rollback asks MotherGoose to pin the egg to an earlier configuration
(POST /eggs/{name}/rollback): the one plan --to was made from (an applied create
or update plan of the egg), or by default the configuration its runners had
before the current one. The provisioner replaces the runners one at a time,
never a BUSY one, recording plan.rolled_back for each. The pin holds until the
next deploy or a Nest sync with a new configuration. Output, --wait and
--format are as for deploy.`,
		Example: "  gosling rollback web --wait\n  gosling rollback web --to 0193a1b2-... --format json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd.Context(), a, &f, &w, args[0], func(ctx context.Context, c *apiClient) (commands.DeployAnswer, error) {
				return c.Rollback(ctx, args[0], to)
			})
		},
	}
	f.add(cmd)
	w.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "the plan whose configuration is restored (default: the configuration before the current one)")
	return cmd
}

func runDeploy(ctx context.Context, a *App, f *apiFlags, w *waitFlags, egg string, ask func(context.Context, *apiClient) (commands.DeployAnswer, error)) error {
	if err := eggArg(egg); err != nil {
		return err
	}
	if err := w.check(); err != nil {
		return err
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	ans, err := ask(ctx, c)
	if err != nil {
		return err
	}
	progress := a.Stdout
	if f.format == "json" {
		progress = a.Stderr
		if !w.wait {
			return writeJSONOut(a.Stdout, ans)
		}
	} else {
		line := fmt.Sprintf("%s %s of egg %s: %s, configuration %s", ans.Kind, ans.DeployID, egg, ans.Status, ans.ConfigHash)
		if ans.RestoredPlanID != "" {
			line += " (of plan " + ans.RestoredPlanID + ")"
		}
		fmt.Fprintln(a.Stdout, line)
		fmt.Fprintln(a.Stdout, ans.Message)
		if err := writePlanTable(a.Stdout, ans.Plan); err != nil {
			return err
		}
	}
	if !w.wait {
		return nil
	}
	st, err := follow(ctx, c, egg, ans.DeployID, w, progress)
	if f.format == "json" && st != nil {
		if werr := writeJSONOut(a.Stdout, st); werr != nil {
			return werr
		}
	}
	return err
}

// follow polls the deploy until it finishes or w.timeout passes, printing
// a line to out for each plan whose status changes; an outcome other than
// converged is an error.
func follow(ctx context.Context, c *apiClient, egg, id string, w *waitFlags, out io.Writer) (*commands.DeployStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	seen := map[string]string{}
	var last *commands.DeployStatus
	for {
		st, err := c.DeployStatus(ctx, egg, id)
		if err != nil {
			if ctx.Err() != nil {
				return last, errs.Errorf(errs.EUNAVAILABLE, "%s of egg %s still running after %s (--timeout)", id, egg, w.timeout)
			}
			return last, err
		}
		last = &st
		for _, p := range st.Plans {
			if seen[p.PlanID] != p.Status {
				seen[p.PlanID] = p.Status
				fmt.Fprintf(out, "plan %s (%s runner %s): %s\n", p.PlanID, p.Action, p.RunnerID, p.Status)
			}
		}
		if st.Status == "finished" {
			fmt.Fprintf(out, "%s %s of egg %s finished: %s%s\n", st.Kind, id, egg, st.Outcome, because(st.Reason))
			if st.Outcome != "converged" {
				return last, fmt.Errorf("%s %s of egg %s did not converge: %s%s", st.Kind, id, egg, st.Outcome, because(st.Reason))
			}
			return last, nil
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return last, errs.Errorf(errs.EUNAVAILABLE, "%s of egg %s still running after %s (--timeout)", id, egg, w.timeout)
			}
			return last, ctx.Err()
		case <-time.After(w.poll):
		}
	}
}

func because(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

func writeJSONOut(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writePlanTable prints a plan: a summary line, the runners and the fields
// that change per configuration.
func writePlanTable(out io.Writer, p commands.DeployPlan) error {
	head := fmt.Sprintf("egg %s: configuration %s", p.Egg, p.FromConfigHash)
	if p.PinnedToPlanID != "" {
		head += " (pinned by a rollback to plan " + p.PinnedToPlanID + ")"
	}
	if p.ToConfigHash != p.FromConfigHash {
		head += " -> " + p.ToConfigHash
	}
	head += fmt.Sprintf("; %d changes", p.Changes)
	if p.ActiveDeployID != "" {
		head += "; deploy " + p.ActiveDeployID + " in force"
	}
	fmt.Fprintln(out, head)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if len(p.Runners) > 0 {
		fmt.Fprintln(tw, "RUNNER\tSTATE\tCONFIG\tCHANGE\tREASON")
		for _, r := range p.Runners {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", orDash(r.RunnerID), orDash(r.State), orDash(r.ConfigHash), r.Change, r.Reason)
		}
	}
	for _, d := range p.Diffs {
		fmt.Fprintf(tw, "\nCONFIGURATION %s -> %s (runners: %s)\n", d.FromConfigHash, d.ToConfigHash, orDash(strings.Join(d.Runners, ", ")))
		if d.Unknown {
			fmt.Fprintln(tw, "the earlier configuration is not known: no field list")
			continue
		}
		fmt.Fprintln(tw, "FIELD\tFROM\tTO")
		for _, c := range d.Fields {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Field, orDash(c.From), orDash(c.To))
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
