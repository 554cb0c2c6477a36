package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// parseConfig reads args and env as mothergoose serve does
// (bindSharedFlags, bindServeFlags), starting from testConfig.
func parseConfig(t *testing.T, args []string) Config {
	t.Helper()
	cfg := testConfig()
	cmd := &cobra.Command{Use: "x", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }}
	bindSharedFlags(cmd, &cfg)
	bindServeFlags(cmd, &cfg)
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConfig_GitLab_API_tokens(t *testing.T) {
	const key = "MOTHERGOOSE_GITLAB_API_TOKENS"
	flag := func(pairs ...string) []string {
		var args []string
		for _, p := range pairs {
			args = append(args, "--gitlab-api-token", p)
		}
		return args
	}
	tests := []struct {
		name    string
		env     string
		args    []string
		want    map[string]string // when valid
		problem string            // in the ValidateServe error when not
	}{
		{name: "none", want: map[string]string{}},
		{name: "flag", args: flag("gitlab.com=env://GITLAB_API_TOKEN"), want: map[string]string{"gitlab.com": "env://GITLAB_API_TOKEN"}},
		{name: "flags_normalised", args: flag("HTTPS://GitLab.Example.com/=file:///run/secrets/gitlab", "gitlab.example.org:8443=env://B"),
			want: map[string]string{"gitlab.example.com": "file:///run/secrets/gitlab", "gitlab.example.org:8443": "env://B"}},
		{name: "env_list", env: " gitlab.com=env://A , gitlab.example.org=env://B,",
			want: map[string]string{"gitlab.com": "env://A", "gitlab.example.org": "env://B"}},
		{name: "flag_wins_over_env", env: "gitlab.com=env://A,gitlab.example.org=env://B", args: flag("https://gitlab.com=env://C"),
			want: map[string]string{"gitlab.com": "env://C", "gitlab.example.org": "env://B"}},

		{name: "bad_pair", args: flag("gitlab.com"), problem: "--gitlab-api-token (pair 1): want SERVER=SECRET-URI"},
		{name: "empty_server", args: flag("gitlab.com=env://A", "=env://B"), problem: "--gitlab-api-token (pair 2): no server before ="},
		{name: "bad_server", args: flag("gitlab.com/group=env://A"), problem: `GitLab server "gitlab.com/group"`},
		{name: "no_uri", args: flag("gitlab.com="), problem: "--gitlab-api-token gitlab.com: no secret URI after ="},
		{name: "unknown_scheme", args: flag("gitlab.com=s3://bucket/gitlab"), problem: "scheme s3:// is not a secret scheme; want yc-lockbox://"},
		{name: "token_instead_of_uri", args: flag("gitlab.com=glpat-Secret-Value"), problem: "--gitlab-api-token gitlab.com: the value after = is not a secret URI"},
		{name: "server_twice", args: flag("gitlab.com=env://A", "https://GitLab.com=env://B"), problem: "--gitlab-api-token gitlab.com: the server is given more than once"},
		{name: "env_bad_pair", env: "gitlab.com=env://A,gitlab.example.org", problem: key + " (pair 2): want SERVER=SECRET-URI"},
		{name: "env_server_twice", env: "gitlab.com=env://A,GITLAB.COM=env://B", args: flag("gitlab.example.org=env://C"), problem: key + " gitlab.com: the server is given more than once"},
		{name: "env_empty_server", env: "=env://A", problem: key + " (pair 1): no server before ="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(key, tc.env)
			cfg := parseConfig(t, tc.args)
			err := cfg.ValidateServe()
			if tc.problem != "" {
				if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("got %v, want a usage error with %q", err, tc.problem)
				}
				if strings.Contains(err.Error(), "Secret-Value") {
					t.Fatalf("the error shows what may be a token: %v", err)
				}
				// Only serve reads the tokens.
				if err := cfg.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, problems := cfg.apiTokens(); len(problems) > 0 || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("apiTokens() = %v, %v; want %v", got, problems, tc.want)
			}
		})
	}
}

// A GitLab API token that cannot be resolved fails serve before anything is
// opened, naming each such server and URI and no value.
func TestServe_fails_at_start_on_an_unresolvable_GitLab_API_token(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOSLING_TEST_GITLAB_TOKEN", "glpat-good-value")
	t.Setenv("GOSLING_TEST_EMPTY_TOKEN", "")
	t.Setenv("GOSLING_TEST_MISSING_TOKEN", "")
	os.Unsetenv("GOSLING_TEST_MISSING_TOKEN")
	t.Setenv("MOTHERGOOSE_GITLAB_API_TOKENS", "gitlab.example.net=file://"+filepath.Join(dir, "nope"))
	db := filepath.Join(dir, "gosling.db")
	root := newRootCommand()
	root.SetOut(new(bytes.Buffer))
	root.SetArgs([]string{"--store", "sqlite://" + db, "--listen", "127.0.0.1:0", "--api-token", "a", "--trigger-token", "b", "--log-level", "error",
		"--gitlab-api-token", "gitlab.com=env://GOSLING_TEST_GITLAB_TOKEN",
		"--gitlab-api-token", "gitlab.example.org=env://GOSLING_TEST_MISSING_TOKEN",
		"--gitlab-api-token", "gitlab.example.com=env://GOSLING_TEST_EMPTY_TOKEN",
		"serve"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("got %v (exit %d), want a configuration error (exit 2)", err, exitCode(err))
	}
	for _, want := range []string{
		"gitlab.example.org (env://GOSLING_TEST_MISSING_TOKEN) cannot be resolved",
		"gitlab.example.com (env://GOSLING_TEST_EMPTY_TOKEN) is empty",
		"gitlab.example.net (file://" + filepath.Join(dir, "nope") + ") cannot be resolved",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "glpat-good-value") || strings.Contains(err.Error(), "gitlab.com (") {
		t.Errorf("the error is about a good token: %v", err)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the store was opened before the tokens were checked: %v", err)
	}
}

// Resolvable tokens are handed to the HTTP API by server.
func TestServe_resolves_GitLab_API_tokens_at_start(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gitlab-token")
	if err := os.WriteFile(file, []byte("glpat-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOSLING_TEST_GITLAB_TOKEN", "glpat-from-env")
	cfg := testConfig()
	cfg.Store = "sqlite://" + filepath.Join(dir, "gosling.db")
	cfg.LogLevel = "error"
	cfg.GitLabAPITokens = []string{"https://GitLab.com=env://GOSLING_TEST_GITLAB_TOKEN"}
	cfg.GitLabAPITokensEnv = "gitlab.example.org:8443=file://" + file
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, stop := mustServe(ctx, t, cfg)
	defer m.Close()
	want := map[string]string{"gitlab.com": "env://GOSLING_TEST_GITLAB_TOKEN", "gitlab.example.org:8443": "file://" + file}
	if !reflect.DeepEqual(m.apiTokens, want) {
		t.Fatalf("API tokens %v, want %v", m.apiTokens, want)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
