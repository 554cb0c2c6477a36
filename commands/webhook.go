package commands

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// ReceiveDelivery is one GitLab webhook delivery as a transport read it:
// what its headers mean and its decoded body. Webhooks.ReceiveDelivery
// decides what becomes of it.
type ReceiveDelivery struct {
	// ID deduplicates: X-Gitlab-Event-UUID, else Idempotency-Key.
	ID string
	// Event is X-Gitlab-Event ("" when absent).
	Event string
	// Token is X-Gitlab-Token, checked against the egg's webhook secret.
	Token string
	// Source is the sender as the limits of unauthenticated deliveries
	// count it: its address (an IPv6 one by its /64); the zero Prefix is
	// one shared source.
	Source netip.Prefix
	// Payload is the body.
	Payload HookPayload
}

// HookPayload is the part of a GitLab webhook body we read; the json tags
// are GitLab's field names.
type HookPayload struct {
	ObjectKind  string          `json:"object_kind"`
	ProjectID   int64           `json:"project_id"`
	GroupID     int64           `json:"group_id"`
	Ref         string          `json:"ref"`
	BuildID     int64           `json:"build_id"`
	BuildStatus string          `json:"build_status"`
	Tags        []string        `json:"tags"`
	Project     *HookProject    `json:"project"`
	Repository  *HookRepository `json:"repository"`
}

// HookProject is a payload's project object.
type HookProject struct {
	ID          int64  `json:"id"`
	WebURL      string `json:"web_url"`
	Homepage    string `json:"homepage"`
	NamespaceID int64  `json:"namespace_id"`
}

// HookRepository is a payload's repository object.
type HookRepository struct {
	Homepage   string `json:"homepage"`
	GitHTTPURL string `json:"git_http_url"`
}

func (p HookPayload) projectID() int64 {
	if p.ProjectID == 0 && p.Project != nil {
		return p.Project.ID
	}
	return p.ProjectID
}

func (p HookPayload) groupID() int64 {
	if p.GroupID == 0 && p.Project != nil {
		return p.Project.NamespaceID
	}
	return p.GroupID
}

// host is the GitLab server that sent the payload, from the project's URLs.
func (p HookPayload) host() string {
	var cands []string
	if p.Project != nil {
		cands = append(cands, p.Project.WebURL, p.Project.Homepage)
	}
	if p.Repository != nil {
		cands = append(cands, p.Repository.Homepage, p.Repository.GitHTTPURL)
	}
	for _, c := range cands {
		if u, err := url.Parse(c); err == nil && u.Host != "" {
			return strings.ToLower(u.Host)
		}
	}
	return ""
}

// DeliveryStatus is what became of a recorded delivery.
type DeliveryStatus string

const (
	// DeliveryAccepted: acted on (a runner requested, a Nest sync triggered).
	DeliveryAccepted DeliveryStatus = "accepted"
	// DeliveryIgnored: recorded with the reason it is not acted on.
	DeliveryIgnored DeliveryStatus = "ignored"
)

// DeliveryOutcome is the answer to a delivery that was recorded (the
// append is durable). Deliveries that were not recorded are errors:
// EINVALID (no kind, no or a bad delivery id), EUNAUTHORIZED (a wrong
// token, an egg without a webhook secret), EUNAVAILABLE (a secret, the
// egg view or GitLab cannot be read now: the sender should retry), and
// *RateLimitedError.
type DeliveryOutcome struct {
	Status DeliveryStatus
	Reason string
	// EventID is the delivery's webhook.received event: this one's, or
	// for a duplicate the original's.
	EventID string
	// Duplicate: the delivery id was recorded before; Status, Reason and
	// EventID are the original's, and nothing was appended now.
	Duplicate bool
	// Authenticated: a token was checked (or it was the Nest's trigger
	// token). An unauthenticated duplicate is answered without the
	// original's outcome, reason or event id, which are left empty here.
	Authenticated bool
	// RunnerRequested: a runner.requested event was appended with it.
	RunnerRequested bool
}

// RateLimitedError refuses an unauthenticated delivery over its sender's or
// the total limit; nothing was appended. Its code is EUNAVAILABLE.
type RateLimitedError struct{ Wait time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many deliveries for projects no egg owns; retry in %d s", e.RetryAfterSeconds())
}

// ErrorCode is EUNAVAILABLE: the sender should retry.
func (e *RateLimitedError) ErrorCode() string { return errs.EUNAVAILABLE }

// RetryAfterSeconds is the wait in whole seconds, at least 1.
func (e *RateLimitedError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.Wait.Seconds())))
}

// EggQuery names the owner of a delivery: a project (else a group) on a
// GitLab server (the payload's lower-case host[:port]).
type EggQuery struct {
	Project, Group int64
	Host           string
}

// EggDirectory finds the live (not removed) egg that owns a project or a
// group on a GitLab server; a project match wins over a group match.
// EggViews implements it over the egg_configs view.
type EggDirectory interface {
	// FindEgg answers from what the directory holds, which may lag the
	// log by a moment.
	FindEgg(ctx context.Context, q EggQuery) (ports.EggConfigRow, bool, error)
	// FindEggCaughtUp answers only once the directory has caught up with
	// the log as it was when called, waiting a bounded time; one that does
	// not catch up in time is EUNAVAILABLE.
	FindEggCaughtUp(ctx context.Context, q EggQuery) (ports.EggConfigRow, bool, error)
}

// JobTagReader reads a job's tags as GitLab reports them (the Jobs API).
type JobTagReader interface {
	// JobTags returns the tags of job in project on the egg's GitLab
	// server; asked is false when that server cannot be asked (no API
	// token is configured for it). EUNAUTHORIZED and ENOTFOUND: GitLab
	// refused the token or does not know the job; any other error: the
	// tags cannot be known now.
	JobTags(ctx context.Context, server string, project, job int64) (tags []string, asked bool, err error)
}

// SourceLimiter holds the token buckets of unauthenticated senders.
type SourceLimiter interface {
	// Allow takes one delivery from source's bucket and the total one, or
	// neither and says how long until both would have one.
	Allow(source netip.Prefix) (wait time.Duration, ok bool)
}

// SyncTrigger starts a Nest sync (nestsync.Syncer).
type SyncTrigger interface{ Trigger(trigger string) }

// WebhooksConfig is what NewWebhooks needs. Handlers, Eggs, Secrets,
// Limiter and TriggerToken are required.
type WebhooksConfig struct {
	Handlers *Handlers
	Eggs     EggDirectory
	Secrets  ports.Secrets
	// Limiter bounds unauthenticated deliveries. Rate limiting them is
	// policy, decided here: which deliveries are limited (those no token
	// authenticates, never the Nest's trigger push), when (before the egg
	// view is read again, the costly step) and what the sender is told
	// (RateLimitedError, nothing appended). The buckets themselves are
	// state keyed by the transport's notion of a sender (the remote
	// address), so they sit behind this port, in the adapter that reads
	// that address (httpapi), with its own clock.
	Limiter SourceLimiter
	// JobTags is asked for the tags of a pending job whose payload has
	// none; nil gives such jobs the egg's tags.
	JobTags JobTagReader
	// Sync is triggered by a push that carries TriggerToken for a project
	// no egg owns (a push to the Nest); nil when no Nest is configured.
	Sync         SyncTrigger
	TriggerToken string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Webhooks decides what becomes of GitLab webhook deliveries.
type Webhooks struct {
	cfg WebhooksConfig
	log *slog.Logger
}

// NewWebhooks returns the webhook handler.
func NewWebhooks(cfg WebhooksConfig) (*Webhooks, error) {
	switch {
	case cfg.Handlers == nil:
		return nil, errors.New("commands: webhooks: nil handlers")
	case cfg.Eggs == nil:
		return nil, errors.New("commands: webhooks: nil egg directory")
	case cfg.Secrets == nil:
		return nil, errors.New("commands: webhooks: nil secrets")
	case cfg.Limiter == nil:
		return nil, errors.New("commands: webhooks: nil limiter")
	case cfg.TriggerToken == "":
		return nil, errors.New("commands: webhooks: empty trigger token")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Webhooks{cfg: cfg, log: cfg.Logger}, nil
}

// ReceiveDelivery finds the egg that owns the delivery, checks its token,
// decides whether it is acted on and records it, once per delivery id. A
// pending Job Hook whose tags the egg serves appends webhook.received and
// runner.requested atomically (AcceptJob); a push carrying the trigger
// token for a project no egg owns triggers a Nest sync; every other kind,
// status or mismatch is recorded ignored with the reason (GitLab disables
// hooks that answer 4xx). A delivery for a project no egg owns has no token
// to check: it is rate-limited per source and in total, and recorded apart
// (unauthenticated, fixed fields only).
func (w *Webhooks) ReceiveDelivery(ctx context.Context, cmd ReceiveDelivery) (DeliveryOutcome, error) {
	p := cmd.Payload
	// Group hooks' member, subgroup and project events carry no
	// object_kind; their X-Gitlab-Event names them.
	kind := p.ObjectKind
	if kind == "" {
		kind = kindlessEvents[cmd.Event]
	}
	if kind == "" {
		return DeliveryOutcome{}, errs.Errorf(errs.EINVALID, "the body has no object_kind")
	}
	if cmd.ID == "" {
		return DeliveryOutcome{}, errs.Errorf(errs.EINVALID, "an X-Gitlab-Event-UUID or Idempotency-Key header is required to deliver at most once")
	}
	if err := domain.CheckDeliveryID(cmd.ID); err != nil {
		return DeliveryOutcome{}, err
	}
	q := EggQuery{Project: p.projectID(), Group: p.groupID(), Host: p.host()}
	rec := events.WebhookReceived{
		DeliveryID: cmd.ID, EventKind: kind, GitLabServer: q.Host, ProjectID: q.Project,
		Ref: p.Ref, JobID: p.BuildID, JobStatus: p.BuildStatus, Tags: p.Tags,
	}
	disagree := eventDisagrees(cmd.Event, kind)
	meta := Meta{Actor: "gitlab:webhook", CorrelationID: cmd.ID, IdempotencyKey: cmd.ID}

	egg, found, err := w.cfg.Eggs.FindEgg(ctx, q)
	if err != nil {
		return DeliveryOutcome{}, err
	}
	if !found {
		if kind == "push" && w.cfg.Sync != nil && equalSecret(cmd.Token, w.cfg.TriggerToken) {
			if disagree != "" {
				return w.record(ctx, meta, ignored(rec, disagree), nil)
			}
			rec.Outcome, rec.Reason = string(DeliveryAccepted), "push to the Nest: sync triggered"
			return w.record(ctx, meta, rec, func() { w.cfg.Sync.Trigger("webhook") })
		}
		// No egg, so no token to check: what such senders append is
		// limited per source and in total (before the egg view is read
		// again, which costs a full read of it).
		if wait, ok := w.cfg.Limiter.Allow(cmd.Source); !ok {
			return DeliveryOutcome{}, &RateLimitedError{Wait: wait}
		}
		// "No egg" is only an answer once the egg view has caught up with
		// the log as it was when this delivery arrived (an egg synced a
		// moment ago may not be projected yet); until then the sender is
		// told to retry rather than the delivery being recorded ignored
		// and never sent again.
		if egg, found, err = w.cfg.Eggs.FindEggCaughtUp(ctx, q); err != nil {
			return DeliveryOutcome{}, err
		}
	}
	if !found {
		// Recorded apart and bounded: fixed fields only (domain.BoundDelivery).
		shown, _ := domain.TruncateUTF8(orUnknown(q.Host), domain.MaxWebhookServer)
		rec.Unauthenticated = true
		return w.record(ctx, meta, ignored(rec, fmt.Sprintf("no egg for project %d on host %s", q.Project, shown)), nil)
	}
	rec.Egg = egg.Name
	if err := w.authenticate(ctx, egg, cmd.Token); err != nil {
		return DeliveryOutcome{}, err
	}
	switch {
	case disagree != "":
		return w.record(ctx, meta, ignored(rec, disagree), nil)
	case kind != "build":
		shown, _ := domain.TruncateUTF8(kind, domain.MaxWebhookEventKind)
		return w.record(ctx, meta, ignored(rec, fmt.Sprintf("event kind %s is not acted on", shown)), nil)
	case p.BuildStatus != "pending":
		// Recorded all the same: the provisioner reads an ended job's
		// delivery from the log to free the job's slot.
		shown, _ := domain.TruncateUTF8(orUnknown(p.BuildStatus), domain.MaxWebhookJobStatus)
		reason := fmt.Sprintf("job %d is %s: neither pending (which asks for a runner) nor ended (which frees its runner slot)", p.BuildID, shown)
		if domain.JobEnded(p.BuildStatus) {
			reason = fmt.Sprintf("job %d is %s: the job has ended; the provisioner frees its runner slot (or drops its request if it had no runner yet)", p.BuildID, shown)
		}
		return w.record(ctx, meta, ignored(rec, reason), nil)
	case p.BuildID <= 0:
		return w.record(ctx, meta, ignored(rec, fmt.Sprintf("the pending job has no build_id (%d): no runner can be named after it", p.BuildID)), nil)
	}
	return w.acceptJob(ctx, meta, rec, egg, p)
}

// authenticate checks token against egg's webhook secret in constant time.
func (w *Webhooks) authenticate(ctx context.Context, egg ports.EggConfigRow, token string) error {
	if egg.WebhookSecretURI == "" {
		return errs.Errorf(errs.EUNAUTHORIZED, "egg %s has no webhook secret configured", egg.Name)
	}
	sctx := ports.WithSecretScope(ctx, ports.SecretScope{Purpose: "webhook secret of egg " + egg.Name, Region: egg.Region})
	secret, err := w.cfg.Secrets.Resolve(sctx, egg.WebhookSecretURI)
	if err != nil {
		// The URI may be logged, the value never.
		w.log.WarnContext(ctx, "webhook secret cannot be resolved", "egg", egg.Name, "uri", egg.WebhookSecretURI, "code", errs.Code(err))
		return errs.Errorf(errs.EUNAVAILABLE, "the webhook secret of egg %s cannot be resolved", egg.Name)
	}
	if !equalSecret(token, string(secret)) {
		return errs.Errorf(errs.EUNAUTHORIZED, "X-Gitlab-Token is missing or wrong")
	}
	return nil
}

// acceptJob asks for a runner for a pending job whose tags the egg serves,
// recording the delivery with the request in one append.
func (w *Webhooks) acceptJob(ctx context.Context, meta Meta, rec events.WebhookReceived, egg ports.EggConfigRow, p HookPayload) (DeliveryOutcome, error) {
	tags, reason, err := w.jobTags(ctx, egg, p)
	if err != nil {
		return DeliveryOutcome{}, err
	}
	if reason != "" {
		return w.record(ctx, meta, ignored(rec, reason), nil)
	}
	if missing := notServed(tags, egg.Tags); len(missing) > 0 {
		return w.record(ctx, meta, ignored(rec, fmt.Sprintf("tags %v not served by egg %s", missing, egg.Name)), nil)
	}
	// Every tag is one of the egg's, so once repeats are gone the request
	// has no more tags than the egg.
	tags = uniq(tags)
	// Idempotency keys label each stream's events, hence the suffix.
	runnerMeta := meta
	runnerMeta.IdempotencyKey = meta.IdempotencyKey + "/runner"
	rec.Outcome = string(DeliveryAccepted)
	rec = domain.BoundDelivery(rec)
	res, runner, err := w.cfg.Handlers.AcceptJob(ctx, AcceptJob{
		Delivery: ReceiveWebhook{Meta: meta, Delivery: rec},
		Runner: RequestRunner{
			Meta:     runnerMeta,
			RunnerID: jobRunnerID(egg.Name, p.BuildID), Egg: egg.Name, RunnerType: egg.RunnerType,
			Provider: egg.Provider, Region: egg.Region, Tags: tags, JobID: p.BuildID,
			Reason: fmt.Sprintf("GitLab job %d is pending", p.BuildID),
		},
	})
	switch {
	case errs.Is(err, errs.ECONFLICT):
		return w.record(ctx, meta, ignored(rec, fmt.Sprintf("a runner for job %d was already requested", p.BuildID)), nil)
	case err != nil:
		return DeliveryOutcome{}, err
	}
	out, err := w.outcome(ctx, rec, res, nil)
	out.RunnerRequested = !res.Duplicate && len(runner.EventIDs) > 0
	return out, err
}

// jobTags returns the tags a pending job asks for: the payload's, else the
// job's as GitLab reports them (JobTags), else (no reader, no way to ask
// the egg's server, no project or job id to ask about) the egg's own.
// A non-empty reason means the delivery is recorded ignored (GitLab
// refused the token or does not know the job: retrying will not help); an
// error (EUNAVAILABLE) that the tags cannot be known now and the sender
// should retry.
func (w *Webhooks) jobTags(ctx context.Context, egg ports.EggConfigRow, p HookPayload) (tags []string, reason string, err error) {
	if len(p.Tags) > 0 {
		return p.Tags, "", nil
	}
	if w.cfg.JobTags == nil {
		w.log.DebugContext(ctx, "job tags not read from GitLab: no Jobs API reader; using the egg's tags", "egg", egg.Name, "job", p.BuildID)
		return egg.Tags, "", nil
	}
	project := p.projectID()
	if project <= 0 || p.BuildID <= 0 {
		w.log.DebugContext(ctx, "job tags not read from GitLab: the payload names no project or job; using the egg's tags",
			"egg", egg.Name, "project", project, "job", p.BuildID)
		return egg.Tags, "", nil
	}
	tags, asked, err := w.cfg.JobTags.JobTags(ctx, egg.GitLabServer, project, p.BuildID)
	switch code := errs.Code(err); {
	case code == "" && !asked:
		return egg.Tags, "", nil
	case code == "":
		return tags, "", nil
	case code == errs.EUNAUTHORIZED, code == errs.ENOTFOUND:
		return nil, fmt.Sprintf("cannot read job %d's tags: %s", p.BuildID, errs.Message(err)), nil
	default:
		// EINVALID (the token cannot be resolved), EUNAVAILABLE and the
		// rest: the sender retries.
		return nil, "", errs.Wrap(errs.EUNAVAILABLE, err, "the tags of job %d cannot be read from GitLab; retry", p.BuildID)
	}
}

// record appends the delivery, within its bounds, and runs after (once,
// not for a duplicate).
func (w *Webhooks) record(ctx context.Context, meta Meta, rec events.WebhookReceived, after func()) (DeliveryOutcome, error) {
	rec = domain.BoundDelivery(rec)
	res, err := w.cfg.Handlers.ReceiveWebhook(ctx, ReceiveWebhook{Meta: meta, Delivery: rec})
	if err != nil {
		return DeliveryOutcome{}, err
	}
	return w.outcome(ctx, rec, res, after)
}

// outcome is the answer for a recorded delivery: its own decision, or for
// a redelivery the original's, read back from the log (only a redelivery
// pays for that read). What was recorded under an unauthenticated id is not
// told to whoever sends it again without a token.
func (w *Webhooks) outcome(ctx context.Context, rec events.WebhookReceived, res ports.AppendResult, after func()) (DeliveryOutcome, error) {
	out := DeliveryOutcome{
		Status: DeliveryStatus(rec.Outcome), Reason: rec.Reason,
		Duplicate: res.Duplicate, Authenticated: !rec.Unauthenticated,
	}
	if len(res.EventIDs) > 0 {
		out.EventID = res.EventIDs[0]
	}
	switch {
	case res.Duplicate && rec.Unauthenticated:
		return DeliveryOutcome{Duplicate: true}, nil
	case res.Duplicate:
		recs, err := w.cfg.Handlers.store.Load(ctx, domain.WebhookStream(rec.DeliveryID), 0)
		if err != nil || len(recs) == 0 {
			return DeliveryOutcome{}, errs.Wrap(errs.EINTERNAL, err, "webhook %s recorded but not readable", rec.DeliveryID)
		}
		out.EventID = recs[0].ID
		var orig events.WebhookReceived
		if json.Unmarshal(recs[0].Payload, &orig) == nil {
			out.Status, out.Reason = DeliveryStatus(orig.Outcome), orig.Reason
		}
	case after != nil:
		after()
	}
	return out, nil
}

func ignored(rec events.WebhookReceived, reason string) events.WebhookReceived {
	rec.Outcome, rec.Reason = string(DeliveryIgnored), reason
	return rec
}

// gitlabEvents maps each X-Gitlab-Event value GitLab sends to the
// object_kind values of its payloads (GitLab's "Webhook events" and
// "System hooks" pages). Member, subgroup and project events of group hooks
// have no object_kind: kindlessEvents gives theirs.
var gitlabEvents = map[string][]string{
	"Push Hook":                  {"push"},
	"Tag Push Hook":              {"tag_push"},
	"Issue Hook":                 {"issue", "work_item"},
	"Confidential Issue Hook":    {"issue", "work_item"},
	"Note Hook":                  {"note"},
	"Confidential Note Hook":     {"note"},
	"Merge Request Hook":         {"merge_request"},
	"Wiki Page Hook":             {"wiki_page"},
	"Pipeline Hook":              {"pipeline"},
	"Job Hook":                   {"build"},
	"Deployment Hook":            {"deployment"},
	"Feature Flag Hook":          {"feature_flag"},
	"Release Hook":               {"release"},
	"Emoji Hook":                 {"emoji"},
	"Milestone Hook":             {"milestone"},
	"Vulnerability Hook":         {"vulnerability"},
	"Resource Access Token Hook": {"access_token"},
	"Member Hook":                {"member"},
	"Subgroup Hook":              {"subgroup"},
	"Project Hook":               {"project"},
	"System Hook":                {"push", "tag_push", "merge_request", "repository_update"},
}

var kindlessEvents = map[string]string{"Member Hook": "member", "Subgroup Hook": "subgroup", "Project Hook": "project"}

// knownKinds are the object_kind values some X-Gitlab-Event names.
var knownKinds = func() map[string]bool {
	m := map[string]bool{}
	for _, kinds := range gitlabEvents {
		for _, k := range kinds {
			m[k] = true
		}
	}
	return m
}()

// eventDisagrees returns why X-Gitlab-Event and the payload's kind
// disagree, or "" when they agree. A missing header (a client delivering
// with Idempotency-Key) agrees with anything, and so does a header we do
// not know with a kind we do not know (such a delivery is not acted on
// anyway); a known header with another kind, or an unknown header with a
// known kind, disagrees.
func eventDisagrees(header, kind string) string {
	if header == "" {
		return ""
	}
	kinds, known := gitlabEvents[header]
	switch {
	case known && slices.Contains(kinds, kind), !known && !knownKinds[kind]:
		return ""
	}
	h, _ := domain.TruncateUTF8(header, domain.MaxWebhookEventKind)
	k, _ := domain.TruncateUTF8(kind, domain.MaxWebhookEventKind)
	return fmt.Sprintf("X-Gitlab-Event %q does not match object_kind %q", h, k)
}

// uniq returns tags without repeats, in first-seen order.
func uniq(tags []string) []string {
	seen := make(map[string]bool, len(tags))
	out := tags[:0:0]
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func notServed(want, have []string) []string {
	var missing []string
	for _, t := range want {
		if !slices.Contains(have, t) {
			missing = append(missing, t)
		}
	}
	return missing
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// equalSecret compares in constant time, also in the length (both sides
// are hashed first); an empty want matches nothing.
func equalSecret(got, want string) bool {
	if len(want) == 0 {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
