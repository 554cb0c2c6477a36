package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// askAnswer is the API's 202 answer to terminate and retry.
type askAnswer struct {
	RunnerID string `json:"runner_id"`
	Egg      string `json:"egg"`
	Status   string `json:"status"`
	Version  uint64 `json:"version"`
}

func terminateCommand(a *App) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "terminate RUNNER_ID",
		Short: "ask MotherGoose to destroy a runner (after its job, if BUSY)",
		Long: `terminate asks MotherGoose to destroy the runner (POST /runners/{id}/terminate):
the provisioner runs a destroy plan and records runner.terminated, never under
a BUSY runner's job (it waits for the job to end). It prints the ask's result:
one line, or the API's answer with --format json.`,
		Example: "  gosling terminate web-job-1 --server http://127.0.0.1:8080",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAsk(cmd.Context(), a, &f, "a runner ID", args[0], func(ctx context.Context, c *apiClient, id string) (json.RawMessage, error) {
				return c.TerminateRunner(ctx, id)
			}, func(r askAnswer) string {
				return fmt.Sprintf("runner %s: %s (version %d)", r.RunnerID, r.Status, r.Version)
			})
		},
	}
	f.add(cmd)
	return cmd
}

func retryCommand(a *App) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "retry EGG",
		Short: "ask MotherGoose to provision a tripped egg again",
		Long: `retry asks MotherGoose to provision the egg again after its breaker tripped
(its last runners failed to provision; POST /eggs/{name}/retry): the egg
provisions under the same configuration and trips anew if more runners fail.
It prints the ask's result: one line, or the API's answer with --format json.`,
		Example: "  gosling retry web --server http://127.0.0.1:8080",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAsk(cmd.Context(), a, &f, "an egg name", args[0], func(ctx context.Context, c *apiClient, name string) (json.RawMessage, error) {
				return c.RetryEgg(ctx, name)
			}, func(r askAnswer) string {
				return fmt.Sprintf("egg %s: %s (version %d)", r.Egg, r.Status, r.Version)
			})
		},
	}
	f.add(cmd)
	return cmd
}

// runAsk validates the argument and flags, sends the ask and prints its
// answer: the line of line, or the API's JSON with --format json.
func runAsk(ctx context.Context, a *App, f *apiFlags, what, arg string,
	ask func(context.Context, *apiClient, string) (json.RawMessage, error), line func(askAnswer) string,
) error {
	if strings.TrimSpace(arg) == "" || arg == "." || arg == ".." {
		return usagef("%q is not %s", arg, what)
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	raw, err := ask(ctx, c, arg)
	if err != nil {
		return err
	}
	if f.format == "json" {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return errs.Wrap(errs.EINTERNAL, err, "the answer is not JSON")
		}
		b.WriteByte('\n')
		_, err := a.Stdout.Write(b.Bytes())
		return err
	}
	var r askAnswer
	if err := json.Unmarshal(raw, &r); err != nil {
		return errs.Wrap(errs.EINTERNAL, err, "the answer is not the expected JSON")
	}
	_, err = fmt.Fprintln(a.Stdout, line(r))
	return err
}
