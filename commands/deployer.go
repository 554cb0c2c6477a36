package commands

import "context"

// EggDeployer is the operator's write path over an egg's runners: what a
// deploy would change, a deploy, a rollback and their progress. The
// provisioner (commands/provisioner) implements it from its model of the
// log; the HTTP API calls it. Errors carry codes: ENOTFOUND (an unknown egg,
// plan or deploy), EINVALID (a bad name, a plan that cannot be restored),
// ECONFLICT (a removed egg, nothing to roll back to).
type EggDeployer interface {
	// Plan answers what a deploy of egg would do, changing nothing.
	Plan(ctx context.Context, egg string) (DeployPlan, error)
	// Deploy records a deploy of egg to the Nest's configuration.
	Deploy(ctx context.Context, egg string, meta Meta) (DeployAnswer, error)
	// Rollback pins egg to the configuration of plan toPlanID, or, when it
	// is "", to the configuration its runners had before the current one.
	Rollback(ctx context.Context, egg, toPlanID string, meta Meta) (DeployAnswer, error)
	// DeployStatus answers the progress of deploy or rollback id of egg.
	DeployStatus(ctx context.Context, egg, id string) (DeployStatus, error)
}

// Runner changes of a DeployPlan.
const (
	ChangeKeep    = "keep"
	ChangeReplace = "replace"
	ChangeCreate  = "create"
	ChangeDestroy = "destroy"
)

// DeployPlan is what a deploy (or a rollback) would do to an egg's runners.
type DeployPlan struct {
	Egg string `json:"egg"`
	// FromConfigHash is the configuration the provisioner keeps the egg at
	// now: the Nest's, or the one a rollback pinned (PinnedToPlanID).
	FromConfigHash string `json:"from_config_hash"`
	PinnedToPlanID string `json:"pinned_to_plan_id,omitempty"`
	// ToConfigHash is the configuration the runners are brought to.
	ToConfigHash string `json:"to_config_hash"`
	// ActiveDeployID is the deploy or rollback in force, "" for none.
	ActiveDeployID string         `json:"active_deploy_id,omitempty"`
	Runners        []RunnerChange `json:"runners"`
	// Diffs: per configuration the runners have now that is not
	// ToConfigHash, the fields that change.
	Diffs []ConfigDiff `json:"diffs"`
	// Changes counts the runners replaced, created or destroyed; 0 means
	// a deploy has nothing to do.
	Changes int `json:"changes"`
}

// RunnerChange is what a deploy does to one runner (or, for a create, to
// a runner yet to be requested: RunnerID is "").
type RunnerChange struct {
	RunnerID   string `json:"runner_id,omitempty"`
	State      string `json:"state,omitempty"`
	ConfigHash string `json:"config_hash,omitempty"`
	Change     string `json:"change"` // keep, replace, create, destroy
	Reason     string `json:"reason"`
}

// ConfigDiff is how one egg configuration differs from another, field by field.
type ConfigDiff struct {
	FromConfigHash string        `json:"from_config_hash"`
	ToConfigHash   string        `json:"to_config_hash"`
	Runners        []string      `json:"runners"`
	Fields         []FieldChange `json:"fields"`
	// Unknown is set when the configuration FromConfigHash is not known
	// (runners made before it was recorded): Fields is empty.
	Unknown bool `json:"unknown,omitempty"`
}

// FieldChange is one field of an egg configuration that changes.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// DeployAnswer is the answer to a deploy or a rollback.
type DeployAnswer struct {
	Egg      string `json:"egg"`
	DeployID string `json:"deploy_id"`
	Kind     string `json:"kind"` // deploy, rollback
	// ConfigHash is the configuration the runners are brought to.
	ConfigHash     string `json:"config_hash"`
	FromConfigHash string `json:"from_config_hash,omitempty"`
	// RestoredPlanID (a rollback) is the plan whose configuration is restored.
	RestoredPlanID string     `json:"restored_plan_id,omitempty"`
	Status         string     `json:"status"` // running, finished
	Outcome        string     `json:"outcome,omitempty"`
	Message        string     `json:"message"`
	Plan           DeployPlan `json:"plan"`
	PlanIDs        []string   `json:"plan_ids"`
	Version        uint64     `json:"version"`
}

// DeployStatus is the progress of a deploy or rollback.
type DeployStatus struct {
	Egg            string             `json:"egg"`
	DeployID       string             `json:"deploy_id"`
	Kind           string             `json:"kind"`
	ConfigHash     string             `json:"config_hash"`
	RestoredPlanID string             `json:"restored_plan_id,omitempty"`
	Status         string             `json:"status"` // running, finished
	Outcome        string             `json:"outcome,omitempty"`
	Reason         string             `json:"reason,omitempty"`
	Plans          []DeployPlanStatus `json:"plans"`
}

// DeployPlanStatus is one plan made under a deploy.
type DeployPlanStatus struct {
	PlanID   string `json:"plan_id"`
	RunnerID string `json:"runner_id"`
	Action   string `json:"action"`
	Status   string `json:"status"` // PENDING, APPLIED, FAILED, ROLLED_BACK
}
