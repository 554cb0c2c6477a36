// Command mothergoose is the Polar Gosling control plane: serve (the HTTP
// API and GitLab webhooks, the Nest sync, command handling and live
// projections), replay, migrate and events, on the embedded SQLite store
// (gosling.db in --data-dir) by default or on DynamoDB.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mothergoose:", err)
		os.Exit(exitCode(err))
	}
}
