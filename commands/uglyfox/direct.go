package uglyfox

import (
	"context"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Direct returns a commands.Sender that runs the sweep's commands at once
// on h (in process, no bus), so that a sweep sees each outcome: a fenced
// command refused because the lease was lost comes back as ECONFLICT.
func Direct(h *commands.Handlers) commands.Sender { return direct{h} }

type direct struct{ h *commands.Handlers }

func (d direct) Send(ctx context.Context, cmd commands.Command) error {
	var err error
	switch c := cmd.(type) {
	case commands.RecordHeartbeatMissed:
		_, err = d.h.RecordHeartbeatMissed(ctx, c)
	case commands.RecordHeartbeatResumed:
		_, err = d.h.RecordHeartbeatResumed(ctx, c)
	case commands.ReportJobOverrun:
		_, err = d.h.ReportJobOverrun(ctx, c)
	case commands.DeferDecision:
		_, err = d.h.DeferDecision(ctx, c)
	case commands.ChangeRunnerPool:
		_, err = d.h.ChangeRunnerPool(ctx, c)
	case commands.AskTermination:
		_, err = d.h.AskTermination(ctx, c)
	default:
		err = errs.Errorf(errs.EINVALID, "uglyfox: no direct route for %s", cmd.CommandName())
	}
	return err
}
