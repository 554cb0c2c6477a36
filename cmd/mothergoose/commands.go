package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/blobs/s3blobs"
	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo"
	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/watermill"
	"github.com/polar-gosling/polar-gosling/cmd/internal/foxrun"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/commands/nestsync"
	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

func newRootCommand() *cobra.Command {
	cfg := defaultConfig()
	root := &cobra.Command{
		Use:           "mothergoose",
		Short:         "Polar Gosling control plane: commands, event log, projections",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Name() == "serve" {
				return cfg.ValidateServe()
			}
			return cfg.Validate()
		},
	}
	bindSharedFlags(root, &cfg)
	serve := serveCommand(&cfg)
	bindServeFlags(serve, &cfg)
	root.AddCommand(serve, replayCommand(&cfg), migrateCommand(&cfg), eventsCommand(&cfg), binariesCommand(&cfg))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return errs.Wrap(errs.EINVALID, err, "usage") })
	return root
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func serveCommand(cfg *Config) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run command handling and live projections until SIGINT/SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := &Main{Config: *cfg}
			if err := m.Open(cmd.Context()); err != nil {
				return errors.Join(err, m.Close())
			}
			err := m.Run(cmd.Context())
			return errors.Join(err, m.Close())
		},
	}
}

func replayCommand(cfg *Config) *cobra.Command {
	var view string
	c := &cobra.Command{
		Use:   "replay",
		Short: "rebuild read views from the event log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			views := ports.AllViews
			if view != "all" {
				if !slices.Contains(ports.AllViews, view) {
					return errs.Errorf(errs.EINVALID, "--view %q: want all or one of %s", view, strings.Join(ports.AllViews, ", "))
				}
				views = []string{view}
			}
			log := cfg.logger()
			st, err := openStorage(cmd.Context(), cfg.StoreURL(), true, log)
			if err != nil {
				return err
			}
			defer closeReporting(st, &err)
			runner, err := newProjections(st, events.NewCodec(events.NewRegistry()), cfg.PollInterval, log)
			if err != nil {
				return err
			}
			for _, v := range views {
				start := time.Now()
				if err := projections.Replay(cmd.Context(), runner, v); err != nil {
					return fmt.Errorf("replay %s: %w", v, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s rebuilt in %s\n", v, time.Since(start).Round(time.Millisecond))
			}
			return nil
		},
	}
	c.Flags().StringVar(&view, "view", "all", "the view to rebuild: all, "+strings.Join(ports.AllViews, ", "))
	return c
}

func migrateCommand(cfg *Config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "create the store's tables (SQLite file or DynamoDB tables); safe to run again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			st, err := openStorage(cmd.Context(), cfg.StoreURL(), true, cfg.logger())
			if err != nil {
				return err
			}
			defer closeReporting(st, &err)
			fmt.Fprintln(cmd.OutOrStdout(), "store ready:", cfg.StoreURL())
			return nil
		},
	}
}

func eventsCommand(cfg *Config) *cobra.Command {
	var after uint64
	var limit int
	var stream string
	c := &cobra.Command{
		Use:   "events",
		Short: "print events from the log as JSON lines (the audit replay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if limit <= 0 {
				return errs.Errorf(errs.EINVALID, "--limit must be positive")
			}
			st, err := openStorage(cmd.Context(), cfg.StoreURL(), false, cfg.logger())
			if err != nil {
				return err
			}
			defer closeReporting(st, &err)
			return printEvents(cmd.Context(), st.Events, stream, after, limit, json.NewEncoder(cmd.OutOrStdout()))
		},
	}
	c.Flags().Uint64Var(&after, "after", 0, "start after this global position (or stream version with --stream)")
	c.Flags().IntVar(&limit, "limit", 100, "print at most this many events")
	c.Flags().StringVar(&stream, "stream", "", "only this stream")
	return c
}

func printEvents(ctx context.Context, store ports.EventStore, stream string, after uint64, limit int, enc *json.Encoder) error {
	recs, _, err := ports.ReadPage(ctx, store, stream, after, limit)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// Main is the serve composition root: Open builds everything, Run runs it
// until ctx ends, Close releases it.
type Main struct {
	Config Config
	// Logger, when set, is the log (tests capture it); else Config's.
	Logger *slog.Logger
	// GitLabHTTP, when set, is the client of the GitLab API calls (tests
	// give one that trusts a fake's certificate); else a default one.
	GitLabHTTP *http.Client

	storage       *storage
	Handlers      *commands.Handlers
	Bus           *watermill.Bus
	Projections   *projections.Loop
	nestRepo      *gitrepo.Repo
	Sync          *nestsync.Syncer // nil when no Nest is configured
	Provisioner   *provisioner.Provisioner
	Registry      *prometheus.Registry
	metrics       *httpapi.Metrics
	log           *slog.Logger
	secrets       *secrets.Cache             // the one cache every secret is resolved through (Nest credential, API tokens, webhook secrets)
	secretRouter  *secrets.Router            // the backends behind it, closed at Close
	redactions    *secrets.Redactions        // values resolved, redacted from every log line
	secretAudit   *secretAudit               // secret.accessed, recorded by Run
	secretFetches *prometheus.CounterVec     // the cache's backend fetches by scheme and outcome
	apiTokens     map[string]string          // GitLab server -> secret URI of its API token, all resolvable at Open
	reconciler    *commands.Reconciler       // nil when --reconcile-interval is 0
	webhooks      *commands.WebhookInstaller // nil when --webhook-check-interval is 0
	secretCheck   *secretCheck               // warns of eggs whose webhook secret cannot be resolved
	blobs         ports.Blobs                // the registered binaries' bytes (mothergoose binaries add)
	// Sweeper, when set, is the in-process UglyFox sweep (tests give a
	// fake); else foxrun.NewSweeper's.
	Sweeper uglyfox.SweepRunner
	fox     *foxrun.Loop // nil with --uglyfox=false

	server   *http.Server
	listener net.Listener
}

// shutdownTimeout bounds how long in-flight requests may finish at shutdown.
const shutdownTimeout = 10 * time.Second

// Addr is the HTTP API's bound address (useful with --listen :0); "" before Open.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// Open builds the store, the command handlers and bus, and the projectors.
func (m *Main) Open(ctx context.Context) error {
	m.log = m.Logger
	if m.log == nil {
		m.log = m.Config.logger()
	}
	if err := m.openSecrets(); err != nil {
		return err
	}
	log := m.log
	// Configuration that can only fail later (a webhook's Jobs API read)
	// fails here instead, before anything is opened.
	tokens, err := checkAPITokens(ctx, m.Config, m.secrets)
	if err != nil {
		return err
	}
	m.apiTokens = tokens
	st, err := openStorage(ctx, m.Config.StoreURL(), true, log)
	if err != nil {
		return err
	}
	m.storage = st
	if m.blobs, err = m.Config.openBlobs(ctx); err != nil {
		return err
	}
	if b, ok := m.blobs.(*s3blobs.Store); ok {
		// A bucket that is down or misnamed only fails the binaries'
		// downloads and pinned plans: serve starts and says so.
		if err := b.Check(ctx); err != nil {
			log.Warn("the blob store's bucket cannot be read: binary downloads and pinned tofu versions fail until it can", "blob_store", m.Config.BlobStore, "err", err)
		}
	}
	codec := events.NewCodec(events.NewRegistry())
	if m.Handlers, err = commands.NewHandlers(st.Events, codec, time.Now, newID, commands.WithLeases(st.Leases)); err != nil {
		return err
	}
	if m.Bus, err = watermill.NewBus(m.Handlers.Routes(), log); err != nil {
		return err
	}
	if m.Projections, err = newProjections(st, codec, m.Config.PollInterval, log); err != nil {
		return err
	}
	// The metrics come first: the Nest sync and the API both report to them.
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Registry.MustRegister(st.Metrics...)
	m.Registry.MustRegister(m.secretFetches)
	if m.metrics, err = httpapi.NewMetrics(m.Registry, m.Projections.Lag); err != nil {
		return err
	}
	m.secretCheck = newSecretCheck(st.Events, st.Views, m.secrets, log, 50*time.Millisecond)
	if m.Config.Nest != "" {
		if err := m.openNest(ctx, st, codec, log); err != nil {
			return err
		}
	}
	if err := m.openHTTP(st, log); err != nil {
		return err
	}
	if err := m.openUglyFox(st, log); err != nil {
		return err
	}
	return m.openProvisioner(ctx, st, codec)
}

// openHTTP builds the API handler and binds the listener, so that Addr is
// known before Run.
func (m *Main) openHTTP(st *storage, log *slog.Logger) error {
	jobs, err := gitlab.NewJobs(gitlab.Config{Secrets: m.secrets, Timeout: 5 * time.Second, HTTPClient: m.GitLabHTTP})
	if err != nil {
		return err
	}
	if m.Config.ReconcileInterval > 0 {
		// Jobs whose webhook GitLab gave up on (or never sent) are found
		// through the Jobs API with the same API tokens.
		if m.reconciler, err = commands.NewReconciler(commands.ReconcilerConfig{
			Handlers: m.Handlers, Views: st.Views, GitLab: jobs, APITokens: m.apiTokens, Logger: log,
		}); err != nil {
			return err
		}
	}
	if err := m.openWebhookInstaller(st, jobs); err != nil {
		return err
	}
	cfg := httpapi.Config{
		JobTags: jobs.JobTags, APITokens: m.apiTokens,
		Handlers: m.Handlers, Views: st.Views, Events: st.Events, Secrets: m.secrets,
		APIToken: m.Config.APIToken, TriggerToken: m.Config.TriggerToken, Unauthenticated: m.Config.unauthLimits(),
		Ready: st.Ready, Lag: m.Projections.Lag, Logger: log, Registry: m.Registry, Metrics: m.metrics,
		LastSeen: st.LastSeen, Deployer: provisionerDeployer{m}, Blobs: m.blobs,
	}
	if m.Sync != nil { // a nil *Syncer in the interface would not be nil
		cfg.Sync = m.Sync
	}
	h, err := httpapi.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "listen on %s", m.Config.Listen)
	}
	m.listener = ln
	m.server = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return nil
}

// apiTokenTimeout bounds resolving one GitLab API token at Open.
const apiTokenTimeout = 10 * time.Second

// checkAPITokens returns cfg's GitLab API token URIs by server after
// resolving each once, so that a token that is not there fails serve at
// start, naming the server and the URI (never the value), rather than every
// untagged job's webhook later. Values are not kept: the Jobs API reader
// resolves the URI for each call (a rotated secret is picked up).
func checkAPITokens(ctx context.Context, cfg Config, sec ports.Secrets) (map[string]string, error) {
	tokens, problems := cfg.apiTokens()
	if len(problems) > 0 {
		return nil, errs.Errorf(errs.EINVALID, "invalid configuration: %s", strings.Join(problems, "; "))
	}
	code := errs.EINVALID
	for _, server := range slices.Sorted(maps.Keys(tokens)) {
		uri := tokens[server]
		rctx, cancel := context.WithTimeout(ctx, apiTokenTimeout)
		value, err := sec.Resolve(rctx, uri)
		cancel()
		switch {
		case err != nil:
			if c := errs.Code(err); c != errs.EINVALID && c != errs.ENOTFOUND {
				code = errs.EUNAVAILABLE // the store failed, not the configuration
			}
			problems = append(problems, fmt.Sprintf("the GitLab API token of %s (%s) cannot be resolved: %s", server, uri, errs.Message(err)))
		case len(bytes.TrimSpace(value)) == 0:
			problems = append(problems, fmt.Sprintf("the GitLab API token of %s (%s) is empty", server, uri))
		}
	}
	if len(problems) > 0 {
		return nil, errs.Errorf(code, "GitLab API tokens (--gitlab-api-token, MOTHERGOOSE_GITLAB_API_TOKENS): %s", strings.Join(problems, "; "))
	}
	return tokens, nil
}

func (m *Main) openNest(ctx context.Context, st *storage, codec *events.Codec, log *slog.Logger) error {
	var err error
	m.nestRepo, err = gitrepo.Open(ctx, gitrepo.Config{
		URL: m.Config.Nest, Dir: filepath.Join(m.Config.DataDir, "nest.git"), Branch: m.Config.NestBranch,
		Auth: m.Config.NestAuth, Secrets: m.secrets,
	})
	if err != nil {
		return err
	}
	observe := m.metrics.SyncObserver()
	m.Sync, err = nestsync.New(nestsync.Config{
		Repo: m.nestRepo, Loader: fly.NewSyncLoader(), Handlers: m.Handlers, LastSync: nestsync.StoreLastSync(st.Events, codec),
		Branch: m.Config.NestBranch, Logger: log,
		Observe: func(trigger, status string, d time.Duration) {
			observe(trigger, status, d)
			if status == nestsync.StatusSynced { // eggs may have changed
				m.secretCheck.Trigger()
				if m.webhooks != nil {
					m.webhooks.Trigger()
				}
			}
		},
	})
	return err
}

func newProjections(st *storage, codec *events.Codec, poll time.Duration, log *slog.Logger) (*projections.Loop, error) {
	return projections.NewLoop(projections.Config{
		Store: st.Events, Views: st.Views, Codec: codec, Projectors: projections.All(),
		Wake: st.Wake, PollInterval: poll, Logger: log,
	})
}

// Run serves the HTTP API and runs the bus, the projectors and the Nest
// schedule until ctx ends or one of them fails. At the end the HTTP server
// stops accepting and lets in-flight requests finish (at most
// shutdownTimeout) before the workers are stopped.
func (m *Main) Run(ctx context.Context) error {
	log := m.log
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	workers := 4
	errc := make(chan error, 8)
	workers++
	go func() { errc <- m.secretAudit.Run(work, m.Handlers) }()
	go func() { errc <- m.Provisioner.Run(work) }()
	go func() { errc <- m.Bus.Run(work) }()
	go func() { errc <- m.Projections.Run(work) }()
	// Eggs known at start are checked once the views have caught up;
	// those a sync brings, after it.
	m.secretCheck.Trigger()
	go func() { errc <- m.secretCheck.Run(work) }()
	if m.Sync != nil {
		workers++
		// A first sync at start, then one per interval. A failing sync is
		// recorded (nest.sync_failed) and tried again at the next tick.
		go func() { errc <- m.Sync.RunSchedule(work, m.Config.SyncInterval) }()
	}
	if m.reconciler != nil {
		workers++
		go func() { errc <- m.reconciler.Run(work, m.Config.ReconcileInterval) }()
	}
	if m.fox != nil {
		workers++
		go func() { errc <- m.fox.Run(work) }()
	}
	if m.webhooks != nil {
		workers++
		// A pass at once, and another when the views have caught up with
		// the log as it is at start.
		m.webhooks.Trigger()
		go func() { errc <- m.webhooks.Run(work, m.Config.WebhookCheckInterval) }()
	}
	httpc := make(chan error, 1)
	go func() {
		err := m.server.Serve(m.listener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		httpc <- err
	}()
	head, err := m.storage.Events.Head(ctx)
	if err != nil {
		log.Warn("log head unknown", "err", err)
	}
	log.Info("mothergoose serving", "addr", m.Addr(), "store", m.Config.StoreURL(), "log_head", head, "views", strings.Join(ports.AllViews, ","), "nest", m.Config.Nest, "reconcile_interval", m.Config.ReconcileInterval, "webhook_check_interval", m.Config.WebhookCheckInterval,
		"gitlab_api_tokens", strings.Join(slices.Sorted(maps.Keys(m.apiTokens)), ","), "uglyfox", m.fox != nil,
		"secrets", m.secrets.String())

	var first error
	keep := func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = err
		}
	}
	httpDone := false
	select {
	case <-ctx.Done():
	case err := <-errc:
		keep(err)
		workers--
	case err := <-httpc:
		keep(err)
		httpDone = true
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	if err := m.server.Shutdown(sctx); err != nil {
		log.Warn("http shutdown: in-flight requests cut off", "err", err)
		_ = m.server.Close()
	}
	scancel()
	if !httpDone {
		keep(<-httpc)
	}
	cancel()
	for range workers {
		keep(<-errc)
	}
	log.Info("mothergoose stopped")
	return first
}

// Close releases everything Open built.
func (m *Main) Close() error {
	var errList []error
	if m.server != nil {
		_ = m.server.Close() // Run already shut it down gracefully; this covers Open without Run
	}
	if m.listener != nil {
		_ = m.listener.Close() // already closed after Serve; not after Open alone
	}
	if m.Sync != nil {
		m.Sync.Close()
	}
	if m.nestRepo != nil {
		errList = append(errList, m.nestRepo.Close())
	}
	if m.Bus != nil {
		errList = append(errList, m.Bus.Close())
	}
	if m.storage != nil {
		errList = append(errList, m.storage.Close())
	}
	if m.secretRouter != nil {
		errList = append(errList, m.secretRouter.Close())
	}
	return errors.Join(errList...)
}

// closeReporting closes st and adds its error to *err, so that a store that
// fails to close (an unflushed file) is not reported as success.
func closeReporting(st *storage, err *error) {
	*err = errors.Join(*err, st.Close())
}
