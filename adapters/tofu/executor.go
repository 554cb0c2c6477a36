package tofu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// File names inside a workspace.
const (
	PlanFile      = "tfplan"    // the saved plan of the last Plan
	CLIConfigFile = "tofu.tfrc" // the workspace's CLI config (TF_CLI_CONFIG_FILE)
	StateFile     = "terraform.tfstate"
)

// DefaultVersionConstraint is what the modules accept.
const DefaultVersionConstraint = ">= 1.6.0"

// Config configures an Executor.
type Config struct {
	Binary     string        // path to tofu; "" means LookupBinary
	ModulesDir string        // the modules/compute directory; "" means FindModulesDir from the working directory
	WorkRoot   string        // parent of the per-runner working directories (required)
	Timeout    time.Duration // per command; 0 means 15 minutes
	CLI        CLIConfig     // provider installation (cache, mirrors)
	// VersionConstraint the binary must meet, such as "= 1.12.6" for an egg
	// that pins its OpenTofu; "" means DefaultVersionConstraint. A -dev or
	// other prerelease build is checked by its release number.
	VersionConstraint string
}

// Executor runs OpenTofu for runners, one working directory per runner id.
// It checks the binary's version once, in New. The commands of a
// provisioning (init, plan -out, apply of the saved plan, output) run tofu
// directly with the arguments, environment and process handling
// terraform-exec would use: terraform-exec runs `tofu version -json` before
// the first command of every instance, and an instance is bound to one
// directory, so going through it cost one more tofu start (30-50 ms) per new
// runner (BenchmarkColdProvision). The rarer reads (show, and destroy) still
// go through a terraform-exec instance per directory. Commands in one
// directory never overlap.
type Executor struct {
	cfg     Config
	bin     string
	version *version.Version
	cli     []byte // the rendered CLI config every workspace gets

	mu      sync.Mutex
	handles map[string]*handle // by working directory
	modules map[Target]string  // hash of each target module's .tf files, read once
}

// handle is one working directory's terraform-exec instance, the
// environment of the commands run directly, and the lock.
type handle struct {
	mu  sync.Mutex
	tf  *tfexec.Terraform
	bin string
	env []string
}

// LookupBinary finds tofu: $TOFU_BIN, then tofu on PATH.
func LookupBinary() (string, error) {
	if p := os.Getenv("TOFU_BIN"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("tofu")
	if err != nil {
		return "", errs.Wrap(errs.EUNAVAILABLE, ErrBinaryMissing, "no tofu binary: set TOFU_BIN or put tofu on PATH (make tools builds one into .tools/bin)")
	}
	return p, nil
}

// FindModulesDir walks up from dir to the directory holding go.mod and
// returns its modules/compute.
func FindModulesDir(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "modules", "compute"), nil
		}
		if filepath.Dir(d) == d {
			return "", errs.Errorf(errs.EINTERNAL, "no go.mod above %s: set the modules directory", dir)
		}
	}
}

// New checks the binary (present, a version OpenTofu accepts through
// `version -json`) and returns an Executor.
func New(ctx context.Context, cfg Config) (*Executor, error) {
	if cfg.WorkRoot == "" {
		return nil, errs.Errorf(errs.EINVALID, "tofu: the work root is required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Minute
	}
	if cfg.VersionConstraint == "" {
		cfg.VersionConstraint = DefaultVersionConstraint
	}
	constraint, err := version.NewConstraint(cfg.VersionConstraint)
	if err != nil {
		return nil, errs.Wrap(errs.EINVALID, err, "tofu: bad version constraint %q", cfg.VersionConstraint)
	}
	if cfg.ModulesDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, errs.Wrap(errs.EINTERNAL, err, "tofu: working directory")
		}
		if cfg.ModulesDir, err = FindModulesDir(wd); err != nil {
			return nil, err
		}
	}
	if cfg.ModulesDir, err = filepath.Abs(cfg.ModulesDir); err != nil {
		return nil, errs.Wrap(errs.EINTERNAL, err, "tofu: modules directory")
	}
	if cfg.WorkRoot, err = filepath.Abs(cfg.WorkRoot); err != nil {
		return nil, errs.Wrap(errs.EINTERNAL, err, "tofu: work root")
	}
	bin := cfg.Binary
	if bin == "" {
		if bin, err = LookupBinary(); err != nil {
			return nil, err
		}
	}
	if bin, err = exec.LookPath(bin); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, errors.Join(ErrBinaryMissing, err), "tofu binary %q is not an executable file", cfg.Binary)
	}
	if err := os.MkdirAll(cfg.WorkRoot, 0o750); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "tofu: create work root")
	}
	if err := cfg.CLI.check(); err != nil {
		return nil, err
	}
	// The version check runs with the same CLI config as every workspace.
	cli := cfg.CLI.render()
	cliFile := filepath.Join(cfg.WorkRoot, CLIConfigFile)
	if err := writeFileAtomic(cliFile, cli); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "tofu: write CLI config")
	}
	tf, err := tfexec.NewTerraform(cfg.WorkRoot, bin)
	if err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, errors.Join(ErrBinaryMissing, err), "tofu binary %q", bin)
	}
	if err := tf.SetEnv(baseEnv(map[string]string{"TF_CLI_CONFIG_FILE": cliFile})); err != nil {
		return nil, errs.Wrap(errs.EINTERNAL, err, "tofu: environment")
	}
	vctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// terraform-exec reads `version -json`, whose terraform_version field
	// OpenTofu fills with its own version, so its version gates apply to
	// OpenTofu as they would to Terraform of the same number (every gate it
	// has is below 1.6). It breaks in one case, handled here rather than in
	// the library: OpenTofu prints CLI config warnings (such as an inherited
	// TF_CLI_CONFIG_FILE naming a missing file) on stdout before the JSON, and
	// terraform-exec's fallback parser only knows "Terraform vX". So the
	// inherited TF_CLI_CONFIG_FILE is never passed on (baseEnv) and every
	// command, this one included, gets the Executor's own, valid CLI config.
	v, _, err := tf.Version(vctx, true)
	want := constraint.String()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, errs.Wrap(errs.EUNAVAILABLE, errors.Join(ErrBinaryMissing, err), "tofu binary %q cannot run", bin)
		}
		return nil, &VersionError{Binary: bin, Want: want, Err: fmt.Errorf("%w (OpenTofu must print only JSON for `version -json`; check the CLI config %s)", err, cliFile)}
	}
	if !constraint.Check(v.Core()) {
		return nil, &VersionError{Binary: bin, Got: v.String(), Want: want}
	}
	return &Executor{cfg: cfg, bin: bin, version: v, cli: cli, handles: map[string]*handle{}}, nil
}

// Version is the binary's version.
func (e *Executor) Version() string { return e.version.String() }

// Binary is the path of the tofu binary in use.
func (e *Executor) Binary() string { return e.bin }

// Dir is the working directory of a runner.
func (e *Executor) Dir(runnerID string) string { return filepath.Join(e.cfg.WorkRoot, runnerID) }

// Workspace is one runner's working directory: its rendered root module, its
// CLI config, its state and its saved plan. Commands in one directory run one
// at a time, whichever Workspace value started them.
type Workspace struct {
	Dir  string
	Hash string // the config hash of the rendered files
	// initKey is what `tofu init` depends on: the CLI config, the target's
	// provider requirement, the module's source path and its .tf files, not
	// the module's arguments. An update that changes only arguments (a
	// demote or promote, a new image) finds the workspace initialised for
	// the same key and skips init.
	initKey string

	h       *handle
	tf      *tfexec.Terraform
	timeout time.Duration
}

// handleFor returns the directory's handle, creating its terraform-exec
// instance on first use.
func (e *Executor) handleFor(dir string) (*handle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h, ok := e.handles[dir]; ok {
		return h, nil
	}
	tf, err := tfexec.NewTerraform(dir, e.bin)
	if err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, errors.Join(ErrBinaryMissing, err), "tofu binary %q", e.bin)
	}
	env := baseEnv(map[string]string{"TF_CLI_CONFIG_FILE": filepath.Join(dir, CLIConfigFile)})
	if err := tf.SetEnv(env); err != nil {
		return nil, errs.Wrap(errs.EINTERNAL, err, "tofu: environment")
	}
	h := &handle{tf: tf, bin: e.bin, env: directEnv(env)}
	e.handles[dir] = h
	return h, nil
}

// Prepare renders spec and writes it to the runner's working directory,
// replacing the previous configuration and dropping any saved plan. The
// state stays. Files are written whole (temp file and rename) or not at all.
func (e *Executor) Prepare(ctx context.Context, spec RunnerSpec) (*Workspace, error) {
	dir := e.Dir(spec.RunnerID)
	r, err := Render(spec, moduleSource(dir, filepath.Join(e.cfg.ModulesDir, string(spec.Target))))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "tofu: prepare %s", spec.RunnerID)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "tofu: create %s", dir)
	}
	h, err := e.handleFor(dir)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := os.Remove(filepath.Join(dir, PlanFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "tofu: drop old plan")
	}
	files := map[string][]byte{CLIConfigFile: e.cli}
	for n, b := range r.Files {
		files[n] = b
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := writeFileAtomic(filepath.Join(dir, n), files[n]); err != nil {
			return nil, errs.Wrap(errs.EUNAVAILABLE, err, "tofu: write %s", n)
		}
	}
	key, err := e.initKey(spec.Target, moduleSource(dir, filepath.Join(e.cfg.ModulesDir, string(spec.Target))))
	if err != nil {
		return nil, err
	}
	return &Workspace{Dir: dir, Hash: r.Hash, initKey: key, h: h, tf: h.tf, timeout: e.cfg.Timeout}, nil
}

// initMarker, inside .terraform (gone with it), holds the init key of the
// last successful `tofu init` of the workspace.
const initMarker = ".terraform/gosling-init-key"

// initKey hashes what init depends on for target's module at source.
func (e *Executor) initKey(target Target, source string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mod, ok := e.modules[target]
	if !ok {
		dir := filepath.Join(e.cfg.ModulesDir, string(target))
		names, err := filepath.Glob(filepath.Join(dir, "*.tf"))
		if err != nil {
			return "", errs.Wrap(errs.EINTERNAL, err, "tofu: module %s", target)
		}
		files := map[string][]byte{}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				return "", errs.Wrap(errs.EUNAVAILABLE, err, "tofu: read module file %s", n)
			}
			files[filepath.Base(n)] = b
		}
		mod = ConfigHash(files)
		if e.modules == nil {
			e.modules = map[Target]string{}
		}
		e.modules[target] = mod
	}
	p := providerOf[target]
	return ConfigHash(map[string][]byte{"cli": e.cli, "provider": []byte(p.source + "@" + p.version), "source": []byte(source), "module": []byte(mod)}), nil
}

// Init runs `tofu init`: modules and providers, through the CLI config.
func (w *Workspace) Init(ctx context.Context) error {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	// stdout and stderr are copied from two goroutines: one buffer for
	// both must be locked.
	marker := filepath.Join(w.Dir, initMarker)
	if b, err := os.ReadFile(marker); err == nil && w.initKey != "" && string(b) == w.initKey {
		return nil // initialised for this module, providers and CLI config
	}
	var out lockedBuffer
	if err := w.run(ctx, &out, &out, "init", "-no-color", "-input=false", "-backend=true", "-get=true", "-upgrade=false"); err != nil {
		return &InitError{Dir: w.Dir, Output: out.String(), Err: err}
	}
	if w.initKey != "" {
		// Best effort: without the marker the next plan runs init again.
		_ = writeFileAtomic(marker, []byte(w.initKey))
	}
	return nil
}

// Plan is a saved plan of one workspace.
type Plan struct {
	File       string
	ConfigHash string // the workspace's config hash when it was planned
	HasChanges bool
	Sum        string // SHA-256 of the plan file, checked before it is used
	Warnings   []Diagnostic
}

// Plan runs `tofu plan -out`. On failure the plan file is removed and the
// PlanError carries OpenTofu's diagnostics.
func (w *Workspace) Plan(ctx context.Context) (*Plan, error) { return w.planWith(ctx) }

// planWith is Plan with extra plan arguments (-destroy).
func (w *Workspace) planWith(ctx context.Context, extra ...string) (*Plan, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	file := filepath.Join(w.Dir, PlanFile)
	var stdout, stderr bytes.Buffer
	// terraform-exec's PlanJSON arguments: -detailed-exitcode makes exit
	// status 2 "succeeded, with changes".
	args := append([]string{"plan", "-no-color", "-input=false", "-detailed-exitcode", "-lock-timeout=0s", "-out=" + file,
		"-lock=true", "-parallelism=10", "-refresh=true"}, extra...)
	err := w.run(ctx, &stdout, &stderr, append(args, "-json")...)
	changed := false
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		changed, err = true, nil
	}
	diags, log := parseStream(stdout.Bytes())
	if err != nil {
		_ = os.Remove(file)
		return nil, &PlanError{Dir: w.Dir, Diagnostics: diags, Output: stderr.String() + log, Err: err}
	}
	sum, err := fileSum(file)
	if err != nil {
		return nil, &PlanFileError{File: file, Reason: "not written by plan", Err: err}
	}
	return &Plan{File: file, ConfigHash: w.Hash, HasChanges: changed, Sum: sum, Warnings: diags}, nil
}

// Show reads the saved plan with `tofu show -json`.
func (w *Workspace) Show(ctx context.Context, p *Plan) (*tfjson.Plan, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	if err := w.checkPlan(p); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var out bytes.Buffer
	w.tf.SetStdout(io.Discard)
	w.tf.SetStderr(&out)
	plan, err := w.tf.ShowPlanFile(ctx, p.File)
	if err != nil {
		return nil, &PlanFileError{File: p.File, Reason: "tofu show cannot read it: " + strings.TrimSpace(out.String()), Err: err}
	}
	return plan, nil
}

// Apply applies the saved plan p, exactly as planned, and removes it (a plan
// applies once).
func (w *Workspace) Apply(ctx context.Context, p *Plan) error {
	_, err := w.apply(ctx, p)
	return err
}

// apply is Apply, returning the root module's outputs as the apply's -json
// stream reported them (its "outputs" message), or nil when the stream had
// none: reading them there saves a `tofu output` run after the apply.
func (w *Workspace) apply(ctx context.Context, p *Plan) (map[string]json.RawMessage, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	if err := w.checkPlan(p); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := w.run(ctx, &stdout, &stderr, "apply", "-no-color", "-auto-approve", "-input=false",
		"-lock=true", "-parallelism=10", "-refresh=true", "-json", p.File)
	_ = os.Remove(p.File)
	diags, log := parseStream(stdout.Bytes())
	if err != nil {
		return nil, &ApplyError{Op: "apply", Dir: w.Dir, Diagnostics: diags, Output: stderr.String() + log, Err: err}
	}
	return streamOutputs(stdout.Bytes()), nil
}

// Destroy destroys everything in the workspace's state.
func (w *Workspace) Destroy(ctx context.Context) error {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	// terraform-exec copies stdout and stderr from two goroutines: one
	// buffer for both must be locked.
	var out lockedBuffer
	w.tf.SetStdout(&out)
	w.tf.SetStderr(&out)
	if err := w.tf.Destroy(ctx); err != nil {
		return &ApplyError{Op: "destroy", Dir: w.Dir, Output: out.String(), Err: err}
	}
	return nil
}

// Outputs are the compute modules' shared outputs.
type Outputs struct {
	InstanceID    string            `json:"instance_id"`
	Address       string            `json:"address"`
	PublicAddress string            `json:"public_address"`
	Hostname      string            `json:"hostname"`
	Labels        map[string]string `json:"labels"`
}

// Outputs reads the outputs from the state.
func (w *Workspace) Outputs(ctx context.Context) (Outputs, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var out, errOut bytes.Buffer
	if err := w.run(ctx, &out, &errOut, "output", "-no-color", "-json"); err != nil {
		return Outputs{}, errs.Wrap(errs.EUNAVAILABLE, err, "tofu output in %s: %s", w.Dir, strings.TrimSpace(errOut.String()))
	}
	var meta map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(out.Bytes(), &meta); err != nil {
		return Outputs{}, errs.Wrap(errs.EINTERNAL, err, "tofu output in %s is not JSON", w.Dir)
	}
	raw := make(map[string]json.RawMessage, len(meta))
	for k, m := range meta {
		raw[k] = m.Value
	}
	return decodeOutputs(w.Dir, raw)
}

// decodeOutputs reads output values by name into Outputs.
func decodeOutputs(dir string, raw map[string]json.RawMessage) (Outputs, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return Outputs{}, errs.Wrap(errs.EINTERNAL, err, "tofu outputs")
	}
	var o Outputs
	if err := json.Unmarshal(b, &o); err != nil {
		return Outputs{}, errs.Wrap(errs.EINTERNAL, err, "tofu outputs of %s do not follow the module convention", dir)
	}
	return o, nil
}

// checkPlan refuses a plan that is not this workspace's saved plan as it was
// written by Plan.
func (w *Workspace) checkPlan(p *Plan) error {
	if p == nil {
		return &PlanFileError{File: filepath.Join(w.Dir, PlanFile), Reason: "no plan"}
	}
	if filepath.Dir(p.File) != w.Dir {
		return &PlanFileError{File: p.File, Reason: "belongs to another workspace than " + w.Dir}
	}
	if p.ConfigHash != w.Hash {
		return &PlanFileError{File: p.File, Reason: "planned for another configuration"}
	}
	sum, err := fileSum(p.File)
	if err != nil {
		return &PlanFileError{File: p.File, Reason: "cannot be read", Err: err}
	}
	if sum != p.Sum {
		return &PlanFileError{File: p.File, Reason: "changed since it was planned"}
	}
	return nil
}

// Change is one planned resource change.
type Change struct {
	Address string
	Actions []string // create, update, delete, read; replace is [delete create] or [create delete]
}

// Changes lists a shown plan's resource changes, no-ops left out, in address order.
func Changes(p *tfjson.Plan) []Change {
	var out []Change
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Change.Actions.NoOp() {
			continue
		}
		acts := make([]string, len(rc.Change.Actions))
		for i, a := range rc.Change.Actions {
			acts[i] = string(a)
		}
		out = append(out, Change{Address: rc.Address, Actions: acts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// moduleSource is the module block's source for the module in moduleDir as
// seen from the workspace dir: a relative ./ or ../ path, so OpenTofu uses the
// module in place, or the absolute path when no relative one exists.
func moduleSource(dir, moduleDir string) string {
	rel, err := filepath.Rel(dir, moduleDir)
	if err != nil {
		return moduleDir
	}
	rel = filepath.ToSlash(rel)
	if !strings.HasPrefix(rel, "../") {
		rel = "./" + rel
	}
	return rel
}

// baseEnv is the process environment without the variables terraform-exec
// manages itself, plus extra.
func baseEnv(extra map[string]string) map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, k := range tfexec.ProhibitedEnv(env) {
		delete(env, k)
	}
	delete(env, "TF_CLI_CONFIG_FILE")
	env["CHECKPOINT_DISABLE"] = "1"
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// directEnv is the environment of a command run directly (Workspace.run):
// env plus what terraform-exec sets on every command (no logging to spoil
// the output, automation mode), as a list.
func directEnv(env map[string]string) []string {
	m := make(map[string]string, len(env)+6)
	for k, v := range env {
		m[k] = v
	}
	for _, k := range []string{"TF_LOG", "TF_LOG_CORE", "TF_LOG_PATH", "TF_LOG_PROVIDER"} {
		m[k] = ""
	}
	m["TF_IN_AUTOMATION"] = "1"
	delete(m, "TF_WORKSPACE")
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// waitDelay is how long a command's output is waited for after it exits or
// is interrupted, before it is killed (terraform-exec's default).
const waitDelay = time.Minute

// run runs tofu args in the workspace, as terraform-exec would: the
// handle's environment, its own process group, an interrupt when ctx ends.
// The caller holds w.h.mu. A failure is the *exec.ExitError (or start
// error), wrapped with ctx's error when ctx ended.
func (w *Workspace) run(ctx context.Context, stdout, stderr io.Writer, args ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, w.h.bin, args...)
	cmd.Dir = w.Dir
	cmd.Env = w.h.env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	setProcAttr(cmd)
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// streamOutputs is the output values of an apply's -json stream (its
// "outputs" message), nil when it has none or leaves a value out (a
// sensitive output): `tofu output` reads them then.
func streamOutputs(stream []byte) map[string]json.RawMessage {
	for _, line := range bytes.Split(stream, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"outputs"`)) {
			continue
		}
		var l struct {
			Type    string `json:"type"`
			Outputs map[string]struct {
				Value json.RawMessage `json:"value"`
			} `json:"outputs"`
		}
		if json.Unmarshal(line, &l) != nil || l.Type != "outputs" {
			continue
		}
		raw := make(map[string]json.RawMessage, len(l.Outputs))
		for k, o := range l.Outputs {
			if len(o.Value) == 0 {
				return nil
			}
			raw[k] = o.Value
		}
		return raw
	}
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func fileSum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// jsonLine is one line of OpenTofu's machine-readable UI (-json).
type jsonLine struct {
	Level      string `json:"@level"`
	Message    string `json:"@message"`
	Type       string `json:"type"`
	Diagnostic *struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		Address  string `json:"address"`
		Range    *struct {
			Filename string `json:"filename"`
			Start    struct {
				Line   int `json:"line"`
				Column int `json:"column"`
			} `json:"start"`
		} `json:"range"`
	} `json:"diagnostic"`
}

// parseStream reads a -json stream once: its diagnostics, errors first, and
// its @message lines, for error output.
func parseStream(stream []byte) ([]Diagnostic, string) {
	var errsOut, warns []Diagnostic
	var log strings.Builder
	for _, line := range bytes.Split(stream, []byte("\n")) {
		var l jsonLine
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		if l.Message != "" {
			fmt.Fprintln(&log, l.Message)
		}
		if l.Type != "diagnostic" || l.Diagnostic == nil {
			continue
		}
		d := Diagnostic{Severity: l.Diagnostic.Severity, Summary: l.Diagnostic.Summary, Detail: l.Diagnostic.Detail, Address: l.Diagnostic.Address}
		if r := l.Diagnostic.Range; r != nil {
			d.File, d.Line, d.Column = r.Filename, r.Start.Line, r.Start.Column
		}
		if d.Severity == "error" {
			errsOut = append(errsOut, d)
		} else {
			warns = append(warns, d)
		}
	}
	return append(errsOut, warns...), log.String()
}

// lockedBuffer is a bytes.Buffer safe for the two writers terraform-exec
// runs at once (stdout and stderr).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
