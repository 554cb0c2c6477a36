// Command gosling is the Polar Gosling operator CLI: it creates a Nest
// (init), adds eggs, buckets and jobs to it (add), and checks, formats and
// prints its .fly files (validate, fmt, parse).
//
// Exit status: 0 success, 1 invalid configuration, a runtime error or an
// interrupted run (SIGINT, SIGTERM),
// 2 a usage error (unknown command or flag, wrong arguments, bad flag value).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels ctx (an open prompt gives up); a second one
	// kills the process the default way.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
