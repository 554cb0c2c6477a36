package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/events"
)

// findTofu is --tofu, else $MOTHERGOOSE_TOFU (read into --tofu's default),
// else tofu on PATH, else .tools/bin/tofu; "" and why when none is there.
func findTofu(flag string) (string, string) {
	if flag != "" {
		if p, err := exec.LookPath(flag); err == nil {
			return p, ""
		}
		return "", fmt.Sprintf("no tofu binary: --tofu %s is not an executable file", flag)
	}
	if p, err := exec.LookPath("tofu"); err == nil {
		return p, ""
	}
	if p, err := filepath.Abs(filepath.Join(".tools", "bin", "tofu")); err == nil {
		if _, err := exec.LookPath(p); err == nil {
			return p, ""
		}
	}
	return "", "no tofu binary: give --tofu or MOTHERGOOSE_TOFU, put tofu on PATH, or run make tools (.tools/bin/tofu)"
}

// goslingBin is --gosling-bin, else gosling beside this executable, else on PATH.
func goslingBin(flag string) string {
	if flag != "" {
		if p, err := filepath.Abs(flag); err == nil {
			return p
		}
		return flag
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "gosling")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("gosling"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return "gosling"
}

// publicURL is --public-url, else http://<bound address> (a wildcard host
// becomes 127.0.0.1).
func (m *Main) publicURL() string {
	if m.Config.PublicURL != "" {
		return strings.TrimRight(m.Config.PublicURL, "/")
	}
	addr := m.Addr()
	for _, wild := range []string{"0.0.0.0:", "[::]:"} {
		if strings.HasPrefix(addr, wild) {
			addr = "127.0.0.1:" + strings.TrimPrefix(addr, wild)
		}
	}
	return "http://" + addr
}

// openProvisioner builds the deployment process manager. Without a tofu
// binary it still runs, and queues every requested runner with the reason.
func (m *Main) openProvisioner(ctx context.Context, st *storage, codec *events.Codec) error {
	workDir := m.Config.WorkDir
	if workDir == "" {
		workDir = filepath.Join(m.Config.DataDir, "work")
	}
	workDir, err := filepath.Abs(workDir)
	if err != nil {
		return err
	}
	dataDir, err := filepath.Abs(m.Config.DataDir)
	if err != nil {
		return err
	}
	command := m.Config.RunnerCommand
	if command == "" {
		command = goslingBin(m.Config.GoslingBin) + " runner"
	}
	bases, _ := m.Config.runnerSecretBases()
	cc := tofu.ComputeConfig{PlansDir: filepath.Join(dataDir, "plans"), PlanRetention: m.Config.PlanRetention, MotherGooseURL: m.publicURL(), RunnerCommand: command,
		CloudSecrets: runnerSecretStore{bases: bases, writer: m.secrets}, Blobs: m.blobs, ToolsDir: filepath.Join(dataDir, "tools")}
	bin, missing := findTofu(m.Config.Tofu)
	if bin != "" {
		modules, merr := m.modulesDir()
		if merr != nil {
			missing = "the compute modules (modules/compute) are not found: run serve inside the repository or set MOTHERGOOSE_MODULES_DIR"
		} else if exe, err := tofu.New(ctx, tofu.Config{Binary: bin, ModulesDir: modules, WorkRoot: workDir, Timeout: m.Config.TofuTimeout}); err != nil {
			missing = "tofu cannot be used: " + err.Error()
		} else {
			cc.Executor = exe
		}
	}
	if cc.Executor == nil {
		cc.Missing = missing
		m.log.Warn("provisioner: "+missing+"; requested runners are queued with this reason", "work_dir", workDir)
	} else {
		m.log.Info("provisioner ready", "tofu", cc.Executor.Binary(), "tofu_version", cc.Executor.Version(), "work_dir", workDir,
			"public_url", cc.MotherGooseURL, "runner_command", command, "max_applies", m.Config.MaxApplies, "break_after", m.Config.BreakAfter)
	}
	compute, err := tofu.NewCompute(cc)
	if err != nil {
		return err
	}
	// GitLab runners are created with the same API tokens as the Jobs API
	// reads (they need the create_runner scope too).
	runners, err := gitlab.NewRunners(gitlab.Config{Secrets: m.secrets, Timeout: 10 * time.Second, HTTPClient: m.GitLabHTTP})
	if err != nil {
		return err
	}
	m.Provisioner, err = provisioner.New(provisioner.Config{
		GitLab: runners, APITokens: m.apiTokens, SweepInterval: m.Config.ReconcileInterval,
		Store: st.Events, Codec: codec, Handlers: m.Handlers, Compute: compute, MaxApplies: m.Config.MaxApplies,
		Policy:  provisioner.Policy{BreakAfter: m.Config.BreakAfter},
		Timeout: 3 * m.Config.TofuTimeout, Wake: st.Wake, PollInterval: m.Config.PollInterval, NewID: newID, Logger: m.log,
	})
	return err
}

// modulesDir finds modules/compute: beside the executable's repository
// (bin/.. when built with make build), else above the working directory.
func (m *Main) modulesDir() (string, error) {
	if d := os.Getenv("MOTHERGOOSE_MODULES_DIR"); d != "" {
		return d, nil
	}
	if self, err := os.Executable(); err == nil {
		if d, err := tofu.FindModulesDir(filepath.Dir(self)); err == nil {
			if _, err := os.Stat(d); err == nil {
				return d, nil
			}
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return tofu.FindModulesDir(wd)
}
