package commands

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Bounds of what a heartbeat reports.
const (
	// MaxRunningJobs is the most job ids one heartbeat lists (an egg's
	// runner.concurrent is at most 100).
	MaxRunningJobs = 100
	// MaxAgentVersion is the longest agent version string, in bytes.
	MaxAgentVersion = 64
)

// ReceiveHeartbeat is one agent heartbeat as a transport read it.
type ReceiveHeartbeat struct {
	RunnerID string
	// Credential is the runner's own credential (the bearer token), minted
	// at provisioning; only its SHA-256 is stored (runner.deployed).
	Credential string
	// State is what the agent reports: IDLE or BUSY, in any case.
	State       string
	RunningJobs []int64
	Version     string
	// CPUPercent and MemoryPercent are the runner machine's load (0 to
	// 100; 0 when the agent does not measure it).
	CPUPercent    float64
	MemoryPercent float64
}

// HeartbeatAnswer tells the agent the runner's state now.
type HeartbeatAnswer struct {
	State string `json:"state"`
	// Changed: this heartbeat appended runner.state_changed.
	Changed bool `json:"-"`
}

// RunnerTerminatedError answers a heartbeat of a terminated runner: its
// agent should stop. Its code is ECONFLICT.
type RunnerTerminatedError struct{ RunnerID string }

func (e *RunnerTerminatedError) Error() string {
	return fmt.Sprintf("runner %s is terminated: its agent should stop", e.RunnerID)
}

// ErrorCode is ECONFLICT.
func (e *RunnerTerminatedError) ErrorCode() string { return errs.ECONFLICT }

// reportHeartbeat is the command a state-changing heartbeat runs on the
// runner's stream; heartbeats are synchronous (the agent waits for the
// answer) and are not carried by the bus.
type reportHeartbeat struct {
	Meta
	RunnerID string
	State    string
}

func (reportHeartbeat) CommandName() string { return "runner.report_heartbeat" }

// Heartbeats decides what an agent's heartbeat does. Heartbeats are not
// events: each one updates the runner's last-seen record (ports.LastSeen);
// only a change of state is (runner.state_changed, through the Runner
// aggregate), so a fleet heartbeating every few seconds costs one view read
// and one last-seen write per heartbeat, and the log grows only when a
// runner goes IDLE or BUSY.
type Heartbeats struct {
	h     *Handlers
	views ports.ViewStore
	seen  ports.LastSeen
	now   func() time.Time
}

// NewHeartbeats returns the heartbeat handler: it authenticates against
// the runners view, records in seen and appends through h. None may be nil.
func NewHeartbeats(h *Handlers, views ports.ViewStore, seen ports.LastSeen, now func() time.Time) (*Heartbeats, error) {
	switch {
	case h == nil:
		return nil, errors.New("commands: heartbeats: nil handlers")
	case views == nil:
		return nil, errors.New("commands: heartbeats: nil view store")
	case seen == nil:
		return nil, errors.New("commands: heartbeats: nil last-seen store")
	case now == nil:
		return nil, errors.New("commands: heartbeats: nil clock")
	}
	return &Heartbeats{h: h, views: views, seen: seen, now: now}, nil
}

// Receive authenticates a heartbeat with the runner's credential (its
// SHA-256, compared in constant time with the one runner.deployed recorded;
// a runner without one cannot heartbeat: EUNAUTHORIZED), records it as the
// runner's last seen, and moves a live runner to the reported state when it
// is in another one (the first heartbeat of a deployed runner: ACTIVE ->
// IDLE). An unknown runner is ENOTFOUND, a terminated one
// *RunnerTerminatedError; a malformed report EINVALID. Nothing is appended
// for a heartbeat that does not change the state, or that is refused.
func (s *Heartbeats) Receive(ctx context.Context, cmd ReceiveHeartbeat) (HeartbeatAnswer, error) {
	id, err := domain.NewRunnerID(cmd.RunnerID)
	if err != nil {
		return HeartbeatAnswer{}, err
	}
	row, found, err := ports.Runners.In(s.views.Read()).Get(ctx, id.String())
	if err != nil {
		return HeartbeatAnswer{}, err
	}
	if !found {
		return HeartbeatAnswer{}, errs.Errorf(errs.ENOTFOUND, "runner %s does not exist", id)
	}
	if !credentialMatches(cmd.Credential, row.CredentialSHA256) {
		return HeartbeatAnswer{}, errs.Errorf(errs.EUNAUTHORIZED, "runner %s: a valid runner credential is required", id)
	}
	if row.State == domain.StateTerminated.String() {
		return HeartbeatAnswer{}, &RunnerTerminatedError{RunnerID: id.String()}
	}
	reported, err := domain.ParseReportedState(cmd.State)
	if err != nil {
		return HeartbeatAnswer{}, err
	}
	if err := checkReport(cmd); err != nil {
		return HeartbeatAnswer{}, err
	}
	if err := s.seen.Touch(ctx, ports.Heartbeat{
		RunnerID: id.String(), At: s.now().UTC(), State: reported.String(),
		RunningJobs: cmd.RunningJobs, Version: cmd.Version,
		CPUPercent: cmd.CPUPercent, MemoryPercent: cmd.MemoryPercent,
	}); err != nil {
		return HeartbeatAnswer{}, err
	}
	if row.State == reported.String() {
		return HeartbeatAnswer{State: row.State}, nil // the common case: no read of the stream
	}
	// The view says the state differs (or lags): the aggregate decides.
	var now domain.RunnerState
	var terminated, changed bool
	_, err = s.h.runner(ctx, reportHeartbeat{Meta: Meta{Actor: "runner:" + id.String()}, RunnerID: id.String(), State: reported.String()}, id.String(),
		func(r *domain.Runner) ([]events.Event, error) {
			if terminated = r.State() == domain.StateTerminated; terminated {
				return nil, nil
			}
			evs, err := r.ReportHeartbeat(reported)
			now, changed = r.State(), len(evs) > 0
			if changed {
				now = reported
			}
			return evs, err
		})
	switch {
	case err != nil:
		return HeartbeatAnswer{}, err
	case terminated:
		return HeartbeatAnswer{}, &RunnerTerminatedError{RunnerID: id.String()}
	}
	return HeartbeatAnswer{State: now.String(), Changed: changed}, nil
}

// credentialMatches compares sha256(credential) with the recorded hex hash
// in constant time; an empty or malformed recorded hash matches nothing.
func credentialMatches(credential, recorded string) bool {
	want, err := hex.DecodeString(recorded)
	if err != nil || len(want) != sha256.Size || credential == "" {
		return false
	}
	got := sha256.Sum256([]byte(credential))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

func checkReport(cmd ReceiveHeartbeat) error {
	if len(cmd.RunningJobs) > MaxRunningJobs {
		return errs.Errorf(errs.EINVALID, "a heartbeat lists at most %d running jobs, not %d", MaxRunningJobs, len(cmd.RunningJobs))
	}
	for _, j := range cmd.RunningJobs {
		if j <= 0 {
			return errs.Errorf(errs.EINVALID, "running job id %d is not positive", j)
		}
	}
	if len(cmd.Version) > MaxAgentVersion || !utf8.ValidString(cmd.Version) {
		return errs.Errorf(errs.EINVALID, "the agent version is at most %d bytes of UTF-8", MaxAgentVersion)
	}
	for _, c := range cmd.Version {
		if c < 0x20 || c == 0x7f {
			return errs.Errorf(errs.EINVALID, "the agent version holds a control character")
		}
	}
	for name, p := range map[string]float64{"cpu_percent": cmd.CPUPercent, "memory_percent": cmd.MemoryPercent} {
		if !(p >= 0 && p <= 100) { // NaN fails too
			return errs.Errorf(errs.EINVALID, "%s is %v: want a percentage from 0 to 100", name, p)
		}
	}
	return nil
}
