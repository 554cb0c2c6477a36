package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/events"
)

// followInterval is how often `events --follow` polls for new events.
const followInterval = 2 * time.Second

func eventsCommand(a *App) *cobra.Command {
	var (
		f      apiFlags
		stream string
		after  uint64
		limit  int
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "print MotherGoose's event log (the audit replay)",
		Long: `events prints the event log from MotherGoose's /events: the whole log by
global position, or one stream by version with --stream, from --after (a
position, or a stream version with --stream) to the end, page by page
(--limit events per request). --follow then keeps polling every 2s until
interrupted. --format json prints one event object per line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return usagef("--limit %d: want 1 to 1000", limit)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return printEvents(cmd.Context(), a, c, f.format, stream, after, limit, follow)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&stream, "stream", "", "only this stream (e.g. runner-web-job-42)")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this global position (stream version with --stream)")
	cmd.Flags().IntVar(&limit, "limit", 100, "events per request, 1 to 1000")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep polling for new events until interrupted")
	return cmd
}

func printEvents(ctx context.Context, a *App, c *apiClient, format, stream string, after uint64, limit int, follow bool) error {
	header := format == "table"
	for {
		page, err := c.Events(ctx, stream, after, limit)
		if follow && (errors.Is(err, context.Canceled) || ctx.Err() != nil) {
			return nil // interrupted: a normal end of --follow
		}
		if err != nil {
			return err
		}
		if err := writeEvents(a.Stdout, format, header && (len(page.Events) > 0 || !follow), page.Events); err != nil {
			return err
		}
		if len(page.Events) > 0 {
			header = false
		}
		after = max(after, page.NextAfter)
		if page.Next != "" {
			continue // more: read on at once
		}
		if !follow {
			return nil
		}
		t := time.NewTimer(followInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func writeEvents(w io.Writer, format string, header bool, recs []events.Record) error {
	if format == "json" {
		enc := json.NewEncoder(w) // one compact object per line
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if header {
		fmt.Fprintln(tw, "POSITION\tTIME\tSTREAM\tVERSION\tTYPE\tACTOR")
	}
	for _, r := range recs {
		actor := r.Actor
		if actor == "" {
			actor = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", r.GlobalPosition, r.RecordedAt.UTC().Format(time.RFC3339), r.Stream, r.Version, r.Type, actor)
	}
	return tw.Flush()
}
