// Command uglyfox is Polar Gosling's lifecycle worker on its own: `uglyfox
// serve` sweeps the runners (heartbeats, ages, the UF policies, the Apex and
// Nadir pools) under a lease in the store MotherGoose uses, and sends its
// decisions as commands fenced by the lease. Several may run for
// availability; one sweeps at a time. `mothergoose serve` runs the same
// sweep in process unless --uglyfox=false.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "uglyfox:", err)
		code := 1
		if errs.Code(err) == errs.EINVALID {
			code = 2
		}
		os.Exit(code)
	}
}
