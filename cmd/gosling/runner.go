package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/cmd/internal/secretsetup"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The agent's environment, as the compute modules set it
// (modules/compute/*/locals.tf, local/main.tf), plus its own settings.
const (
	envMotherGooseURL    = "GOSLING_MOTHERGOOSE_URL"
	envRunnerID          = "GOSLING_RUNNER_ID"
	envRunnerName        = "GOSLING_RUNNER_NAME"
	envRunnerType        = "GOSLING_RUNNER_TYPE"
	envEgg               = "GOSLING_EGG"
	envAgentVersion      = "GOSLING_AGENT_VERSION"
	envMaxJobMinutes     = "GOSLING_MAX_JOB_MINUTES"
	envRegion            = "GOSLING_REGION"
	envLabels            = "GOSLING_LABELS"
	envSecretURIs        = "GOSLING_SECRET_URIS"
	envHeartbeatInterval = "GOSLING_HEARTBEAT_INTERVAL"
	envWorkDir           = "GOSLING_WORK_DIR"
	envGitLabURL         = "GOSLING_GITLAB_URL"
	envGitLabRunner      = "GOSLING_GITLAB_RUNNER"

	// The names in GOSLING_SECRET_URIS the agent resolves.
	secretRunnerCredential = domain.RunnerCredentialSecret
	secretRunnerToken      = domain.RunnerTokenSecret
)

// Bounds of the agent.
const (
	defaultHeartbeatInterval = 5 * time.Second
	minHeartbeatInterval     = 100 * time.Millisecond
	maxHeartbeatBackoff      = time.Minute
	// A new runner's first heartbeats, refused until MotherGoose records
	// it as deployed, are retried every 10-20 ms for the first 2 s (the
	// apply that starts the agent ends within a second on the local
	// target, and the wait after runner.deployed is on every cold
	// provisioning: BenchmarkColdProvision), then every 50-100 ms until two
	// minutes from the start. The fast window is short so that a burst of
	// new runners whose deployment is slow sends at most ~130 refused
	// heartbeats each before slowing down.
	notRecordedFastRetry  = 20 * time.Millisecond
	notRecordedFastWindow = 2 * time.Second
	notRecordedRetry      = 100 * time.Millisecond
	notRecordedWindow     = 2 * time.Minute
	heartbeatTimeout      = 10 * time.Second
)

// runnerFlags are `gosling runner`'s settings: flags, defaulting to the
// environment the compute module gives the agent.
type runnerFlags struct {
	url, id, name, typ, egg          string
	interval                         time.Duration
	credentialURI, tokenURI          string
	workDir, gitlabURL, gitlabRunner string
}

func (a *App) getenv(k string) string {
	lookup := a.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, _ := lookup(k)
	return v
}

func runnerCommand(a *App) *cobra.Command {
	var f runnerFlags
	cmd := &cobra.Command{
		Use:   "runner",
		Short: "run the runner agent: heartbeat to MotherGoose and run gitlab-runner when installed",
		Long: `runner is the agent the compute modules start on every runner (the local module runs
"<gosling> runner" as its process; cloud-init starts it as a service). It reads the
GOSLING_* environment the module sets (each flag overrides its variable, for manual use):

  GOSLING_MOTHERGOOSE_URL   where MotherGoose is (--mothergoose-url)
  GOSLING_RUNNER_ID         this runner's id (--runner-id)
  GOSLING_RUNNER_NAME, GOSLING_RUNNER_TYPE, GOSLING_EGG, GOSLING_LABELS (JSON),
  GOSLING_AGENT_VERSION, GOSLING_MAX_JOB_MINUTES   logged at start
  GOSLING_SECRET_URIS       JSON map of names to secret URIs; the agent resolves
                            GOSLING_RUNNER_CREDENTIAL (its credential, --credential-uri) and
                            GOSLING_RUNNER_TOKEN (the runner token, --runner-token-uri):
                            env://, file:///, yc-lockbox:// (YC_* or the VM's metadata
                            service; YC_FOLDER_ID for names), aws-sm:// (the AWS
                            credential chain; GOSLING_REGION, else AWS_REGION),
                            vault:// (VAULT_*)
  GOSLING_HEARTBEAT_INTERVAL   --interval, default 5s
  GOSLING_WORK_DIR, GOSLING_GITLAB_URL, GOSLING_GITLAB_RUNNER   see the flags

Every --interval it sends POST <url>/runners/<id>/heartbeat with its credential as the
bearer token and {"state":"IDLE"|"BUSY","running_jobs":[...],"version":"..."}; when
MotherGoose cannot be reached or refuses (not yet deployed, 5xx) it retries, backing off
up to a minute. It stops, exit status 0, when MotherGoose answers that the runner is
terminated (410) or on SIGTERM/SIGINT (gitlab-runner first; nothing more is sent).

If gitlab-runner is found (--gitlab-runner, else on PATH) and a runner token is
configured, the agent writes <work-dir>/config.toml (0600) and runs
"gitlab-runner run --config <work-dir>/config.toml", reporting BUSY while its metrics
(gitlab_runner_jobs) count a job; otherwise it says why in its log and reports IDLE.
Secret values are never logged (and redacted if one reaches a log line).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd.Context(), a)
			if err != nil {
				return err
			}
			return runAgent(cmd.Context(), cfg)
		},
	}
	interval := defaultHeartbeatInterval
	fl := cmd.Flags()
	fl.StringVar(&f.url, "mothergoose-url", "", "MotherGoose base URL (env "+envMotherGooseURL+")")
	fl.StringVar(&f.id, "runner-id", "", "runner id (env "+envRunnerID+")")
	fl.StringVar(&f.name, "runner-name", "", "runner name, also gitlab-runner's (env "+envRunnerName+")")
	fl.StringVar(&f.typ, "runner-type", "", "runner type (env "+envRunnerType+")")
	fl.StringVar(&f.egg, "egg", "", "the runner's egg (env "+envEgg+")")
	fl.DurationVar(&f.interval, "interval", interval, "time between heartbeats (env "+envHeartbeatInterval+")")
	fl.StringVar(&f.credentialURI, "credential-uri", "", "secret URI of the runner credential (default: "+secretRunnerCredential+" of "+envSecretURIs+")")
	fl.StringVar(&f.tokenURI, "runner-token-uri", "", "secret URI of the GitLab runner token (default: "+secretRunnerToken+" of "+envSecretURIs+")")
	fl.StringVar(&f.workDir, "work-dir", "", "directory for gitlab-runner's config.toml and builds (env "+envWorkDir+"; default <temp>/gosling-runner-<id>)")
	fl.StringVar(&f.gitlabURL, "gitlab-url", "", "GitLab URL gitlab-runner connects to (env "+envGitLabURL+"; default https://gitlab.com)")
	fl.StringVar(&f.gitlabRunner, "gitlab-runner", "", "path of gitlab-runner (env "+envGitLabRunner+"; default: gitlab-runner on PATH)")
	return cmd
}

// agentConfig is the agent's validated configuration.
type agentConfig struct {
	URL, RunnerID, RunnerName, Version string
	Interval                           time.Duration
	Credential                         string // resolved; never logged
	TokenURI                           string // "" when none is configured
	WorkDir, GitLabURL                 string
	GitLabRunner                       string        // "" when not installed
	Secrets                            ports.Secrets // the same backends as MotherGoose's, from this machine's environment
	Log                                *slog.Logger
}

// config merges flags over the environment, checks it and resolves the credential.
func (f runnerFlags) config(ctx context.Context, a *App) (agentConfig, error) {
	or := func(flag, env string) string {
		if flag != "" {
			return flag
		}
		return a.getenv(env)
	}
	cfg0version, _ := buildVersion()
	// The values the agent resolves (its credential, the GitLab token) are
	// redacted from its log lines, as serve's are.
	red := secrets.NewRedactions()
	log := slog.New(secrets.RedactingHandler(slog.NewTextHandler(a.Stderr, nil), red)).With("runner", or(f.id, envRunnerID))
	backends := secretsetup.Router(secretsetup.Options{LookupEnv: a.LookupEnv, Log: log})
	// Read at each use (no TTL): the agent reads its URIs at start.
	sec := secrets.NewCache(secrets.CacheConfig{Backend: backends, TTL: map[string]time.Duration{}, Redactions: red, Log: log})
	cfg := agentConfig{
		URL: strings.TrimRight(or(f.url, envMotherGooseURL), "/"), RunnerID: or(f.id, envRunnerID),
		RunnerName: or(f.name, envRunnerName), Interval: f.interval,
		WorkDir: or(f.workDir, envWorkDir), GitLabURL: or(f.gitlabURL, envGitLabURL),
		Secrets: inRegion{sec, a.getenv(envRegion)}, Log: log, Version: cfg0version,
	}
	if f.interval == defaultHeartbeatInterval {
		if v := a.getenv(envHeartbeatInterval); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return cfg, usagef("%s=%q: not a duration (5s, 1m)", envHeartbeatInterval, v)
			}
			cfg.Interval = d
		}
	}
	if cfg.Interval < minHeartbeatInterval {
		return cfg, usagef("--interval %s: at least %s", cfg.Interval, minHeartbeatInterval)
	}
	if u, err := url.Parse(cfg.URL); cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, usagef("MotherGoose URL %q: want http(s)://host[:port] (--mothergoose-url or %s)", cfg.URL, envMotherGooseURL)
	}
	if cfg.RunnerID == "" {
		return cfg, usagef("no runner id: set --runner-id or %s", envRunnerID)
	}
	if cfg.RunnerName == "" {
		cfg.RunnerName = cfg.RunnerID
	}
	if cfg.GitLabURL == "" {
		cfg.GitLabURL = "https://gitlab.com"
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(os.TempDir(), "gosling-runner-"+cfg.RunnerID)
	}
	uris := map[string]string{}
	if raw := a.getenv(envSecretURIs); raw != "" {
		if err := json.Unmarshal([]byte(raw), &uris); err != nil {
			return cfg, usagef("%s is not a JSON object of names to secret URIs: %v", envSecretURIs, err)
		}
	}
	credURI := f.credentialURI
	if credURI == "" {
		credURI = uris[secretRunnerCredential]
	}
	if credURI == "" {
		return cfg, usagef("no runner credential: set --credential-uri or %s in %s", secretRunnerCredential, envSecretURIs)
	}
	cfg.TokenURI = f.tokenURI
	if cfg.TokenURI == "" {
		cfg.TokenURI = uris[secretRunnerToken]
	}
	cred, err := resolveSecret(ctx, cfg.Secrets, credURI)
	if err != nil {
		return cfg, fmt.Errorf("runner credential: %w", err)
	}
	cfg.Credential = cred
	cfg.GitLabRunner = or(f.gitlabRunner, envGitLabRunner)
	if cfg.GitLabRunner == "" {
		if p, err := exec.LookPath("gitlab-runner"); err == nil {
			cfg.GitLabRunner = p
		} else if !errors.Is(err, exec.ErrNotFound) {
			log.Warn("gitlab-runner lookup failed", "error", err)
		}
	}
	log.Info("gosling runner starting", "mothergoose", cfg.URL, "name", cfg.RunnerName,
		"type", a.getenv(envRunnerType), "egg", or(f.egg, envEgg), "version", cfg.Version,
		"module_agent_version", a.getenv(envAgentVersion), "max_job_minutes", a.getenv(envMaxJobMinutes),
		"labels", a.getenv(envLabels), "interval", cfg.Interval, "credential_uri", credURI)
	return cfg, nil
}

// inRegion resolves in the runner's region (GOSLING_REGION, which the
// cloud modules set): an aws-sm:// secret is read there, as MotherGoose
// reads an egg's in the egg's region.
type inRegion struct {
	ports.Secrets
	region string
}

func (r inRegion) Resolve(ctx context.Context, uri string) ([]byte, error) {
	return r.Secrets.Resolve(ports.WithSecretScope(ctx, ports.SecretScope{Purpose: "runner agent", Region: r.region}), uri)
}

// resolveSecret resolves uri (env://, file://, or the cloud store the
// runner's module named); surrounding whitespace (a file's trailing
// newline) is not part of the value.
func resolveSecret(ctx context.Context, s ports.Secrets, uri string) (string, error) {
	b, err := s.Resolve(ctx, uri)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", errs.Errorf(errs.EINVALID, "secret %s is empty", uri)
	}
	return v, nil
}
