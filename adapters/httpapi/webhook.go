package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// hookPayload is the part of a GitLab webhook body we read. parseHookPayload
// fills it; the json tags name the fields and let a test hold it to encoding/json.
type hookPayload struct {
	ObjectKind  string          `json:"object_kind"`
	ProjectID   int64           `json:"project_id"`
	GroupID     int64           `json:"group_id"`
	Ref         string          `json:"ref"`
	BuildID     int64           `json:"build_id"`
	BuildStatus string          `json:"build_status"`
	Tags        []string        `json:"tags"`
	Project     *hookProject    `json:"project"`
	Repository  *hookRepository `json:"repository"`
}

type hookProject struct {
	ID          int64  `json:"id"`
	WebURL      string `json:"web_url"`
	Homepage    string `json:"homepage"`
	NamespaceID int64  `json:"namespace_id"`
}

type hookRepository struct {
	Homepage   string `json:"homepage"`
	GitHTTPURL string `json:"git_http_url"`
}

func (p hookPayload) projectID() int64 {
	if p.ProjectID == 0 && p.Project != nil {
		return p.Project.ID
	}
	return p.ProjectID
}

func (p hookPayload) groupID() int64 {
	if p.GroupID == 0 && p.Project != nil {
		return p.Project.NamespaceID
	}
	return p.GroupID
}

// host is the GitLab server that sent the payload, from the project's URLs.
func (p hookPayload) host() string {
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

type webhookResponse struct {
	EventID   string `json:"event_id"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason,omitempty"`
	Duplicate bool   `json:"duplicate"`
}

// bareReceipt answers an unauthenticated redelivery: no event id, outcome
// or reason.
type bareReceipt struct {
	Duplicate bool `json:"duplicate"`
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

func (s *server) reject(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.metrics.webhooks.WithLabelValues("rejected").Inc()
	writeJSONError(w, status, code, msg)
}

func (s *server) gitlabWebhook(w http.ResponseWriter, r *http.Request) {
	defer drain(r.Body)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		s.reject(w, r, http.StatusUnsupportedMediaType, errs.EINVALID, "Content-Type must be application/json")
		return
	}
	buf, err := readBody(w, r, s.cfg.MaxBody)
	defer releaseBody(buf)
	body := buf.Bytes()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(w, r, http.StatusRequestEntityTooLarge, errs.EINVALID, fmt.Sprintf("the body is over the limit of %d bytes", s.cfg.MaxBody))
			return
		}
		s.reject(w, r, http.StatusBadRequest, errs.EINVALID, "the body could not be read")
		return
	}
	p, err := parseHookPayload(body)
	if err != nil {
		s.reject(w, r, http.StatusBadRequest, errs.EINVALID, "the body is not valid JSON: "+err.Error())
		return
	}
	// Group hooks' member, subgroup and project events carry no
	// object_kind; their X-Gitlab-Event names them.
	eventHeader := r.Header.Get("X-Gitlab-Event")
	kind := p.ObjectKind
	if kind == "" {
		kind = kindlessEvents[eventHeader]
	}
	if kind == "" {
		s.reject(w, r, http.StatusBadRequest, errs.EINVALID, "the body has no object_kind")
		return
	}
	delivery := r.Header.Get("X-Gitlab-Event-UUID")
	if delivery == "" {
		delivery = r.Header.Get("Idempotency-Key")
	}
	if delivery == "" {
		s.reject(w, r, http.StatusBadRequest, errs.EINVALID, "an X-Gitlab-Event-UUID or Idempotency-Key header is required to deliver at most once")
		return
	}
	if err := domain.CheckDeliveryID(delivery); err != nil {
		s.reject(w, r, http.StatusBadRequest, errs.EINVALID, errs.Message(err))
		return
	}
	ctx := r.Context()
	token := []byte(r.Header.Get("X-Gitlab-Token"))
	project, host := p.projectID(), p.host()
	rec := events.WebhookReceived{
		DeliveryID: delivery, EventKind: kind, GitLabServer: host, ProjectID: project,
		Ref: p.Ref, JobID: p.BuildID, JobStatus: p.BuildStatus, Tags: p.Tags,
	}
	disagree := eventDisagrees(eventHeader, kind)
	meta := commands.Meta{Actor: "gitlab:webhook", CorrelationID: delivery, IdempotencyKey: delivery}

	group := p.groupID()
	egg, found, err := s.findEgg(ctx, project, group, host, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !found {
		if kind == "push" && s.cfg.Sync != nil && equalSecret(token, []byte(s.cfg.TriggerToken)) {
			if disagree != "" {
				rec.Outcome, rec.Reason = "ignored", disagree
				s.record(w, r, meta, rec, nil)
				return
			}
			rec.Outcome, rec.Reason = "accepted", "push to the Nest: sync triggered"
			s.record(w, r, meta, rec, func() { s.cfg.Sync.Trigger("webhook") })
			return
		}
		// No egg, so no token to check: what such senders append is
		// limited per source and in total (before the egg view is read
		// again, which costs a full read of it).
		if wait, ok := s.unauth.allow(sourceOf(r.RemoteAddr)); !ok {
			after := retryAfter(wait)
			w.Header().Set("Retry-After", strconv.Itoa(after))
			s.metrics.webhooks.WithLabelValues("rate_limited").Inc()
			writeJSONError(w, http.StatusTooManyRequests, errs.EUNAVAILABLE,
				fmt.Sprintf("too many deliveries for projects no egg owns; retry in %d s", after))
			return
		}
		// "No egg" is only an answer once the egg_configs view has caught up
		// with the log as it was when this delivery arrived (an egg synced a
		// moment ago may not be projected yet). Until then wait a little;
		// if it does not catch up, 503 makes GitLab retry instead of the
		// delivery being recorded as ignored and never sent again.
		if caught, err := s.eggsCaughtUp(ctx); err != nil || !caught {
			s.reject(w, r, http.StatusServiceUnavailable, errs.EUNAVAILABLE, "the egg configurations are still catching up; retry")
			return
		}
		if egg, found, err = s.findEgg(ctx, project, group, host, true); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if !found {
		// Recorded apart and bounded: fixed fields only (domain.BoundDelivery).
		shown, _ := domain.TruncateUTF8(orUnknown(host), domain.MaxWebhookServer)
		rec.Unauthenticated = true
		rec.Outcome, rec.Reason = "ignored", fmt.Sprintf("no egg for project %d on host %s", project, shown)
		s.record(w, r, meta, rec, nil)
		return
	}
	rec.Egg = egg.Name
	if egg.WebhookSecretURI == "" {
		s.reject(w, r, http.StatusUnauthorized, errs.EUNAUTHORIZED, fmt.Sprintf("egg %s has no webhook secret configured", egg.Name))
		return
	}
	secret, err := s.cfg.Secrets.Resolve(ctx, egg.WebhookSecretURI)
	if err != nil {
		// The URI may be logged, the value never.
		s.log.WarnContext(ctx, "webhook secret cannot be resolved", "egg", egg.Name, "uri", egg.WebhookSecretURI, "code", errs.Code(err))
		s.reject(w, r, http.StatusServiceUnavailable, errs.EUNAVAILABLE, fmt.Sprintf("the webhook secret of egg %s cannot be resolved", egg.Name))
		return
	}
	if !equalSecret(token, secret) {
		s.reject(w, r, http.StatusUnauthorized, errs.EUNAUTHORIZED, "X-Gitlab-Token is missing or wrong")
		return
	}

	switch {
	case disagree != "":
		rec.Outcome, rec.Reason = "ignored", disagree
	case kind != "build":
		shown, _ := domain.TruncateUTF8(kind, domain.MaxWebhookEventKind)
		rec.Outcome, rec.Reason = "ignored", fmt.Sprintf("event kind %s is not acted on", shown)
	case p.BuildStatus != "pending":
		shown, _ := domain.TruncateUTF8(orUnknown(p.BuildStatus), domain.MaxWebhookJobStatus)
		rec.Outcome, rec.Reason = "ignored", fmt.Sprintf("job %d is %s; only pending jobs ask for capacity", p.BuildID, shown)
	case p.BuildID <= 0:
		rec.Outcome, rec.Reason = "ignored", fmt.Sprintf("the pending job has no build_id (%d): no runner can be named after it", p.BuildID)
	default:
		tags, reason, err := s.jobTags(ctx, egg, p)
		if err != nil {
			s.reject(w, r, http.StatusServiceUnavailable, errs.EUNAVAILABLE, errs.Message(err))
			return
		}
		if reason != "" {
			rec.Outcome, rec.Reason = "ignored", reason
			break
		}
		if missing := notServed(tags, egg.Tags); len(missing) > 0 {
			rec.Outcome, rec.Reason = "ignored", fmt.Sprintf("tags %v not served by egg %s", missing, egg.Name)
			break
		}
		// Every tag is one of the egg's, so once repeats are gone the
		// request has no more tags than the egg.
		tags = uniq(tags)
		// The delivery and its runner request commit together (AcceptJob).
		// Idempotency keys label each stream's events, hence the suffix.
		runnerMeta := meta
		runnerMeta.IdempotencyKey = delivery + "/runner"
		rec.Outcome = "accepted"
		rec = domain.BoundDelivery(rec)
		res, runner, err := s.cfg.Handlers.AcceptJob(ctx, commands.AcceptJob{
			Delivery: commands.ReceiveWebhook{Meta: meta, Delivery: rec},
			Runner: commands.RequestRunner{
				Meta:     runnerMeta,
				RunnerID: fmt.Sprintf("%s-job-%d", egg.Name, p.BuildID), Egg: egg.Name, RunnerType: egg.RunnerType,
				Provider: egg.Provider, Region: egg.Region, Tags: tags, JobID: p.BuildID,
				Reason: fmt.Sprintf("GitLab job %d is pending", p.BuildID),
			},
		})
		switch {
		case errs.Is(err, errs.ECONFLICT):
			rec.Outcome, rec.Reason = "ignored", fmt.Sprintf("a runner for job %d was already requested", p.BuildID)
		case err != nil:
			s.metrics.webhooks.WithLabelValues("rejected").Inc()
			s.writeError(w, r, err)
			return
		default:
			if len(runner.EventIDs) > 0 {
				s.metrics.EventsAppended(events.RunnerRequestedV1, 1)
			}
			s.answer(w, r, rec, res, nil)
			return
		}
	}
	s.record(w, r, meta, rec, nil)
}

// record appends the delivery, within its bounds, runs after (once, not for
// a duplicate) and answers 202.
func (s *server) record(w http.ResponseWriter, r *http.Request, meta commands.Meta, rec events.WebhookReceived, after func()) {
	rec = domain.BoundDelivery(rec)
	res, err := s.cfg.Handlers.ReceiveWebhook(r.Context(), commands.ReceiveWebhook{Meta: meta, Delivery: rec})
	if err != nil {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
		s.writeError(w, r, err)
		return
	}
	s.answer(w, r, rec, res, after)
}

// answer answers 202 for a recorded delivery: with its event id, or for a
// redelivery with the original decision and event id. An unauthenticated
// redelivery gets a bare 202: what was recorded under that id is not told
// to whoever sends it again without a token.
func (s *server) answer(w http.ResponseWriter, r *http.Request, rec events.WebhookReceived, res ports.AppendResult, after func()) {
	ctx := r.Context()
	out := webhookResponse{Outcome: rec.Outcome, Reason: rec.Reason, Duplicate: res.Duplicate}
	if len(res.EventIDs) > 0 {
		out.EventID = res.EventIDs[0]
	}
	if res.Duplicate && rec.Unauthenticated {
		s.metrics.webhooks.WithLabelValues("duplicate").Inc()
		writeJSON(w, http.StatusAccepted, bareReceipt{Duplicate: true})
		return
	}
	if res.Duplicate {
		// The original decision stands; report it (and its event id), not
		// this attempt's. Only a redelivery pays for this read.
		recs, err := s.cfg.Events.Load(ctx, domain.WebhookStream(rec.DeliveryID), 0)
		if err != nil || len(recs) == 0 {
			s.writeError(w, r, errs.Wrap(errs.EINTERNAL, err, "webhook %s recorded but not readable", rec.DeliveryID))
			return
		}
		out.EventID = recs[0].ID
		var orig events.WebhookReceived
		if json.Unmarshal(recs[0].Payload, &orig) == nil {
			out.Outcome, out.Reason = orig.Outcome, orig.Reason
		}
		s.metrics.webhooks.WithLabelValues("duplicate").Inc()
	} else {
		s.metrics.webhooks.WithLabelValues(rec.Outcome).Inc()
		s.metrics.EventsAppended(events.WebhookReceivedV1, 1)
		if after != nil {
			after()
		}
	}
	writeJSON(w, http.StatusAccepted, out)
}

// findEgg returns the live egg that owns project (or group) on host; a
// project match wins over a group match. fresh bypasses the cache.
func (s *server) findEgg(ctx context.Context, project, group int64, host string, fresh bool) (ports.EggConfigRow, bool, error) {
	eggs, err := s.eggs.live(ctx, s.cfg.Views, fresh)
	if err != nil {
		return ports.EggConfigRow{}, false, err
	}
	egg, found := matchEgg(eggs, project, group, host)
	return egg, found, nil
}

func matchEgg(eggs []liveEgg, project, group int64, host string) (ports.EggConfigRow, bool) {
	var byGroup *ports.EggConfigRow
	for i := range eggs {
		e := &eggs[i]
		if !sameServer(e.host, host) {
			continue
		}
		if project != 0 && slices.Contains(e.row.ProjectIDs, project) {
			return e.row, true
		}
		if byGroup == nil && group != 0 && slices.Contains(e.row.GroupIDs, group) {
			byGroup = &e.row
		}
	}
	if byGroup != nil {
		return *byGroup, true
	}
	return ports.EggConfigRow{}, false
}

// sameServer compares an egg's server host (serverHost of its gitlab
// server: an FQDN, perhaps with a port or a scheme) with the payload's
// host: equal, or a server without a port names the host on any port.
func sameServer(server, host string) bool {
	if host == "" {
		return false
	}
	if server == host {
		return true
	}
	h, _, ok := strings.Cut(host, ":")
	return ok && server == h
}

// serverHost is the lower-case host[:port] of a GitLab server value: the
// host of a URL with a scheme, else the value itself.
func serverHost(server string) string {
	server = strings.ToLower(server)
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return server
}

// hostName is a DNS name: dot-separated labels of letters, digits and inner
// hyphens (lower case, as serverHost returns it).
var hostName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// ServerHost returns the lower-case host[:port] that a GitLab server value
// names, the form in which eggs' servers are matched (sameServer) and
// Config.APITokens is keyed: the value is an FQDN, perhaps with a port
// (gitlab.example.com:8443), or a URL with a scheme (https://GitLab.com
// gives gitlab.com). An empty value, a URL with credentials, or anything
// else that is no host[:port] is an EINVALID error.
func ServerHost(server string) (string, error) {
	shown := server
	bad := func(why string) (string, error) {
		return "", errs.Errorf(errs.EINVALID, "GitLab server %q: %s; want an FQDN such as gitlab.com, host:port, or a URL such as https://gitlab.example.com", shown, why)
	}
	if strings.TrimSpace(server) == "" {
		return bad("empty")
	}
	if u, err := url.Parse(strings.ToLower(server)); err == nil && u.User != nil {
		u.User = nil // not shown
		shown = u.String()
		return bad("credentials do not belong in a server")
	}
	h := serverHost(server)
	u, err := url.Parse("//" + h)
	if err != nil || u.Host != h || u.User != nil || u.Hostname() == "" || strings.HasSuffix(h, ":") {
		return bad("not a host[:port]")
	}
	if name := u.Hostname(); net.ParseIP(name) == nil && !hostName.MatchString(name) {
		return bad(fmt.Sprintf("%q is not a host name", name))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("port %q is out of range", p))
		}
	}
	return h, nil
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

// bodyBuffers recycle webhook body buffers: growing a fresh one from
// nothing for every 2 KiB delivery cost more CPU than parsing it.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps one huge delivery from pinning its buffer.
const maxPooledBody = 64 << 10

// readBody reads at most limit bytes of the body into a pooled buffer,
// sized from Content-Length when that is within the limit. The caller
// releases it (releaseBody) once nothing refers to its bytes: the payload
// parser copies what it keeps.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (*bytes.Buffer, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	if n := r.ContentLength; n > 0 && n <= limit {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare to see EOF without growing
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf, err
}

func releaseBody(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		bodyBuffers.Put(buf)
	}
}

// eggsCaughtUp waits (at most eggWait) until the egg_configs projector has
// reached the log head as it is now.
func (s *server) eggsCaughtUp(ctx context.Context) (bool, error) {
	head, err := s.cfg.Events.Head(ctx)
	if err != nil {
		return false, err
	}
	deadline := time.Now().Add(eggWait)
	for {
		cp, err := s.cfg.Views.Read().Checkpoint(ctx, ports.ViewEggConfigs)
		if err != nil {
			return false, err
		}
		if cp >= head {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// eggWait bounds how long a delivery for an unknown project waits for the
// egg view to catch up.
const eggWait = 2 * time.Second

// eggCache holds the live egg_configs rows for webhook matching, each with
// its server's host worked out once per load, so a delivery does not read
// every egg nor parse every egg's server. Rows are kept eggCacheTTL: a
// changed egg (tags, webhook secret URI) is seen within that time, and a
// delivery matching no egg always looks again at a caught-up view before it
// is answered "ignored", so a newly synced egg is never missed.
type eggCache struct {
	mu     sync.Mutex
	list   []liveEgg
	loaded time.Time
}

// liveEgg is an egg that is not removed, with serverHost(row.GitLabServer).
type liveEgg struct {
	row  ports.EggConfigRow
	host string
}

const eggCacheTTL = time.Second

func (c *eggCache) live(ctx context.Context, views ports.ViewStore, fresh bool) ([]liveEgg, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.list != nil && time.Since(c.loaded) < eggCacheTTL {
		return c.list, nil
	}
	rows, err := ports.EggConfigs.In(views.Read()).List(ctx, ports.Query{})
	if err != nil {
		return nil, err
	}
	c.list, c.loaded = liveEggs(rows), time.Now()
	return c.list, nil
}

// liveEggs keeps the rows of eggs that are not removed, with their servers' hosts.
func liveEggs(rows []ports.EggConfigRow) []liveEgg {
	list := make([]liveEgg, 0, len(rows))
	for _, e := range rows {
		if !e.Removed {
			list = append(list, liveEgg{row: e, host: serverHost(e.GitLabServer)})
		}
	}
	return list
}
