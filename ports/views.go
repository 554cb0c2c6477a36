package ports

import (
	"context"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// ViewRow is one row of a read view. Every row remembers the last stream
// version it applied, so a projector can skip what it has seen and a store
// can refuse a stale write.
type ViewRow interface {
	RowKey() string
	RowVersion() uint64
}

// Query selects rows of one view: equality on columns (by their db names),
// ordered by key, optionally descending, after a key, at most Limit rows
// (0 means all).
type Query struct {
	Eq       map[string]any
	AfterKey string
	Desc     bool
	Limit    int
}

// Table is one view's rows.
type Table[R ViewRow] interface {
	Get(ctx context.Context, key string) (R, bool, error)
	// Put writes row unless the stored row with the same key has applied
	// row.RowVersion() or later; it reports whether it wrote.
	Put(ctx context.Context, row R) (bool, error)
	// List returns every row q selects (at most q.Limit when it is > 0).
	List(ctx context.Context, q Query) ([]R, error)
	// ListPage returns one page of what q selects, in key order (descending
	// with q.Desc) after q.AfterKey: at most q.Limit rows, which must be at
	// least 1 (EINVALID otherwise). Its work is bounded by the limit, not by
	// the size of the view: a store that filters while it reads (DynamoDB)
	// may stop after a bounded number of reads and return fewer rows, even
	// none, with a Next to continue from.
	ListPage(ctx context.Context, q Query) (Page[R], error)
}

// Page is one page of a ListPage.
type Page[R ViewRow] struct {
	Rows []R
	// Next is the AfterKey that continues the query after this page; it is
	// "" when no row the query selects follows. It may be the key of a row
	// the query does not select (where a store stopped reading).
	Next string
}

// PageOf trims rows, read with a limit of limit+1, to a page of limit rows
// and sets Next from the last row kept when there were more.
func PageOf[R ViewRow](rows []R, limit int) Page[R] {
	if len(rows) <= limit {
		return Page[R]{Rows: rows}
	}
	rows = rows[:limit]
	return Page[R]{Rows: rows, Next: rows[limit-1].RowKey()}
}

// ViewTx is the views as seen inside one Batch (or outside one, for reads).
type ViewTx interface {
	// Table returns the rows of view (a ViewDef of the store's ViewSet);
	// View.In gives the same table with typed rows. The table of a view the
	// store does not hold answers every call with EINVALID.
	Table(view *ViewDef) Table[ViewRow]
	// Checkpoint returns the last global position the projector finished.
	Checkpoint(ctx context.Context, projector string) (uint64, error)
	SaveCheckpoint(ctx context.Context, projector string, position uint64) error
}

// View names, used for Truncate and as table names.
const (
	ViewRunners         = "runners"
	ViewEggConfigs      = "egg_configs"
	ViewSyncHistory     = "sync_history"
	ViewDeploymentPlans = "deployment_plans"
	ViewAuditLogs       = "audit_logs"
	ViewEggWebhooks     = "egg_webhooks"
	ViewBinaryVersions  = "binary_versions"
)

// The registered views. A new view is its row type below, one NewView
// here and one entry in DefaultViews (and its projector).
var (
	Runners         = NewView[RunnerRow](ViewSpec{Name: ViewRunners, Key: "id", Indexes: [][]string{{"state"}, {"egg"}, {"served_by"}}})
	EggConfigs      = NewView[EggConfigRow](ViewSpec{Name: ViewEggConfigs, Key: "name"})
	SyncHistory     = NewView[SyncHistoryRow](ViewSpec{Name: ViewSyncHistory, Key: "key"})
	DeploymentPlans = NewView[DeploymentPlanRow](ViewSpec{Name: ViewDeploymentPlans, Key: "plan_id", Indexes: [][]string{{"egg"}, {"runner_id"}}})
	AuditLogs       = NewView[AuditLogRow](ViewSpec{Name: ViewAuditLogs, Key: "key"})
	EggWebhooks     = NewView[EggWebhooksRow](ViewSpec{Name: ViewEggWebhooks, Key: "egg"})
	BinaryVersions  = NewView[BinaryVersionRow](ViewSpec{Name: ViewBinaryVersions, Key: "key", Indexes: [][]string{{"kind"}}})

	defaultViews = mustViewSet(Runners.Def(), EggConfigs.Def(), SyncHistory.Def(), DeploymentPlans.Def(), AuditLogs.Def(), EggWebhooks.Def(), BinaryVersions.Def())
)

// DefaultViews is every view of the control plane: what the stores hold
// unless told otherwise.
func DefaultViews() *ViewSet { return defaultViews }

// AllViews lists every view name of DefaultViews.
var AllViews = defaultViews.Names()

func mustViewSet(defs ...*ViewDef) *ViewSet {
	s, err := NewViewSet(defs...)
	if err != nil {
		panic(err)
	}
	return s
}

// ViewStore holds the read views and the projector checkpoints.
type ViewStore interface {
	// Batch runs fn so that its writes and checkpoint commit together where
	// the store has multi-row transactions (SQLite); elsewhere (DynamoDB) the
	// writes land one by one and the per-row versions make a redo harmless.
	// If fn returns an error, Batch returns it and, where it can, keeps nothing.
	Batch(ctx context.Context, fn func(ViewTx) error) error
	// Read returns the views for queries outside any batch.
	Read() ViewTx
	// Truncate empties one view and resets the checkpoint of the projector
	// that writes it, which is named after the view (projections.Projector),
	// for a rebuild by replay. Other checkpoints stay.
	Truncate(ctx context.Context, view string) error
}

// RunnerRow is the runners view.
type RunnerRow struct {
	ID             string   `db:"id" json:"id"`
	Egg            string   `db:"egg" json:"egg"`
	Type           string   `db:"type" json:"type"`   // serverless, apex, nadir (domain.RunnerType)
	State          string   `db:"state" json:"state"` // PROVISIONING, ACTIVE, IDLE, BUSY, FAILED, TERMINATED
	Provider       string   `db:"provider" json:"provider"`
	Region         string   `db:"region" json:"region"`
	Tags           []string `db:"tags" json:"tags"`
	JobID          int64    `db:"job_id" json:"job_id,omitempty"`
	PlanID         string   `db:"plan_id" json:"plan_id,omitempty"`
	InstanceID     string   `db:"instance_id" json:"instance_id,omitempty"`
	Address        string   `db:"address" json:"address,omitempty"`
	Hostname       string   `db:"hostname" json:"hostname,omitempty"`
	GoslingVersion string   `db:"gosling_version" json:"gosling_version,omitempty"`
	// CredentialSHA256 checks the agent's heartbeats; never answered by the API.
	CredentialSHA256 string    `db:"credential_sha256" json:"-"`
	MissedHeartbeats int       `db:"missed_heartbeats" json:"missed_heartbeats"`
	LastSeenAt       time.Time `db:"last_seen_at" json:"last_seen_at,omitzero"`
	StateReason      string    `db:"state_reason" json:"state_reason,omitempty"`
	// QueueReason says why a requested runner waits for capacity (runner.queued);
	// empty once it is provisioned, its job assigned elsewhere, or it ends.
	QueueReason string `db:"queue_reason" json:"queue_reason,omitempty"`
	// AssignedJobs counts the jobs the provisioner gave this runner (runner.job_assigned).
	AssignedJobs int `db:"assigned_jobs" json:"assigned_jobs,omitempty"`
	// ServedBy is set on a row that was only a job's request (the webhook's
	// runner.requested) and ended because the job went to the existing
	// runner ServedBy (runner.terminated's served_by): not a runner. Lists
	// of runners leave such rows out unless asked for them.
	ServedBy string `db:"served_by" json:"served_by,omitempty"`
	// GitLabRunnerID is the GitLab runner MotherGoose created for it
	// (runner.gitlab_registered), 0 when none.
	GitLabRunnerID int64 `db:"gitlab_runner_id" json:"gitlab_runner_id,omitempty"`
	// GitLabRegistration says where its GitLab runner stands: "registered",
	// "unregistered: <why>", "paused: ...", "delete owed", "delete owed:
	// <last error>", "deleted"; empty before its provisioning.
	GitLabRegistration string `db:"gitlab_registration" json:"gitlab_registration,omitempty"`
	// DeployedAt is when the runner was deployed (runner.deployed), zero before.
	DeployedAt time.Time `db:"deployed_at" json:"deployed_at,omitzero"`
	// StateSince is when the runner entered its state; PoolSince when it
	// last moved between the Apex and Nadir pools (zero if never).
	StateSince time.Time `db:"state_since" json:"state_since,omitzero"`
	PoolSince  time.Time `db:"pool_since" json:"pool_since,omitzero"`
	// Silent: a silence of the agent was recorded (runner.heartbeat_missed,
	// whose last seen is LastSeenAt) and it has not been heard since
	// (runner.heartbeat_resumed). Silences counts the silences recorded
	// since the runner was deployed (UglyFox's runner.failure_count).
	Silent   bool `db:"silent" json:"silent,omitempty"`
	Silences int  `db:"silences" json:"silences,omitempty"`
	// DeferredAction and DeferredReason are UglyFox's decision waiting for
	// the BUSY runner to be idle (uglyfox.decision_deferred), empty once it
	// is carried out (runner.termination_asked, runner.pool_changed).
	DeferredAction string `db:"deferred_action" json:"deferred_action,omitempty"`
	DeferredReason string `db:"deferred_reason" json:"deferred_reason,omitempty"`
	// OverranBusySince is the BusySince of the last runner.job_overran: the
	// BUSY stretch already reported past its job limit.
	OverranBusySince time.Time `db:"overran_busy_since" json:"overran_busy_since,omitzero"`
	// TerminationAskedAt is when the runner's termination was last asked.
	TerminationAskedAt time.Time `db:"termination_asked_at" json:"termination_asked_at,omitzero"`
	CreatedAt          time.Time `db:"created_at" json:"created_at"`
	UpdatedAt          time.Time `db:"updated_at" json:"updated_at"`
	TerminatedAt       time.Time `db:"terminated_at" json:"terminated_at,omitzero"`
	Version            uint64    `db:"version" json:"version"`
}

func (r RunnerRow) RowKey() string     { return r.ID }
func (r RunnerRow) RowVersion() uint64 { return r.Version }

// EggConfigRow is the egg_configs view: the last synced configuration of each egg or bucket.
type EggConfigRow struct {
	Name         string   `db:"name" json:"name"`
	Kind         string   `db:"kind" json:"kind"`
	RunnerType   string   `db:"runner_type" json:"runner_type"`
	Provider     string   `db:"provider" json:"provider"`
	Region       string   `db:"region" json:"region"`
	GitLabServer string   `db:"gitlab_server" json:"gitlab_server"`
	ProjectIDs   []int64  `db:"project_ids" json:"project_ids"`
	GroupIDs     []int64  `db:"group_ids" json:"group_ids"`
	Tags         []string `db:"tags" json:"tags"`
	CPU          int      `db:"cpu" json:"cpu"`
	MemoryGB     int      `db:"memory_gb" json:"memory_gb"`
	DiskGB       int      `db:"disk_gb" json:"disk_gb"`
	Image        string   `db:"image" json:"image,omitempty"`
	MinApex      int      `db:"min_apex" json:"min_apex"`
	MaxApex      int      `db:"max_apex" json:"max_apex"`
	MinNadir     int      `db:"min_nadir" json:"min_nadir"`
	// MaxJobSeconds is the egg's runner.max_job_duration in seconds (0: unset).
	MaxJobSeconds    int64  `db:"max_job_seconds" json:"max_job_seconds,omitempty"`
	TokenSecretURI   string `db:"token_secret_uri" json:"token_secret_uri,omitempty"`
	WebhookSecretURI string `db:"webhook_secret_uri" json:"webhook_secret_uri,omitempty"`
	ConfigHash       string `db:"config_hash" json:"config_hash"`
	Commit           string `db:"commit_sha" json:"commit"`
	Path             string `db:"path" json:"path"`
	// TofuVersion and GoslingVersion are the egg's `versions` pins ("": unpinned).
	TofuVersion    string    `db:"tofu_version" json:"tofu_version,omitempty"`
	GoslingVersion string    `db:"gosling_version" json:"gosling_version,omitempty"`
	Removed        bool      `db:"removed" json:"removed"`
	SyncedAt       time.Time `db:"synced_at" json:"synced_at"`
	Version        uint64    `db:"version" json:"version"`
}

func (r EggConfigRow) RowKey() string     { return r.Name }
func (r EggConfigRow) RowVersion() uint64 { return r.Version }

// BinaryVersionRow is the binary_versions view: one registered build of a
// binary (mothergoose binaries add). Key is "<kind>/<version>/<os>/<arch>".
// Active is true on every platform's row of the kind's active version.
// Version is the binary stream's version the row last applied.
type BinaryVersionRow struct {
	Key           string    `db:"key" json:"-"`
	Kind          string    `db:"kind" json:"kind"` // tofu, gosling
	BinaryVersion string    `db:"binary_version" json:"version"`
	Platform      string    `db:"platform" json:"platform"` // linux/amd64
	SHA256        string    `db:"sha256" json:"sha256"`
	Size          int64     `db:"size" json:"size"`
	Source        string    `db:"source" json:"source,omitempty"`
	Actor         string    `db:"actor" json:"actor,omitempty"`
	Reason        string    `db:"reason" json:"reason,omitempty"`
	Active        bool      `db:"active" json:"active"`
	RegisteredAt  time.Time `db:"registered_at" json:"registered_at"`
	Version       uint64    `db:"version" json:"row_version"`
}

func (r BinaryVersionRow) RowKey() string     { return r.Key }
func (r BinaryVersionRow) RowVersion() uint64 { return r.Version }

// BinaryVersionKey is the binary_versions key of kind's version for platform (os/arch).
func BinaryVersionKey(kind, version, platform string) string {
	return kind + "/" + version + "/" + platform
}

// EggWebhooksRow is the egg_webhooks view: the hooks MotherGoose installs
// for one egg, one entry per GitLab project or group, in owner order.
type EggWebhooksRow struct {
	Egg       string             `db:"egg" json:"egg"`
	Hooks     []EggWebhookStatus `db:"hooks" json:"hooks"`
	UpdatedAt time.Time          `db:"updated_at" json:"updated_at,omitzero"`
	Version   uint64             `db:"version" json:"version"`
}

func (r EggWebhooksRow) RowKey() string     { return r.Egg }
func (r EggWebhooksRow) RowVersion() uint64 { return r.Version }

// EggWebhookStatus is the state of an egg's hook on one project or group.
type EggWebhookStatus struct {
	GitLabServer string    `json:"gitlab_server"`
	OwnerKind    string    `json:"owner_kind"` // project, group
	OwnerID      int64     `json:"owner_id"`
	Status       string    `json:"status"` // installed, failed, skipped, removed
	HookID       int64     `json:"hook_id,omitempty"`
	URL          string    `json:"url,omitempty"`
	ConfigHash   string    `json:"config_hash,omitempty"`
	Code         string    `json:"code,omitempty"`   // of a failure
	Reason       string    `json:"reason,omitempty"` // of a failure, a skip, an update, a removal
	RetryAfterS  int64     `json:"retry_after_s,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// SyncHistoryRow is one Nest sync attempt, successful or not. Its key is the
// zero-padded global position of its event, so key order is log order.
type SyncHistoryRow struct {
	Key            string              `db:"key" json:"-"`
	EventID        string              `db:"event_id" json:"event_id"`
	Position       uint64              `db:"position" json:"position"`
	Status         string              `db:"status" json:"status"` // SUCCESS, FAILED
	Commit         string              `db:"commit_sha" json:"commit"`
	PreviousCommit string              `db:"previous_commit" json:"previous_commit,omitempty"`
	Branch         string              `db:"branch" json:"branch,omitempty"`
	Trigger        string              `db:"trigger" json:"trigger"`
	Changes        []events.FileChange `db:"changes" json:"changes"`
	EggsAdded      int                 `db:"eggs_added" json:"eggs_added"`
	EggsUpdated    int                 `db:"eggs_updated" json:"eggs_updated"`
	EggsRemoved    int                 `db:"eggs_removed" json:"eggs_removed"`
	JobsSynced     int                 `db:"jobs_synced" json:"jobs_synced"`
	UglyFoxSynced  bool                `db:"uglyfox_synced" json:"uglyfox_synced"`
	Diagnostics    []events.Diagnostic `db:"diagnostics" json:"diagnostics,omitempty"`
	Error          string              `db:"error" json:"error,omitempty"`
	StartedAt      time.Time           `db:"started_at" json:"started_at"`
	DurationMS     int64               `db:"duration_ms" json:"duration_ms"`
	// Repeats is how many times a FAILED sync failed again identically
	// (nest.sync_failure_repeated), the last at LastAttemptAt.
	Repeats       int       `db:"repeats" json:"repeats,omitempty"`
	LastAttemptAt time.Time `db:"last_attempt_at" json:"last_attempt_at,omitzero"`
	// FullResyncReason says why a SUCCESS synced its commit in full
	// against what the log held as deployed instead of diffing it.
	FullResyncReason string `db:"full_resync_reason" json:"full_resync_reason,omitempty"`
	Version          uint64 `db:"version" json:"version"`
}

func (r SyncHistoryRow) RowKey() string     { return r.Key }
func (r SyncHistoryRow) RowVersion() uint64 { return r.Version }

// DeploymentPlanRow is the deployment_plans view.
type DeploymentPlanRow struct {
	PlanID         string            `db:"plan_id" json:"plan_id"`
	RunnerID       string            `db:"runner_id" json:"runner_id"`
	Egg            string            `db:"egg" json:"egg"`
	Action         string            `db:"action" json:"action"`
	Module         string            `db:"module" json:"module"`
	Status         string            `db:"status" json:"status"` // PENDING, APPLIED, ROLLED_BACK, FAILED
	Inputs         map[string]string `db:"inputs" json:"inputs"`
	SecretURIs     map[string]string `db:"secret_uris" json:"secret_uris,omitempty"`
	ConfigHash     string            `db:"config_hash" json:"config_hash"`
	PlanSHA256     string            `db:"plan_sha256" json:"plan_sha256"`
	TofuVersion    string            `db:"tofu_version" json:"tofu_version"`
	PreviousPlanID string            `db:"previous_plan_id" json:"previous_plan_id,omitempty"`
	RestoredPlanID string            `db:"restored_plan_id" json:"restored_plan_id,omitempty"`
	FailedStage    string            `db:"failed_stage" json:"failed_stage,omitempty"`
	Error          string            `db:"error" json:"error,omitempty"`
	CreatedAt      time.Time         `db:"created_at" json:"created_at"`
	AppliedAt      time.Time         `db:"applied_at" json:"applied_at,omitzero"`
	UpdatedAt      time.Time         `db:"updated_at" json:"updated_at"`
	Version        uint64            `db:"version" json:"version"`
}

func (r DeploymentPlanRow) RowKey() string     { return r.PlanID }
func (r DeploymentPlanRow) RowVersion() uint64 { return r.Version }

// AuditLogRow is one event as the audit trail shows it. Key is the
// zero-padded global position.
type AuditLogRow struct {
	Key           string    `db:"key" json:"-"`
	Position      uint64    `db:"position" json:"position"`
	EventID       string    `db:"event_id" json:"event_id"`
	Stream        string    `db:"stream" json:"stream"`
	StreamVersion uint64    `db:"stream_version" json:"stream_version"`
	Type          string    `db:"type" json:"type"`
	Actor         string    `db:"actor" json:"actor"`
	CorrelationID string    `db:"correlation_id" json:"correlation_id,omitempty"`
	CausationID   string    `db:"causation_id" json:"causation_id,omitempty"`
	Summary       string    `db:"summary" json:"summary"`
	OccurredAt    time.Time `db:"occurred_at" json:"occurred_at"`
	RecordedAt    time.Time `db:"recorded_at" json:"recorded_at"`
	Version       uint64    `db:"version" json:"version"`
}

func (r AuditLogRow) RowKey() string     { return r.Key }
func (r AuditLogRow) RowVersion() uint64 { return r.Version }

// PositionKey formats a global position as a key that sorts like the number.
func PositionKey(p uint64) string {
	const digits = "0123456789"
	var b [20]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[p%10]
		p /= 10
	}
	return string(b[:])
}

// FailingTable is a table whose every call fails with Err: what a store
// answers for a view it was not made with, so the mistake surfaces at the
// first use with the store's own message.
type FailingTable struct{ Err error }

func (f FailingTable) Get(context.Context, string) (ViewRow, bool, error) { return nil, false, f.Err }
func (f FailingTable) Put(context.Context, ViewRow) (bool, error)         { return false, f.Err }
func (f FailingTable) List(context.Context, Query) ([]ViewRow, error)     { return nil, f.Err }
func (f FailingTable) ListPage(context.Context, Query) (Page[ViewRow], error) {
	return Page[ViewRow]{}, f.Err
}
