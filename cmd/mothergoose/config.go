package main

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/blobs/s3blobs"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/cmd/internal/cliconf"
	"github.com/polar-gosling/polar-gosling/cmd/internal/store"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Config is everything mothergoose reads from flags and MOTHERGOOSE_* env,
// read in one place (bindFlags) and validated once (Validate).
type Config struct {
	Store        string        // sqlite:///path.db, a plain path, or dynamodb://prefix?region=..&endpoint=..; empty: StoreURL's default in DataDir
	BlobStore    string        // where registered binaries are kept: "" = DataDir/blobs, or s3://bucket[/prefix]?region=..&endpoint=..&path_style=..
	LogLevel     string        // debug, info, warn, error
	LogFormat    string        // text, json
	PollInterval time.Duration // how often projectors look for new events when not woken

	Nest         string        // the Nest repository: a path, file://, https:// or ssh:// URL; empty = no sync
	NestBranch   string        // the branch to follow
	NestAuth     string        // secret URI of the access token (https) or deploy key (ssh)
	DataDir      string        // local state: the default store's file (StoreURL) and the clone of the Nest
	SyncInterval time.Duration // scheduled sync period

	Listen       string // the HTTP API's address, host:port (":0" picks a free port)
	APIToken     string // bearer token of the query API
	TriggerToken string // X-Trigger-Auth value of /internal/* (and of Nest push webhooks)

	// GitLab API tokens, as server=secret-uri pairs: the tokens the Jobs API
	// is read with (apiTokens merges and checks them).
	GitLabAPITokens    []string // --gitlab-api-token, one pair each (repeatable)
	GitLabAPITokensEnv string   // MOTHERGOOSE_GITLAB_API_TOKENS, comma-separated pairs; a flag wins for its server

	// Limits of webhook deliveries that no token authenticates (for
	// projects no egg owns): httpapi.UnauthenticatedLimits.
	UnauthRate       float64 // per source address, deliveries per second
	UnauthBurst      int     // per source address, at once
	UnauthTotalRate  float64 // over all sources, per second
	UnauthTotalBurst int     // over all sources, at once
	UnauthSources    int     // source addresses tracked at once

	// The provisioner.
	Tofu          string        // the tofu binary; "": $MOTHERGOOSE_TOFU, tofu on PATH, .tools/bin/tofu
	WorkDir       string        // per-runner workspaces; "": DATA/work
	PublicURL     string        // the URL runners reach MotherGoose at; "": from --listen
	MaxApplies    int           // OpenTofu runs at once
	BreakAfter    int           // runners of an egg given up in a row that stop its provisioning (provisioner.Policy.BreakAfter)
	GoslingBin    string        // the gosling binary local runners run; "": beside mothergoose, then PATH
	RunnerCommand string        // the local target's runner_command; "": "<gosling-bin> runner"
	TofuTimeout   time.Duration // bound of one OpenTofu command
	PlanRetention time.Duration // how long kept plan files stay under DATA/plans

	// ReconcileInterval is the period of the pending jobs reconciliation
	// (commands.Reconciler); 0 disables it.
	ReconcileInterval time.Duration

	// WebhookCheckInterval is how often the webhook installer checks every
	// egg's hooks in GitLab (it also runs at start and after each sync that
	// changes eggs); 0 disables webhook installation.
	WebhookCheckInterval time.Duration

	// UglyFox runs the UglyFox sweep in process, under the same lease as
	// `uglyfox serve` processes on the store (one sweeps at a time).
	UglyFox bool

	// Secrets: the cache in front of every backend (secrets.CacheConfig)
	// and where runners' secrets are written on the clouds.
	SecretTTL         []string      // SCHEME=DURATION pairs over secrets.DefaultTTLs
	SecretStaleFor    time.Duration // how long past its TTL a value is served while its backend is down
	SecretNegativeTTL time.Duration // how long a failed resolution is answered from the cache
	AWSRegion         string        // Secrets Manager's region when the egg's is not an AWS region
	RunnerSecrets     []string      // PROVIDER=BASE-URI pairs: where a cloud runner's GitLab token is written
}

func defaultConfig() Config {
	return Config{
		LogLevel:     "info",
		LogFormat:    "text",
		PollInterval: time.Second,
		NestBranch:   "main",
		DataDir:      ".data",
		SyncInterval: time.Minute,
		Listen:       "127.0.0.1:8080",

		UnauthRate:       httpapi.DefaultUnauthenticatedLimits.PerSource,
		UnauthBurst:      httpapi.DefaultUnauthenticatedLimits.PerSourceBurst,
		UnauthTotalRate:  httpapi.DefaultUnauthenticatedLimits.Total,
		UnauthTotalBurst: httpapi.DefaultUnauthenticatedLimits.TotalBurst,
		UnauthSources:    httpapi.DefaultUnauthenticatedLimits.MaxSources,

		MaxApplies:    4,
		BreakAfter:    3,
		TofuTimeout:   10 * time.Minute,
		PlanRetention: tofu.DefaultPlanRetention,

		ReconcileInterval:    time.Minute,
		WebhookCheckInterval: 5 * time.Minute,
		UglyFox:              true,

		SecretStaleFor:    secrets.DefaultStaleFor,
		SecretNegativeTTL: secrets.DefaultNegativeTTL,
	}
}

// unauthLimits are the Unauth* settings as the HTTP API takes them.
func (c Config) unauthLimits() httpapi.UnauthenticatedLimits {
	return httpapi.UnauthenticatedLimits{
		PerSource: c.UnauthRate, PerSourceBurst: c.UnauthBurst,
		Total: c.UnauthTotalRate, TotalBurst: c.UnauthTotalBurst, MaxSources: c.UnauthSources,
	}
}

// bindSharedFlags registers, on root as persistent flags, what every
// subcommand uses: the store (whose default follows --data-dir) and logging.
func bindSharedFlags(root *cobra.Command, c *Config) {
	f := root.PersistentFlags()
	f.StringVar(&c.Store, "store", env("MOTHERGOOSE_STORE", c.Store), "event store and views: sqlite:///path.db, a file path, or dynamodb://prefix?region=R[&endpoint=URL] (default sqlite://<data-dir>/gosling.db; env MOTHERGOOSE_STORE)")
	f.StringVar(&c.BlobStore, "blob-store", env("MOTHERGOOSE_BLOB_STORE", c.BlobStore), "where the registered tofu and gosling binaries are kept: empty for <data-dir>/blobs, or s3://bucket[/prefix]?region=R[&endpoint=URL][&path_style=true] for an S3 bucket "+
		"(Yandex Object Storage: endpoint=https://storage.yandexcloud.net, region ru-central1), with credentials from the default AWS chain (env MOTHERGOOSE_BLOB_STORE)")
	f.StringVar(&c.DataDir, "data-dir", env("MOTHERGOOSE_DATA_DIR", c.DataDir), "local state: the default store's file and serve's clone of the Nest (env MOTHERGOOSE_DATA_DIR)")
	f.StringVar(&c.LogLevel, "log-level", env("MOTHERGOOSE_LOG_LEVEL", c.LogLevel), "debug, info, warn or error (env MOTHERGOOSE_LOG_LEVEL)")
	f.StringVar(&c.LogFormat, "log-format", env("MOTHERGOOSE_LOG_FORMAT", c.LogFormat), "text or json (env MOTHERGOOSE_LOG_FORMAT)")
}

// bindServeFlags registers serve's own flags: the projectors' polling, the
// Nest sync, the HTTP API and its tokens and limits.
func bindServeFlags(serve *cobra.Command, c *Config) {
	f := serve.Flags()
	f.DurationVar(&c.PollInterval, "poll-interval", envDuration("MOTHERGOOSE_POLL_INTERVAL", c.PollInterval), "projector poll interval when the store cannot wake them (env MOTHERGOOSE_POLL_INTERVAL)")
	f.StringVar(&c.Nest, "nest", env("MOTHERGOOSE_NEST", c.Nest), "the Nest Git repository to sync: a path, file://, https:// or ssh:// URL; none: no sync (env MOTHERGOOSE_NEST)")
	f.StringVar(&c.NestBranch, "nest-branch", env("MOTHERGOOSE_NEST_BRANCH", c.NestBranch), "the Nest branch to follow (env MOTHERGOOSE_NEST_BRANCH)")
	f.StringVar(&c.NestAuth, "nest-auth", env("MOTHERGOOSE_NEST_AUTH", c.NestAuth), "secret URI of the Nest access token (https) or deploy key (ssh), e.g. env://NEST_TOKEN (env MOTHERGOOSE_NEST_AUTH)")
	f.DurationVar(&c.SyncInterval, "sync-interval", envDuration("MOTHERGOOSE_SYNC_INTERVAL", c.SyncInterval), "scheduled Nest sync period (env MOTHERGOOSE_SYNC_INTERVAL)")
	f.StringVar(&c.Listen, "listen", env("MOTHERGOOSE_LISTEN", c.Listen), "the HTTP API's address host:port (env MOTHERGOOSE_LISTEN)")
	f.StringVar(&c.APIToken, "api-token", env("MOTHERGOOSE_API_TOKEN", c.APIToken), "bearer token of the query API; prefer the env var (env MOTHERGOOSE_API_TOKEN)")
	f.StringVar(&c.TriggerToken, "trigger-token", env("MOTHERGOOSE_TRIGGER_TOKEN", c.TriggerToken), "X-Trigger-Auth value of /internal/sync-git and of Nest push webhooks; prefer the env var (env MOTHERGOOSE_TRIGGER_TOKEN)")
	c.GitLabAPITokensEnv = env("MOTHERGOOSE_GITLAB_API_TOKENS", c.GitLabAPITokensEnv)
	f.StringArrayVar(&c.GitLabAPITokens, "gitlab-api-token", c.GitLabAPITokens, "SERVER=SECRET-URI, repeatable: MotherGoose's API token on SERVER (an FQDN, host:port or https:// URL), "+
		"with the read_api and create_runner scopes, or api, which installing the eggs' webhooks needs (Maintainer of the eggs' projects, Owner of their groups): "+
		"the Jobs API is read with it, each runner's GitLab runner is created (POST /user/runners) and deleted with it, and the eggs' webhooks are installed with it; "+
		"without one, the runners of the server's eggs are provisioned unregistered and no webhook is installed, e.g. gitlab.com=env://GITLAB_API_TOKEN (env MOTHERGOOSE_GITLAB_API_TOKENS: the same pairs, comma-separated; a flag wins over env for its server)")
	f.Float64Var(&c.UnauthRate, "unauth-rate", envFloat("MOTHERGOOSE_UNAUTH_RATE", c.UnauthRate), "webhook deliveries per second that one source address may append for projects no egg owns (no token to check); more are answered 429 with Retry-After (env MOTHERGOOSE_UNAUTH_RATE)")
	f.IntVar(&c.UnauthBurst, "unauth-burst", envInt("MOTHERGOOSE_UNAUTH_BURST", c.UnauthBurst), "how many such deliveries one source address may send at once (env MOTHERGOOSE_UNAUTH_BURST)")
	f.Float64Var(&c.UnauthTotalRate, "unauth-total-rate", envFloat("MOTHERGOOSE_UNAUTH_TOTAL_RATE", c.UnauthTotalRate), "such deliveries per second over all sources (env MOTHERGOOSE_UNAUTH_TOTAL_RATE)")
	f.IntVar(&c.UnauthTotalBurst, "unauth-total-burst", envInt("MOTHERGOOSE_UNAUTH_TOTAL_BURST", c.UnauthTotalBurst), "such deliveries at once over all sources (env MOTHERGOOSE_UNAUTH_TOTAL_BURST)")
	f.StringVar(&c.Tofu, "tofu", env("MOTHERGOOSE_TOFU", c.Tofu), "the OpenTofu binary the provisioner runs (default: $MOTHERGOOSE_TOFU, then tofu on PATH, then .tools/bin/tofu); without one, requested runners are queued with that reason")
	f.StringVar(&c.WorkDir, "work-dir", env("MOTHERGOOSE_WORK_DIR", c.WorkDir), "per-runner OpenTofu workspaces and credentials (default <data-dir>/work; env MOTHERGOOSE_WORK_DIR)")
	f.StringVar(&c.PublicURL, "public-url", env("MOTHERGOOSE_PUBLIC_URL", c.PublicURL), "the URL runners reach MotherGoose at (default http://<listen address>; env MOTHERGOOSE_PUBLIC_URL)")
	f.IntVar(&c.MaxApplies, "max-applies", envInt("MOTHERGOOSE_MAX_APPLIES", c.MaxApplies), "OpenTofu runs at once, shared round robin by the eggs (env MOTHERGOOSE_MAX_APPLIES)")
	f.IntVar(&c.BreakAfter, "break-after", envInt("MOTHERGOOSE_BREAK_AFTER", c.BreakAfter), "runners of an egg given up (FAILED) in a row under its configuration that stop its provisioning until a new configuration, a deployed runner or POST /eggs/NAME/retry (env MOTHERGOOSE_BREAK_AFTER)")
	f.StringVar(&c.GoslingBin, "gosling-bin", env("MOTHERGOOSE_GOSLING_BIN", c.GoslingBin), "the gosling binary local runners run as `gosling runner` (default: gosling beside mothergoose, then on PATH; env MOTHERGOOSE_GOSLING_BIN)")
	f.StringVar(&c.RunnerCommand, "runner-command", env("MOTHERGOOSE_RUNNER_COMMAND", c.RunnerCommand), "the command local runners run (default \"<gosling-bin> runner\"; env MOTHERGOOSE_RUNNER_COMMAND)")
	f.DurationVar(&c.PlanRetention, "plan-retention", envDuration("MOTHERGOOSE_PLAN_RETENTION", c.PlanRetention), "how long a kept plan file stays under DATA/plans; the log keeps every plan's SHA-256 and inputs for good (env MOTHERGOOSE_PLAN_RETENTION)")
	f.DurationVar(&c.TofuTimeout, "tofu-timeout", envDuration("MOTHERGOOSE_TOFU_TIMEOUT", c.TofuTimeout), "bound of one OpenTofu command (init, plan, apply) (env MOTHERGOOSE_TOFU_TIMEOUT)")
	f.DurationVar(&c.ReconcileInterval, "reconcile-interval", envDuration("MOTHERGOOSE_RECONCILE_INTERVAL", c.ReconcileInterval), "how often the pending jobs of each egg whose GitLab server has an API token (--gitlab-api-token) are listed through the Jobs API, "+
		"and a runner requested for each that no webhook asked for (GitLab gives up on webhooks and disables failing hooks), and GitLab runners of ours that no live runner owns are deleted; 0 disables (the GitLab runners are still swept once at start) (env MOTHERGOOSE_RECONCILE_INTERVAL)")
	f.DurationVar(&c.WebhookCheckInterval, "webhook-check-interval", envDuration("MOTHERGOOSE_WEBHOOK_CHECK_INTERVAL", c.WebhookCheckInterval), "how often MotherGoose checks the GitLab webhook it installs on each project and group of every egg whose server has an API token "+
		"(--gitlab-api-token, which then needs the api scope and the Maintainer role on projects, Owner on groups) and puts back what differs (deleted, disabled, edited); it also checks at start and after each sync that changes eggs. "+
		"Hooks point at --public-url/webhooks/gitlab: without an explicit --public-url nothing is installed. 0 disables installation (env MOTHERGOOSE_WEBHOOK_CHECK_INTERVAL)")
	f.BoolVar(&c.UglyFox, "uglyfox", envBool("MOTHERGOOSE_UGLYFOX", c.UglyFox), "run the UglyFox sweep (heartbeats, pruning, policies, pools) in this process, under the store's lease like any `uglyfox serve`; --uglyfox=false leaves it to separate uglyfox processes (env MOTHERGOOSE_UGLYFOX)")
	f.IntVar(&c.UnauthSources, "unauth-sources", envInt("MOTHERGOOSE_UNAUTH_SOURCES", c.UnauthSources), "source addresses whose rate is tracked at once; the least recently seen is dropped beyond (env MOTHERGOOSE_UNAUTH_SOURCES)")
	bindSecretFlags(f, c)
}

// StoreURL is the store to open: --store, or by default the SQLite file
// gosling.db in --data-dir.
func (c Config) StoreURL() string { return store.URL(c.Store, c.DataDir) }

// envDuration reads a duration from env; an unparsable value becomes -1,
// which Validate reports.
func envDuration(key string, def time.Duration) time.Duration { return cliconf.EnvDuration(key, def) }

// envFloat reads a number from env; an unparsable value becomes -1, which
// Validate reports.
func envFloat(key string, def float64) float64 {
	v, ok := os.LookupEnv(key)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return -1
	}
	return f
}

// envInt reads an integer from env; an unparsable value becomes -1, which
// Validate reports.
func envInt(key string, def int) int {
	v, ok := os.LookupEnv(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return -1
	}
	return n
}

// envBool reads a boolean from env (strconv.ParseBool); an unparsable
// value keeps def.
func envBool(key string, def bool) bool {
	if b, err := strconv.ParseBool(strings.TrimSpace(os.Getenv(key))); err == nil {
		return b
	}
	return def
}

func env(key, def string) string { return cliconf.Env(key, def) }

// Validate reports every problem at once; serving also needs the HTTP settings.
func (c Config) Validate() error { return c.validate(false) }

// ValidateServe is Validate for `serve`: it also checks --listen and the tokens.
func (c Config) ValidateServe() error { return c.validate(true) }

func (c Config) validate(serving bool) error {
	problems := store.Problems(c.Store, c.DataDir)
	if c.BlobStore != "" {
		if _, err := s3blobs.ParseURL(c.BlobStore); err != nil {
			problems = append(problems, "--blob-store: "+errs.Message(err))
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		problems = append(problems, err.Error())
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.PollInterval <= 0 {
		problems = append(problems, "--poll-interval (or MOTHERGOOSE_POLL_INTERVAL) must be a positive duration such as 500ms")
	}
	if c.Nest != "" {
		if c.SyncInterval <= 0 {
			problems = append(problems, "--sync-interval (or MOTHERGOOSE_SYNC_INTERVAL) must be a positive duration such as 1m")
		}
		if c.DataDir == "" {
			problems = append(problems, "--data-dir is empty")
		}
		if c.NestBranch == "" {
			problems = append(problems, "--nest-branch is empty")
		}
	}
	if serving {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			problems = append(problems, fmt.Sprintf("--listen %q: want host:port such as 127.0.0.1:8080 or :0", c.Listen))
		}
		if c.APIToken == "" {
			problems = append(problems, "--api-token (or MOTHERGOOSE_API_TOKEN) is empty")
		}
		if c.TriggerToken == "" {
			problems = append(problems, "--trigger-token (or MOTHERGOOSE_TRIGGER_TOKEN) is empty")
		}
		if c.APIToken != "" && c.APIToken == c.TriggerToken {
			problems = append(problems, "--api-token and --trigger-token must differ")
		}
		_, bad := c.apiTokens()
		problems = append(problems, bad...)
		_, bad = c.secretTTLs()
		problems = append(problems, bad...)
		_, bad = c.runnerSecretBases()
		problems = append(problems, bad...)
		if c.SecretNegativeTTL <= 0 {
			problems = append(problems, "--secret-negative-ttl (or MOTHERGOOSE_SECRET_NEGATIVE_TTL) must be a positive duration such as 5s")
		}
		if c.SecretStaleFor < 0 {
			problems = append(problems, "--secret-stale-for (or MOTHERGOOSE_SECRET_STALE_FOR) must be a duration such as 10m, or 0 never to serve a stale secret")
		}
		if c.ReconcileInterval < 0 {
			problems = append(problems, "--reconcile-interval (or MOTHERGOOSE_RECONCILE_INTERVAL) must be a duration such as 1m, or 0 to disable reconciliation")
		}
		if c.WebhookCheckInterval < 0 {
			problems = append(problems, "--webhook-check-interval (or MOTHERGOOSE_WEBHOOK_CHECK_INTERVAL) must be a duration such as 5m, or 0 to disable webhook installation")
		}
		if c.BreakAfter < 1 {
			// 0 would be read as the default; the breaker cannot be turned off.
			problems = append(problems, fmt.Sprintf("--break-after (or MOTHERGOOSE_BREAK_AFTER) is %d: want at least 1, the runners of an egg that fail to provision in a row before it stops provisioning", c.BreakAfter))
		}
		for _, f := range []struct {
			flag string
			v    float64
		}{
			{"--unauth-rate (or MOTHERGOOSE_UNAUTH_RATE)", c.UnauthRate},
			{"--unauth-burst (or MOTHERGOOSE_UNAUTH_BURST)", float64(c.UnauthBurst)},
			{"--unauth-total-rate (or MOTHERGOOSE_UNAUTH_TOTAL_RATE)", c.UnauthTotalRate},
			{"--unauth-total-burst (or MOTHERGOOSE_UNAUTH_TOTAL_BURST)", float64(c.UnauthTotalBurst)},
			{"--unauth-sources (or MOTHERGOOSE_UNAUTH_SOURCES)", float64(c.UnauthSources)},
			{"--max-applies (or MOTHERGOOSE_MAX_APPLIES)", float64(c.MaxApplies)},
			{"--tofu-timeout (or MOTHERGOOSE_TOFU_TIMEOUT)", c.TofuTimeout.Seconds()},
			{"--plan-retention (or MOTHERGOOSE_PLAN_RETENTION)", c.PlanRetention.Seconds()},
		} {
			if !(f.v > 0) || math.IsInf(f.v, 0) {
				problems = append(problems, f.flag+" must be a positive number")
			}
		}
	}
	if len(problems) > 0 {
		return errs.Errorf(errs.EINVALID, "invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) { return cliconf.ParseLevel(s) }

func (c Config) logger() *slog.Logger { return cliconf.Logger(c.LogLevel, c.LogFormat) }

// exitCode: 2 for usage and configuration errors, 1 for everything else.
func exitCode(err error) int {
	if errs.Code(err) == errs.EINVALID {
		return 2
	}
	return 1
}

// apiTokens returns the GitLab API token URIs by server (commands.ServerHost:
// lower-case host[:port]) from MOTHERGOOSE_GITLAB_API_TOKENS and then
// --gitlab-api-token, a flag replacing the env's pair for the same server,
// and the problems found: a pair that is no SERVER=URI, a bad server, a URI
// whose scheme is no secret scheme, a server given
// twice by the flags or twice by the env.
func (c Config) apiTokens() (map[string]string, []string) {
	tokens := map[string]string{}
	var problems []string
	add := func(source string, pairs []string) {
		seen := map[string]bool{}
		for i, pair := range pairs {
			// A pair is named by its server or position, never echoed
			// whole: a mistaken value may be the token itself.
			at := fmt.Sprintf("%s (pair %d)", source, i+1)
			server, uri, ok := strings.Cut(pair, "=")
			server, uri = strings.TrimSpace(server), strings.TrimSpace(uri)
			switch {
			case !ok:
				problems = append(problems, at+": want SERVER=SECRET-URI such as gitlab.com=env://GITLAB_API_TOKEN")
				continue
			case server == "":
				problems = append(problems, at+": no server before =")
				continue
			}
			host, err := commands.ServerHost(server)
			if err != nil {
				problems = append(problems, at+": "+errs.Message(err))
				continue
			}
			at = source + " " + host
			scheme, _, hasScheme := strings.Cut(uri, "://")
			switch {
			case uri == "":
				problems = append(problems, at+": no secret URI after =")
				continue
			case !hasScheme:
				problems = append(problems, at+": the value after = is not a secret URI (not shown); want "+secretShapes())
				continue
			case !knownScheme(scheme):
				problems = append(problems, fmt.Sprintf("%s: secret URI %q: scheme %s:// is not a secret scheme; want %s", at, uri, scheme, secretShapes()))
				continue
			case seen[host]:
				problems = append(problems, at+": the server is given more than once")
				continue
			}
			seen[host] = true
			tokens[host] = uri
		}
	}
	var fromEnv []string
	for _, pair := range strings.Split(c.GitLabAPITokensEnv, ",") {
		if pair = strings.TrimSpace(pair); pair != "" {
			fromEnv = append(fromEnv, pair)
		}
	}
	add("MOTHERGOOSE_GITLAB_API_TOKENS", fromEnv)
	add("--gitlab-api-token", c.GitLabAPITokens)
	return tokens, problems
}
