package events

import "time"

// Wire names. Published names are never renamed; a change of payload shape
// gets a new version (".v2") and an upcaster from the old one.
const (
	NestSyncedV1              = "nest.synced.v1"
	NestSyncFailedV1          = "nest.sync_failed.v1"
	NestSyncFailureRepeatedV1 = "nest.sync_failure_repeated.v1"
	EggSyncedV1               = "egg.synced.v1"
	EggRemovedV1              = "egg.removed.v1"
	EggRetryAskedV1           = "egg.retry_asked.v1"
	EggReconcileFailedV1      = "egg.reconcile_failed.v1"
	EggReconcileRecoveredV1   = "egg.reconcile_recovered.v1"
	EggDeployAskedV1          = "egg.deploy_asked.v1"
	EggRollbackAskedV1        = "egg.rollback_asked.v1"
	EggDeployFinishedV1       = "egg.deploy_finished.v1"
	JobSyncedV1               = "job.synced.v1"
	UglyFoxConfigSyncedV1     = "uglyfox.config_synced.v1"
	WebhookReceivedV1         = "webhook.received.v1"
	RunnerRequestedV1         = "runner.requested.v1"
	PlanCreatedV1             = "plan.created.v1"
	PlanAppliedV1             = "plan.applied.v1"
	PlanFailedV1              = "plan.failed.v1"
	PlanRolledBackV1          = "plan.rolled_back.v1"
	RunnerDeployedV1          = "runner.deployed.v1"
	RunnerStateChangedV1      = "runner.state_changed.v1"
	RunnerHeartbeatMissedV1   = "runner.heartbeat_missed.v1"
	RunnerHeartbeatResumedV1  = "runner.heartbeat_resumed.v1"
	RunnerJobOverranV1        = "runner.job_overran.v1"
	UglyFoxDecisionDeferredV1 = "uglyfox.decision_deferred.v1"
	RunnerPoolChangedV1       = "runner.pool_changed.v1"
	RunnerTerminatedV1        = "runner.terminated.v1"
	RunnerJobAssignedV1       = "runner.job_assigned.v1"
	RunnerQueuedV1            = "runner.queued.v1"
	RunnerTerminationAskedV1  = "runner.termination_asked.v1"
	BinaryVersionRegisteredV1 = "binary.version_registered.v1"
	BinaryVersionActivatedV1  = "binary.version_activated.v1"
	SecretAccessedV1          = "secret.accessed.v1"

	// The webhook installer's outcomes (stream "egghooks-<egg>").
	EggWebhookInstalledV1       = "egg.webhook_installed.v1"
	EggWebhookInstallFailedV1   = "egg.webhook_install_failed.v1"
	EggWebhookSkippedV1         = "egg.webhook_skipped.v1"
	EggWebhookRemovedV1         = "egg.webhook_removed.v1"
	RunnerGitLabRegisteredV1    = "runner.gitlab_registered.v1"
	RunnerGitLabUnregisteredV1  = "runner.gitlab_unregistered.v1"
	RunnerGitLabPausedV1        = "runner.gitlab_paused.v1"
	RunnerGitLabDeleteOwedV1    = "runner.gitlab_delete_owed.v1"
	RunnerGitLabDeleteFailedV1  = "runner.gitlab_delete_failed.v1"
	RunnerGitLabDeletedV1       = "runner.gitlab_deleted.v1"
	RunnerGitLabOrphanDeletedV1 = "runner.gitlab_orphan_deleted.v1"
)

// NewRegistry returns the registry of the whole catalogue. It is the one
// place where event types are listed.
func NewRegistry() *Registry {
	r := NewEmptyRegistry()
	for _, ev := range []Event{
		NestSynced{}, NestSyncFailed{}, NestSyncFailureRepeated{}, EggSynced{}, EggRemoved{}, JobSynced{},
		UglyFoxConfigSynced{}, WebhookReceived{}, RunnerRequested{}, PlanCreated{},
		PlanApplied{}, PlanFailed{}, PlanRolledBack{}, RunnerDeployed{},
		RunnerStateChanged{}, RunnerHeartbeatMissed{}, RunnerPoolChanged{},
		RunnerTerminated{}, BinaryVersionRegistered{}, BinaryVersionActivated{},
		SecretAccessed{}, RunnerJobAssigned{}, RunnerQueued{}, RunnerTerminationAsked{},
		EggRetryAsked{}, EggReconcileFailed{}, EggReconcileRecovered{},
		EggWebhookInstalled{}, EggWebhookInstallFailed{}, EggWebhookSkipped{}, EggWebhookRemoved{},
		RunnerGitLabRegistered{}, RunnerGitLabUnregistered{}, RunnerGitLabPaused{}, RunnerGitLabDeleteOwed{},
		RunnerGitLabDeleteFailed{}, RunnerGitLabDeleted{}, RunnerGitLabOrphanDeleted{},
		EggDeployAsked{}, EggRollbackAsked{}, EggDeployFinished{},
		RunnerHeartbeatResumed{}, RunnerJobOverran{}, UglyFoxDecisionDeferred{},
		UglyFoxLeaseAcquired{}, UglyFoxLeaseReleased{}, UglyFoxLeaseLost{},
	} {
		if err := r.Register(ev); err != nil {
			panic(err) // the catalogue is static; a bad entry is a programming error caught by every test
		}
	}
	return r
}

// FileChange is one .fly file touched by a Nest commit.
type FileChange struct {
	Path   string `json:"path"`
	Action string `json:"action"` // added, modified, removed
}

// Diagnostic is one problem found in a Nest file, in HCL's terms.
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"` // error, warning
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
}

// NestSynced: a Nest commit was parsed and its changes recorded (sync_history).
type NestSynced struct {
	Commit         string       `json:"commit"`
	PreviousCommit string       `json:"previous_commit,omitempty"`
	Branch         string       `json:"branch,omitempty"`
	Trigger        string       `json:"trigger"` // scheduled, webhook, manual
	Changes        []FileChange `json:"changes"`
	EggsAdded      int          `json:"eggs_added"`
	EggsUpdated    int          `json:"eggs_updated"`
	EggsRemoved    int          `json:"eggs_removed"`
	JobsSynced     int          `json:"jobs_synced"`
	UglyFoxSynced  bool         `json:"uglyfox_synced"`
	StartedAt      time.Time    `json:"started_at"`
	DurationMS     int64        `json:"duration_ms"`
	// FullResyncReason, when set, says why Commit was synced in full
	// against what the log says is deployed instead of diffed against
	// PreviousCommit (which could not be read: a rewritten branch). Changes
	// are then relative to the files the log holds as live. Added after
	// v1 was published; older events decode with it empty.
	FullResyncReason string `json:"full_resync_reason,omitempty"`
}

func (NestSynced) EventName() string { return NestSyncedV1 }

// NestSyncFailed: a Nest commit had invalid files; nothing else changed.
type NestSyncFailed struct {
	Commit         string       `json:"commit"`
	PreviousCommit string       `json:"previous_commit,omitempty"`
	Branch         string       `json:"branch,omitempty"`
	Trigger        string       `json:"trigger"`
	Diagnostics    []Diagnostic `json:"diagnostics"`
	Error          string       `json:"error,omitempty"` // a failure that is not about a file (fetch failed)
	StartedAt      time.Time    `json:"started_at"`
	DurationMS     int64        `json:"duration_ms"`
}

func (NestSyncFailed) EventName() string { return NestSyncFailedV1 }

// NestSyncFailureRepeated: the failure recorded as event FailureEventID (at
// global position FailurePosition) happened again, identically (same
// commit, same error), Count times since it was recorded, the first at
// FirstAt and the last at LastAt. Identical failures are counted, not
// appended one by one; this event is appended when the outcome changes and
// periodically while it goes on. Count is cumulative: a later one for the
// same failure supersedes an earlier one (sync_history folds it into the
// failure's row).
type NestSyncFailureRepeated struct {
	FailureEventID  string    `json:"failure_event_id"`
	FailurePosition uint64    `json:"failure_position"`
	Commit          string    `json:"commit,omitempty"`
	Count           int       `json:"count"`
	FirstAt         time.Time `json:"first_at"`
	LastAt          time.Time `json:"last_at"`
}

func (NestSyncFailureRepeated) EventName() string { return NestSyncFailureRepeatedV1 }

// EggSynced: an Egg or EggsBucket file's configuration as of a Nest commit
// (egg_configs). Secrets appear as URIs only.
type EggSynced struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`        // egg, bucket
	RunnerType   string   `json:"runner_type"` // serverless, apex (a vm egg)
	Provider     string   `json:"provider"`    // yandex, aws
	Region       string   `json:"region"`
	GitLabServer string   `json:"gitlab_server"`
	ProjectIDs   []int64  `json:"project_ids,omitempty"`
	GroupIDs     []int64  `json:"group_ids,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	CPU          int      `json:"cpu"`
	MemoryGB     int      `json:"memory_gb"`
	DiskGB       int      `json:"disk_gb,omitempty"`
	Image        string   `json:"image,omitempty"`
	MinApex      int      `json:"min_apex"`
	MaxApex      int      `json:"max_apex"`
	MinNadir     int      `json:"min_nadir"`
	// Concurrent is how many jobs one runner takes at once (the egg's
	// runner.concurrent). Added after v1 was published; older events
	// decode with 0, which means 1.
	Concurrent int `json:"concurrent,omitempty"`
	// MaxJobSeconds is the egg's runner.max_job_duration in seconds, the
	// maximum_timeout of its GitLab runners; 0 when unset (and in events
	// recorded before it was added).
	MaxJobSeconds    int64  `json:"max_job_seconds,omitempty"`
	TokenSecretURI   string `json:"token_secret_uri,omitempty"`
	WebhookSecretURI string `json:"webhook_secret_uri,omitempty"`
	ConfigHash       string `json:"config_hash"`
	Commit           string `json:"commit"`
	Path             string `json:"path"`
	// TofuVersion and GoslingVersion are the egg's `versions` pins ("":
	// unpinned: the default tofu, the active gosling). Added after v1 was
	// published; older events decode unpinned.
	TofuVersion    string `json:"tofu_version,omitempty"`
	GoslingVersion string `json:"gosling_version,omitempty"`
}

func (EggSynced) EventName() string { return EggSyncedV1 }

// EggRemoved: the egg's file is gone from the Nest.
type EggRemoved struct {
	Name   string `json:"name"`
	Commit string `json:"commit"`
	Reason string `json:"reason,omitempty"`
}

func (EggRemoved) EventName() string { return EggRemovedV1 }

// JobSynced: a scheduled maintenance job as of a Nest commit.
type JobSynced struct {
	Name       string   `json:"name"`
	Schedule   string   `json:"schedule"` // cron, five fields
	Egg        string   `json:"egg,omitempty"`
	Image      string   `json:"image,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Removed    bool     `json:"removed,omitempty"`
	ConfigHash string   `json:"config_hash"`
	Commit     string   `json:"commit"`
	Path       string   `json:"path"`
}

func (JobSynced) EventName() string { return JobSyncedV1 }

// UglyFoxConfigSynced: UF/config.fly as of a Nest commit.
type UglyFoxConfigSynced struct {
	ConfigHash string   `json:"config_hash"`
	Commit     string   `json:"commit"`
	Path       string   `json:"path"`
	Policies   []string `json:"policies,omitempty"` // names of the policy blocks, in file order
	// Settings is the whole configuration UglyFox acts on. Added after v1
	// was published; older events decode with nil (UglyFox then waits for
	// the next sync of UF/config.fly).
	Settings *UglyFoxSettingsSpec `json:"settings,omitempty"`
}

// UglyFoxSettingsSpec is the uglyfox block as UglyFox needs it: the pruning
// thresholds, the pools of each runners_condition and the policy rules with
// their conditions as source text (compiled again by UglyFox).
type UglyFoxSettingsSpec struct {
	FailedThreshold         int   `json:"failed_threshold"`
	MaxAgeSeconds           int64 `json:"max_age_seconds"`
	CheckIntervalSeconds    int64 `json:"check_interval_seconds"`
	HeartbeatTimeoutSeconds int64 `json:"heartbeat_timeout_seconds"`
	// Pools are the runners_condition blocks, in file order.
	Pools []UglyFoxPoolsSpec `json:"pools,omitempty"`
	// Rules are the policy rules, in file order (the first that holds wins).
	Rules []UglyFoxRuleSpec `json:"rules,omitempty"`
}

// UglyFoxPoolsSpec is one runners_condition: Apex and Nadir bounds of its eggs.
type UglyFoxPoolsSpec struct {
	Name                    string   `json:"name"`
	Eggs                    []string `json:"eggs"`
	ApexMin                 int      `json:"apex_min"`
	ApexMax                 int      `json:"apex_max"`
	ApexCPUThreshold        int      `json:"apex_cpu_threshold"`    // percent
	ApexMemoryThreshold     int      `json:"apex_memory_threshold"` // percent
	NadirMin                int      `json:"nadir_min"`
	NadirMax                int      `json:"nadir_max"`
	NadirIdleTimeoutSeconds int64    `json:"nadir_idle_timeout_seconds"`
}

// UglyFoxRuleSpec is one policy rule. When is the condition's source text;
// Locals, when the condition reads locals of its file, is their values as a
// JSON object ({"old": "72h"}), so the condition compiles again as parsed.
type UglyFoxRuleSpec struct {
	Name   string `json:"name"`
	When   string `json:"when"`
	Action string `json:"action"`
	Locals string `json:"locals,omitempty"`
}

func (UglyFoxConfigSynced) EventName() string { return UglyFoxConfigSyncedV1 }

// WebhookReceived: a GitLab webhook delivery, acted on or ignored with a reason.
type WebhookReceived struct {
	DeliveryID   string   `json:"delivery_id"` // X-Gitlab-Event-UUID
	EventKind    string   `json:"event_kind"`  // object_kind: push, build, pipeline, merge_request
	Outcome      string   `json:"outcome"`     // accepted, ignored
	Reason       string   `json:"reason,omitempty"`
	GitLabServer string   `json:"gitlab_server,omitempty"`
	Egg          string   `json:"egg,omitempty"`
	ProjectID    int64    `json:"project_id,omitempty"`
	JobID        int64    `json:"job_id,omitempty"`
	JobStatus    string   `json:"job_status,omitempty"`
	Ref          string   `json:"ref,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	// Unauthenticated: no egg's webhook token (nor the trigger token) could
	// be checked, as no egg matched. Such a record is kept apart (its own
	// stream and idempotency key namespace) and carries no ref, tags, job
	// status or egg.
	Unauthenticated bool `json:"unauthenticated,omitempty"`
	// Truncated names the fields cut to their bound (domain.BoundDelivery).
	Truncated []string `json:"truncated,omitempty"`
}

func (WebhookReceived) EventName() string { return WebhookReceivedV1 }

// RunnerRequested: capacity was asked for; the runner exists from here on (PROVISIONING).
type RunnerRequested struct {
	RunnerID   string   `json:"runner_id"`
	Egg        string   `json:"egg"`
	RunnerType string   `json:"runner_type"` // serverless, apex, nadir
	Provider   string   `json:"provider"`    // yandex, aws
	Region     string   `json:"region"`
	Tags       []string `json:"tags,omitempty"`
	JobID      int64    `json:"job_id,omitempty"`
	Reason     string   `json:"reason"`
}

func (RunnerRequested) EventName() string { return RunnerRequestedV1 }

// PlanCreated: OpenTofu planned a runner's infrastructure. Inputs hold the
// rendered module inputs; secret inputs are listed by URI in SecretURIs only.
type PlanCreated struct {
	PlanID         string            `json:"plan_id"`
	RunnerID       string            `json:"runner_id"`
	Egg            string            `json:"egg"`
	Action         string            `json:"action"` // create, update, destroy
	Module         string            `json:"module"` // compute target: local, yandex, aws
	Inputs         map[string]string `json:"inputs"`
	SecretURIs     map[string]string `json:"secret_uris,omitempty"`
	ConfigHash     string            `json:"config_hash"`
	PlanFile       string            `json:"plan_file"`
	PlanSHA256     string            `json:"plan_sha256"`
	TofuVersion    string            `json:"tofu_version"`
	PreviousPlanID string            `json:"previous_plan_id,omitempty"`
	// EggConfigHash is the egg configuration (EggSynced.ConfigHash) the
	// plan was made from: the Nest's, or the one a rollback pinned. Added
	// after v1 was published; older events decode with "".
	EggConfigHash string `json:"egg_config_hash,omitempty"`
	// DeployID is the operator's deploy or rollback (egg.deploy_asked,
	// egg.rollback_asked) in force for the egg when the plan was made, ""
	// for none. Added after v1 was published.
	DeployID string `json:"deploy_id,omitempty"`
}

func (PlanCreated) EventName() string { return PlanCreatedV1 }

// PlanApplied: the saved plan was applied.
type PlanApplied struct {
	PlanID     string            `json:"plan_id"`
	RunnerID   string            `json:"runner_id"`
	Outputs    map[string]string `json:"outputs,omitempty"`
	DurationMS int64             `json:"duration_ms"`
}

func (PlanApplied) EventName() string { return PlanAppliedV1 }

// PlanFailed: a stage of the plan failed.
type PlanFailed struct {
	PlanID      string       `json:"plan_id"`
	RunnerID    string       `json:"runner_id"`
	Stage       string       `json:"stage"` // register, init, plan, apply
	Error       string       `json:"error"`
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
	// Permanent: no retry can help (GitLab refused the registration: the
	// token lacks the create_runner scope or the role, the project or group
	// is gone): the runner is given up at once. Added after v1; older
	// events decode false.
	Permanent bool `json:"permanent,omitempty"`
}

func (PlanFailed) EventName() string { return PlanFailedV1 }

// PlanRolledBack: an applied plan was replaced by re-applying RestoredPlanID's configuration.
type PlanRolledBack struct {
	PlanID         string `json:"plan_id"`
	RunnerID       string `json:"runner_id"`
	RestoredPlanID string `json:"restored_plan_id"`
	Reason         string `json:"reason"`
}

func (PlanRolledBack) EventName() string { return PlanRolledBackV1 }

// RunnerDeployed: the runner's infrastructure exists and the agent is expected to check in.
type RunnerDeployed struct {
	RunnerID       string `json:"runner_id"`
	Egg            string `json:"egg"`
	PlanID         string `json:"plan_id"`
	RunnerType     string `json:"runner_type"` // serverless, apex, nadir
	Provider       string `json:"provider"`    // yandex, aws
	Region         string `json:"region"`
	InstanceID     string `json:"instance_id"`
	Address        string `json:"address,omitempty"`
	Hostname       string `json:"hostname,omitempty"`
	GoslingVersion string `json:"gosling_version,omitempty"`
	// CredentialSHA256 is the hex SHA-256 of the per-runner credential the
	// provisioner minted for the agent (delivered to it only as a secret
	// URI): heartbeats are checked against it. The credential itself is
	// never recorded.
	CredentialSHA256 string `json:"credential_sha256,omitempty"`
}

func (RunnerDeployed) EventName() string { return RunnerDeployedV1 }

// RunnerStateChanged: a move in the runner state machine.
type RunnerStateChanged struct {
	RunnerID string `json:"runner_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	Reason   string `json:"reason,omitempty"`
}

func (RunnerStateChanged) EventName() string { return RunnerStateChangedV1 }

// RunnerHeartbeatMissed: the agent has not been heard from within the threshold.
type RunnerHeartbeatMissed struct {
	RunnerID    string    `json:"runner_id"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	ThresholdMS int64     `json:"threshold_ms"`
	Missed      int       `json:"missed"` // consecutive sweeps that found it silent
}

func (RunnerHeartbeatMissed) EventName() string { return RunnerHeartbeatMissedV1 }

// RunnerHeartbeatResumed: a runner whose silence was recorded
// (runner.heartbeat_missed) was heard again. UglyFox records it once per
// silence, so a silence and its end are one event each.
type RunnerHeartbeatResumed struct {
	RunnerID string `json:"runner_id"`
	// SilentSince is the last heartbeat before the silence (zero: none
	// since the runner was deployed); LastSeenAt the heartbeat that ended it.
	SilentSince time.Time `json:"silent_since"`
	LastSeenAt  time.Time `json:"last_seen_at"`
}

func (RunnerHeartbeatResumed) EventName() string { return RunnerHeartbeatResumedV1 }

// RunnerJobOverran: a runner has been BUSY longer than its egg's job limit
// (runner.max_job_duration). Reported once per BUSY stretch; the runner is
// not stopped for it unless a policy rule says so.
type RunnerJobOverran struct {
	RunnerID     string    `json:"runner_id"`
	BusySince    time.Time `json:"busy_since"`
	LimitSeconds int64     `json:"limit_seconds"`
	Reason       string    `json:"reason,omitempty"`
}

func (RunnerJobOverran) EventName() string { return RunnerJobOverranV1 }

// UglyFoxDecisionDeferred: UglyFox decided Action (terminate,
// demote_to_nadir) for a BUSY runner, for Reason (the rule or threshold),
// and waits until the runner is idle to carry it out. Recorded once per
// deferral on the runner's stream; the later runner.termination_asked or
// runner.pool_changed carries it out.
type UglyFoxDecisionDeferred struct {
	RunnerID string `json:"runner_id"`
	Action   string `json:"action"`
	Reason   string `json:"reason"`
}

func (UglyFoxDecisionDeferred) EventName() string { return UglyFoxDecisionDeferredV1 }

// RunnerPoolChanged: a VM moved between the Apex (active) and Nadir (dormant) pools.
type RunnerPoolChanged struct {
	RunnerID string `json:"runner_id"`
	From     string `json:"from"` // apex, nadir
	To       string `json:"to"`
	Reason   string `json:"reason,omitempty"`
}

func (RunnerPoolChanged) EventName() string { return RunnerPoolChangedV1 }

// RunnerTerminated: the runner is gone for good. ServedBy is set when the
// stream was only a job's request (the webhook's runner.requested) whose
// job went to the existing runner ServedBy: the stream never became a
// runner of its own. Events recorded before the field have it empty.
type RunnerTerminated struct {
	RunnerID   string `json:"runner_id"`
	Reason     string `json:"reason"`
	InstanceID string `json:"instance_id,omitempty"`
	ServedBy   string `json:"served_by,omitempty"`
}

func (RunnerTerminated) EventName() string { return RunnerTerminatedV1 }

// RunnerJobAssigned: the provisioner gave GitLab job JobID to this runner,
// which holds it (one of its egg's concurrent slots) until a Job Hook says
// the job finished. RequestID is the runner stream the webhook's
// runner.requested opened for the job: this runner's own id when the job
// got a new runner, another's when an existing one took it.
type RunnerJobAssigned struct {
	RunnerID  string `json:"runner_id"`
	JobID     int64  `json:"job_id"`
	RequestID string `json:"request_id"`
	Reason    string `json:"reason,omitempty"`
}

func (RunnerJobAssigned) EventName() string { return RunnerJobAssignedV1 }

// RunnerQueued: a requested runner (still PROVISIONING, nothing planned)
// waits for capacity, for Reason (the egg is at its max_count, no tofu
// binary, ...). It is provisioned or its job assigned when capacity frees;
// a later runner.queued with another reason supersedes this one.
type RunnerQueued struct {
	RunnerID string `json:"runner_id"`
	JobID    int64  `json:"job_id,omitempty"`
	Reason   string `json:"reason"`
}

func (RunnerQueued) EventName() string { return RunnerQueuedV1 }

// RunnerTerminationAsked: someone (an operator through the API, later
// UglyFox) asked for the runner to go. The provisioner destroys it with a
// destroy plan, ending in runner.terminated, once it is not BUSY.
type RunnerTerminationAsked struct {
	RunnerID string `json:"runner_id"`
	Reason   string `json:"reason"`
	// EvenIfBusy: the runner goes even while it runs a job (an UglyFox
	// rule whose condition reads runner.state matched it BUSY); otherwise
	// a BUSY runner is destroyed once it is idle. Added after v1 was
	// published; older events decode false.
	EvenIfBusy bool `json:"even_if_busy,omitempty"`
}

func (RunnerTerminationAsked) EventName() string { return RunnerTerminationAskedV1 }

// EggRetryAsked: an operator (through the API) asked a tripped egg to
// provision again: the provisioner's breaker forgets the egg's runners given
// up so far, and the next decision provisions under the same configuration.
type EggRetryAsked struct {
	Egg    string `json:"egg"`
	Reason string `json:"reason"`
}

func (EggRetryAsked) EventName() string { return EggRetryAskedV1 }

// EggReconcileFailed: reconciliation could not list the egg's pending jobs
// through the GitLab API. It is recorded when the outcome changes (the first
// failure, or a different code, scope or reason), not on every pass, so a
// GitLab that stays down for a day adds one event, not 1,440.
type EggReconcileFailed struct {
	Egg    string `json:"egg"`
	Server string `json:"server"`
	// Scope is what could not be listed: "project 7", "group 3".
	Scope string `json:"scope"`
	// Code is the error's code: EUNAUTHORIZED (401, 403: the token or its
	// scope), ENOTFOUND (404), EUNAVAILABLE (429, 5xx, unreachable).
	Code string `json:"code"`
	// Reason is the error, with any credential removed, at most 1,024 bytes.
	Reason string `json:"reason"`
	// RetryAfterMS is how long reconciliation leaves the egg alone: a
	// 429's Retry-After (for the whole server), or the hold after a refused
	// token or a missing project or group (asking again at every pass
	// cannot help, and failed authentications get a source blocked by
	// GitLab); 0 when the next pass tries again (5xx, unreachable).
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
}

func (EggReconcileFailed) EventName() string { return EggReconcileFailedV1 }

// EggReconcileRecovered: a pass listed every project of the egg again
// after a recorded failure.
type EggReconcileRecovered struct {
	Egg    string `json:"egg"`
	Server string `json:"server"`
}

func (EggReconcileRecovered) EventName() string { return EggReconcileRecoveredV1 }

// WebhookOwner is the GitLab project or group that holds one of an egg's
// webhooks: Kind "project" or "group", ID its numeric id on GitLabServer.
type WebhookOwner struct {
	GitLabServer string `json:"gitlab_server"`
	Kind         string `json:"owner_kind"` // project, group
	ID           int64  `json:"owner_id"`
}

// EggWebhookInstalled: MotherGoose's hook (job events to URL, the egg's
// webhook secret as its token) is in place on the owner: Action created
// (POST), updated (PUT: Reason says why: a new configuration or webhook
// secret, settings changed in GitLab, disabled by GitLab) or verified
// (found as wanted after a recorded failure; nothing changed in GitLab).
// The token itself is never recorded, only WebhookSecretURI.
type EggWebhookInstalled struct {
	Egg string `json:"egg"`
	WebhookOwner
	HookID           int64  `json:"hook_id"`
	URL              string `json:"url"`
	Action           string `json:"action"` // created, updated, verified
	Reason           string `json:"reason,omitempty"`
	ConfigHash       string `json:"config_hash"`
	WebhookSecretURI string `json:"webhook_secret_uri"`
}

func (EggWebhookInstalled) EventName() string { return EggWebhookInstalledV1 }

// EggWebhookInstallFailed: the hook could not be listed, installed or
// removed on the owner. Code is the error code (EUNAUTHORIZED: GitLab
// refused the API token; ENOTFOUND: the owner is gone or hidden from it;
// EUNAVAILABLE: GitLab failed, could not be reached or asked to slow down,
// then RetryAfterS is its Retry-After). Reason names no secret value. An
// identical failure (same code and reason) is recorded once.
type EggWebhookInstallFailed struct {
	Egg string `json:"egg"`
	WebhookOwner
	Code        string `json:"code"`
	Reason      string `json:"reason"`
	RetryAfterS int64  `json:"retry_after_s,omitempty"`
}

func (EggWebhookInstallFailed) EventName() string { return EggWebhookInstallFailedV1 }

// EggWebhookSkipped: the hook is not installed on the owner, for Reason
// (no API token for its server, no public URL, no webhook secret). Recorded
// once per reason.
type EggWebhookSkipped struct {
	Egg string `json:"egg"`
	WebhookOwner
	Reason string `json:"reason"`
}

func (EggWebhookSkipped) EventName() string { return EggWebhookSkippedV1 }

// EggWebhookRemoved: the hook MotherGoose installed on the owner was
// deleted (the egg was removed, or no longer names the owner), or found
// already gone (404).
type EggWebhookRemoved struct {
	Egg string `json:"egg"`
	WebhookOwner
	HookID int64  `json:"hook_id"`
	Reason string `json:"reason,omitempty"`
}

func (EggWebhookRemoved) EventName() string { return EggWebhookRemovedV1 }

// EggDeployAsked: an operator (through the API) asked the egg's runners to
// be brought to the Nest's configuration ConfigHash and its pool sizes. It
// ends a rollback's pin; while the deploy is in force, the provisioner's
// plans for the egg carry DeployID, and egg.deploy_finished ends it.
type EggDeployAsked struct {
	Egg        string `json:"egg"`
	DeployID   string `json:"deploy_id"`
	ConfigHash string `json:"config_hash"`
	Actor      string `json:"actor,omitempty"`
	Reason     string `json:"reason"`
}

func (EggDeployAsked) EventName() string { return EggDeployAskedV1 }

// EggRollbackAsked: an operator (through the API) pinned the egg's
// configuration to ToConfigHash, the configuration plan ToPlanID was made
// from, until the next deploy or a Nest sync with a new configuration. The
// provisioner replaces the runners of FromConfigHash (never a BUSY one),
// recording plan.rolled_back for each; DeployID tracks it like a deploy's.
type EggRollbackAsked struct {
	Egg            string `json:"egg"`
	DeployID       string `json:"deploy_id"`
	FromConfigHash string `json:"from_config_hash"`
	ToConfigHash   string `json:"to_config_hash"`
	ToPlanID       string `json:"to_plan_id"`
	Actor          string `json:"actor,omitempty"`
	Reason         string `json:"reason"`
}

func (EggRollbackAsked) EventName() string { return EggRollbackAskedV1 }

// EggDeployFinished: a deploy or rollback is no longer in force. Outcome is
// converged (no stale runner, no plan pending, the pool at its minimum),
// failed (Reason says why: the egg's breaker tripped, its provider cannot
// provision), superseded (a newer deploy or rollback) or removed (the egg
// left the Nest). PlanIDs are the plans made under it.
type EggDeployFinished struct {
	Egg      string   `json:"egg"`
	DeployID string   `json:"deploy_id"`
	PlanIDs  []string `json:"plan_ids"`
	Outcome  string   `json:"outcome"`
	Reason   string   `json:"reason,omitempty"`
}

func (EggDeployFinished) EventName() string { return EggDeployFinishedV1 }

// BinaryVersionRegistered: a tofu or gosling build is known and may be
// activated; its bytes are in the blob store under SHA256. Size, Actor and
// Reason were added after v1 was published (older events decode with
// them empty).
type BinaryVersionRegistered struct {
	Binary   string `json:"binary"` // tofu, gosling
	Version  string `json:"version"`
	Platform string `json:"platform"` // linux/amd64
	SHA256   string `json:"sha256"`
	Source   string `json:"source,omitempty"` // the file or URL it was read from
	Size     int64  `json:"size,omitempty"`   // bytes
	Actor    string `json:"actor,omitempty"`  // who registered it (mothergoose binaries add --actor)
	Reason   string `json:"reason,omitempty"` // why
}

func (BinaryVersionRegistered) EventName() string { return BinaryVersionRegisteredV1 }

// BinaryVersionActivated: new runners use this version from now on.
// Actor and Reason were added after v1 was published.
type BinaryVersionActivated struct {
	Binary          string `json:"binary"`
	Version         string `json:"version"`
	PreviousVersion string `json:"previous_version,omitempty"`
	Actor           string `json:"actor,omitempty"`
	Reason          string `json:"reason,omitempty"`
}

func (BinaryVersionActivated) EventName() string { return BinaryVersionActivatedV1 }

// SecretAccessed: a secret was resolved. Only its URI is recorded, never the value.
type SecretAccessed struct {
	URI      string `json:"uri"`
	Accessor string `json:"accessor"` // mothergoose:webhook, mothergoose:apply
	Purpose  string `json:"purpose"`
	Outcome  string `json:"outcome"` // resolved, failed
}

func (SecretAccessed) EventName() string { return SecretAccessedV1 }
