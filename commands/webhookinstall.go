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

// WebhookInstallActor is the actor of the webhook installer's events.
const WebhookInstallActor = "mothergoose:webhooks"

// WebhookPath is where MotherGoose receives GitLab's webhooks; the hooks
// it installs point at the public URL with this path.
const WebhookPath = "/webhooks/gitlab"

// Defaults of the webhook installer.
const (
	DefaultHookPages       = 10               // hook list pages read per owner and pass
	DefaultHookBackoffBase = 30 * time.Second // first wait after GitLab failed (5xx, unreachable)
	DefaultHookBackoffMax  = 30 * time.Minute // longest such wait
)

// WebhookInstallerConfig is what NewWebhookInstaller needs. Handlers,
// Views, GitLab and Secrets are required.
type WebhookInstallerConfig struct {
	Handlers *Handlers
	Views    ports.ViewStore
	GitLab   WebhookManager
	// Secrets resolves each egg's webhook secret, the hooks' token.
	Secrets ports.Secrets
	// APITokens maps a GitLab server's ServerHost to the secret URI of
	// MotherGoose's API token on it; the hooks of an egg on a server
	// without one are skipped (recorded, logged once per egg).
	APITokens map[string]string
	// PublicURL is the base URL GitLab reaches MotherGoose at
	// (--public-url); "" skips every egg (recorded, logged once per egg):
	// a hook must not point at an address only this host knows.
	PublicURL string
	// Events, when set, makes a triggered pass wait until the egg_configs
	// view holds the log as it was at the trigger.
	Events ports.EventStore
	// MaxPages bounds the hook list pages read per owner and pass.
	MaxPages int
	// BackoffBase and BackoffMax space the attempts at an owner whose
	// GitLab failed (5xx, unreachable): base, 2*base, ... up to max.
	BackoffBase, BackoffMax time.Duration
	// Now defaults to time.Now; Logger to slog.Default().
	Now    func() time.Time
	Logger *slog.Logger
}

// WebhookInstaller makes sure each egg's projects and groups have
// MotherGoose's hook (job events to <public URL>/webhooks/gitlab, the
// egg's webhook secret as token), and removes the hooks it installed when
// an egg is removed or stops naming a project or group. A pass changes
// GitLab and appends events only where something differs: a second pass
// over the same state calls the list API once per owner and appends
// nothing. Outcomes are recorded in the "egghooks-<egg>" stream
// (egg.webhook_*), shown by the egg_webhooks view.
type WebhookInstaller struct {
	cfg  WebhookInstallerConfig
	log  *slog.Logger
	wake chan struct{}

	// Touched by Pass only, which runs one at a time (Run).
	paused  map[string]time.Time   // by server host: GitLab answered 429
	backoff map[string]hookBackoff // by egg + owner key: GitLab failed
	logged  map[string]string      // egg -> the skip reason logged last
	settled map[string]uint64      // removed egg -> egg_configs version with nothing left to remove
}

type hookBackoff struct {
	failures int
	until    time.Time
}

// NewWebhookInstaller returns the webhook installer.
func NewWebhookInstaller(cfg WebhookInstallerConfig) (*WebhookInstaller, error) {
	switch {
	case cfg.Handlers == nil:
		return nil, errors.New("commands: webhook installer: nil handlers")
	case cfg.Views == nil:
		return nil, errors.New("commands: webhook installer: nil view store")
	case cfg.GitLab == nil:
		return nil, errors.New("commands: webhook installer: nil GitLab hook manager")
	case cfg.Secrets == nil:
		return nil, errors.New("commands: webhook installer: nil secrets")
	case cfg.MaxPages < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0:
		return nil, errors.New("commands: webhook installer: negative page bound or backoff")
	}
	if cfg.MaxPages == 0 {
		cfg.MaxPages = DefaultHookPages
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = DefaultHookBackoffBase
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = max(DefaultHookBackoffMax, cfg.BackoffBase)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &WebhookInstaller{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1),
		paused: map[string]time.Time{}, backoff: map[string]hookBackoff{}, logged: map[string]string{}, settled: map[string]uint64{}}, nil
}

// HookURL is the URL the installed hooks point at; "" without a public URL.
func (i *WebhookInstaller) HookURL() string {
	if i.cfg.PublicURL == "" {
		return ""
	}
	return i.cfg.PublicURL + WebhookPath
}

// Trigger asks for a pass as soon as the views hold the log as it is now
// (after a Nest sync that changed eggs); triggers coalesce.
func (i *WebhookInstaller) Trigger() {
	select {
	case i.wake <- struct{}{}:
	default:
	}
}

// Run runs a pass at once, then at every Trigger and every interval, until
// ctx ends. A pass that fails (the store) is logged and tried again at the
// next one.
func (i *WebhookInstaller) Run(ctx context.Context, interval time.Duration) error {
	return every(ctx, i.log, "webhook installation", interval, i.wake, func(ctx context.Context) {
		if err := i.caughtUp(ctx); err != nil && ctx.Err() == nil {
			i.log.WarnContext(ctx, "webhook installation: the egg view did not catch up; installing from it as it is", "err", err)
		}
	}, func(ctx context.Context) error {
		_, err := i.Pass(ctx)
		return err
	})
}

// caughtUpWait bounds how long a triggered pass waits for the egg view.
const caughtUpWait = 10 * time.Second

// caughtUp waits until the egg_configs view holds the log as it is now.
func (i *WebhookInstaller) caughtUp(ctx context.Context) error {
	if i.cfg.Events == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, caughtUpWait)
	defer cancel()
	head, err := i.cfg.Events.Head(ctx)
	if err != nil {
		return err
	}
	for {
		cp, err := i.cfg.Views.Read().Checkpoint(ctx, ports.ViewEggConfigs)
		if err != nil || cp >= head {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WebhookSummary counts what one pass did, by owner (project or group).
type WebhookSummary struct {
	Created, Updated, Verified, Unchanged int
	Removed                               int // hooks deleted (or found gone) for removed eggs and owners
	Failed                                int // owners whose GitLab call failed (recorded when the failure is new)
	Skipped                               int // owners not installed: no API token, public URL or webhook secret
	Waiting                               int // owners not tried: their server paused (429) or their backoff (5xx) running
}

// Pass installs, updates and removes hooks as the egg_configs view says.
// Its error is the store's or the context's; GitLab's are recorded.
func (i *WebhookInstaller) Pass(ctx context.Context) (WebhookSummary, error) {
	var sum WebhookSummary
	rows, err := ports.EggConfigs.In(i.cfg.Views.Read()).List(ctx, ports.Query{})
	if err != nil {
		return sum, err
	}
	slices.SortFunc(rows, func(a, b ports.EggConfigRow) int { return strings.Compare(a.Name, b.Name) })
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if row.Removed {
			err = i.removedEgg(ctx, row, &sum)
		} else {
			err = i.liveEgg(ctx, row, &sum)
		}
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// owners are the projects and then the groups row names.
func owners(row ports.EggConfigRow) []events.WebhookOwner {
	var out []events.WebhookOwner
	for _, p := range row.ProjectIDs {
		out = append(out, events.WebhookOwner{GitLabServer: row.GitLabServer, Kind: domain.HookOwnerProject, ID: p})
	}
	for _, g := range row.GroupIDs {
		out = append(out, events.WebhookOwner{GitLabServer: row.GitLabServer, Kind: domain.HookOwnerGroup, ID: g})
	}
	return out
}

// installed reports whether s may still have a hook of ours in GitLab.
func installed(s domain.HookState) bool { return s.HookID > 0 && s.Status != domain.HookRemoved }

// removedEgg deletes every hook still recorded for a removed egg.
func (i *WebhookInstaller) removedEgg(ctx context.Context, row ports.EggConfigRow, sum *WebhookSummary) error {
	if v, ok := i.settled[row.Name]; ok && v == row.Version {
		return nil
	}
	state, err := i.cfg.Handlers.EggWebhooks(ctx, row.Name)
	if err != nil {
		return err
	}
	left := false
	for _, s := range state.Owners() {
		if !installed(s) {
			continue
		}
		if err := i.remove(ctx, row.Name, s, fmt.Sprintf("egg %s was removed from the Nest", row.Name), sum); err != nil {
			return err
		}
		left = true // settled only after a pass that finds nothing left
	}
	if !left {
		i.settled[row.Name] = row.Version
	}
	return nil
}

// skipReason says why row's hooks are not installed; "" when they can be.
func (i *WebhookInstaller) skipReason(row ports.EggConfigRow) (tokenURI, reason string) {
	tokenURI, ok := APITokenFor(i.cfg.APITokens, row.GitLabServer)
	switch {
	case !ok:
		return "", fmt.Sprintf("no --gitlab-api-token for %s", serverHost(row.GitLabServer))
	case i.cfg.PublicURL == "":
		return "", "no --public-url: GitLab must reach MotherGoose at a public address"
	case row.WebhookSecretURI == "":
		return "", "the egg has no webhook secret (webhook_secret_uri) to authenticate its deliveries with"
	}
	return tokenURI, ""
}

// liveEgg installs row's hooks and removes those of owners it no longer names.
func (i *WebhookInstaller) liveEgg(ctx context.Context, row ports.EggConfigRow, sum *WebhookSummary) error {
	delete(i.settled, row.Name)
	state, err := i.cfg.Handlers.EggWebhooks(ctx, row.Name)
	if err != nil {
		return err
	}
	want := owners(row)
	wanted := map[string]bool{}
	for _, o := range want {
		wanted[domain.HookOwnerKey(o)] = true
	}
	for _, s := range state.Owners() {
		if installed(s) && !wanted[domain.HookOwnerKey(s.Owner)] {
			if err := i.remove(ctx, row.Name, s, fmt.Sprintf("egg %s no longer names %s %d", row.Name, s.Owner.Kind, s.Owner.ID), sum); err != nil {
				return err
			}
		}
	}
	tokenURI, reason := i.skipReason(row)
	if reason != "" {
		if i.logged[row.Name] != reason {
			i.logged[row.Name] = reason
			i.log.InfoContext(ctx, "webhook installation skips egg: "+reason, "egg", row.Name, "server", row.GitLabServer)
		}
		for _, o := range want {
			sum.Skipped++
			if cur, ok := state.Owner(o); ok && cur.Status == domain.HookSkipped && cur.Reason == reason {
				continue
			}
			if _, err := i.cfg.Handlers.RecordWebhookSkipped(ctx, RecordWebhookSkipped{Meta: i.meta(),
				Skipped: events.EggWebhookSkipped{Egg: row.Name, WebhookOwner: o, Reason: reason}}); err != nil {
				return err
			}
		}
		return nil
	}
	delete(i.logged, row.Name)
	secret, err := i.cfg.Secrets.Resolve(ports.WithSecretScope(ctx, ports.SecretScope{Purpose: "webhook secret of egg " + row.Name + " (hook installation)", Region: row.Region}), row.WebhookSecretURI)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		code := errs.EUNAVAILABLE
		if c := errs.Code(err); c == errs.EINVALID || c == errs.ENOTFOUND {
			code = errs.EINVALID
		}
		for _, o := range want {
			if err := i.fail(ctx, row.Name, o, errs.Wrap(code, err, "the webhook secret %s cannot be resolved", row.WebhookSecretURI), "", sum); err != nil {
				return err
			}
		}
		return nil
	}
	spec := HookSpec{URL: i.HookURL(), Token: string(secret), JobEvents: true,
		EnableSSLVerification: strings.HasPrefix(strings.ToLower(i.HookURL()), "https://")}
	for _, o := range want {
		if i.waiting(row.Name, o) {
			sum.Waiting++
			continue
		}
		cur, _ := state.Owner(o)
		if err := i.install(ctx, row, o, cur, tokenURI, spec, sum); err != nil {
			return err
		}
	}
	return nil
}

// waiting reports whether owner o of egg is not to be asked now: its server
// answered 429 or its GitLab failed and its backoff runs.
func (i *WebhookInstaller) waiting(egg string, o events.WebhookOwner) bool {
	now := i.cfg.Now()
	if until, ok := i.paused[serverHost(o.GitLabServer)]; ok && now.Before(until) {
		return true
	}
	b, ok := i.backoff[egg+"\x00"+domain.HookOwnerKey(o)]
	return ok && now.Before(b.until)
}

func (i *WebhookInstaller) meta() Meta { return Meta{Actor: WebhookInstallActor} }

// install makes owner o carry spec, creating or updating the hook.
func (i *WebhookInstaller) install(ctx context.Context, row ports.EggConfigRow, o events.WebhookOwner, cur domain.HookState, tokenURI string, spec HookSpec, sum *WebhookSummary) error {
	recorded := int64(0)
	if installed(cur) {
		recorded = cur.HookID
	}
	hook, found, err := i.find(ctx, tokenURI, o, recorded, spec.URL)
	if err != nil {
		return i.fail(ctx, row.Name, o, err, spec.Token, sum)
	}
	ev := events.EggWebhookInstalled{Egg: row.Name, WebhookOwner: o, URL: spec.URL, ConfigHash: row.ConfigHash, WebhookSecretURI: row.WebhookSecretURI}
	switch {
	case !found:
		hook, err = i.cfg.GitLab.AddHook(ctx, tokenURI, o, spec)
		if err != nil {
			return i.fail(ctx, row.Name, o, err, spec.Token, sum)
		}
		ev.Action = "created"
		sum.Created++
	default:
		why := i.differences(row, cur, hook, spec)
		if len(why) == 0 {
			i.succeeded(row.Name, o)
			if cur.Status == domain.HookInstalled {
				sum.Unchanged++
				return nil
			}
			ev.HookID, ev.Action = hook.ID, "verified"
			sum.Verified++
			return i.record(ctx, ev)
		}
		disabled := hook.Disabled(i.cfg.Now())
		if hook, err = i.cfg.GitLab.EditHook(ctx, tokenURI, o, hook.ID, spec); err != nil {
			return i.fail(ctx, row.Name, o, err, spec.Token, sum)
		}
		if disabled {
			// Saving does not re-enable a hook GitLab disabled; a
			// successful test delivery does.
			if err := i.cfg.GitLab.TestHook(ctx, tokenURI, o, hook.ID); err != nil {
				return i.fail(ctx, row.Name, o, errs.Wrap(errs.Code(err), err, "hook %d was disabled by GitLab and its test delivery (which re-enables it) failed", hook.ID), spec.Token, sum)
			}
		}
		ev.Action, ev.Reason = "updated", strings.Join(why, "; ")
		sum.Updated++
	}
	ev.HookID = hook.ID
	i.succeeded(row.Name, o)
	i.log.InfoContext(ctx, "webhook "+ev.Action, "egg", row.Name, "server", o.GitLabServer, o.Kind, o.ID, "hook_id", hook.ID, "url", spec.URL, "reason", ev.Reason)
	return i.record(ctx, ev)
}

func (i *WebhookInstaller) record(ctx context.Context, ev events.EggWebhookInstalled) error {
	_, err := i.cfg.Handlers.RecordWebhookInstalled(ctx, RecordWebhookInstalled{Meta: i.meta(), Installed: ev})
	return err
}

// differences say why hook, found on GitLab, must be saved again.
func (i *WebhookInstaller) differences(row ports.EggConfigRow, cur domain.HookState, hook GitLabHook, spec HookSpec) []string {
	var why []string
	switch {
	case !installed(cur) || cur.HookID != hook.ID:
		why = append(why, fmt.Sprintf("hook %d found by its URL is not recorded as installed: its token is set", hook.ID))
	default:
		if cur.ConfigHash != row.ConfigHash {
			why = append(why, "the egg's configuration changed")
		}
		if cur.WebhookSecretURI != row.WebhookSecretURI {
			why = append(why, "the egg's webhook secret changed")
		}
	}
	if hook.URL != spec.URL {
		why = append(why, fmt.Sprintf("its URL was %s", hook.URL))
	}
	if !hook.JobEvents {
		why = append(why, "job events were off")
	}
	if hook.PushEvents {
		why = append(why, "push events were on")
	}
	if hook.EnableSSLVerification != spec.EnableSSLVerification {
		why = append(why, fmt.Sprintf("enable_ssl_verification was %t", hook.EnableSSLVerification))
	}
	if hook.Disabled(i.cfg.Now()) {
		why = append(why, fmt.Sprintf("GitLab had disabled it (alert_status %s)", orDash(hook.AlertStatus)))
	}
	return why
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// find lists owner's hooks (at most MaxPages pages) for the recorded hook,
// else the first hook with url.
func (i *WebhookInstaller) find(ctx context.Context, tokenURI string, o events.WebhookOwner, recorded int64, url string) (GitLabHook, bool, error) {
	var byURL *GitLabHook
	page := int64(1)
	for n := 0; page > 0; n++ {
		if n == i.cfg.MaxPages {
			if byURL != nil {
				return *byURL, true, nil
			}
			return GitLabHook{}, false, errs.Errorf(errs.EINVALID, "%s %d has more than %d pages of hooks; ours is not among them", o.Kind, o.ID, i.cfg.MaxPages)
		}
		hooks, next, err := i.cfg.GitLab.Hooks(ctx, tokenURI, o, page)
		if err != nil {
			return GitLabHook{}, false, err
		}
		for _, h := range hooks {
			if recorded > 0 && h.ID == recorded {
				return h, true, nil
			}
			if byURL == nil && h.URL == url {
				byURL = &h
			}
		}
		page = next
	}
	if byURL != nil {
		return *byURL, true, nil
	}
	return GitLabHook{}, false, nil
}

// remove deletes the hook s records; one already gone (404) is removed too.
func (i *WebhookInstaller) remove(ctx context.Context, egg string, s domain.HookState, reason string, sum *WebhookSummary) error {
	o := s.Owner
	tokenURI, ok := APITokenFor(i.cfg.APITokens, o.GitLabServer)
	if !ok {
		sum.Skipped++
		why := fmt.Sprintf("hook %d cannot be removed: no --gitlab-api-token for %s", s.HookID, serverHost(o.GitLabServer))
		if s.Status == domain.HookSkipped && s.Reason == why {
			return nil
		}
		_, err := i.cfg.Handlers.RecordWebhookSkipped(ctx, RecordWebhookSkipped{Meta: i.meta(), Skipped: events.EggWebhookSkipped{Egg: egg, WebhookOwner: o, Reason: why}})
		return err
	}
	if i.waiting(egg, o) {
		sum.Waiting++
		return nil
	}
	err := i.cfg.GitLab.DeleteHook(ctx, tokenURI, o, s.HookID)
	_, wasThrottled := throttled(err)
	switch {
	case errs.Code(err) == errs.ENOTFOUND && !wasThrottled:
		reason += " (the hook was already gone)"
	case err != nil:
		return i.fail(ctx, egg, o, err, "", sum)
	}
	i.succeeded(egg, o)
	sum.Removed++
	i.log.InfoContext(ctx, "webhook removed", "egg", egg, "server", o.GitLabServer, o.Kind, o.ID, "hook_id", s.HookID, "reason", reason)
	_, err = i.cfg.Handlers.RecordWebhookRemoved(ctx, RecordWebhookRemoved{Meta: i.meta(), Removed: events.EggWebhookRemoved{Egg: egg, WebhookOwner: o, HookID: s.HookID, Reason: reason}})
	return err
}

// succeeded forgets owner o's backoff.
func (i *WebhookInstaller) succeeded(egg string, o events.WebhookOwner) {
	delete(i.backoff, egg+"\x00"+domain.HookOwnerKey(o))
}

// fail records GitLab's error about owner o (unless it is o's current
// failure) and decides when o is asked again: a 429 pauses the server for
// its Retry-After (at least a second); GitLab failing or unreachable backs
// o off (BackoffBase, doubling up to BackoffMax); a refused token or a
// missing owner is asked again at the next pass (the next interval, or the
// next sync that changes eggs), since only a change elsewhere mends it.
// secret, when set, is scrubbed from the recorded reason. Its error is the
// store's.
func (i *WebhookInstaller) fail(ctx context.Context, egg string, o events.WebhookOwner, err error, secret string, sum *WebhookSummary) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	sum.Failed++
	now := i.cfg.Now()
	what := fmt.Sprintf("%s %d on %s", o.Kind, o.ID, o.GitLabServer)
	ev := events.EggWebhookInstallFailed{Egg: egg, WebhookOwner: o, Code: errs.Code(err)}
	wait, isThrottled := throttled(err)
	switch {
	case isThrottled:
		i.paused[serverHost(o.GitLabServer)] = now.Add(wait)
		ev.Code, ev.RetryAfterS = errs.EUNAVAILABLE, int64((wait+time.Second-1)/time.Second)
		ev.Reason = "GitLab answered 429 Too Many Requests; its server is not asked again before its Retry-After"
	case ev.Code == errs.EUNAUTHORIZED:
		role := "Maintainer role on the project"
		if o.Kind == domain.HookOwnerGroup {
			role = "Owner role on the group"
		}
		ev.Reason = fmt.Sprintf("GitLab refused the API token for %s (401/403): managing webhooks needs a token with the api scope and the %s: %s", what, role, errs.Message(err))
	case ev.Code == errs.ENOTFOUND:
		ev.Reason = fmt.Sprintf("%s is not found or not visible to the API token (404): %s", what, errs.Message(err))
	case ev.Code == errs.EUNAVAILABLE:
		key := egg + "\x00" + domain.HookOwnerKey(o)
		b := i.backoff[key]
		b.failures++
		wait := i.cfg.BackoffBase << min(b.failures-1, 20)
		b.until = now.Add(min(wait, i.cfg.BackoffMax))
		i.backoff[key] = b
		ev.Reason = fmt.Sprintf("GitLab failed or cannot be reached for %s; tried again with backoff: %s", what, errs.Message(err))
	default:
		ev.Reason = fmt.Sprintf("%s: %s", what, errs.Message(err))
	}
	if secret != "" {
		ev.Reason = strings.ReplaceAll(ev.Reason, secret, "[webhook secret]")
	}
	res, rerr := i.cfg.Handlers.RecordWebhookInstallFailed(ctx, RecordWebhookInstallFailed{Meta: i.meta(), Failure: ev})
	if rerr != nil {
		return rerr
	}
	if len(res.EventIDs) > 0 { // a new failure: an identical one appends nothing
		i.log.WarnContext(ctx, "webhook installation failed", "egg", egg, "server", o.GitLabServer, o.Kind, o.ID,
			"code", ev.Code, "reason", ev.Reason, "retry_after_s", ev.RetryAfterS)
	}
	return nil
}
