package tofu

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// ComputeConfig configures Compute, the provisioner's port over the Executor.
type ComputeConfig struct {
	// Executor runs OpenTofu; nil when no tofu binary was found, and
	// Missing says why (every runner is then queued with that reason).
	Executor *Executor
	Missing  string
	// PlansDir keeps every saved plan by its SHA-256 (DATA/plans).
	PlansDir string
	// PlanRetention is how long a kept plan stays (default
	// DefaultPlanRetention): the log holds every plan's SHA-256 and inputs
	// for good, the binary plan file only for an audit of recent ones,
	// so PlansDir does not grow with every runner ever provisioned.
	PlanRetention time.Duration
	// MotherGooseURL is where runners reach MotherGoose.
	MotherGooseURL string
	// RunnerCommand is the local target's runner_command ("<gosling> runner").
	RunnerCommand string
	// Blobs holds the registered binaries; a plan of an egg that pins its
	// OpenTofu runs the registered build, copied from there once into
	// ToolsDir/tofu/<version>/ as an executable (pinned.go). Without them
	// a pinned plan fails at init.
	Blobs    ports.Blobs
	ToolsDir string
	// CloudSecrets stores a cloud runner's secrets where its agent reads
	// them (Lockbox, Secrets Manager, Vault); nil: they cannot be stored.
	CloudSecrets CloudSecretStore
}

// CloudSecretStore writes secret name of a cloud runner and returns the
// URI its agent resolves it from.
type CloudSecretStore interface {
	StoreRunnerSecret(ctx context.Context, provider, runnerID, name string, value []byte) (uri string, err error)
}

// DefaultPlanRetention is how long kept plan files stay by default.
const DefaultPlanRetention = 30 * 24 * time.Hour

// pruneEvery spaces the scans of PlansDir for plans past their retention.
const pruneEvery = time.Hour

// Compute implements provisioner.Compute for the local target (the cloud
// targets need target inputs no egg carries yet: their runners are queued
// with that reason).
type Compute struct {
	cfg ComputeConfig

	pruneMu    sync.Mutex
	lastPruned time.Time

	pinMu  sync.Mutex
	pinned map[string]*Executor // the pinned builds' executors, by SHA-256
}

var _ provisioner.Compute = (*Compute)(nil)

// credentialFile is the per-runner credential inside its workspace.
const credentialFile = "credential"

// NewCompute returns the port. With an Executor it removes the state locks
// a killed MotherGoose left in the workspaces (only one MotherGoose uses a
// work dir, and nothing runs before this).
func NewCompute(cfg ComputeConfig) (*Compute, error) {
	if cfg.Executor != nil {
		locks, _ := filepath.Glob(filepath.Join(cfg.Executor.cfg.WorkRoot, "*", ".terraform.tfstate.lock.info"))
		for _, l := range locks {
			if err := os.Remove(l); err != nil {
				return nil, fmt.Errorf("tofu: remove stale state lock %s: %w", l, err)
			}
		}
		if cfg.PlansDir == "" {
			return nil, errors.New("tofu: compute needs a plans directory")
		}
		if err := os.MkdirAll(cfg.PlansDir, 0o750); err != nil {
			return nil, err
		}
	} else if cfg.Missing == "" {
		cfg.Missing = "no tofu binary"
	}
	if cfg.PlanRetention <= 0 {
		cfg.PlanRetention = DefaultPlanRetention
	}
	c := &Compute{cfg: cfg, pinned: map[string]*Executor{}}
	if cfg.Executor != nil {
		if err := c.prune(time.Now()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// prune removes the kept plans older than PlanRetention, at most once per
// pruneEvery. A plan file is only an audit copy once it is applied (the
// apply reads the workspace's own), so removing an old one changes nothing
// a runner depends on.
func (c *Compute) prune(now time.Time) error {
	c.pruneMu.Lock()
	defer c.pruneMu.Unlock()
	if !c.lastPruned.IsZero() && now.Sub(c.lastPruned) < pruneEvery {
		return nil
	}
	c.lastPruned = now
	entries, err := os.ReadDir(c.cfg.PlansDir)
	if err != nil {
		return fmt.Errorf("tofu: read the plans directory: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tfplan") {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) <= c.cfg.PlanRetention {
			continue
		}
		if err := os.Remove(filepath.Join(c.cfg.PlansDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tofu: remove an old plan: %w", err)
		}
	}
	return nil
}

// Unavailable implements provisioner.Compute.
func (c *Compute) Unavailable(provider string) string {
	switch {
	case c.cfg.Executor == nil:
		return c.cfg.Missing
	case provider != string(TargetLocal):
		return fmt.Sprintf("provider %s: this MotherGoose provisions local runners only; the %s target's inputs (network, account) are not configured", provider, provider)
	}
	return ""
}

func (c *Compute) dir(runnerID string) string { return c.cfg.Executor.Dir(runnerID) }

// Credential implements provisioner.Compute: 32 random bytes in hex, in a
// 0600 file of the runner's workspace, minted once.
func (c *Compute) Credential(_ context.Context, runnerID string) (string, string, error) {
	if c.cfg.Executor == nil {
		return "", "", errors.New(c.cfg.Missing)
	}
	if !labelRe.MatchString(runnerID) {
		return "", "", fmt.Errorf("tofu: runner id %q is not a workspace name", runnerID)
	}
	dir := c.dir(runnerID)
	path := filepath.Join(dir, credentialFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return "", "", err
		}
		b = []byte(hex.EncodeToString(raw))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", "", err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return "", "", err
		}
		if err := os.Rename(tmp, path); err != nil {
			return "", "", err
		}
	} else if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return "file://" + path, hex.EncodeToString(sum[:]), nil
}

// StoreSecret implements provisioner.Compute: for a local runner, a 0600
// file in its workspace (removed with it by Forget), as file://; for a
// cloud runner, the cloud's secret store through CloudSecrets, where the
// agent on the VM resolves it with the instance's identity.
func (c *Compute) StoreSecret(ctx context.Context, runnerID, provider, name string, value []byte) (string, error) {
	switch {
	case provider != string(TargetLocal) && !labelRe.MatchString(runnerID):
		return "", errs.Errorf(errs.EINVALID, "tofu: runner id %q is not a label", runnerID)
	case provider != string(TargetLocal) && c.cfg.CloudSecrets == nil:
		return "", errs.Errorf(errs.EINVALID, "no secret store is configured for provider %s: the runner's GitLab token cannot be stored", provider)
	case provider != string(TargetLocal):
		return c.cfg.CloudSecrets.StoreRunnerSecret(ctx, provider, runnerID, name, value)
	case c.cfg.Executor == nil:
		return "", errors.New(c.cfg.Missing)
	case !labelRe.MatchString(runnerID) || !secretNameRe.MatchString(name) || name == credentialFile:
		return "", errs.Errorf(errs.EINVALID, "tofu: secret %q of runner %q is not a file name in a workspace", name, runnerID)
	}
	dir := c.dir(runnerID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, value, 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return "file://" + path, nil
}

// secretNameRe is a secret's file name in a workspace.
var secretNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

func (c *Compute) runnerSpec(s provisioner.Spec) RunnerSpec {
	image := s.Image
	if image == "" {
		image = "local"
	}
	return RunnerSpec{
		Target: Target(s.Provider), Name: s.RunnerID, Egg: s.Egg, RunnerID: s.RunnerID, RunnerType: RunnerType(s.RunnerType),
		CPU: orDefault(s.CPU, 2), MemoryMB: orDefault(s.MemoryMB, 4096), DiskGB: max(orDefault(s.DiskGB, 20), 10), Region: s.Region,
		Image: image, MotherGooseURL: c.cfg.MotherGooseURL, SecretURIs: s.SecretURIs, Stopped: s.Stopped, AgentVersion: s.AgentVersion,
		Local: &LocalTarget{WorkDir: c.localWorkDir(s.RunnerID), RunnerCommand: c.cfg.RunnerCommand},
	}
}

// localWorkDir is a local runner's work_dir (its pid and log files).
func (c *Compute) localWorkDir(runnerID string) string { return filepath.Join(c.dir(runnerID), "run") }

// localPidFile is the module's pid file of a local runner (locals.tf).
func (c *Compute) localPidFile(runnerID string) string {
	return filepath.Join(c.localWorkDir(runnerID), runnerID+".pid")
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// inputs are the module arguments as strings, the secret URIs apart.
func inputs(spec RunnerSpec) (map[string]string, map[string]string) {
	in := map[string]string{}
	for _, a := range moduleArgs(spec) {
		if a.name == "secret_uris" {
			continue
		}
		if a.value.Type() == cty.String {
			in[a.name] = a.value.AsString()
			continue
		}
		b, err := ctyjson.Marshal(a.value, a.value.Type())
		if err == nil {
			in[a.name] = string(b)
		}
	}
	return in, spec.SecretURIs
}

// Plan implements provisioner.Compute.
func (c *Compute) Plan(ctx context.Context, s provisioner.Spec, destroy bool) (provisioner.PlanResult, error) {
	if c.cfg.Executor == nil {
		return provisioner.PlanResult{}, &provisioner.StageError{Stage: "init", Message: c.cfg.Missing}
	}
	spec := c.runnerSpec(s)
	in, secrets := inputs(spec)
	res := provisioner.PlanResult{Module: string(spec.Target), Inputs: in, SecretURIs: secrets, TofuVersion: c.cfg.Executor.Version()}
	exe, err := c.executor(ctx, s.TofuVersion, s.TofuSHA256)
	if err != nil {
		return res, err
	}
	res.TofuVersion, res.TofuSHA256 = exe.Version(), s.TofuSHA256
	if spec.Target == TargetLocal && labelRe.MatchString(s.RunnerID) {
		// A process an interrupted apply started, which the state does not
		// hold, goes first: the create starts it anew, a destroy (which
		// finds no resource) would leave it running.
		if err := c.reap(ctx, s.RunnerID); err != nil {
			return res, &provisioner.StageError{Stage: "init", Message: "stopping a runner process the state does not hold: " + err.Error()}
		}
	}
	ws, err := exe.Prepare(ctx, spec)
	if err != nil {
		return res, &provisioner.StageError{Stage: "init", Message: err.Error()}
	}
	res.ConfigHash = ws.Hash
	if err := ws.Init(ctx); err != nil {
		return res, stageError("init", err)
	}
	p, err := ws.plan(ctx, destroy)
	if err != nil {
		return res, stageError("plan", err)
	}
	keep := filepath.Join(c.cfg.PlansDir, p.Sum+".tfplan")
	if _, err := os.Stat(keep); err != nil {
		b, err := os.ReadFile(p.File)
		if err != nil {
			return res, &provisioner.StageError{Stage: "plan", Message: err.Error()}
		}
		if err := writeFileAtomic(keep, b); err != nil {
			return res, &provisioner.StageError{Stage: "plan", Message: err.Error()}
		}
	}
	res.PlanFile, res.PlanSHA256 = keep, p.Sum
	if err := c.prune(time.Now()); err != nil {
		return res, &provisioner.StageError{Stage: "plan", Message: err.Error()}
	}
	return res, nil
}

// Apply implements provisioner.Compute: the content-addressed plan is
// checked against its SHA-256 and applied in the runner's workspace.
func (c *Compute) Apply(ctx context.Context, runnerID string, p provisioner.PlanResult) (provisioner.Deployment, error) {
	if c.cfg.Executor == nil {
		return provisioner.Deployment{}, &provisioner.StageError{Stage: "apply", Message: c.cfg.Missing}
	}
	exe, err := c.executor(ctx, p.TofuVersion, p.TofuSHA256)
	if err != nil {
		return provisioner.Deployment{}, &provisioner.StageError{Stage: "apply", Message: err.Error()}
	}
	ws, err := exe.open(runnerID, p.ConfigHash)
	if err != nil {
		return provisioner.Deployment{}, &provisioner.StageError{Stage: "apply", Message: err.Error()}
	}
	plan := &Plan{File: filepath.Join(ws.Dir, PlanFile), ConfigHash: p.ConfigHash, Sum: p.PlanSHA256}
	raw, err := ws.apply(ctx, plan)
	if err != nil {
		return provisioner.Deployment{}, stageError("apply", err)
	}
	// The apply succeeded, so the state is what was planned: its outputs
	// alone tell the deployment (every module's instance_id is set while
	// its instance exists; none is after a destroy). The apply's own -json
	// stream reports them; `tofu output` reads them only when it did not
	// (BenchmarkColdProvision: one tofu start less on the way to
	// runner.deployed).
	var o Outputs
	if raw != nil {
		o, err = decodeOutputs(ws.Dir, raw)
	} else {
		o, err = ws.Outputs(ctx)
	}
	if err != nil {
		return provisioner.Deployment{}, &provisioner.StageError{Stage: "apply", Message: err.Error()}
	}
	if o.InstanceID == "" {
		return provisioner.Deployment{}, nil
	}
	return deployment(o), nil
}

func deployment(o Outputs) provisioner.Deployment {
	return provisioner.Deployment{InstanceID: o.InstanceID, Address: o.Address, Hostname: o.Hostname,
		Outputs: map[string]string{"instance_id": o.InstanceID, "address": o.Address, "public_address": o.PublicAddress, "hostname": o.Hostname}}
}

// Deployed implements provisioner.Compute: whether the state holds a
// resource that is not tainted.
func (c *Compute) Deployed(ctx context.Context, runnerID string) (provisioner.Deployment, bool, error) {
	if c.cfg.Executor == nil {
		return provisioner.Deployment{}, false, errors.New(c.cfg.Missing)
	}
	if _, err := os.Stat(filepath.Join(c.dir(runnerID), StateFile)); errors.Is(err, fs.ErrNotExist) {
		return provisioner.Deployment{}, false, nil
	}
	ws, err := c.cfg.Executor.open(runnerID, "")
	if err != nil {
		return provisioner.Deployment{}, false, err
	}
	return c.deployed(ctx, ws)
}

func (c *Compute) deployed(ctx context.Context, ws *Workspace) (provisioner.Deployment, bool, error) {
	exists, err := ws.hasResources(ctx)
	if err != nil || !exists {
		return provisioner.Deployment{}, false, err
	}
	o, err := ws.Outputs(ctx)
	if err != nil {
		return provisioner.Deployment{}, true, err
	}
	return deployment(o), true, nil
}

// Workspaces implements provisioner.Compute.
func (c *Compute) Workspaces(context.Context) ([]string, error) {
	if c.cfg.Executor == nil {
		return nil, nil
	}
	entries, err := os.ReadDir(c.cfg.Executor.cfg.WorkRoot)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && labelRe.MatchString(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Forget implements provisioner.Compute.
func (c *Compute) Forget(_ context.Context, runnerID string) error {
	if c.cfg.Executor == nil || !labelRe.MatchString(runnerID) {
		return nil
	}
	dir := c.dir(runnerID)
	for _, e := range c.executors() {
		e.mu.Lock()
		delete(e.handles, dir)
		e.mu.Unlock()
	}
	return os.RemoveAll(dir)
}

// stageError turns the Executor's typed errors into the provisioner's,
// diagnostics included.
func stageError(stage string, err error) error {
	se := &provisioner.StageError{Stage: stage, Message: err.Error()}
	var pe *PlanError
	if errors.As(err, &pe) {
		for _, d := range pe.Diagnostics {
			se.Diagnostics = append(se.Diagnostics, events.Diagnostic{File: d.File, Line: d.Line, Column: d.Column, Severity: d.Severity, Summary: d.Summary, Detail: d.Detail})
		}
	}
	var ae *ApplyError
	if errors.As(err, &ae) {
		for _, d := range ae.Diagnostics {
			if d.Severity == "error" {
				se.Diagnostics = append(se.Diagnostics, events.Diagnostic{File: d.File, Line: d.Line, Column: d.Column, Severity: d.Severity, Summary: d.Summary, Detail: d.Detail})
			}
		}
		for _, line := range strings.Split(ae.Output, "\n") {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "Error:") || strings.Contains(t, "exited at once") {
				se.Diagnostics = append(se.Diagnostics, events.Diagnostic{Severity: "error", Summary: t})
			}
		}
	}
	if len(se.Message) > 4000 {
		se.Message = se.Message[:4000] + " ..."
	}
	return se
}

// open returns the workspace of an existing runner directory, as last
// prepared with config hash hash.
func (e *Executor) open(runnerID, hash string) (*Workspace, error) {
	if !labelRe.MatchString(runnerID) {
		return nil, fmt.Errorf("tofu: runner id %q is not a workspace name", runnerID)
	}
	dir := e.Dir(runnerID)
	h, err := e.handleFor(dir)
	if err != nil {
		return nil, err
	}
	return &Workspace{Dir: dir, Hash: hash, h: h, tf: h.tf, timeout: e.cfg.Timeout}, nil
}

// hasResources reports whether the state holds a managed resource that is
// not tainted.
func (w *Workspace) hasResources(ctx context.Context) (bool, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	st, err := w.tf.Show(ctx)
	if err != nil {
		return false, err
	}
	if st == nil || st.Values == nil || st.Values.RootModule == nil {
		return false, nil
	}
	mods := []*tfjson.StateModule{st.Values.RootModule}
	for len(mods) > 0 {
		m := mods[0]
		mods = mods[1:]
		for _, r := range m.Resources {
			if r.Mode == "managed" && !r.Tainted {
				return true, nil
			}
		}
		mods = append(mods, m.ChildModules...)
	}
	return false, nil
}

// plan runs plan -out, a destroy plan when destroy.
func (w *Workspace) plan(ctx context.Context, destroy bool) (*Plan, error) {
	if !destroy {
		return w.Plan(ctx)
	}
	return w.planWith(ctx, "-destroy")
}
