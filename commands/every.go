package commands

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// every runs pass at once, then every interval and whenever wake (nil: never)
// says so, until ctx ends; a failed pass is logged as what and tried again
// at the next tick. before, when set, runs after a wake and before its pass
// (a catch-up of the views the pass reads).
func every(ctx context.Context, log *slog.Logger, what string, interval time.Duration, wake <-chan struct{}, before func(context.Context), pass func(context.Context) error) error {
	if interval <= 0 {
		return errors.New("commands: " + what + ": the interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, what+" pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-wake:
			if before != nil {
				before(ctx)
			}
		}
	}
}
