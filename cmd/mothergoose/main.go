// Command mothergoose is the Polar Gosling control plane: command handling,
// projections and (later) the HTTP API, on the embedded SQLite store by
// default or on DynamoDB.
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
