package tofu_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func mustPlan(t *testing.T, w *tofu.Workspace) *tofu.Plan {
	t.Helper()
	p, err := w.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustChanges(t *testing.T, w *tofu.Workspace, p *tofu.Plan) []tofu.Change {
	t.Helper()
	shown, err := w.Show(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return tofu.Changes(shown)
}

func mustPrepareInit(t *testing.T, e *tofu.Executor, spec tofu.RunnerSpec) *tofu.Workspace {
	t.Helper()
	w, err := e.Prepare(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

// The runner process (count: running) and the instance kept while it is stopped.
const (
	runnerAddr   = "module.runner.terraform_data.runner[0]"
	instanceAddr = "module.runner.terraform_data.instance"
)

// The local target for real: plan, show, apply (the process runs), re-plan
// (no changes), change an input (exactly a replacement of the runner), apply
// (the old process stops, a new one runs), destroy (it stops).
func TestLocalLifecycleIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OpenTofu; skipped under -short")
	}
	ctx := context.Background()
	e := mustExecutor(t, tofu.Config{CLI: tofu.CLIConfig{PluginCacheDir: t.TempDir()}})
	spec := localSpec(t, "r-life-1")
	w := mustPrepareInit(t, e, spec)

	p := mustPlan(t, w)
	if !p.HasChanges {
		t.Fatal("first plan has no changes")
	}
	shown, err := w.Show(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tofu.Changes(shown), []tofu.Change{{Address: instanceAddr, Actions: []string{"create"}}, {Address: runnerAddr, Actions: []string{"create"}}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("first plan: %+v, want %+v", got, want)
	}
	if err := w.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, pidFileOf(spec))
	if !alive(pid) {
		t.Fatalf("runner process %d is not running after apply", pid)
	}
	env := envOf(t, pid)
	for _, want := range []string{"GOSLING_RUNNER_ID=r-life-1", "GOSLING_MOTHERGOOSE_URL=http://127.0.0.1:8080", `GOSLING_SECRET_URIS={"RUNNER_TOKEN":"env://RUNNER_TOKEN"}`} {
		if !slices.Contains(env, want) {
			t.Errorf("runner environment lacks %s", want)
		}
	}
	out, err := w.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.Address != "127.0.0.1" || out.Hostname != "dev-runner.local" || out.InstanceID == "" ||
		out.Labels["runner-id"] != "r-life-1" || out.Labels["managed-by"] != "polar-gosling" || out.Labels["egg"] != "payments-api" {
		t.Errorf("outputs: %+v", out)
	}
	// The saved plan applied as planned: what it promised is what there is.
	for name, got := range map[string]any{"hostname": out.Hostname, "address": out.Address} {
		if pv := shown.PlannedValues.Outputs[name]; pv == nil || pv.Value != got {
			t.Errorf("planned output %s = %+v, applied %v", name, pv, got)
		}
	}

	// The same spec again: same hash, nothing to do.
	w2, err := e.Prepare(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Hash != w.Hash {
		t.Fatal("re-rendering the same spec changed the config hash")
	}
	if p := mustPlan(t, w2); p.HasChanges || len(mustChanges(t, w2, p)) != 0 {
		t.Fatalf("re-plan of the applied config shows changes: %+v", mustChanges(t, w2, p))
	}

	// One input changes: the runner (and only it) is replaced.
	spec.Tags = map[string]string{"team": "checkout"}
	w3, err := e.Prepare(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	p3 := mustPlan(t, w3)
	got := mustChanges(t, w3, p3)
	if len(got) != 1 || got[0].Address != runnerAddr || !slices.Contains(got[0].Actions, "delete") || !slices.Contains(got[0].Actions, "create") {
		t.Fatalf("changed tags planned %+v, want exactly a replacement of %s", got, runnerAddr)
	}
	if err := w3.Apply(ctx, p3); err != nil {
		t.Fatal(err)
	}
	if alive(pid) || groupAlive(pid) {
		t.Errorf("old runner %d (or a child) still runs after its replacement", pid)
	}
	pid2 := readPid(t, pidFileOf(spec))
	if pid2 == pid || !alive(pid2) {
		t.Fatalf("replacement runner %d (old %d) is not running", pid2, pid)
	}
	if p := mustPlan(t, w3); p.HasChanges {
		t.Fatal("re-plan after applying the change shows changes")
	}

	if err := w3.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if alive(pid2) || groupAlive(pid2) {
		t.Fatalf("runner %d (or a child) still runs after destroy", pid2)
	}
	if _, err := os.Stat(pidFileOf(spec)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after destroy: %v", err)
	}
}

// An invalid value fails at plan with the module's validation message, and
// no plan file is left.
func TestInvalidVariableIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OpenTofu; skipped under -short")
	}
	cases := map[string]struct {
		mutate func(*tofu.RunnerSpec)
		want   string
	}{
		"bad_name":       {func(s *tofu.RunnerSpec) { s.Name = "Bad_Name" }, "name must match"},
		"too_many_cpus":  {func(s *tofu.RunnerSpec) { s.CPU = 500 }, "cpu must be a whole number from 1 to 128"},
		"secret_value":   {func(s *tofu.RunnerSpec) { s.SecretURIs = map[string]string{"TOKEN": "hunter2"} }, "secret_uris values must be secret URIs"},
		"reserved_tag":   {func(s *tofu.RunnerSpec) { s.Tags = map[string]string{"managed-by": "me"} }, "reserved keys"},
		"wrong_region":   {func(s *tofu.RunnerSpec) { s.Region = "eu-central-1" }, "region must be local"},
		"bad_runner_typ": {func(s *tofu.RunnerSpec) { s.RunnerType = "vm" }, "runner_type must be one of"},
		"serverless_61_min": {func(s *tofu.RunnerSpec) { s.RunnerType, s.MaxJobMinutes = tofu.Serverless, 61 },
			"max_job_minutes must be at most 60 for serverless runners"},
	}
	e := mustExecutor(t, tofu.Config{})
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			spec := localSpec(t, "r-bad-"+strings.ReplaceAll(name, "_", "-"))
			c.mutate(&spec)
			w := mustPrepareInit(t, e, spec)
			_, err := w.Plan(context.Background())
			var pe *tofu.PlanError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want *PlanError", err)
			}
			if !errs.Is(err, errs.EINVALID) {
				t.Errorf("code %s, want EINVALID", errs.Code(err))
			}
			var found bool
			for _, d := range pe.Diagnostics {
				found = found || (d.Severity == "error" && strings.Contains(d.Detail, c.want))
			}
			if !found {
				t.Errorf("no diagnostic carries %q: %+v", c.want, pe.Diagnostics)
			}
			if _, err := os.Stat(filepath.Join(w.Dir, tofu.PlanFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed plan left a plan file: %v", err)
			}
			if _, err := os.Stat(pidFileOf(spec)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed plan started a runner")
			}
		})
	}
}

// A plan file changed after planning is refused before OpenTofu runs; one
// OpenTofu cannot read is refused by OpenTofu. Either way nothing starts.
func TestCorruptPlanFileIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OpenTofu; skipped under -short")
	}
	ctx := context.Background()
	e := mustExecutor(t, tofu.Config{})
	spec := localSpec(t, "r-corrupt-1")
	w := mustPrepareInit(t, e, spec)
	p := mustPlan(t, w)
	if err := os.WriteFile(p.File, []byte("not a plan"), 0o600); err != nil {
		t.Fatal(err)
	}

	err := w.Apply(ctx, p)
	var pfe *tofu.PlanFileError
	if !errors.As(err, &pfe) || !errs.Is(err, errs.EINVALID) {
		t.Fatalf("apply of a tampered plan: %v, want *PlanFileError (EINVALID)", err)
	}
	if _, err := w.Show(ctx, p); !errors.As(err, &pfe) {
		t.Fatalf("show of a tampered plan: %v, want *PlanFileError", err)
	}

	// Past the adapter's own check, OpenTofu itself rejects the file.
	forged := *p
	forged.Sum = sha256File(t, p.File)
	err = w.Apply(ctx, &forged)
	var ae *tofu.ApplyError
	if !errors.As(err, &ae) || ae.Op != "apply" {
		t.Fatalf("apply of an unreadable plan: %v, want *ApplyError", err)
	}
	if _, err := os.Stat(pidFileOf(spec)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a corrupt plan started a runner")
	}

	// A plan of another configuration is refused too.
	p2 := mustPlan(t, w)
	stale := *p2
	stale.ConfigHash = "other"
	if err := w.Apply(ctx, &stale); !errors.As(err, &pfe) {
		t.Fatalf("apply of a plan for another config: %v, want *PlanFileError", err)
	}
	if err := w.Apply(ctx, nil); !errors.As(err, &pfe) {
		t.Fatalf("apply of no plan: %v, want *PlanFileError", err)
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := tofu.New(context.Background(), tofu.Config{
		Binary:     filepath.Join(t.TempDir(), "no-such-tofu"),
		WorkRoot:   t.TempDir(),
		ModulesDir: t.TempDir(),
	})
	if !errors.Is(err, tofu.ErrBinaryMissing) || !errs.Is(err, errs.EUNAVAILABLE) {
		t.Fatalf("got %v, want ErrBinaryMissing (EUNAVAILABLE)", err)
	}
}

func TestUnreadableVersion(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "tofu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'not OpenTofu at all'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := tofu.New(context.Background(), tofu.Config{Binary: fake, WorkRoot: t.TempDir(), ModulesDir: t.TempDir()})
	var ve *tofu.VersionError
	if !errors.As(err, &ve) || ve.Got != "" {
		t.Fatalf("got %v, want *VersionError without a version", err)
	}
}

// terraform-exec's version gating reads OpenTofu's `version -json`.
func TestVersionIntegration(t *testing.T) {
	e := mustExecutor(t, tofu.Config{})
	if !strings.HasPrefix(e.Version(), "1.") {
		t.Fatalf("version %q", e.Version())
	}
	t.Logf("OpenTofu %s", e.Version())
	_, err := tofu.New(context.Background(), tofu.Config{Binary: tofuBin(t), WorkRoot: t.TempDir(), ModulesDir: t.TempDir(), VersionConstraint: ">= 99.0.0"})
	var ve *tofu.VersionError
	if !errors.As(err, &ve) || ve.Got != e.Version() {
		t.Fatalf("got %v, want *VersionError reporting %s", err, e.Version())
	}
	// An exact pin of the running version is met.
	mustExecutor(t, tofu.Config{VersionConstraint: "= " + e.Version()})
}

// An inherited TF_CLI_CONFIG_FILE naming a missing file makes OpenTofu print
// warnings on stdout, which breaks terraform-exec's version parsing; the
// adapter never passes it on.
func TestInheritedBrokenCLIConfigIntegration(t *testing.T) {
	t.Setenv("TF_CLI_CONFIG_FILE", filepath.Join(t.TempDir(), "missing.tfrc"))
	e := mustExecutor(t, tofu.Config{})
	if e.Version() == "" {
		t.Fatal("no version")
	}
}

func TestBadCLIConfig(t *testing.T) {
	for name, cli := range map[string]tofu.CLIConfig{
		"missing_filesystem_mirror": {FilesystemMirror: filepath.Join(t.TempDir(), "nope")},
		"http_network_mirror":       {NetworkMirror: "http://mirror.example.com/"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tofu.New(context.Background(), tofu.Config{Binary: "/bin/true", WorkRoot: t.TempDir(), ModulesDir: t.TempDir(), CLI: cli})
			if !errs.Is(err, errs.EINVALID) {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestTimeoutIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OpenTofu; skipped under -short")
	}
	e := mustExecutor(t, tofu.Config{Timeout: time.Nanosecond})
	w, err := e.Prepare(context.Background(), localSpec(t, "r-timeout-1"))
	if err != nil {
		t.Fatal(err)
	}
	err = w.Init(context.Background())
	var ie *tofu.InitError
	if !errors.As(err, &ie) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want *InitError wrapping context.DeadlineExceeded", err)
	}
}

func TestCLIConfigIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs OpenTofu; skipped under -short")
	}
	mirror := t.TempDir()
	e := mustExecutor(t, tofu.Config{CLI: tofu.CLIConfig{PluginCacheDir: t.TempDir(), FilesystemMirror: mirror, NetworkMirror: "https://mirror.example.com/providers/"}})
	spec := localSpec(t, "r-cli-1")
	w := mustPrepareInit(t, e, spec) // the local target needs no provider, so the mirrors are never asked
	b, err := os.ReadFile(filepath.Join(w.Dir, tofu.CLIConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"plugin_cache_dir", "filesystem_mirror", mirror, "network_mirror", "https://mirror.example.com/providers/"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("CLI config lacks %q:\n%s", want, b)
		}
	}
}
