// Package domain is the model of Polar Gosling: value types that validate in
// their constructors, and aggregates that are rebuilt from their events and
// decide (command -> events) without I/O or clock reads. It imports only the
// events catalogue and domain/errs.
package domain

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// enum is the shared shape of the closed-set value types: parse s exactly
// (the wire spelling) against the allowed values.
func parseEnum(kind, s string, allowed []string) (string, error) {
	for _, a := range allowed {
		if s == a {
			return a, nil
		}
	}
	return "", errs.Errorf(errs.EINVALID, "%s %q is not one of %s", kind, s, strings.Join(allowed, ", "))
}

// The spelling of providers, egg types and runner types (issue 10, "one
// vocabulary"): each is one typed value below, and its one spelling is the
// lower-case word operators write in the Nest (`provider = "yandex"`,
// `type = "serverless"`, UglyFox rules' `runner.pool == "apex"`), which
// FLY.md fixes and which the compute modules take as inputs. Events, views,
// the API and the CLI use the same string (String, MarshalText). Events and
// views written before spelled providers and runner types in upper case
// ("YANDEX", "APEX"): the codec upcasts those events on read
// (events/respell.go), and the Parse functions still read the retired
// spelling (a view not yet rebuilt, an old API filter), always answering the
// canonical value, which is what decisions record.

// parseRetired is parseEnum that also reads a retired spelling
// (events.Respell) as the value it names now.
func parseRetired(kind, s string, allowed []string) (string, error) {
	if v, err := parseEnum(kind, events.Respell(s), allowed); err == nil {
		return v, nil
	}
	return parseEnum(kind, s, allowed)
}

// Spellings returns the spelling of each value of an enum, in order.
func Spellings[T interface{ String() string }](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = v.String()
	}
	return out
}

// RunnerType is how a runner executes jobs: serverless (one container per
// job), apex (an active VM in the pool) or nadir (a stopped VM kept for fast
// promotion). A serverless egg's runners are serverless, a vm egg's are apex
// or nadir (EggType.RunnerType). The zero value is not a type.
type RunnerType struct{ s string }

var (
	RunnerServerless = RunnerType{"serverless"}
	RunnerApex       = RunnerType{"apex"}
	RunnerNadir      = RunnerType{"nadir"}
)

// RunnerTypes lists the runner types.
var RunnerTypes = []RunnerType{RunnerServerless, RunnerApex, RunnerNadir}

// ParseRunnerType returns the runner type spelled s ("apex"; the retired
// "APEX" is read as "apex").
func ParseRunnerType(s string) (RunnerType, error) {
	v, err := parseRetired("runner type", s, []string{"serverless", "apex", "nadir"})
	return RunnerType{v}, err
}

func (t RunnerType) String() string { return t.s }
func (t RunnerType) IsZero() bool   { return t.s == "" }

// HasPool reports whether the type is a VM that lives in the Apex/Nadir pools.
func (t RunnerType) HasPool() bool { return t == RunnerApex || t == RunnerNadir }

// RunnerState is a state of the runner state machine.
type RunnerState struct{ s string }

var (
	StateProvisioning = RunnerState{"PROVISIONING"}
	StateActive       = RunnerState{"ACTIVE"}
	StateIdle         = RunnerState{"IDLE"}
	StateBusy         = RunnerState{"BUSY"}
	StateFailed       = RunnerState{"FAILED"}
	StateTerminated   = RunnerState{"TERMINATED"}
	// StateStopped is a Nadir runner whose machine (VM, process) the
	// provisioner stopped: kept, with its disk/workspace and identity,
	// started again when it is promoted to Apex. No agent runs, so it
	// neither heartbeats nor takes jobs.
	StateStopped = RunnerState{"STOPPED"}
)

// ParseRunnerState returns the state spelled s ("ACTIVE").
func ParseRunnerState(s string) (RunnerState, error) {
	v, err := parseEnum("runner state", s, []string{"PROVISIONING", "ACTIVE", "IDLE", "BUSY", "FAILED", "TERMINATED", "STOPPED"})
	return RunnerState{v}, err
}

func (s RunnerState) String() string { return s.s }
func (s RunnerState) IsZero() bool   { return s.s == "" }

// Live reports whether an agent is expected to be running and heartbeating.
func (s RunnerState) Live() bool { return s == StateActive || s == StateIdle || s == StateBusy }

// CloudProvider is where a runner runs: the `provider` of a `.fly` cloud
// block, an egg's and a runner's provider in events and views. The zero
// value is not a provider. It encodes as its spelling ("yandex") in JSON.
type CloudProvider struct{ s string }

var (
	ProviderYandex = CloudProvider{"yandex"}
	ProviderAWS    = CloudProvider{"aws"}
	// ProviderLocal runs runners as processes on the MotherGoose machine
	// (modules/compute/local): development, CI, and trying the whole loop
	// offline. Its one region is "local".
	ProviderLocal = CloudProvider{"local"}
)

// CloudProviders lists the providers, as a configuration may name them.
var CloudProviders = []CloudProvider{ProviderYandex, ProviderAWS, ProviderLocal}

// ParseCloudProvider returns the provider spelled s ("yandex"; the retired
// "YANDEX" is read as "yandex").
func ParseCloudProvider(s string) (CloudProvider, error) {
	v, err := parseRetired("cloud provider", s, []string{"yandex", "aws", "local"})
	return CloudProvider{v}, err
}

func (p CloudProvider) String() string { return p.s }
func (p CloudProvider) IsZero() bool   { return p.s == "" }

// MarshalText encodes the provider as its spelling ("" for the zero value).
func (p CloudProvider) MarshalText() ([]byte, error) { return []byte(p.s), nil }

// UnmarshalText reads the spelling of ParseCloudProvider; "" is the zero value.
func (p *CloudProvider) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = CloudProvider{}
		return nil
	}
	v, err := ParseCloudProvider(string(b))
	*p = v
	return err
}

// EggType is how an egg's (or a job's) runners run: serverless or vm. It is
// not a RunnerType: a vm egg's runners are apex or nadir. The serverless
// concept is spelled the same in both ("serverless"). The zero value is not
// a type. It encodes as its spelling in JSON.
type EggType struct{ s string }

var (
	EggServerless = EggType{"serverless"}
	EggVM         = EggType{"vm"}
)

// EggTypes lists the egg (and job runner) types.
var EggTypes = []EggType{EggServerless, EggVM}

// ParseEggType returns the egg type spelled s ("vm").
func ParseEggType(s string) (EggType, error) {
	v, err := parseEnum("egg type", s, []string{"serverless", "vm"})
	return EggType{v}, err
}

func (t EggType) String() string { return t.s }
func (t EggType) IsZero() bool   { return t.s == "" }

// RunnerType returns the type of a new runner of the egg: serverless for a
// serverless egg, apex (the active pool) for a vm egg, zero for the zero value.
func (t EggType) RunnerType() RunnerType {
	switch t {
	case EggServerless:
		return RunnerServerless
	case EggVM:
		return RunnerApex
	}
	return RunnerType{}
}

// MarshalText encodes the type as its spelling ("" for the zero value).
func (t EggType) MarshalText() ([]byte, error) { return []byte(t.s), nil }

// UnmarshalText reads the spelling of ParseEggType; "" is the zero value.
func (t *EggType) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = EggType{}
		return nil
	}
	v, err := ParseEggType(string(b))
	*t = v
	return err
}

// DeploymentStatus is where a deployment plan stands.
type DeploymentStatus struct{ s string }

var (
	DeploymentPending    = DeploymentStatus{"PENDING"}
	DeploymentApplied    = DeploymentStatus{"APPLIED"}
	DeploymentRolledBack = DeploymentStatus{"ROLLED_BACK"}
	DeploymentFailed     = DeploymentStatus{"FAILED"}
)

// ParseDeploymentStatus returns the status spelled s ("APPLIED").
func ParseDeploymentStatus(s string) (DeploymentStatus, error) {
	v, err := parseEnum("deployment status", s, []string{"PENDING", "APPLIED", "ROLLED_BACK", "FAILED"})
	return DeploymentStatus{v}, err
}

func (d DeploymentStatus) String() string { return d.s }
func (d DeploymentStatus) IsZero() bool   { return d.s == "" }

// SyncStatus is the outcome of one Nest sync.
type SyncStatus struct{ s string }

var (
	SyncSuccess = SyncStatus{"SUCCESS"}
	SyncFailed  = SyncStatus{"FAILED"}
)

// ParseSyncStatus returns the status spelled s ("SUCCESS").
func ParseSyncStatus(s string) (SyncStatus, error) {
	v, err := parseEnum("sync status", s, []string{"SUCCESS", "FAILED"})
	return SyncStatus{v}, err
}

func (s SyncStatus) String() string { return s.s }
func (s SyncStatus) IsZero() bool   { return s.s == "" }

// SyncTrigger is what started a Nest sync.
type SyncTrigger struct{ s string }

var (
	TriggerScheduled = SyncTrigger{"scheduled"}
	TriggerWebhook   = SyncTrigger{"webhook"}
	TriggerManual    = SyncTrigger{"manual"}
)

// ParseSyncTrigger returns the trigger spelled s ("webhook").
func ParseSyncTrigger(s string) (SyncTrigger, error) {
	v, err := parseEnum("sync trigger", s, []string{"scheduled", "webhook", "manual"})
	return SyncTrigger{v}, err
}

func (t SyncTrigger) String() string { return t.s }
func (t SyncTrigger) IsZero() bool   { return t.s == "" }

// maxIdentifier is the longest identifier: a DNS label, so that names can be
// used in hostnames and cloud resource names.
const maxIdentifier = 63

// checkIdentifier validates the shared identifier syntax: 1 to 63 characters
// of lowercase letters, digits, '-' and '_', starting with a letter or digit.
func checkIdentifier(kind, s string) error {
	if s == "" {
		return errs.Errorf(errs.EINVALID, "%s is empty", kind)
	}
	if len(s) > maxIdentifier {
		return errs.Errorf(errs.EINVALID, "%s %q is longer than %d characters", kind, s, maxIdentifier)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return errs.Errorf(errs.EINVALID, "%s %q: only lowercase letters, digits, '-' and '_' are allowed, starting with a letter or digit", kind, s)
		}
	}
	return nil
}

// EggName names an Egg or EggsBucket.
type EggName struct{ s string }

// NewEggName validates s as an identifier.
func NewEggName(s string) (EggName, error) {
	if err := checkIdentifier("egg name", s); err != nil {
		return EggName{}, err
	}
	return EggName{s}, nil
}

func (n EggName) String() string { return n.s }
func (n EggName) IsZero() bool   { return n.s == "" }

// RunnerID identifies a runner.
type RunnerID struct{ s string }

// NewRunnerID validates s as an identifier.
func NewRunnerID(s string) (RunnerID, error) {
	if err := checkIdentifier("runner id", s); err != nil {
		return RunnerID{}, err
	}
	return RunnerID{s}, nil
}

func (id RunnerID) String() string { return id.s }
func (id RunnerID) IsZero() bool   { return id.s == "" }

// PlanID identifies a deployment plan.
type PlanID struct{ s string }

// NewPlanID validates s as an identifier.
func NewPlanID(s string) (PlanID, error) {
	if err := checkIdentifier("plan id", s); err != nil {
		return PlanID{}, err
	}
	return PlanID{s}, nil
}

func (id PlanID) String() string { return id.s }
func (id PlanID) IsZero() bool   { return id.s == "" }

// SecretURI points at a secret in a backend ("vault://secret/data/gosling#token").
// Only the URI is ever stored; the value is resolved at use and never logged.
type SecretURI struct{ s string }

// NewSecretURI checks s syntactically: a scheme of SecretShapes and a
// non-empty rest. Whether the secret exists is the secrets adapter's business.
func NewSecretURI(s string) (SecretURI, error) {
	_, rest, ok := secretShape(s)
	if !ok {
		return SecretURI{}, errs.Errorf(errs.EINVALID, "secret uri %q: scheme must be one of %s", s, secretSchemes())
	}
	if strings.TrimSpace(rest) == "" {
		return SecretURI{}, errs.Errorf(errs.EINVALID, "secret uri %q names no secret after the scheme", s)
	}
	return SecretURI{s}, nil
}

func (u SecretURI) String() string { return u.s }
func (u SecretURI) IsZero() bool   { return u.s == "" }

// Scheme returns the backend part without "://" ("vault").
func (u SecretURI) Scheme() string {
	scheme, _, _ := strings.Cut(u.s, "://")
	return scheme
}
