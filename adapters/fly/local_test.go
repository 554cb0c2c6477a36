package fly_test

import (
	"context"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
)

// The local target: region optional (always "local"), env:// and file://
// secrets without the warning cloud providers get.
func TestParser_local_provider(t *testing.T) {
	egg := func(cloud, gitlab string) string {
		return "egg \"dev\" {\n  type = \"vm\"\n  cloud {\n" + cloud + "  }\n  gitlab {\n    server     = \"gitlab.com\"\n    project_id = 7\n" + gitlab + "  }\n}\n"
	}
	secrets := "    token_secret   = \"file:///srv/nest/.secrets/dev-runner-token\"\n    webhook_secret = \"env://DEV_WEBHOOK_SECRET\"\n"
	for _, tc := range []struct {
		name, src  string
		want       []string // "line:col: summary"
		wantRegion string
	}{
		{"local_without_region", egg("    provider = \"local\"\n", secrets), nil, "local"},
		{"local_with_region_local", egg("    provider = \"local\"\n    region   = \"local\"\n", secrets), nil, "local"},
		{"local_with_a_cloud_region", egg("    provider = \"local\"\n    region   = \"eu-central-1\"\n", secrets), []string{"5:16: Unknown region"}, ""},
		{"yandex_still_needs_a_region", egg("    provider = \"yandex\"\n", ""), []string{"3:3: Missing required argument"}, ""},
		{"local_secrets_with_a_cloud_provider_warn", egg("    provider = \"aws\"\n    region   = \"eu-central-1\"\n", secrets),
			[]string{"10:22: warning: Local secret with a cloud provider", "11:22: warning: Local secret with a cloud provider"}, "eu-central-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, diags := fly.NewParser().ParseKind(context.Background(), fly.KindEgg, "Eggs/dev/config.fly", []byte(tc.src))
			if got := diagLines(diags, ""); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("diagnostics %q, want %q", got, tc.want)
			}
			if tc.wantRegion == "" {
				return
			}
			cfg := v.(domain.EggConfig)
			if cfg.Cloud.Region != tc.wantRegion {
				t.Fatalf("region %q, want %q", cfg.Cloud.Region, tc.wantRegion)
			}
		})
	}
}
