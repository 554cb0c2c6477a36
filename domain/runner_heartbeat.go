package domain

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/events"
)

// ParseReportedState reads the state an agent reports in a heartbeat: IDLE
// or BUSY, in any case ("idle" is IDLE).
func ParseReportedState(s string) (RunnerState, error) {
	st, err := ParseRunnerState(strings.ToUpper(s))
	if err != nil || (st != StateIdle && st != StateBusy) {
		return RunnerState{}, invalid("an agent reports IDLE or BUSY, not %q", truncateShown(s))
	}
	return st, nil
}

// ReportHeartbeat decides what an agent's heartbeat reporting state (IDLE
// or BUSY) changes: a live runner (ACTIVE, IDLE, BUSY) in another state
// moves to it (runner.state_changed; the first heartbeat of a deployed
// runner moves it from ACTIVE to IDLE); one already in it, or one that is
// not live (PROVISIONING before its deploy is recorded, FAILED), changes
// nothing. A terminated runner is ECONFLICT: its agent should stop.
func (r *Runner) ReportHeartbeat(reported RunnerState) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if reported != StateIdle && reported != StateBusy {
		return nil, invalid("runner %s: an agent reports IDLE or BUSY, not %s", r.id, reported)
	}
	if r.state == reported || !r.state.Live() {
		return nil, nil
	}
	return r.ChangeState(reported, "heartbeat: the agent reports "+reported.String())
}

// truncateShown bounds a value quoted in an error.
func truncateShown(s string) string {
	if len(s) > 32 {
		t, _ := TruncateUTF8(s, 32)
		return t + "…"
	}
	return s
}
