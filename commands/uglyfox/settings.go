// Package uglyfox is UglyFox's sweep: the lifecycle decisions over the
// live runners (silent agents, pruning, the UF policy rules, the Apex and
// Nadir pools) and the service that sends them as fenced commands.
//
// Decide is pure: runners, settings, the sweep's memory (kept in the
// runners view: recorded silences, deferred decisions, reported overruns)
// and the time in, decisions out. The Sweeper reads the views, the
// last-seen records and the configuration from the log, decides, and
// sends each decision as a command stamped with the sweep's lease and
// fencing token.
package uglyfox

import (
	"fmt"
	"slices"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// ConditionCompiler compiles a policy rule's `when` from the source text
// and the JSON of the file locals it reads, as uglyfox.config_synced
// records them. adapters/fly implements it with the parser's own checks,
// so a rule that parsed compiles.
type ConditionCompiler interface {
	Compile(source, locals string) (domain.Condition, error)
}

// DefaultInterval is the sweep interval of a configuration that carries no
// check_interval (the schema's default); a sweeper that has read no
// configuration at all uses UnconfiguredInterval.
const DefaultInterval = 5 * time.Minute

// Settings is the uglyfox block, compiled: what Decide acts on.
type Settings struct {
	ConfigHash       string
	FailedThreshold  int
	MaxAge           time.Duration
	CheckInterval    time.Duration
	HeartbeatTimeout time.Duration
	Pools            []Pools
	Rules            []Rule
}

// Pools is one runners_condition: the Apex and Nadir bounds of its eggs.
type Pools struct {
	Name string
	Eggs []string
	// ApexMin and ApexMax bound the Apex (running) pool, NadirMin and
	// NadirMax the Nadir (stopped) pool.
	ApexMin, ApexMax, NadirMin, NadirMax int
	// ApexCPUThreshold and ApexMemoryThreshold (percent, 0: none): above
	// the mean of the Apex runners' last reported load, a Nadir runner is
	// promoted.
	ApexCPUThreshold, ApexMemoryThreshold int
	// NadirIdleTimeout: a Nadir runner dormant longer is terminated (while
	// the pool keeps NadirMin).
	NadirIdleTimeout time.Duration
}

// Rule is one compiled policy rule.
type Rule struct {
	Name   string
	Action string // domain.ActionTerminate, ActionDemoteToNadir, ActionPromoteToApex
	When   domain.Condition
	// readsState: the condition reads runner.state, so a match on a BUSY
	// runner is a rule that says so explicitly (it may terminate it).
	readsState bool
}

// CompileSettings compiles the settings a config_synced event records.
// An event recorded before settings were (nil Settings) is EINVALID.
func CompileSettings(ev events.UglyFoxConfigSynced, c ConditionCompiler) (*Settings, error) {
	spec := ev.Settings
	if spec == nil {
		return nil, errs.Errorf(errs.EINVALID, "uglyfox config %s (commit %s) was recorded without its settings; change UF/config.fly to record it again", ev.ConfigHash, ev.Commit)
	}
	s := &Settings{
		ConfigHash:       ev.ConfigHash,
		FailedThreshold:  spec.FailedThreshold,
		MaxAge:           time.Duration(spec.MaxAgeSeconds) * time.Second,
		CheckInterval:    time.Duration(spec.CheckIntervalSeconds) * time.Second,
		HeartbeatTimeout: time.Duration(spec.HeartbeatTimeoutSeconds) * time.Second,
	}
	for _, p := range spec.Pools {
		s.Pools = append(s.Pools, Pools{
			Name: p.Name, Eggs: slices.Clone(p.Eggs),
			ApexMin: p.ApexMin, ApexMax: p.ApexMax, NadirMin: p.NadirMin, NadirMax: p.NadirMax,
			ApexCPUThreshold: p.ApexCPUThreshold, ApexMemoryThreshold: p.ApexMemoryThreshold,
			NadirIdleTimeout: time.Duration(p.NadirIdleTimeoutSeconds) * time.Second,
		})
	}
	for _, r := range spec.Rules {
		if !slices.Contains(domain.PolicyActions, r.Action) {
			return nil, errs.Errorf(errs.EINVALID, "uglyfox rule %s: unknown action %q", r.Name, r.Action)
		}
		cond, err := c.Compile(r.When, r.Locals)
		if err != nil {
			return nil, fmt.Errorf("uglyfox rule %s: %w", r.Name, err)
		}
		s.Rules = append(s.Rules, NewRule(r.Name, r.Action, cond))
	}
	return s, nil
}

// NewRule returns a rule over a compiled condition.
func NewRule(name, action string, when domain.Condition) Rule {
	return Rule{Name: name, Action: action, When: when, readsState: slices.Contains(when.Variables(), "runner.state")}
}

// Interval is the time between sweeps: pruning.check_interval.
func (s *Settings) Interval() time.Duration {
	if s.CheckInterval <= 0 {
		return DefaultInterval
	}
	return s.CheckInterval
}
