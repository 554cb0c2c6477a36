// Package tofu provisions one runner with OpenTofu through terraform-exec.
//
// For each runner it renders a root module (hclwrite, from typed values) that
// calls modules/compute/<target>, writes it to a working directory of its own
// (own state, own CLI config), and runs init, plan -out, show -json of the
// saved plan, apply of that plan, and destroy. Every step has a timeout, keeps
// the tool's output, and fails with a typed error (InitError, PlanError,
// ApplyError, PlanFileError, VersionError, ErrBinaryMissing) that carries an
// errs code.
//
// The value rules (names, sizes, regions, tags, the serverless time limit)
// live in the modules' validation blocks, so an invalid value fails at plan
// with the module's message; Go checks only what the renderer itself needs.
package tofu

import (
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Target is a compute module family: one module per family under modules/compute.
type Target string

// The targets.
const (
	TargetLocal  Target = "local"
	TargetYandex Target = "yandex"
	TargetAWS    Target = "aws"
)

// ParseTarget returns the target named s.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case TargetLocal, TargetYandex, TargetAWS:
		return t, nil
	}
	return "", errs.Errorf(errs.EINVALID, "unknown compute target %q (want local, yandex or aws)", s)
}

// RunnerType is how the runner lives; the module value is the lower-case name.
type RunnerType string

// The runner types.
const (
	Serverless RunnerType = "serverless"
	Apex       RunnerType = "apex"
	Nadir      RunnerType = "nadir"
)

// RunnerSpec is everything one runner's root module is rendered from. The
// fields shared by every target map one to one to the modules' common
// variables; exactly the section of the spec's target (Local, AWS, Yandex)
// is used.
type RunnerSpec struct {
	Target         Target
	Name           string // DNS label, becomes the host/resource name
	Egg            string
	RunnerID       string
	RunnerType     RunnerType
	CPU            int // vCPUs
	MemoryMB       int
	DiskGB         int
	Region         string // cloud region or zone; "local" for the local target
	Image          string // VM image id or container image reference
	Tags           map[string]string
	MotherGooseURL string
	SecretURIs     map[string]string // env name => secret URI; never values
	AgentVersion   string            // "" means latest
	MaxJobMinutes  int               // 0 means the module default (60)
	// Stopped is the desired power state (the modules' running input,
	// always rendered): a Nadir runner is kept stopped. The yandex module
	// accepts it but cannot apply it yet (its README).
	Stopped bool

	Local  *LocalTarget
	AWS    *AWSTarget
	Yandex *YandexTarget
}

// LocalTarget is the development/CI target: a process on this machine.
type LocalTarget struct {
	WorkDir       string // absolute; holds the pid and log files
	RunnerCommand string // started with /bin/sh -c; "" means the module default
}

// AWSTarget holds the AWS-only inputs.
type AWSTarget struct {
	InstanceType     string // VM runners (apex, nadir)
	SubnetIDs        []string
	SecurityGroupIDs []string
	ClusterARN       string // ECS cluster for serverless runners
	AssignPublicIP   bool
}

// YandexTarget holds the Yandex Cloud-only inputs.
type YandexTarget struct {
	FolderID         string
	SubnetID         string
	ServiceAccountID string
	PlatformID       string // "" means the module default
	CoreFraction     int    // 0 means the module default
	Preemptible      bool
	AssignPublicIP   bool
}

var labelRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// check verifies what the renderer relies on: a known target with its section,
// and a runner id that is safe as a directory name. Everything else is the
// module's validation.
func (s RunnerSpec) check() error {
	if _, err := ParseTarget(string(s.Target)); err != nil {
		return err
	}
	if !labelRe.MatchString(s.RunnerID) {
		return errs.Errorf(errs.EINVALID, "runner id %q must match %s", s.RunnerID, labelRe)
	}
	switch s.Target {
	case TargetLocal:
		if s.Local == nil {
			return errs.Errorf(errs.EINVALID, "target local needs the Local section")
		}
		if !filepath.IsAbs(s.Local.WorkDir) {
			return errs.Errorf(errs.EINVALID, "local work dir %q must be absolute", s.Local.WorkDir)
		}
	case TargetAWS:
		if s.AWS == nil {
			return errs.Errorf(errs.EINVALID, "target aws needs the AWS section")
		}
	case TargetYandex:
		if s.Yandex == nil {
			return errs.Errorf(errs.EINVALID, "target yandex needs the Yandex section")
		}
	}
	return nil
}

func (s RunnerSpec) String() string {
	return fmt.Sprintf("%s runner %s (%s, egg %s)", s.Target, s.RunnerID, s.RunnerType, s.Egg)
}
