// Package httpapi is MotherGoose's HTTP surface (gorilla/mux): the GitLab
// webhook receiver, the internal sync trigger, the bearer-token query API over
// the read views and the event log, and /health, /ready and /metrics.
//
// Errors are answered as {"error":{"code","message"}} with the status taken
// from one table (statusOf); only EINTERNAL errors are logged with detail.
// Tokens and secret values are never logged.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// DefaultMaxBody is the default limit of a webhook body.
const DefaultMaxBody int64 = 1 << 20

// Config is what New needs. Handlers, Views, Events, Secrets, APIToken and
// TriggerToken are required.
type Config struct {
	Handlers *commands.Handlers
	Views    ports.ViewStore
	Events   ports.EventStore
	Secrets  ports.Secrets
	// Sync is nil when no Nest is configured: /internal/sync-git answers 404.
	Sync commands.SyncTrigger
	// Deployer answers POST /eggs/{name}/deploy and /rollback, GET
	// /eggs/{name}/plan and /deploys/{id} (the provisioner); nil: they
	// answer 503.
	Deployer commands.EggDeployer
	// JobTags reads a job's tags from the GitLab Jobs API with the API token
	// tokenURI resolves to (gitlab.Jobs.JobTags). It is asked when a pending
	// Job Hook carries no tags (GitLab's usually do not) and APITokens has a
	// token for the egg's GitLab server; otherwise (or when JobTags is nil)
	// such a job gets the egg's tags.
	JobTags func(ctx context.Context, server string, projectID, jobID int64, tokenURI string) ([]string, error)
	// APITokens maps a GitLab server to the secret URI (resolved through
	// Secrets by JobTags, per call) of MotherGoose's own API token on it: a
	// project, group or personal access token with read_api on the eggs'
	// projects. Keys are servers as eggs give them (an FQDN, perhaps with a
	// port, or a URL) and are matched to an egg's server by lower-case
	// host[:port] (commands.ServerHost), like webhook deliveries; a key without a
	// port also serves that host on any port. One credential per server,
	// set by the operator like the Nest's deploy credential, and not the
	// egg's token_secret: that is a runner authentication token (glrt-...),
	// which the REST API refuses. URIs may be logged, values never.
	APITokens map[string]string
	// APIToken is the bearer token of the query API.
	APIToken string
	// TriggerToken is the X-Trigger-Auth value of /internal/*; a push webhook
	// for a project that is no egg, carrying it as X-Gitlab-Token, is a push
	// to the Nest and triggers a sync.
	TriggerToken string
	// MaxBody limits webhook bodies (default DefaultMaxBody).
	MaxBody int64
	// Unauthenticated limits the deliveries no token authenticates (for a
	// project no egg owns) per source and in total; zero fields take
	// DefaultUnauthenticatedLimits.
	Unauthenticated UnauthenticatedLimits
	// LastSeen keeps each runner's last heartbeat: POST
	// /runners/{id}/heartbeat records there (nil: that route answers 503),
	// and /runners shows it (last_heartbeat_at).
	LastSeen ports.LastSeen
	// Blobs holds the registered binaries' bytes, served without
	// authentication at /v1/binaries/{kind}/{version}/{os-arch} (nil: that
	// route answers 503).
	Blobs ports.Blobs
	// Now is the clock of heartbeats (default time.Now).
	Now func() time.Time
	// Ready reports whether the store is reachable (nil: always).
	Ready func(context.Context) error
	// Lag reports per projector how far its checkpoint is behind the log
	// (nil: never behind).
	Lag func(context.Context) (map[string]uint64, error)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registry receives the metrics and is served on /metrics (default: a new one).
	Registry *prometheus.Registry
	// Metrics are the collectors the API updates (default: NewMetrics(Registry, Lag)).
	// When given, they must have been registered with Registry.
	Metrics *Metrics
}

type server struct {
	cfg        Config
	log        *slog.Logger
	metrics    *Metrics
	webhooks   *commands.Webhooks
	heartbeats *commands.Heartbeats // nil without a LastSeen
}

// New returns the API's handler.
func New(cfg Config) (http.Handler, error) {
	switch {
	case cfg.Handlers == nil:
		return nil, errors.New("httpapi: nil command handlers")
	case cfg.Views == nil:
		return nil, errors.New("httpapi: nil view store")
	case cfg.Events == nil:
		return nil, errors.New("httpapi: nil event store")
	case cfg.Secrets == nil:
		return nil, errors.New("httpapi: nil secrets")
	case cfg.APIToken == "":
		return nil, errors.New("httpapi: empty API token")
	case cfg.TriggerToken == "":
		return nil, errors.New("httpapi: empty trigger token")
	case cfg.MaxBody < 0:
		return nil, errors.New("httpapi: negative body limit")
	}
	if err := cfg.Unauthenticated.Check(); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Metrics == nil {
		m, err := NewMetrics(cfg.Registry, cfg.Lag)
		if err != nil {
			return nil, err
		}
		cfg.Metrics = m
	}
	apiTokens := make(map[string]string, len(cfg.APITokens))
	for server, uri := range cfg.APITokens {
		host, err := commands.ServerHost(server)
		if err != nil {
			return nil, fmt.Errorf("httpapi: API token: %w", err)
		}
		if uri == "" {
			return nil, fmt.Errorf("httpapi: empty API token URI for GitLab server %s", host)
		}
		if _, dup := apiTokens[host]; dup {
			return nil, fmt.Errorf("httpapi: more than one API token for GitLab server %s", host)
		}
		apiTokens[host] = uri
	}
	webhooks, err := newWebhooks(cfg, apiTokens)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &server{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, webhooks: webhooks}
	if cfg.LastSeen != nil {
		if s.heartbeats, err = commands.NewHeartbeats(cfg.Handlers, cfg.Views, cfg.LastSeen, cfg.Now); err != nil {
			return nil, err
		}
	}

	r := mux.NewRouter()
	r.Use(s.instrument)
	r.NotFoundHandler = s.instrumentRoute("unmatched", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errs.Errorf(errs.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	}))
	r.MethodNotAllowedHandler = s.instrumentRoute("unmatched", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusMethodNotAllowed, errs.EINVALID, "method "+r.Method+" is not allowed here")
	}))

	r.Handle("/health", http.HandlerFunc(s.health)).Methods(http.MethodGet)
	r.Handle("/ready", http.HandlerFunc(s.ready)).Methods(http.MethodGet)
	r.Handle("/openapi.json", http.HandlerFunc(s.openAPIDoc)).Methods(http.MethodGet)
	r.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	r.Handle("/webhooks/gitlab", http.HandlerFunc(s.gitlabWebhook)).Methods(http.MethodPost)
	r.Handle("/internal/sync-git", s.triggerAuth(http.HandlerFunc(s.syncGit))).Methods(http.MethodPost)
	// The agent's own credential authenticates it, not the API token.
	r.Handle("/runners/{id}/heartbeat", http.HandlerFunc(s.heartbeat)).Methods(http.MethodPost)
	r.Handle("/v1/binaries/{kind}/{version}/{platform}", http.HandlerFunc(s.downloadBinary)).Methods(http.MethodGet, http.MethodHead)

	api := r.NewRoute().Subrouter()
	api.Use(s.bearerAuth)
	api.HandleFunc("/eggs", s.listEggs).Methods(http.MethodGet)
	api.HandleFunc("/eggs/{name}", s.getEgg).Methods(http.MethodGet)
	api.HandleFunc("/eggs/{name}/status", s.eggStatus).Methods(http.MethodGet)
	api.HandleFunc("/eggs/{name}/webhooks", s.eggWebhooks).Methods(http.MethodGet)
	api.HandleFunc("/eggs/{name}/retry", s.retryEgg).Methods(http.MethodPost)
	api.HandleFunc("/eggs/{name}/plan", s.eggPlan).Methods(http.MethodGet)
	api.HandleFunc("/eggs/{name}/deploy", s.deployEgg).Methods(http.MethodPost)
	api.HandleFunc("/eggs/{name}/rollback", s.rollbackEgg).Methods(http.MethodPost)
	api.HandleFunc("/eggs/{name}/deploys/{id}", s.deployStatus).Methods(http.MethodGet)
	api.HandleFunc("/runners", s.listRunners).Methods(http.MethodGet)
	api.HandleFunc("/runners/{id}", s.getRunner).Methods(http.MethodGet)
	api.HandleFunc("/runners/{id}/terminate", s.terminateRunner).Methods(http.MethodPost)
	api.HandleFunc("/runners/{id}/pool", s.changeRunnerPool).Methods(http.MethodPost)
	api.HandleFunc("/plans", s.listPlans).Methods(http.MethodGet)
	api.HandleFunc("/plans/{id}", s.getPlan).Methods(http.MethodGet)
	api.HandleFunc("/sync-history", s.listSyncHistory).Methods(http.MethodGet)
	api.HandleFunc("/audit", s.listAudit).Methods(http.MethodGet)
	api.HandleFunc("/events", s.listEvents).Methods(http.MethodGet)
	api.HandleFunc("/binaries", s.listBinaries).Methods(http.MethodGet)
	return r, nil
}

// statusOf is the one table from error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case errs.EINVALID:
		return http.StatusBadRequest
	case errs.ENOTFOUND:
		return http.StatusNotFound
	case errs.ECONFLICT:
		return http.StatusConflict
	case errs.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case errs.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers err with its code's status; EINTERNAL is logged with
// detail. A rate-limited delivery (EUNAVAILABLE too) is 429 with
// Retry-After; a heartbeat of a terminated runner (ECONFLICT) is 410 Gone,
// which tells its agent to stop.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var limited *commands.RateLimitedError
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
		writeJSONError(w, http.StatusTooManyRequests, errs.EUNAVAILABLE, limited.Error())
		return
	}
	var gone *commands.RunnerTerminatedError
	if errors.As(err, &gone) {
		writeJSONError(w, http.StatusGone, errs.ECONFLICT, gone.Error())
		return
	}
	code := errs.Code(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code = errs.EUNAVAILABLE
	}
	if code == errs.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	msg := errs.Message(err)
	if code == errs.EUNAVAILABLE && errs.Code(err) != errs.EUNAVAILABLE {
		msg = "request cancelled or timed out"
	}
	writeJSONError(w, statusOf(code), code, msg)
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// equalSecret compares in constant time, also in the length (both sides are hashed first).
func equalSecret(got, want []byte) bool {
	if len(want) == 0 {
		return false
	}
	a, b := sha256.Sum256(got), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (s *server) bearerAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || !equalSecret([]byte(tok), []byte(s.cfg.APIToken)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mothergoose"`)
			s.writeError(w, r, errs.Errorf(errs.EUNAUTHORIZED, "a valid bearer token is required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken returns the credentials of an Authorization value in the
// Bearer scheme. The scheme is matched case-insensitively (RFC 9110 11.1:
// "bearer" and "BEARER" are "Bearer") and separated from the token by one
// or more spaces or tabs.
func bearerToken(h string) (string, bool) {
	h = strings.TrimLeft(h, " \t")
	i := strings.IndexAny(h, " \t")
	if i < 0 || !strings.EqualFold(h[:i], "Bearer") {
		return "", false
	}
	tok := strings.Trim(h[i:], " \t")
	return tok, tok != ""
}

func (s *server) triggerAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !equalSecret([]byte(r.Header.Get("X-Trigger-Auth")), []byte(s.cfg.TriggerToken)) {
			s.writeError(w, r, errs.Errorf(errs.EUNAUTHORIZED, "a valid X-Trigger-Auth header is required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) syncGit(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Sync == nil {
		s.writeError(w, r, errs.Errorf(errs.ENOTFOUND, "no Nest is configured (--nest)"))
		return
	}
	s.cfg.Sync.Trigger("manual")
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sync triggered"})
}

func (s *server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready: store unreachable", "error", err)
			writeJSONError(w, http.StatusServiceUnavailable, errs.EUNAVAILABLE, "the store is not reachable")
			return
		}
	}
	lag := map[string]uint64{}
	if s.cfg.Lag != nil {
		l, err := s.cfg.Lag(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "not ready: projector lag unknown", "error", err)
			writeJSONError(w, http.StatusServiceUnavailable, errs.EUNAVAILABLE, "projector lag cannot be read")
			return
		}
		lag = l
	}
	var behind []string
	for name, n := range lag {
		if n > 0 {
			behind = append(behind, name+" is "+strconv.FormatUint(n, 10)+" events behind")
		}
	}
	if len(behind) > 0 {
		slices.Sort(behind)
		writeJSONError(w, http.StatusServiceUnavailable, errs.EUNAVAILABLE, "projections are catching up: "+strings.Join(behind, ", "))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "lag": lag})
}

// drain reads and discards what is left of a body so the connection can be reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }
