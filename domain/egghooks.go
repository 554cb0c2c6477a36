package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/polar-gosling/polar-gosling/events"
)

// Webhook owner kinds and statuses as recorded and shown.
const (
	HookOwnerProject = "project"
	HookOwnerGroup   = "group"

	HookInstalled = "installed"
	HookFailed    = "failed"
	HookSkipped   = "skipped"
	HookRemoved   = "removed"
)

// HookState is what the log says about the hook of one owner of an egg.
type HookState struct {
	Owner  events.WebhookOwner
	Status string // installed, failed, skipped, removed
	// HookID, URL, ConfigHash and WebhookSecretURI are those of the last
	// install; a later failure keeps them (the hook may still be there).
	HookID           int64
	URL              string
	ConfigHash       string
	WebhookSecretURI string
	Code             string // of a failure
	Reason           string // of a failure, a skip, an update
}

// EggWebhooks is the record of the hooks installed for one egg, by owner.
// Its decisions keep the log from growing while nothing changes: a failure
// or a skip identical to the owner's current one records nothing.
type EggWebhooks struct {
	version
	egg    EggName
	owners map[string]HookState
}

// RehydrateEggWebhooks rebuilds the hooks of egg from their stream's history.
func RehydrateEggWebhooks(egg EggName, history []events.Envelope) (*EggWebhooks, error) {
	if egg.IsZero() {
		return nil, invalid("egg name is empty")
	}
	h := &EggWebhooks{egg: egg, owners: map[string]HookState{}}
	v, err := replay(h, EggWebhooksStream(egg.String()), history)
	if err != nil {
		return nil, err
	}
	h.v = v
	return h, nil
}

// HookOwnerKey names an owner in maps and view rows: "server/kind/id".
func HookOwnerKey(o events.WebhookOwner) string {
	return fmt.Sprintf("%s/%s/%d", strings.ToLower(o.GitLabServer), o.Kind, o.ID)
}

// Owner is the state of owner's hook; false when nothing was recorded.
func (h *EggWebhooks) Owner(o events.WebhookOwner) (HookState, bool) {
	s, ok := h.owners[HookOwnerKey(o)]
	return s, ok
}

// Owners are the states of every owner recorded, by key order.
func (h *EggWebhooks) Owners() []HookState {
	out := make([]HookState, 0, len(h.owners))
	for _, k := range slices.Sorted(maps.Keys(h.owners)) {
		out = append(out, h.owners[k])
	}
	return out
}

func checkHookOwner(o events.WebhookOwner) error {
	if o.GitLabServer == "" {
		return invalid("webhook owner: no GitLab server")
	}
	if o.Kind != HookOwnerProject && o.Kind != HookOwnerGroup {
		return invalid("webhook owner kind %q is not %s or %s", o.Kind, HookOwnerProject, HookOwnerGroup)
	}
	if o.ID <= 0 {
		return invalid("webhook owner %s id %d is not positive", o.Kind, o.ID)
	}
	return nil
}

// RecordInstalled records that the hook was created, updated or found as
// wanted. A "verified" hook whose owner is already recorded installed with
// the same hook, URL and configuration records nothing.
func (h *EggWebhooks) RecordInstalled(ev events.EggWebhookInstalled) ([]events.Event, error) {
	if err := h.check(ev.Egg, ev.WebhookOwner); err != nil {
		return nil, err
	}
	switch {
	case ev.HookID <= 0:
		return nil, invalid("webhook of egg %s: hook id %d is not positive", h.egg, ev.HookID)
	case ev.URL == "":
		return nil, invalid("webhook of egg %s: no URL", h.egg)
	case ev.Action != "created" && ev.Action != "updated" && ev.Action != "verified":
		return nil, invalid("webhook of egg %s: action %q is not created, updated or verified", h.egg, ev.Action)
	}
	if cur, ok := h.Owner(ev.WebhookOwner); ok && ev.Action == "verified" && cur.Status == HookInstalled &&
		cur.HookID == ev.HookID && cur.URL == ev.URL && cur.ConfigHash == ev.ConfigHash && cur.WebhookSecretURI == ev.WebhookSecretURI {
		return nil, nil
	}
	ev.Egg = h.egg.String()
	return []events.Event{ev}, nil
}

// RecordFailed records a failure unless the owner's current state is the
// same failure (code and reason).
func (h *EggWebhooks) RecordFailed(ev events.EggWebhookInstallFailed) ([]events.Event, error) {
	if err := h.check(ev.Egg, ev.WebhookOwner); err != nil {
		return nil, err
	}
	if ev.Code == "" || ev.Reason == "" {
		return nil, invalid("webhook failure of egg %s: code and reason are required", h.egg)
	}
	if cur, ok := h.Owner(ev.WebhookOwner); ok && cur.Status == HookFailed && cur.Code == ev.Code && cur.Reason == ev.Reason {
		return nil, nil
	}
	ev.Egg = h.egg.String()
	return []events.Event{ev}, nil
}

// RecordSkipped records why the hook is not installed, unless the owner
// is already skipped for that reason.
func (h *EggWebhooks) RecordSkipped(ev events.EggWebhookSkipped) ([]events.Event, error) {
	if err := h.check(ev.Egg, ev.WebhookOwner); err != nil {
		return nil, err
	}
	if ev.Reason == "" {
		return nil, invalid("webhook skip of egg %s: a reason is required", h.egg)
	}
	if cur, ok := h.Owner(ev.WebhookOwner); ok && cur.Status == HookSkipped && cur.Reason == ev.Reason {
		return nil, nil
	}
	ev.Egg = h.egg.String()
	return []events.Event{ev}, nil
}

// RecordRemoved records that the owner's hook is gone; an owner already
// removed, or never recorded, records nothing.
func (h *EggWebhooks) RecordRemoved(ev events.EggWebhookRemoved) ([]events.Event, error) {
	if err := h.check(ev.Egg, ev.WebhookOwner); err != nil {
		return nil, err
	}
	if cur, ok := h.Owner(ev.WebhookOwner); !ok || cur.Status == HookRemoved {
		return nil, nil
	}
	ev.Egg = h.egg.String()
	return []events.Event{ev}, nil
}

func (h *EggWebhooks) check(egg string, o events.WebhookOwner) error {
	if err := sameOrEmpty("egg", egg, h.egg.String()); err != nil {
		return err
	}
	return checkHookOwner(o)
}

func (h *EggWebhooks) apply(ev events.Event) error {
	var o events.WebhookOwner
	switch e := ev.(type) {
	case events.EggWebhookInstalled:
		o = e.WebhookOwner
	case events.EggWebhookInstallFailed:
		o = e.WebhookOwner
	case events.EggWebhookSkipped:
		o = e.WebhookOwner
	case events.EggWebhookRemoved:
		o = e.WebhookOwner
	default:
		return unknownEvent("webhooks of egg "+h.egg.String(), ev)
	}
	key := HookOwnerKey(o)
	s := h.owners[key]
	s.Owner = o
	ApplyHookEvent(&s, ev)
	h.owners[key] = s
	return nil
}

// ApplyHookEvent folds one webhook event of s's owner into s: the one rule
// the aggregate and the egg_webhooks view share.
func ApplyHookEvent(s *HookState, ev events.Event) {
	switch e := ev.(type) {
	case events.EggWebhookInstalled:
		s.Status, s.HookID, s.URL, s.ConfigHash, s.WebhookSecretURI = HookInstalled, e.HookID, e.URL, e.ConfigHash, e.WebhookSecretURI
		s.Code, s.Reason = "", e.Reason
	case events.EggWebhookInstallFailed:
		s.Status, s.Code, s.Reason = HookFailed, e.Code, e.Reason
	case events.EggWebhookSkipped:
		s.Status, s.Code, s.Reason = HookSkipped, "", e.Reason
	case events.EggWebhookRemoved:
		s.Status, s.HookID, s.Code, s.Reason = HookRemoved, 0, "", e.Reason
		s.ConfigHash, s.WebhookSecretURI = "", ""
	}
}
