package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration // -1: EINVALID
	}{
		{"90s", 90 * time.Second},
		{"10m", 10 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"3d", 72 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"0.5d", 12 * time.Hour},
		{"250ms", 250 * time.Millisecond},
		{"1µs", time.Microsecond},
		{"0s", 0},
		{"", -1},
		{"10", -1},
		{"-5m", -1},
		{"+5m", -1},
		{"10 minutes", -1},
		{"5x", -1},
		{"1w", -1},
		{"d", -1},
		{".d", -1},
		{"1..5h", -1},
		{"106751d", 106751 * 24 * time.Hour},
		{"106752d", -1},
		{"9223372036854775807ns1ns", -1},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, err := domain.ParseDuration(tc.in)
			if tc.want < 0 {
				wantCode(t, err, errs.EINVALID)
				return
			}
			if err != nil || d.D != tc.want || d.Text != tc.in {
				t.Fatalf("ParseDuration(%q) = %+v, %v; want %v", tc.in, d, err, tc.want)
			}
		})
	}
}

func TestDuration_JSON(t *testing.T) {
	b, err := json.Marshal(domain.MustDuration("10m"))
	if err != nil || string(b) != `{"text":"10m","seconds":600}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	b, _ = json.Marshal(domain.MustDuration("1500ms"))
	if string(b) != `{"text":"1500ms","seconds":1.5}` {
		t.Errorf("Marshal = %s", b)
	}
	var d domain.Duration
	if err := json.Unmarshal([]byte(`{"text":"3d","seconds":1}`), &d); err != nil || d.D != 72*time.Hour {
		t.Errorf("Unmarshal = %+v, %v (the text is authoritative)", d, err)
	}
	if err := json.Unmarshal([]byte(`{"text":"soon"}`), &d); err == nil {
		t.Error("Unmarshal accepted a bad duration")
	}
}

func TestConfigChecks(t *testing.T) {
	type check func(string) error
	tests := []struct {
		name  string
		check check
		ok    []string
		bad   []string
	}{
		{"name", domain.CheckConfigName,
			[]string{"a", "payments-api", "a1", "x-", strings.Repeat("a", 63)},
			[]string{"", "A", "1a", "-a", "a_b", "a.b", "é", strings.Repeat("a", 64)}},
		{"tag", domain.CheckTag,
			[]string{"docker", "Linux_x86.64:v1-a"},
			[]string{"", "bad tag", "a/b", "ü"}},
		{"host", domain.CheckHostName,
			[]string{"gitlab.com", "GitLab.Example.NET", "a-1.b"},
			[]string{"", "gitlab", "https://gitlab.com", "gitlab.com:443", "gitlab.com/x", "-a.com", "a-.com", "a..com", "a_b.com"}},
		{"gitlab_server", domain.CheckGitLabServer,
			[]string{"gitlab.com", "gitlab.internal.net:8443", "127.0.0.1:65535"},
			[]string{"", "gitlab", "https://gitlab.com", "https://gitlab.com:443", "gitlab.com:", "gitlab.com:0", "gitlab.com:65536", "gitlab.com:08443", "gitlab.com:44x", "gitlab.com/x", "a:1:2"}},
		{"version", domain.CheckVersion,
			[]string{"1.12.6", "0.3.0", "0.3.0-rc.1", "10.0.0"},
			[]string{"", "v1.2.3", "1.2", "1.2.3.4", "01.2.3", "1.2.3-", "latest", "1.2.x"}},
		{"env", domain.CheckEnvName,
			[]string{"A", "_X", "DOCKER_DRIVER", "a1"},
			[]string{"", "1A", "MY-VAR", "A B"}},
		{"schedule", domain.CheckSchedule,
			[]string{"0 2 * * *", "*/5 * * * *", "0 0 1 JAN-MAR MON-FRI", "@hourly", "@daily", "@weekly"},
			[]string{"", "@yearly", "@reboot", "0 25 * * *", "0 2 * *", "*/0 * * * *", "0 2 * * FRI-MON", "60 * * * *"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.ok {
				if err := tc.check(s); err != nil {
					t.Errorf("%q: %v", s, err)
				}
			}
			for _, s := range tc.bad {
				wantCode(t, tc.check(s), errs.EINVALID)
			}
		})
	}
	// FLY names are identifiers of the aggregates too.
	if _, err := domain.NewEggName("payments-api"); err != nil {
		t.Error(err)
	}
}

func TestCronFields(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"hourly", "@hourly", "0 * * * *"},
		{"daily", "@daily", "0 0 * * *"},
		{"weekly_with_spaces", " @weekly ", "0 0 * * 0"},
		{"five_fields_unchanged", "0 3 * * 1-5", "0 3 * * 1-5"},
		{"unknown_macro_unchanged", "@yearly", "@yearly"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.CronFields(tc.in); got != tc.want {
				t.Fatalf("CronFields(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	// Every macro the configuration accepts is one the Job aggregate accepts once expanded.
	for _, m := range domain.ScheduleMacros {
		if err := domain.CheckCron(domain.CronFields(m)); err != nil {
			t.Errorf("%s expands to a schedule CheckCron refuses: %v", m, err)
		}
	}
}

func TestCheckSecretURIShape(t *testing.T) {
	ok := []string{
		"yc-lockbox://e6q8abc/runner-token",
		"yc-lockbox://gitlab/gitlab.com/egg/runner-token",
		"aws-sm://gosling/token",
		"vault://secret/data/gosling/token",
		"env://GITLAB_TOKEN",
		"file:///etc/gosling/token",
	}
	bad := []string{
		"", "s3://b/k", "lockbox://a/b", "vault:/a/b/c", "yc-lockbox://", "yc-lockbox://only-id",
		"aws-sm://name", "vault://mount/key", "env://1BAD", "env://A/B", "file://relative",
		"file:///", "aws-sm://a//b", "vault://a/b/c#k", "vault://a/b/c?x=1", "yc-lockbox://a b/k",
	}
	for _, s := range ok {
		if _, err := domain.CheckSecretURIShape(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range bad {
		if _, err := domain.CheckSecretURIShape(s); !errs.Is(err, errs.EINVALID) {
			t.Errorf("%q accepted (%v)", s, err)
		}
	}
	u, _ := domain.CheckSecretURIShape("env://X")
	if !domain.IsLocalSecretScheme(u) {
		t.Error("env:// is local")
	}
	u, _ = domain.CheckSecretURIShape("vault://a/b/c")
	if domain.IsLocalSecretScheme(u) {
		t.Error("vault:// is not local")
	}
	if got := domain.DefaultSecretURI(mustProvider("yandex"), "gitlab.com", "egg", domain.SecretKeyRunnerToken); got != "yc-lockbox://gitlab/gitlab.com/egg/runner-token" {
		t.Errorf("yandex default = %q", got)
	}
	if got := domain.DefaultSecretURI(mustProvider("aws"), "gitlab.com", "b/r", domain.SecretKeyWebhookSecret); got != "aws-sm://gitlab/gitlab.com/b/r/webhook-secret" {
		t.Errorf("aws default = %q", got)
	}
	if got := domain.DefaultSecretURI(mustProvider("gcp"), "gitlab.com", "egg", domain.SecretKeyRunnerToken); got != "" {
		t.Errorf("unknown provider default = %q", got)
	}
	if _, err := domain.CheckSecretURIShape(domain.DefaultSecretURI(mustProvider("aws"), "gitlab.com", "b/r", domain.SecretKeyRunnerToken)); err != nil {
		t.Errorf("the default is not a valid secret URI: %v", err)
	}
}

func TestCheckRegion(t *testing.T) {
	for _, c := range [][2]string{{"yandex", "ru-central1"}, {"yandex", "ru-central1-d"}, {"yandex", "kz1-a"}, {"aws", "eu-central-1"}, {"aws", "eu-central-1a"}} {
		if err := domain.CheckRegion(mustProvider(c[0]), c[1]); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
	for _, c := range [][2]string{{"yandex", "eu-central-1"}, {"yandex", "ru-central1-c"}, {"aws", "ru-central1"}, {"aws", "eu-central-1aa"}, {"aws", "mars-1"}, {"gcp", "us-east1"}} {
		wantCode(t, domain.CheckRegion(mustProvider(c[0]), c[1]), errs.EINVALID)
	}
}

// mustProvider parses a provider; an unknown one is the zero value, which
// the functions under test must refuse.
func mustProvider(s string) domain.CloudProvider {
	p, _ := domain.ParseCloudProvider(s)
	return p
}
