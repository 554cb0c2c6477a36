package domain

import (
	"slices"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// Egg is one Egg or EggsBucket as described in the Nest.
type Egg struct {
	version
	name    EggName
	config  events.EggSynced
	synced  bool
	removed bool
	// reconcileFailure is the last recorded reconciliation failure, nil
	// when none is outstanding (with RetryAfterMS zeroed: repeats compare equal).
	reconcileFailure *events.EggReconcileFailed
	// deploy is the deploy or rollback in force ("" for none).
	deploy string
}

// RehydrateEgg rebuilds egg name from its stream's history.
func RehydrateEgg(name EggName, history []events.Envelope) (*Egg, error) {
	if name.IsZero() {
		return nil, invalid("egg name is empty")
	}
	e := &Egg{name: name}
	v, err := replay(e, EggStream(name.String()), history)
	if err != nil {
		return nil, err
	}
	e.v = v
	return e, nil
}

func (e *Egg) Name() EggName { return e.name }

// Exists reports whether the egg was synced and is not removed.
func (e *Egg) Exists() bool { return e.synced && !e.removed }

// Removed reports whether the egg's file is gone from the Nest.
func (e *Egg) Removed() bool { return e.removed }

// ConfigHash returns the hash of the last synced configuration.
func (e *Egg) ConfigHash() string { return e.config.ConfigHash }

// Config returns a copy of the last synced configuration.
func (e *Egg) Config() events.EggSynced { return cloneEggSynced(e.config) }

// ValidateEggConfig checks an egg configuration as parsed from the Nest.
func ValidateEggConfig(c events.EggSynced) error {
	if _, err := NewEggName(c.Name); err != nil {
		return err
	}
	if c.Kind != "egg" && c.Kind != "bucket" {
		return invalid("egg %s: kind %q is not egg or bucket", c.Name, c.Kind)
	}
	if t, err := ParseRunnerType(c.RunnerType); err != nil {
		return err
	} else if t != RunnerServerless && t != RunnerApex {
		return invalid("egg %s: runner type must be %s or %s, not %s", c.Name, RunnerServerless, RunnerApex, t)
	}
	if _, err := ParseCloudProvider(c.Provider); err != nil {
		return err
	}
	if c.Region == "" {
		return invalid("egg %s: region is empty", c.Name)
	}
	if len(c.ProjectIDs)+len(c.GroupIDs) == 0 {
		return invalid("egg %s: names no GitLab project or group", c.Name)
	}
	for _, id := range slices.Concat(c.ProjectIDs, c.GroupIDs) {
		if id <= 0 {
			return invalid("egg %s: GitLab id %d is not positive", c.Name, id)
		}
	}
	if c.CPU <= 0 || c.MemoryGB <= 0 {
		return invalid("egg %s: cpu (%d) and memory (%d GB) must be positive", c.Name, c.CPU, c.MemoryGB)
	}
	if c.DiskGB < 0 {
		return invalid("egg %s: disk %d GB is negative", c.Name, c.DiskGB)
	}
	if c.MinApex < 0 || c.MinApex > c.MaxApex {
		return invalid("egg %s: need 0 <= min_apex (%d) <= max_apex (%d)", c.Name, c.MinApex, c.MaxApex)
	}
	if c.MinNadir < 0 {
		return invalid("egg %s: min_nadir %d is negative", c.Name, c.MinNadir)
	}
	for _, f := range [][2]string{{"token_secret_uri", c.TokenSecretURI}, {"webhook_secret_uri", c.WebhookSecretURI}} {
		if _, err := NewSecretURI(f[1]); f[1] != "" && err != nil {
			return invalid("egg %s: %s: %s", c.Name, f[0], errs.Message(err))
		}
	}
	if c.ConfigHash == "" {
		return invalid("egg %s: config hash is empty", c.Name)
	}
	return nil
}

// Sync records the egg's configuration as of a Nest commit. It emits
// EggSynced only when the egg is new, was removed, or its config hash
// changed; the same configuration again is no events and no error.
func (e *Egg) Sync(c events.EggSynced) ([]events.Event, error) {
	if c.Name != e.name.String() {
		return nil, invalid("egg config names %q, not %q", c.Name, e.name)
	}
	if err := ValidateEggConfig(c); err != nil {
		return nil, err
	}
	if e.Exists() && e.config.ConfigHash == c.ConfigHash {
		return nil, nil
	}
	ev := cloneEggSynced(c)
	// Recorded in the canonical spelling (ValidateEggConfig parsed both).
	t, _ := ParseRunnerType(c.RunnerType)
	p, _ := ParseCloudProvider(c.Provider)
	ev.RunnerType, ev.Provider = t.String(), p.String()
	return []events.Event{ev}, nil
}

// Remove records that the egg's file is gone from the Nest.
func (e *Egg) Remove(commit, reason string) ([]events.Event, error) {
	if !e.Exists() {
		return nil, notFound("egg %s does not exist", e.name)
	}
	return []events.Event{events.EggRemoved{Name: e.name.String(), Commit: commit, Reason: reason}}, nil
}

// AskRetry records an operator's ask that the egg provision again after
// its runners failed (the provisioner's breaker): an unknown egg is
// ENOTFOUND, a removed one ECONFLICT (it provisions nothing anyway).
func (e *Egg) AskRetry(reason string) ([]events.Event, error) {
	if !e.synced {
		return nil, notFound("egg %s does not exist", e.name)
	}
	if e.removed {
		return nil, conflict("egg %s was removed from the Nest; sync it again instead", e.name)
	}
	if reason == "" {
		return nil, invalid("egg %s: retry asked without a reason", e.name)
	}
	return []events.Event{events.EggRetryAsked{Egg: e.name.String(), Reason: reason}}, nil
}

// ReconcileFailed records a failed reconciliation pass over the egg, unless
// the last recorded outcome is this same failure (same server, scope, code
// and reason): repeats append nothing.
func (e *Egg) ReconcileFailed(f events.EggReconcileFailed) ([]events.Event, error) {
	if !e.synced {
		return nil, notFound("egg %s does not exist", e.name)
	}
	if f.Code == "" || f.Scope == "" {
		return nil, invalid("egg %s: a reconciliation failure needs a code and a scope", e.name)
	}
	f.Egg = e.name.String()
	same := f
	same.RetryAfterMS = 0 // the wait differs each time; the failure does not
	if e.reconcileFailure != nil && *e.reconcileFailure == same {
		return nil, nil
	}
	return []events.Event{f}, nil
}

// ReconcileSucceeded records that a pass listed the egg's jobs, when the
// last recorded outcome was a failure; otherwise it appends nothing.
func (e *Egg) ReconcileSucceeded(server string) ([]events.Event, error) {
	if !e.synced {
		return nil, notFound("egg %s does not exist", e.name)
	}
	if e.reconcileFailure == nil {
		return nil, nil
	}
	return []events.Event{events.EggReconcileRecovered{Egg: e.name.String(), Server: server}}, nil
}

func (e *Egg) apply(ev events.Event) error {
	switch ev := ev.(type) {
	case events.EggSynced:
		e.config, e.synced, e.removed = cloneEggSynced(ev), true, false
	case events.EggRemoved:
		e.removed = true
	case events.EggReconcileFailed:
		ev.RetryAfterMS = 0
		e.reconcileFailure = &ev
	case events.EggReconcileRecovered:
		e.reconcileFailure = nil
	case events.EggRetryAsked, events.RunnerGitLabOrphanDeleted:
		// Nothing the egg decides on: the provisioner's model reads it.
	case events.EggDeployAsked:
		e.deploy = ev.DeployID
	case events.EggRollbackAsked:
		e.deploy = ev.DeployID
	case events.EggDeployFinished:
		if e.deploy == ev.DeployID {
			e.deploy = ""
		}
	default:
		return unknownEvent("egg "+e.name.String(), ev)
	}
	return nil
}

func cloneEggSynced(c events.EggSynced) events.EggSynced {
	c.ProjectIDs, c.GroupIDs, c.Tags = slices.Clone(c.ProjectIDs), slices.Clone(c.GroupIDs), slices.Clone(c.Tags)
	return c
}
