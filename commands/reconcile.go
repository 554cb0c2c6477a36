package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// ReconcileActor is the actor of the runner requests reconciliation makes.
const ReconcileActor = "mothergoose:reconcile"

// DefaultReconcilePages bounds the GitLab API pages one egg may read in one
// reconciliation pass (group project pages and job pages together).
const DefaultReconcilePages = 10

// DefaultReconcileHold is ReconcilerConfig.Hold's default.
const DefaultReconcileHold = 15 * time.Minute

// maxReconcileReason bounds the error text a recorded failure keeps.
const maxReconcileReason = 1024

// ListedJob is a pending job as the Jobs API lists it.
type ListedJob struct {
	ID   int64
	Tags []string // tag_list
}

// PendingJobLister reads what reconciliation needs from the GitLab REST
// API of server, with the API token tokenURI resolves to. Pages are
// 1-based; next is the page after this one, 0 after the last. Errors carry
// a code (EUNAUTHORIZED, ENOTFOUND, EUNAVAILABLE, ...); a refusal for too
// many requests (429) also has a RetryAfter() time.Duration method.
type PendingJobLister interface {
	// PendingJobs is one page of project's pending jobs
	// (GET /projects/:id/jobs?scope[]=pending).
	PendingJobs(ctx context.Context, server, tokenURI string, project, page int64) (jobs []ListedJob, next int64, err error)
	// GroupProjects is one page of the ids of group's own projects: not
	// its subgroups', not shared ones, not archived ones
	// (GET /groups/:id/projects), the projects whose webhooks the group's
	// egg is found for.
	GroupProjects(ctx context.Context, server, tokenURI string, group, page int64) (projects []int64, next int64, err error)
}

// ReconcilerConfig is what NewReconciler needs. Handlers, Views and GitLab
// are required.
type ReconcilerConfig struct {
	Handlers *Handlers
	Views    ports.ViewStore
	GitLab   PendingJobLister
	// APITokens maps a GitLab server's ServerHost to the secret URI of
	// MotherGoose's API token on it; an egg on a server without one is
	// skipped (logged once per egg).
	APITokens map[string]string
	// MaxPages bounds the pages one egg reads per pass (default
	// DefaultReconcilePages); the rest waits for the next pass.
	MaxPages int
	// Hold is how long an egg is left alone after GitLab refused the token
	// (401, 403) or did not know its project or group (404): asking again
	// at every pass cannot help, and GitLab blocks a source after repeated
	// failed authentications. A new configuration of the egg ends the hold
	// at once. Default DefaultReconcileHold.
	Hold time.Duration
	// Now defaults to time.Now; Logger to slog.Default().
	Now    func() time.Time
	Logger *slog.Logger
}

// Reconciler finds pending GitLab jobs that no webhook asked a runner for
// (GitLab gives up on a webhook after its timeouts and may disable a failing
// hook) and requests one for each, as the webhook would have. The request
// is the webhook path's: the same runner stream (runner-<egg>-job-<job>),
// appended only if it does not exist, so a job both listed and delivered
// gets one runner whichever comes first; the later one finds the stream
// and asks for nothing (the webhook records its delivery ignored).
type Reconciler struct {
	cfg ReconcilerConfig
	log *slog.Logger

	// Touched by Pass only, which runs one at a time (Run).
	paused  map[string]time.Time // by server host: GitLab answered 429
	skipped map[string]bool      // eggs already logged as having no API token
	held    map[string]hold      // by egg: GitLab refused the token or knew no project
	// outcome is, by egg, the last outcome recorded (or found already
	// recorded): "" success, else the failure's key. An egg not in it is
	// recorded at its next pass, which appends only when the log's last
	// outcome differs, so a restart adds nothing for an unchanged outcome.
	outcome map[string]string
}

// hold leaves an egg alone until a time, or until its configuration changes.
type hold struct {
	until      time.Time
	configHash string
}

// eggFailure is the first failure of one egg's pass.
type eggFailure struct {
	scope string
	err   error
}

// NewReconciler returns the reconciliation loop.
func NewReconciler(cfg ReconcilerConfig) (*Reconciler, error) {
	switch {
	case cfg.Handlers == nil:
		return nil, errors.New("commands: reconciler: nil handlers")
	case cfg.Views == nil:
		return nil, errors.New("commands: reconciler: nil view store")
	case cfg.GitLab == nil:
		return nil, errors.New("commands: reconciler: nil GitLab lister")
	case cfg.MaxPages < 0:
		return nil, errors.New("commands: reconciler: negative page bound")
	}
	if cfg.MaxPages == 0 {
		cfg.MaxPages = DefaultReconcilePages
	}
	if cfg.Hold <= 0 {
		cfg.Hold = DefaultReconcileHold
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Reconciler{cfg: cfg, log: cfg.Logger, paused: map[string]time.Time{}, skipped: map[string]bool{},
		held: map[string]hold{}, outcome: map[string]string{}}, nil
}

// ReconcileSummary is what one pass did.
type ReconcileSummary struct {
	Eggs      int // eggs whose projects were listed
	Projects  int // projects whose pending jobs were listed
	Pages     int // API pages read
	Pending   int // pending jobs listed
	Requested int // runners requested now
	Seen      int // jobs that already had a runner request (webhook or earlier pass)
	NotServed int // jobs whose tags the egg does not serve
	Skipped   int // eggs without an API token for their server
	Paused    int // eggs not read because their server answered 429
	Held      int // eggs not read because GitLab refused the token or knew no project (ReconcilerConfig.Hold)
	Truncated int // eggs whose page bound ended their listing
	Failed    int // list calls that failed (logged): a project or group skipped, or a 429
}

// Run runs a pass at once and then every interval until ctx ends. A pass
// that fails is logged and the next one is tried at the next tick.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) error {
	return every(ctx, r.log, "reconciliation", interval, nil, nil, func(ctx context.Context) error {
		_, err := r.Pass(ctx)
		return err
	})
}

// Pass lists the pending jobs of each live egg whose GitLab server has an
// API token, within MaxPages pages per egg, and requests a runner for each
// job whose tags the egg serves and that has none requested yet. A project
// is listed once per pass, for the egg a webhook from it would be found
// for (a project egg before a group egg). A server that answers 429 is not
// asked again before its Retry-After (at least a second) has passed. The
// error is the store's or the context's; GitLab's are logged, and skip the
// project or group they are about. Each egg's outcome is recorded when it
// changes (egg.reconcile_failed, egg.reconcile_recovered); an egg whose
// token GitLab refused, or whose project or group it did not know, is
// held for Hold.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileSummary, error) {
	var sum ReconcileSummary
	rows, err := ports.EggConfigs.In(r.cfg.Views.Read()).List(ctx, ports.Query{})
	if err != nil {
		return sum, err
	}
	eggs := liveEggs(rows)
	slices.SortFunc(eggs, func(a, b liveEgg) int { return strings.Compare(a.row.Name, b.row.Name) })
	passID := fmt.Sprintf("reconcile-%d", r.cfg.Now().UnixNano())
	listed := map[string]bool{} // host/project, once per pass
	for i := range eggs {
		e := &eggs[i]
		tokenURI, ok := APITokenFor(r.cfg.APITokens, e.host)
		if !ok {
			sum.Skipped++
			if !r.skipped[e.row.Name] {
				r.skipped[e.row.Name] = true
				r.log.InfoContext(ctx, "reconciliation skips egg: no GitLab API token for its server (--gitlab-api-token)",
					"egg", e.row.Name, "server", e.row.GitLabServer)
			}
			continue
		}
		delete(r.skipped, e.row.Name) // a token added later: say so again if it goes
		if until, ok := r.paused[e.host]; ok {
			if r.cfg.Now().Before(until) {
				sum.Paused++
				continue
			}
			delete(r.paused, e.host)
		}
		if h, ok := r.held[e.row.Name]; ok {
			if h.configHash == e.row.ConfigHash && r.cfg.Now().Before(h.until) {
				sum.Held++
				continue
			}
			delete(r.held, e.row.Name)
		}
		sum.Eggs++
		var first *eggFailure
		err := r.egg(ctx, e, eggs, tokenURI, passID, listed, &sum, &first)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			var ok bool
			if wait, ok = throttled(err); !ok {
				return sum, err // the store failed: the next tick tries again
			}
			r.paused[e.host] = r.cfg.Now().Add(wait)
			r.log.WarnContext(ctx, "GitLab asks reconciliation to slow down; its server is paused",
				"server", e.host, "egg", e.row.Name, "retry_after", wait)
			sum.Failed++
		}
		if first != nil {
			if c := errs.Code(first.err); c == errs.EUNAUTHORIZED || c == errs.ENOTFOUND {
				wait = r.cfg.Hold
				r.held[e.row.Name] = hold{until: r.cfg.Now().Add(wait), configHash: e.row.ConfigHash}
			}
		}
		if err := r.record(ctx, e, first, wait, passID); err != nil {
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			return sum, err
		}
	}
	if sum.Pending > 0 || sum.Failed > 0 || sum.Truncated > 0 {
		r.log.InfoContext(ctx, "reconciliation pass", "pass", passID, "eggs", sum.Eggs, "projects", sum.Projects,
			"pages", sum.Pages, "pending", sum.Pending, "requested", sum.Requested, "already_requested", sum.Seen,
			"not_served", sum.NotServed, "skipped_no_token", sum.Skipped, "paused", sum.Paused, "held", sum.Held,
			"truncated", sum.Truncated, "failed", sum.Failed)
	}
	return sum, nil
}

// record appends the egg's outcome when it differs from the last one
// recorded: a failure (the pass's first) or a success after one.
func (r *Reconciler) record(ctx context.Context, e *liveEgg, first *eggFailure, wait time.Duration, passID string) error {
	cmd := RecordReconcileOutcome{Meta: Meta{Actor: ReconcileActor, CorrelationID: passID}, Name: e.row.Name, Server: e.row.GitLabServer}
	key := ""
	if first != nil {
		reason, _ := domain.TruncateUTF8(domain.Redact(first.err.Error()), maxReconcileReason)
		code := errs.Code(first.err)
		if code == "" {
			code = errs.EUNAVAILABLE
		}
		cmd.Failure = &events.EggReconcileFailed{Scope: first.scope, Code: code, Reason: reason, RetryAfterMS: wait.Milliseconds()}
		key = first.scope + "\x00" + code + "\x00" + reason
	}
	if last, ok := r.outcome[e.row.Name]; ok && last == key {
		return nil
	}
	if _, err := r.cfg.Handlers.RecordReconcileOutcome(ctx, cmd); err != nil && !errs.Is(err, errs.ENOTFOUND) {
		return fmt.Errorf("record the reconciliation outcome of egg %s: %w", e.row.Name, err)
	}
	r.outcome[e.row.Name] = key
	return nil
}

// failed logs a GitLab error of one list call, keeps the egg's first, and
// says whether the egg's pass ends with it (a 429, returned to pause the
// server); any other error (a token GitLab refuses, a project it does not
// know, GitLab failing) skips only that project or group.
func (r *Reconciler) failed(ctx context.Context, e *liveEgg, err error, what string, id int64, sum *ReconcileSummary, first **eggFailure) error {
	if *first == nil {
		*first = &eggFailure{scope: fmt.Sprintf("%s %d", what, id), err: err}
	}
	if _, ok := throttled(err); ok {
		return err
	}
	sum.Failed++
	r.log.WarnContext(ctx, "reconciliation cannot list "+what, "egg", e.row.Name, what, id,
		"server", e.host, "code", errs.Code(err), "err", err)
	return nil
}

// egg reconciles one egg within its page budget. Its error is a 429 or
// the store's.
func (r *Reconciler) egg(ctx context.Context, e *liveEgg, eggs []liveEgg, tokenURI, passID string, listed map[string]bool, sum *ReconcileSummary, first **eggFailure) error {
	budget := &pageBudget{left: r.cfg.MaxPages}
	owned := func(project, group int64) bool {
		owner, ok := matchEgg(eggs, EggQuery{Project: project, Group: group, Host: e.host})
		return ok && owner.Name == e.row.Name
	}
	var projects []int64
	for _, p := range e.row.ProjectIDs {
		if owned(p, 0) {
			projects = append(projects, p)
		}
	}
	for _, g := range e.row.GroupIDs {
		out, err := r.eachPage(budget, sum, func(page int64) (int64, error) {
			ids, next, err := r.cfg.GitLab.GroupProjects(ctx, e.row.GitLabServer, tokenURI, g, page)
			if err != nil {
				return 0, r.failed(ctx, e, err, "group", g, sum, first)
			}
			for _, p := range ids {
				if owned(p, g) && !slices.Contains(projects, p) {
					projects = append(projects, p)
				}
			}
			return next, nil
		})
		if err != nil || out {
			return err
		}
	}
	for _, p := range projects {
		key := fmt.Sprintf("%s/%d", e.host, p)
		if listed[key] {
			continue
		}
		listed[key] = true
		sum.Projects++
		out, err := r.eachPage(budget, sum, func(page int64) (int64, error) {
			jobs, next, err := r.cfg.GitLab.PendingJobs(ctx, e.row.GitLabServer, tokenURI, p, page)
			if err != nil {
				return 0, r.failed(ctx, e, err, "project", p, sum, first)
			}
			for _, j := range jobs {
				if err := r.request(ctx, e.row, j, passID, sum); err != nil {
					return 0, err
				}
			}
			return next, nil
		})
		if err != nil || out {
			return err
		}
	}
	return nil
}

// pageBudget is how many more list pages one egg's pass may read.
type pageBudget struct{ left int }

// eachPage calls fetch for page 1 and then each next page it returns (0:
// none), one page of budget each. It reports true when the budget ran out
// first (the egg's pass ends there), and stops at fetch's error.
func (r *Reconciler) eachPage(budget *pageBudget, sum *ReconcileSummary, fetch func(page int64) (next int64, err error)) (bool, error) {
	for page := int64(1); page > 0; {
		if budget.left == 0 {
			sum.Truncated++
			return true, nil
		}
		budget.left--
		sum.Pages++
		next, err := fetch(page)
		if err != nil {
			return false, err
		}
		page = next
	}
	return false, nil
}

// request asks for a runner for a listed pending job, as the webhook does.
func (r *Reconciler) request(ctx context.Context, egg ports.EggConfigRow, j ListedJob, passID string, sum *ReconcileSummary) error {
	if j.ID <= 0 {
		return nil
	}
	sum.Pending++
	if missing := notServed(j.Tags, egg.Tags); len(missing) > 0 {
		sum.NotServed++
		return nil
	}
	rid := jobRunnerID(egg.Name, j.ID)
	res, err := r.cfg.Handlers.RequestRunner(ctx, RequestRunner{
		Meta:     Meta{Actor: ReconcileActor, CorrelationID: passID, IdempotencyKey: "reconcile/" + rid},
		RunnerID: rid, Egg: egg.Name, RunnerType: egg.RunnerType,
		Provider: egg.Provider, Region: egg.Region, Tags: uniq(j.Tags), JobID: j.ID,
		Reason: fmt.Sprintf("GitLab job %d is pending (found by reconciliation: no webhook asked for it)", j.ID),
	})
	switch {
	case errs.Is(err, errs.ECONFLICT), err == nil && res.Duplicate:
		sum.Seen++
	case err != nil:
		return fmt.Errorf("reconcile job %d of egg %s: %w", j.ID, egg.Name, err)
	default:
		sum.Requested++
	}
	return nil
}

// jobRunnerID names the runner a pending job asks for: one per egg and
// job, so the webhook and reconciliation find the same stream.
func jobRunnerID(egg string, job int64) string { return fmt.Sprintf("%s-job-%d", egg, job) }

// APITokenFor returns the secret URI of the API token for a GitLab
// server among tokens (keyed by ServerHost), matched as deliveries are
// (SameServer): the same lower-case host[:port], else a token configured
// for the host without a port.
func APITokenFor(tokens map[string]string, server string) (string, bool) {
	host := serverHost(server)
	if uri, ok := tokens[host]; ok {
		return uri, true
	}
	if h, _, ok := strings.Cut(host, ":"); ok {
		uri, ok := tokens[h]
		return uri, ok
	}
	return "", false
}
