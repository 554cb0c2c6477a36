package domain_test

import (
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

type stringer interface{ String() string }

func TestParse_enums(t *testing.T) {
	parsers := map[string]func(string) (stringer, error){
		"runner_type":       func(s string) (stringer, error) { return domain.ParseRunnerType(s) },
		"runner_state":      func(s string) (stringer, error) { return domain.ParseRunnerState(s) },
		"cloud_provider":    func(s string) (stringer, error) { return domain.ParseCloudProvider(s) },
		"egg_type":          func(s string) (stringer, error) { return domain.ParseEggType(s) },
		"deployment_status": func(s string) (stringer, error) { return domain.ParseDeploymentStatus(s) },
		"sync_status":       func(s string) (stringer, error) { return domain.ParseSyncStatus(s) },
		"sync_trigger":      func(s string) (stringer, error) { return domain.ParseSyncTrigger(s) },
	}
	tests := []struct {
		name   string
		parser string
		in     string
		want   stringer // nil: EINVALID
	}{
		{"serverless", "runner_type", "serverless", domain.RunnerServerless},
		{"apex", "runner_type", "apex", domain.RunnerApex},
		{"nadir", "runner_type", "nadir", domain.RunnerNadir},
		{"runner_type_mixed_case", "runner_type", "Apex", nil},
		{"runner_type_empty", "runner_type", "", nil},
		{"runner_type_unknown", "runner_type", "vm", nil},
		{"runner_type_is_not_a_provider", "runner_type", "YANDEX", nil},
		{"provisioning", "runner_state", "PROVISIONING", domain.StateProvisioning},
		{"active", "runner_state", "ACTIVE", domain.StateActive},
		{"idle", "runner_state", "IDLE", domain.StateIdle},
		{"busy", "runner_state", "BUSY", domain.StateBusy},
		{"failed", "runner_state", "FAILED", domain.StateFailed},
		{"terminated", "runner_state", "TERMINATED", domain.StateTerminated},
		{"runner_state_padded", "runner_state", " ACTIVE", nil},
		{"runner_state_unknown", "runner_state", "RUNNING", nil},
		{"yandex", "cloud_provider", "yandex", domain.ProviderYandex},
		{"aws", "cloud_provider", "aws", domain.ProviderAWS},
		{"gcp", "cloud_provider", "gcp", nil},
		{"provider_mixed_case", "cloud_provider", "Yandex", nil},
		{"provider_is_not_a_runner_type", "cloud_provider", "APEX", nil},
		{"serverless_egg", "egg_type", "serverless", domain.EggServerless},
		{"vm_egg", "egg_type", "vm", domain.EggVM},
		{"egg_type_uppercase", "egg_type", "VM", nil},
		{"egg_type_is_not_a_runner_type", "egg_type", "apex", nil},
		{"pending", "deployment_status", "PENDING", domain.DeploymentPending},
		{"applied", "deployment_status", "APPLIED", domain.DeploymentApplied},
		{"rolled_back", "deployment_status", "ROLLED_BACK", domain.DeploymentRolledBack},
		{"deployment_failed", "deployment_status", "FAILED", domain.DeploymentFailed},
		{"deployment_unknown", "deployment_status", "DONE", nil},
		{"success", "sync_status", "SUCCESS", domain.SyncSuccess},
		{"sync_failed", "sync_status", "FAILED", domain.SyncFailed},
		{"sync_status_unknown", "sync_status", "OK", nil},
		{"scheduled", "sync_trigger", "scheduled", domain.TriggerScheduled},
		{"webhook", "sync_trigger", "webhook", domain.TriggerWebhook},
		{"manual", "sync_trigger", "manual", domain.TriggerManual},
		{"trigger_uppercase", "sync_trigger", "MANUAL", nil},
		{"trigger_unknown", "sync_trigger", "cron", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsers[tc.parser](tc.in)
			if tc.want == nil {
				wantCode(t, err, errs.EINVALID)
				if got.String() != "" {
					t.Fatalf("a failed parse returned %q, want the zero value", got)
				}
				return
			}
			wantCode(t, err, "")
			if got != tc.want || got.String() != tc.in {
				t.Fatalf("parsed %q as %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// The spelling of providers and runner types is the lower-case one of the
// Nest; the upper-case one events and views carried before is still read, as
// the same value, so that an old view or API filter keeps working.
func TestParse_retired_spelling_reads_as_the_current_value(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want stringer
	}{
		{"SERVERLESS", domain.RunnerServerless}, {"APEX", domain.RunnerApex}, {"NADIR", domain.RunnerNadir},
		{"YANDEX", domain.ProviderYandex}, {"AWS", domain.ProviderAWS},
	} {
		var got stringer
		var err error
		if _, isProvider := tc.want.(domain.CloudProvider); isProvider {
			got, err = domain.ParseCloudProvider(tc.in)
		} else {
			got, err = domain.ParseRunnerType(tc.in)
		}
		if err != nil || got != tc.want || got.String() != strings.ToLower(tc.in) {
			t.Errorf("parse %q = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if domain.EggServerless.String() != domain.RunnerServerless.String() {
		t.Errorf("a serverless egg (%s) and a serverless runner (%s) are spelled apart", domain.EggServerless, domain.RunnerServerless)
	}
	if domain.EggServerless.RunnerType() != domain.RunnerServerless || domain.EggVM.RunnerType() != domain.RunnerApex {
		t.Errorf("EggType.RunnerType: serverless -> %v, vm -> %v", domain.EggServerless.RunnerType(), domain.EggVM.RunnerType())
	}
}

func TestNewIdentifiers(t *testing.T) {
	constructors := map[string]func(string) (stringer, error){
		"egg_name":  func(s string) (stringer, error) { return domain.NewEggName(s) },
		"runner_id": func(s string) (stringer, error) { return domain.NewRunnerID(s) },
		"plan_id":   func(s string) (stringer, error) { return domain.NewPlanID(s) },
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"simple", "web", true},
		{"digits_and_separators", "r-01_a", true},
		{"starts_with_digit", "0abc", true},
		{"single_char", "a", true},
		{"max_length", strings.Repeat("a", 63), true},
		{"too_long", strings.Repeat("a", 64), false},
		{"empty", "", false},
		{"uppercase", "Web", false},
		{"starts_with_dash", "-web", false},
		{"starts_with_underscore", "_web", false},
		{"dot", "web.app", false},
		{"slash", "web/app", false},
		{"space", "web app", false},
		{"unicode", "wéb", false},
	}
	for kind, newID := range constructors {
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				got, err := newID(tc.in)
				if !tc.ok {
					wantCode(t, err, errs.EINVALID)
					return
				}
				wantCode(t, err, "")
				if got.String() != tc.in {
					t.Fatalf("got %q, want %q", got, tc.in)
				}
			})
		}
	}
}

func TestNewSecretURI(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		scheme string // "" means EINVALID
	}{
		{"lockbox", "yc-lockbox://e6q0abc/webhook", "yc-lockbox"},
		{"aws_sm", "aws-sm://gosling/runner-token", "aws-sm"},
		{"vault", "vault://secret/data/gosling#token", "vault"},
		{"env", "env://GITLAB_TOKEN", "env"},
		{"file", "file:///run/secrets/token", "file"},
		{"unknown_scheme", "gcp-sm://x", ""},
		{"no_scheme", "GITLAB_TOKEN", ""},
		{"empty_rest", "vault://", ""},
		{"blank_rest", "env://  ", ""},
		{"uppercase_scheme", "VAULT://x", ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := domain.NewSecretURI(tc.in)
			if tc.scheme == "" {
				wantCode(t, err, errs.EINVALID)
				return
			}
			wantCode(t, err, "")
			if u.String() != tc.in || u.Scheme() != tc.scheme {
				t.Fatalf("got %q scheme %q", u, u.Scheme())
			}
		})
	}
}

func TestStreams(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"egg", domain.EggStream("web"), "egg-web"},
		{"runner", domain.RunnerStream("r-01"), "runner-r-01"},
		{"plan", domain.PlanStream("p-01"), "plan-p-01"},
		{"nest", domain.NestStream(), "nest"},
		{"job", domain.JobStream("rotate-tokens"), "job-rotate-tokens"},
		{"uglyfox", domain.UglyFoxStream(), "uglyfox"},
		{"binary", domain.BinaryStream("tofu"), "binary-tofu"},
		{"webhook", domain.WebhookStream("13792a34-cac6"), "webhook-13792a34-cac6"},
		// sha256("vault://secret/data/gosling#token"), first 16 hex digits.
		{"secret", domain.SecretAccessStream("vault://secret/data/gosling#token"), "secret-" + sha16("vault://secret/data/gosling#token")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if a, b := domain.SecretAccessStream("env://A"), domain.SecretAccessStream("env://B"); a == b || len(a) != len("secret-")+16 {
		t.Fatalf("secret streams %q and %q", a, b)
	}
}
