// Package commands is the application layer: one command struct per intent
// and the handlers that carry it out (load the stream, let the domain decide,
// append with the expected version, retry only on a version conflict).
//
// There are two ways in:
//
//   - Handlers' typed methods are the synchronous path. HTTP handlers call
//     them and get the ports.AppendResult (or the domain error) back before
//     answering, so a 202 is sent only after the append is durable.
//   - Sender is the asynchronous path, for sagas and UglyFox: Send hands the
//     command to a bus and returns; the bus runs the same Handlers method
//     later (Routes) and the outcome shows up in the event log (or, for a
//     permanent error, in the poison log). A caller that needs the outcome
//     uses the typed method. The bus is an adapter (adapters/watermill).
package commands

import (
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// Meta is what a command carries besides its intent. Every field is
// optional. On the bus it travels in message metadata, not in the payload.
type Meta struct {
	// Actor is who asked: "user:alice", "uglyfox", "gitlab:webhook".
	Actor string
	// CorrelationID ties together everything one outside request caused.
	CorrelationID string
	// CausationID is the id of the command or event that caused this command.
	CausationID string
	// IdempotencyKey makes the command's append happen at most once: a
	// command carrying a key already used on its stream appends nothing and
	// reports the original append.
	IdempotencyKey string
	// FenceLease and FenceToken fence a command sent by the holder of a
	// lease (UglyFox's sweep): the handler appends only while FenceToken is
	// the current token of lease FenceLease (ports.Leases.Check), checked
	// just before the append, so a holder that was paused past its lease
	// cannot act once another has taken over. Empty: not fenced.
	FenceLease string
	FenceToken uint64
}

// CommandMeta returns the command's Meta; commands embed Meta to get it.
func (m Meta) CommandMeta() Meta { return m }

func (m *Meta) setCommandMeta(v Meta) { *m = v }

// Command is implemented by every command struct of this package.
type Command interface {
	// CommandName is the command's stable name ("runner.request"). It names
	// the bus topic and is never derived from the Go type name.
	CommandName() string
	CommandMeta() Meta
}

// RequestRunner asks for a new runner (it starts PROVISIONING).
type RequestRunner struct {
	Meta       `json:"-"`
	RunnerID   string   `json:"runner_id"`
	Egg        string   `json:"egg"`
	RunnerType string   `json:"runner_type"`
	Provider   string   `json:"provider"`
	Region     string   `json:"region"`
	Tags       []string `json:"tags,omitempty"`
	JobID      int64    `json:"job_id,omitempty"`
	Reason     string   `json:"reason,omitempty"`
}

func (RequestRunner) CommandName() string { return "runner.request" }

// DeployRunner records that a runner's infrastructure exists (PROVISIONING -> ACTIVE).
type DeployRunner struct {
	Meta           `json:"-"`
	RunnerID       string `json:"runner_id"`
	PlanID         string `json:"plan_id"`
	InstanceID     string `json:"instance_id"`
	Address        string `json:"address,omitempty"`
	Hostname       string `json:"hostname,omitempty"`
	GoslingVersion string `json:"gosling_version,omitempty"`
	// CredentialSHA256 is the hex SHA-256 of the runner's credential (never the credential).
	CredentialSHA256 string `json:"credential_sha256,omitempty"`
}

func (DeployRunner) CommandName() string { return "runner.deploy" }

// ChangeRunnerState moves a runner along its state machine.
type ChangeRunnerState struct {
	Meta     `json:"-"`
	RunnerID string `json:"runner_id"`
	To       string `json:"to"`
	Reason   string `json:"reason,omitempty"`
}

func (ChangeRunnerState) CommandName() string { return "runner.change_state" }

// RecordHeartbeatMissed records that a sweep found a runner's agent silent.
type RecordHeartbeatMissed struct {
	Meta       `json:"-"`
	RunnerID   string        `json:"runner_id"`
	LastSeenAt time.Time     `json:"last_seen_at"`
	Threshold  time.Duration `json:"threshold"`
}

func (RecordHeartbeatMissed) CommandName() string { return "runner.record_heartbeat_missed" }

// RecordHeartbeatResumed records that a runner whose silence was recorded
// was heard again.
type RecordHeartbeatResumed struct {
	Meta        `json:"-"`
	RunnerID    string    `json:"runner_id"`
	SilentSince time.Time `json:"silent_since"`
	LastSeenAt  time.Time `json:"last_seen_at"`
}

func (RecordHeartbeatResumed) CommandName() string { return "runner.record_heartbeat_resumed" }

// ReportJobOverrun records that a runner stayed BUSY past its egg's job limit.
type ReportJobOverrun struct {
	Meta      `json:"-"`
	RunnerID  string        `json:"runner_id"`
	BusySince time.Time     `json:"busy_since"`
	Limit     time.Duration `json:"limit"`
	Reason    string        `json:"reason,omitempty"`
}

func (ReportJobOverrun) CommandName() string { return "runner.report_job_overrun" }

// DeferDecision records an UglyFox decision that waits for a BUSY runner to be idle.
type DeferDecision struct {
	Meta     `json:"-"`
	RunnerID string `json:"runner_id"`
	Action   string `json:"action"` // terminate, demote_to_nadir
	Reason   string `json:"reason"`
}

func (DeferDecision) CommandName() string { return "uglyfox.defer_decision" }

// ChangeRunnerPool moves a VM runner between the Apex and Nadir pools.
type ChangeRunnerPool struct {
	Meta     `json:"-"`
	RunnerID string `json:"runner_id"`
	To       string `json:"to"` // apex, nadir
	Reason   string `json:"reason,omitempty"`
}

func (ChangeRunnerPool) CommandName() string { return "runner.change_pool" }

// AssignJob gives a GitLab job to a runner (the provisioner's decision).
type AssignJob struct {
	Meta      `json:"-"`
	RunnerID  string `json:"runner_id"`
	JobID     int64  `json:"job_id"`
	RequestID string `json:"request_id"`
	Reason    string `json:"reason,omitempty"`
}

func (AssignJob) CommandName() string { return "runner.assign_job" }

// QueueRunner records that a requested runner waits for capacity.
type QueueRunner struct {
	Meta     `json:"-"`
	RunnerID string `json:"runner_id"`
	JobID    int64  `json:"job_id,omitempty"`
	Reason   string `json:"reason"`
}

func (QueueRunner) CommandName() string { return "runner.queue" }

// AskTermination asks for a runner to be destroyed (the provisioner does it).
type AskTermination struct {
	Meta     `json:"-"`
	RunnerID string `json:"runner_id"`
	Reason   string `json:"reason"`
	// EvenIfBusy destroys the runner even under a job (events.RunnerTerminationAsked).
	EvenIfBusy bool `json:"even_if_busy,omitempty"`
}

func (AskTermination) CommandName() string { return "runner.ask_termination" }

// TerminateRunner ends a runner for good. ServedBy, when set, ends a job's
// request whose job went to that existing runner (domain.Runner.EndServed).
type TerminateRunner struct {
	Meta     `json:"-"`
	RunnerID string `json:"runner_id"`
	Reason   string `json:"reason,omitempty"`
	ServedBy string `json:"served_by,omitempty"`
}

func (TerminateRunner) CommandName() string { return "runner.terminate" }

// CreatePlan records a new OpenTofu plan for a runner.
type CreatePlan struct {
	Meta           `json:"-"`
	PlanID         string            `json:"plan_id"`
	RunnerID       string            `json:"runner_id"`
	Egg            string            `json:"egg"`
	Action         string            `json:"action"`
	Module         string            `json:"module"`
	Inputs         map[string]string `json:"inputs,omitempty"`
	SecretURIs     map[string]string `json:"secret_uris,omitempty"`
	ConfigHash     string            `json:"config_hash"`
	PlanFile       string            `json:"plan_file"`
	PlanSHA256     string            `json:"plan_sha256"`
	TofuVersion    string            `json:"tofu_version"`
	PreviousPlanID string            `json:"previous_plan_id,omitempty"`
	EggConfigHash  string            `json:"egg_config_hash,omitempty"`
	DeployID       string            `json:"deploy_id,omitempty"`
}

func (CreatePlan) CommandName() string { return "plan.create" }

// ApplyPlan records that a pending plan was applied.
type ApplyPlan struct {
	Meta     `json:"-"`
	PlanID   string            `json:"plan_id"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Duration time.Duration     `json:"duration"`
}

func (ApplyPlan) CommandName() string { return "plan.apply" }

// FailPlan records that a stage of a pending plan failed.
type FailPlan struct {
	Meta        `json:"-"`
	PlanID      string              `json:"plan_id"`
	Stage       string              `json:"stage"` // register, init, plan, apply
	Error       string              `json:"error"`
	Diagnostics []events.Diagnostic `json:"diagnostics,omitempty"`
	Permanent   bool                `json:"permanent,omitempty"` // no retry can help: the runner is given up
}

func (FailPlan) CommandName() string { return "plan.fail" }

// RollBackPlan records that an applied plan was replaced by re-applying another's configuration.
type RollBackPlan struct {
	Meta           `json:"-"`
	PlanID         string `json:"plan_id"`
	RestoredPlanID string `json:"restored_plan_id"`
	Reason         string `json:"reason,omitempty"`
}

func (RollBackPlan) CommandName() string { return "plan.roll_back" }

// SyncEgg records an Egg or EggsBucket configuration as of a Nest commit.
type SyncEgg struct {
	Meta   `json:"-"`
	Config events.EggSynced `json:"config"`
}

func (SyncEgg) CommandName() string { return "egg.sync" }

// RemoveEgg records that an egg's file is gone from the Nest.
type RemoveEgg struct {
	Meta   `json:"-"`
	Name   string `json:"name"`
	Commit string `json:"commit"`
	Reason string `json:"reason,omitempty"`
}

func (RemoveEgg) CommandName() string { return "egg.remove" }

// AskEggRetry asks a tripped egg (the provisioner's breaker) to provision again.
type AskEggRetry struct {
	Meta   `json:"-"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func (AskEggRetry) CommandName() string { return "egg.ask_retry" }

// RecordReconcileOutcome records how a reconciliation pass over an egg
// went: Failure set, a failure; nil, a success. Only a change of outcome
// appends (see events.EggReconcileFailed).
type RecordReconcileOutcome struct {
	Meta    `json:"-"`
	Name    string                     `json:"name"`
	Server  string                     `json:"server"`
	Failure *events.EggReconcileFailed `json:"failure,omitempty"`
}

func (RecordReconcileOutcome) CommandName() string { return "egg.record_reconcile_outcome" }

// AskEggDeploy asks the egg's runners to be brought to the Nest's configuration.
type AskEggDeploy struct {
	Meta     `json:"-"`
	Name     string `json:"name"`
	DeployID string `json:"deploy_id"`
	Reason   string `json:"reason"`
}

func (AskEggDeploy) CommandName() string { return "egg.ask_deploy" }

// AskEggRollback pins the egg's configuration to an earlier one.
type AskEggRollback struct {
	Meta           `json:"-"`
	Name           string `json:"name"`
	DeployID       string `json:"deploy_id"`
	FromConfigHash string `json:"from_config_hash"`
	ToConfigHash   string `json:"to_config_hash"`
	ToPlanID       string `json:"to_plan_id"`
	Reason         string `json:"reason"`
}

func (AskEggRollback) CommandName() string { return "egg.ask_rollback" }

// FinishEggDeploy records that a deploy or rollback is no longer in force.
type FinishEggDeploy struct {
	Meta     `json:"-"`
	Name     string   `json:"name"`
	DeployID string   `json:"deploy_id"`
	PlanIDs  []string `json:"plan_ids"`
	Outcome  string   `json:"outcome"`
	Reason   string   `json:"reason,omitempty"`
}

func (FinishEggDeploy) CommandName() string { return "egg.finish_deploy" }

// SyncJob records a scheduled job (or its removal) as of a Nest commit.
type SyncJob struct {
	Meta `json:"-"`
	Job  events.JobSynced `json:"job"`
}

func (SyncJob) CommandName() string { return "job.sync" }

// SyncUglyFoxConfig records UF/config.fly as of a Nest commit.
type SyncUglyFoxConfig struct {
	Meta   `json:"-"`
	Config events.UglyFoxConfigSynced `json:"config"`
}

func (SyncUglyFoxConfig) CommandName() string { return "uglyfox.sync_config" }

// RecordNestSync records a successful Nest sync; PreviousCommit is filled in.
type RecordNestSync struct {
	Meta `json:"-"`
	Sync events.NestSynced `json:"sync"`
}

func (RecordNestSync) CommandName() string { return "nest.record_sync" }

// RecordNestSyncFailed records a failed Nest sync; PreviousCommit is filled in.
type RecordNestSyncFailed struct {
	Meta    `json:"-"`
	Failure events.NestSyncFailed `json:"failure"`
}

func (RecordNestSyncFailed) CommandName() string { return "nest.record_sync_failed" }

// RecordNestSyncFailureRepeated records that a recorded failure happened
// again, identically, Count times.
type RecordNestSyncFailureRepeated struct {
	Meta   `json:"-"`
	Repeat events.NestSyncFailureRepeated `json:"repeat"`
}

func (RecordNestSyncFailureRepeated) CommandName() string { return "nest.record_sync_failure_repeated" }

// ReceiveWebhook records a GitLab webhook delivery. Its delivery id is the
// idempotency key: a redelivery appends nothing and is not an error.
type ReceiveWebhook struct {
	Meta     `json:"-"`
	Delivery events.WebhookReceived `json:"delivery"`
}

func (ReceiveWebhook) CommandName() string { return "webhook.receive" }

// AcceptJob records a Job Hook delivery together with the runner it asks
// for: both commit in one append or neither does.
type AcceptJob struct {
	Delivery ReceiveWebhook `json:"delivery"`
	Runner   RequestRunner  `json:"runner"`
}

func (AcceptJob) CommandName() string { return "webhook.accept_job" }

// RegisterBinaryVersion records a build of tofu or gosling.
type RegisterBinaryVersion struct {
	Meta  `json:"-"`
	Build events.BinaryVersionRegistered `json:"build"`
}

func (RegisterBinaryVersion) CommandName() string { return "binary.register_version" }

// ActivateBinaryVersion makes a registered version the one new runners use;
// Actor and Reason say who and why (binary.version_activated).
type ActivateBinaryVersion struct {
	Meta    `json:"-"`
	Binary  string `json:"binary"`
	Version string `json:"version"`
	Actor   string `json:"actor,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func (ActivateBinaryVersion) CommandName() string { return "binary.activate_version" }

// RecordSecretAccess audits one secret resolution (its URI, never its value).
type RecordSecretAccess struct {
	Meta   `json:"-"`
	Access events.SecretAccessed `json:"access"`
}

func (RecordSecretAccess) CommandName() string { return "secret.record_access" }

// RecordWebhookInstalled records that an egg's hook is in place on a
// project or group (the webhook installer's outcome).
type RecordWebhookInstalled struct {
	Meta      `json:"-"`
	Installed events.EggWebhookInstalled `json:"installed"`
}

func (RecordWebhookInstalled) CommandName() string { return "egg.record_webhook_installed" }

// RecordWebhookInstallFailed records that an egg's hook could not be
// listed, installed or removed; an identical failure records nothing.
type RecordWebhookInstallFailed struct {
	Meta    `json:"-"`
	Failure events.EggWebhookInstallFailed `json:"failure"`
}

func (RecordWebhookInstallFailed) CommandName() string { return "egg.record_webhook_install_failed" }

// RecordWebhookSkipped records why an egg's hook is not installed; the
// same reason again records nothing.
type RecordWebhookSkipped struct {
	Meta    `json:"-"`
	Skipped events.EggWebhookSkipped `json:"skipped"`
}

func (RecordWebhookSkipped) CommandName() string { return "egg.record_webhook_skipped" }

// RecordWebhookRemoved records that an egg's hook is gone from a project
// or group.
type RecordWebhookRemoved struct {
	Meta    `json:"-"`
	Removed events.EggWebhookRemoved `json:"removed"`
}

func (RecordWebhookRemoved) CommandName() string { return "egg.record_webhook_removed" }
