package uglyfox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Actor is the Meta.Actor of every command the sweep sends.
const Actor = "uglyfox"

// SweeperConfig is what a Sweeper reads and where it sends. Leases,
// Logger and Clock are optional.
type SweeperConfig struct {
	// Store and Codec read the configuration: the "uglyfox" stream's last
	// uglyfox.config_synced.
	Store ports.EventStore
	Codec *events.Codec
	// Views holds the runners and egg_configs views.
	Views ports.ViewStore
	// LastSeen holds the runners' last heartbeats.
	LastSeen ports.LastSeen
	// Compiler compiles the policy rules (adapters/fly.ConditionCompiler).
	Compiler ConditionCompiler
	// Sender carries the decisions: the command bus (commands.Sender, as
	// adapters/watermill implements it).
	Sender commands.Sender
	// Leases, when set, tells an ECONFLICT that is the fence (the lease is
	// lost: the sweep stops) from one that is a runner's own refusal (the
	// view was behind the log: that decision is skipped). Without it every
	// ECONFLICT stops the sweep.
	Leases ports.Leases
	Clock  func() time.Time
	Logger *slog.Logger
}

// Sweeper runs UglyFox's sweeps. One Sweeper serves one process; the
// caller holds the lease and passes it with its token to each Sweep. It is
// not safe for concurrent use: one goroutine calls Sweep and Interval.
type Sweeper struct {
	cfg SweeperConfig

	// The configuration as of the "uglyfox" stream's version seen, and its
	// compiled settings (compiled once per config hash).
	seen     uint64
	config   *events.UglyFoxConfigSynced
	settings *Settings
	compErr  error
}

// NewSweeper checks cfg and returns a Sweeper.
func NewSweeper(cfg SweeperConfig) (*Sweeper, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("uglyfox: nil event store")
	case cfg.Codec == nil:
		return nil, errors.New("uglyfox: nil codec")
	case cfg.Views == nil:
		return nil, errors.New("uglyfox: nil view store")
	case cfg.LastSeen == nil:
		return nil, errors.New("uglyfox: nil last-seen store")
	case cfg.Compiler == nil:
		return nil, errors.New("uglyfox: nil condition compiler")
	case cfg.Sender == nil:
		return nil, errors.New("uglyfox: nil command sender")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{cfg: cfg}, nil
}

// Interval is the time between sweeps: pruning.check_interval of the
// configuration the last Sweep read; until a sweep has read one,
// UnconfiguredInterval, so that a UF/config.fly synced after the start is
// acted on within seconds, not after the 5m default.
func (s *Sweeper) Interval() time.Duration {
	if s.settings == nil {
		return UnconfiguredInterval
	}
	return s.settings.Interval()
}

// UnconfiguredInterval is how often a sweeper without a configuration
// looks for one (the shortest pruning.check_interval the schema allows);
// such a sweep reads one stream and decides nothing.
const UnconfiguredInterval = 10 * time.Second

// Summary is what one sweep did.
type Summary struct {
	// ConfigHash is the configuration the sweep acted on ("" for none).
	ConfigHash string
	// Runners is how many runners it looked at.
	Runners int
	// Decisions are what it decided, in runner id order.
	Decisions []Decision
	// Sent counts the decisions handed to the sender; Skipped those a
	// runner refused as no longer applying (the views were behind the log;
	// the next sweep decides again).
	Sent, Skipped int
	// RuleErrors are the rules that failed to evaluate for a runner.
	RuleErrors []RuleError
}

// Sweep runs one pass: read the configuration, the runners and their last
// heartbeats, decide, and send each decision as a command fenced by lease
// and token. It stops at the first ECONFLICT that is the fence (another
// process holds the lease now) and returns it.
func (s *Sweeper) Sweep(ctx context.Context, lease string, token uint64) (Summary, error) {
	var sum Summary
	if err := s.loadConfig(ctx); err != nil {
		return sum, err
	}
	if s.config == nil {
		return sum, nil // no UF/config.fly synced: nothing to act on
	}
	sum.ConfigHash = s.config.ConfigHash
	if s.compErr != nil {
		return sum, s.compErr
	}
	in, err := s.input(ctx)
	if err != nil {
		return sum, err
	}
	sum.Runners = len(in.Runners)
	sum.Decisions, sum.RuleErrors = Decide(in)
	for _, re := range sum.RuleErrors {
		s.cfg.Logger.Warn("uglyfox: a policy rule failed to evaluate", "runner", re.RunnerID, "rule", re.Rule, "error", re.Err)
	}
	for _, d := range sum.Decisions {
		cmd := command(d, commands.Meta{Actor: Actor, FenceLease: lease, FenceToken: token, IdempotencyKey: IdempotencyKey(d)})
		err := s.cfg.Sender.Send(ctx, cmd)
		switch {
		case err == nil:
			sum.Sent++
			continue
		case ctx.Err() != nil:
			return sum, ctx.Err()
		case errs.Code(err) == errs.ECONFLICT:
			if s.cfg.Leases == nil || s.cfg.Leases.Check(ctx, lease, token, s.cfg.Clock()) != nil {
				return sum, fmt.Errorf("uglyfox: sweep stopped at %s of runner %s: %w", d.Kind, d.RunnerID, err)
			}
		case errs.Code(err) == errs.EUNAVAILABLE || errs.Code(err) == errs.EINTERNAL || errs.Code(err) == "":
			return sum, fmt.Errorf("uglyfox: %s of runner %s: %w", d.Kind, d.RunnerID, err)
		}
		// The runner refused it (its state moved on since the view was
		// read): the next sweep decides again on a fresher view.
		sum.Skipped++
		s.cfg.Logger.Info("uglyfox: decision refused", "runner", d.RunnerID, "decision", d.Kind, "error", err)
	}
	return sum, nil
}

// IdempotencyKey is the key of d's command: the same decision on the same
// runner row (a retried sweep, a redelivery) appends once.
func IdempotencyKey(d Decision) string {
	return fmt.Sprintf("uglyfox:%s:%s:%s:%d", d.Kind, d.Action, d.RunnerID, d.RowVersion)
}

// command is the command that carries d out.
func command(d Decision, m commands.Meta) commands.Command {
	switch d.Kind {
	case RecordSilence:
		return commands.RecordHeartbeatMissed{Meta: m, RunnerID: d.RunnerID, LastSeenAt: d.LastSeenAt, Threshold: d.Threshold}
	case RecordResumed:
		return commands.RecordHeartbeatResumed{Meta: m, RunnerID: d.RunnerID, SilentSince: d.SilentSince, LastSeenAt: d.LastSeenAt}
	case ReportOverrun:
		return commands.ReportJobOverrun{Meta: m, RunnerID: d.RunnerID, BusySince: d.BusySince, Limit: d.Threshold, Reason: d.Reason}
	case Defer:
		return commands.DeferDecision{Meta: m, RunnerID: d.RunnerID, Action: d.Action, Reason: d.Reason}
	case Demote:
		return commands.ChangeRunnerPool{Meta: m, RunnerID: d.RunnerID, To: domain.RunnerNadir.String(), Reason: "uglyfox: " + d.Reason}
	case Promote:
		return commands.ChangeRunnerPool{Meta: m, RunnerID: d.RunnerID, To: domain.RunnerApex.String(), Reason: "uglyfox: " + d.Reason}
	default: // Terminate
		return commands.AskTermination{Meta: m, RunnerID: d.RunnerID, Reason: "uglyfox: " + d.Reason, EvenIfBusy: d.EvenIfBusy}
	}
}

// loadConfig reads what the "uglyfox" stream gained since the last sweep
// and compiles a configuration whose hash changed.
func (s *Sweeper) loadConfig(ctx context.Context) error {
	recs, err := s.cfg.Store.Load(ctx, domain.UglyFoxStream(), s.seen)
	if err != nil {
		return err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		env, err := s.cfg.Codec.Decode(recs[i])
		if err != nil {
			return err
		}
		var ev events.UglyFoxConfigSynced
		switch p := env.Payload.(type) {
		case *events.UglyFoxConfigSynced:
			ev = *p
		case events.UglyFoxConfigSynced:
			ev = p
		default:
			continue
		}
		if s.config == nil || s.config.ConfigHash != ev.ConfigHash {
			s.settings, s.compErr = CompileSettings(ev, s.cfg.Compiler)
		}
		s.config = &ev
		break
	}
	if n := len(recs); n > 0 {
		s.seen = recs[n-1].Version
	}
	return nil
}

// liveStates are the states of the runners a sweep reads.
var liveStates = []string{"ACTIVE", "IDLE", "BUSY", "FAILED"}

// input reads the runners, their heartbeats and the eggs' job limits.
func (s *Sweeper) input(ctx context.Context) (Input, error) {
	in := Input{Now: s.cfg.Clock(), Settings: s.settings, JobLimits: map[string]time.Duration{}}
	read := s.cfg.Views.Read()
	runners := ports.Runners.In(read)
	for _, st := range liveStates {
		rows, err := runners.List(ctx, ports.Query{Eq: map[string]any{"state": st}})
		if err != nil {
			return in, err
		}
		for _, r := range rows {
			in.Runners = append(in.Runners, Runner{Row: r})
		}
	}
	ids := make([]string, 0, ports.MaxLastSeenBatch)
	for lo := 0; lo < len(in.Runners); lo += ports.MaxLastSeenBatch {
		batch := in.Runners[lo:min(lo+ports.MaxLastSeenBatch, len(in.Runners))]
		ids = ids[:0]
		for _, r := range batch {
			ids = append(ids, r.Row.ID)
		}
		seen, err := s.cfg.LastSeen.List(ctx, ids)
		if err != nil {
			return in, err
		}
		for i := range batch {
			batch[i].Heartbeat, batch[i].Heard = seen[batch[i].Row.ID]
		}
	}
	eggs, err := ports.EggConfigs.In(read).List(ctx, ports.Query{})
	if err != nil {
		return in, err
	}
	for _, e := range eggs {
		if e.MaxJobSeconds > 0 && !e.Removed {
			in.JobLimits[e.Name] = time.Duration(e.MaxJobSeconds) * time.Second
		}
	}
	return in, nil
}
