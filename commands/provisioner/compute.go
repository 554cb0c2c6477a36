package provisioner

import (
	"context"
	"fmt"

	"github.com/polar-gosling/polar-gosling/events"
)

// Spec is one runner as the compute target is asked to make it. Secrets
// appear as URIs only.
type Spec struct {
	RunnerID   string
	Egg        string
	RunnerType string // serverless, apex, nadir
	Provider   string // local, yandex, aws
	Region     string
	CPU        int
	MemoryMB   int
	DiskGB     int
	Image      string
	SecretURIs map[string]string // env name => secret URI
	// Stopped is the desired power state (the modules' running input,
	// negated): a Nadir runner's machine is kept stopped.
	Stopped bool
	// TofuVersion is the registered OpenTofu the plan and apply run, the
	// egg's pin, with the SHA-256 of its build for this host ("": the
	// default tofu).
	TofuVersion, TofuSHA256 string
	// AgentVersion is the gosling agent the runner downloads (the modules'
	// agent_version): the egg's pin, else the active version, else latest.
	AgentVersion string
	// eggHash and deployID go into the plan's plan.created (egg_config_hash,
	// deploy_id), not to the compute target.
	eggHash, deployID string
}

// PlanResult is a saved plan, as recorded in plan.created. Inputs hold no
// secret value.
type PlanResult struct {
	Module      string
	Inputs      map[string]string
	SecretURIs  map[string]string
	ConfigHash  string
	PlanFile    string // content-addressed copy of the saved plan
	PlanSHA256  string
	TofuVersion string // the version of the tofu that ran
	// TofuSHA256 is the registered build that ran for a pinned tofu
	// (Spec.TofuSHA256); "": the default tofu. Apply runs the same.
	TofuSHA256 string
}

// Deployment is a runner's infrastructure as its state shows it.
type Deployment struct {
	InstanceID, Address, Hostname string
	Outputs                       map[string]string
}

// StageError is a failed stage of a plan (init, plan, apply) with the
// tool's diagnostics.
type StageError struct {
	Stage       string
	Message     string
	Diagnostics []events.Diagnostic
}

func (e *StageError) Error() string { return fmt.Sprintf("%s: %s", e.Stage, e.Message) }

// Compute is the port to the compute target (adapters/tofu implements it).
// Every call for one runner id is made by one goroutine at a time.
type Compute interface {
	// Unavailable says why runners of provider cannot be provisioned
	// ("" when they can): no tofu binary, the target is not configured.
	Unavailable(provider string) string
	// Credential mints the runner's credential, or returns the one minted
	// before: the secret URI the agent reads it from and its hex SHA-256.
	// The value never leaves the adapter.
	Credential(ctx context.Context, runnerID string) (uri, sha256hex string, err error)
	// StoreSecret stores value (a GitLab runner authentication token) where
	// runnerID's runner of provider reads secrets, as name, and returns its
	// URI; storing it again replaces it. The value never leaves the
	// adapter. A provider with no secret store yet is an EINVALID error.
	StoreSecret(ctx context.Context, runnerID, provider, name string, value []byte) (uri string, err error)
	// Plan renders spec and runs init and plan -out (destroy: a destroy
	// plan). On failure the result holds what was rendered and the error is
	// a *StageError.
	Plan(ctx context.Context, spec Spec, destroy bool) (PlanResult, error)
	// Apply applies the saved plan p (checked against its SHA-256), with
	// the OpenTofu of p.TofuVersion, and returns the deployment (empty
	// after a destroy). A failure is a *StageError.
	Apply(ctx context.Context, runnerID string, p PlanResult) (Deployment, error)
	// Deployed reads the runner's workspace state: whether its
	// infrastructure exists, and its outputs.
	Deployed(ctx context.Context, runnerID string) (Deployment, bool, error)
	// Workspaces lists the runner ids that have a workspace.
	Workspaces(ctx context.Context) ([]string, error)
	// Forget removes a destroyed runner's workspace (its credential included).
	Forget(ctx context.Context, runnerID string) error
}
