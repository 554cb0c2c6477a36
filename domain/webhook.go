package domain

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/polar-gosling/polar-gosling/events"
)

// maxDeliveryID bounds a webhook delivery id (a UUID from GitLab, or a
// client's Idempotency-Key).
const maxDeliveryID = 128

// Bounds of what a webhook delivery record keeps, in bytes (strings are cut
// on a UTF-8 boundary) or items. BoundDelivery applies them and names what
// it cut; every delivery is recorded through it.
const (
	// MaxWebhookEventKind: GitLab's object_kind values are short words
	// (build, merge_request, access_token).
	MaxWebhookEventKind = 64
	// MaxWebhookServer: a host name is at most 253 bytes (RFC 1035), 255
	// leaves room for a short port.
	MaxWebhookServer = 255
	// MaxWebhookRef: a branch or tag ref (refs/heads/...): Git has no
	// limit, GitLab's names are up to 255 bytes per path component; four
	// components' worth.
	MaxWebhookRef = 1024
	// MaxWebhookJobStatus: GitLab's job statuses are single words (pending,
	// waiting_for_resource).
	MaxWebhookJobStatus = 64
	// MaxWebhookTags and MaxWebhookTag: a job's runner tags, each at most
	// 255 bytes in GitLab (tag names are limited to 255).
	MaxWebhookTags = 64
	MaxWebhookTag  = 255
	// MaxWebhookReason: our own sentences, which quote payload values.
	MaxWebhookReason = 1024
)

// JobEnded reports whether a Job Hook's build_status says the job is over
// (success, failed, canceled and GitLab's other spelling cancelled,
// skipped): the job no longer holds its runner slot, and a serverless
// runner made for it goes. The one list the webhook and the provisioner read.
func JobEnded(status string) bool {
	switch status {
	case "success", "failed", "canceled", "cancelled", "skipped":
		return true
	}
	return false
}

// unauthenticatedKeyPrefix namespaces the idempotency keys of
// unauthenticated deliveries. It ends in a space, which no delivery id has
// (CheckDeliveryID), so no authenticated key can equal one of them.
const unauthenticatedKeyPrefix = "unauthenticated "

// Webhook is one GitLab webhook delivery, keyed by its delivery id, in the
// namespace of authenticated deliveries or in that of unauthenticated ones.
type Webhook struct {
	version
	deliveryID      string
	unauthenticated bool
	outcome         string
}

// CheckDeliveryID validates a webhook delivery id: 1 to 128 printable ASCII
// characters without spaces.
func CheckDeliveryID(id string) error {
	if id == "" || len(id) > maxDeliveryID {
		return invalid("webhook delivery id must have 1 to %d characters", maxDeliveryID)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return invalid("webhook delivery id %q has a space or a non-printable character", id)
		}
	}
	return nil
}

// RehydrateWebhook rebuilds authenticated delivery deliveryID from its
// stream's history (WebhookStream).
func RehydrateWebhook(deliveryID string, history []events.Envelope) (*Webhook, error) {
	return rehydrateWebhook(deliveryID, false, history)
}

// RehydrateUnauthenticatedWebhook rebuilds unauthenticated delivery
// deliveryID from its stream's history (UnauthenticatedWebhookStream).
func RehydrateUnauthenticatedWebhook(deliveryID string, history []events.Envelope) (*Webhook, error) {
	return rehydrateWebhook(deliveryID, true, history)
}

// RehydrateWebhookOf rebuilds the delivery r records: authenticated or not
// as r says.
func RehydrateWebhookOf(r events.WebhookReceived, history []events.Envelope) (*Webhook, error) {
	return rehydrateWebhook(r.DeliveryID, r.Unauthenticated, history)
}

func rehydrateWebhook(deliveryID string, unauthenticated bool, history []events.Envelope) (*Webhook, error) {
	if err := CheckDeliveryID(deliveryID); err != nil {
		return nil, err
	}
	w := &Webhook{deliveryID: deliveryID, unauthenticated: unauthenticated}
	v, err := replay(w, w.Stream(), history)
	if err != nil {
		return nil, err
	}
	w.v = v
	return w, nil
}

func (w *Webhook) DeliveryID() string { return w.deliveryID }
func (w *Webhook) Exists() bool       { return w.v > 0 }

// Unauthenticated reports whether this is a delivery no token authenticated.
func (w *Webhook) Unauthenticated() bool { return w.unauthenticated }

// Stream is the delivery's stream: WebhookStream, or
// UnauthenticatedWebhookStream for an unauthenticated delivery.
func (w *Webhook) Stream() string {
	if w.unauthenticated {
		return UnauthenticatedWebhookStream(w.deliveryID)
	}
	return WebhookStream(w.deliveryID)
}

// IdempotencyKey is the key the delivery's record is appended with: the
// delivery id, or for an unauthenticated delivery the id in a namespace of
// its own, so that a sender without a token who uses an id first cannot
// make GitLab's authenticated delivery of that id a duplicate.
func (w *Webhook) IdempotencyKey() string {
	if w.unauthenticated {
		return unauthenticatedKeyPrefix + w.deliveryID
	}
	return w.deliveryID
}

// Outcome returns "accepted" or "ignored" once received.
func (w *Webhook) Outcome() string { return w.outcome }

// Receive records the delivery, accepted or ignored with a reason, bounded
// by BoundDelivery. A delivery is received once; DeliveryID may be left
// empty. An unauthenticated delivery is only ever ignored.
func (w *Webhook) Receive(r events.WebhookReceived) ([]events.Event, error) {
	if w.Exists() {
		return nil, conflict("webhook delivery %s was already received", w.deliveryID)
	}
	if err := sameOrEmpty("delivery id", r.DeliveryID, w.deliveryID); err != nil {
		return nil, err
	}
	if r.Unauthenticated != w.unauthenticated {
		return nil, invalid("webhook %s: an unauthenticated delivery is recorded apart from authenticated ones", w.deliveryID)
	}
	if r.EventKind == "" {
		return nil, invalid("webhook %s: event kind is empty", w.deliveryID)
	}
	switch r.Outcome {
	case "accepted":
		if r.Unauthenticated {
			return nil, invalid("webhook %s: an unauthenticated delivery cannot be accepted", w.deliveryID)
		}
	case "ignored":
		if strings.TrimSpace(r.Reason) == "" {
			return nil, invalid("webhook %s: an ignored delivery needs a reason", w.deliveryID)
		}
	default:
		return nil, invalid("webhook %s: outcome %q is not accepted or ignored", w.deliveryID, r.Outcome)
	}
	if r.Egg != "" && !r.Unauthenticated {
		if _, err := NewEggName(r.Egg); err != nil {
			return nil, err
		}
	}
	r.DeliveryID = w.deliveryID
	r = BoundDelivery(r)
	return []events.Event{r}, nil
}

// BoundDelivery returns r within the bounds above, its Truncated naming
// each field it cut (in field order, added to any r already names). An
// unauthenticated record keeps only fixed fields: its ref, tags, job status
// and egg are dropped, not truncated. The tags are a copy.
func BoundDelivery(r events.WebhookReceived) events.WebhookReceived {
	cut := slices.Clone(r.Truncated)
	bound := func(field string, s *string, max int) {
		if t, ok := TruncateUTF8(*s, max); ok {
			*s = t
			if !slices.Contains(cut, field) {
				cut = append(cut, field)
			}
		}
	}
	if r.Unauthenticated {
		r.Ref, r.Tags, r.JobStatus, r.Egg = "", nil, "", ""
	}
	bound("event_kind", &r.EventKind, MaxWebhookEventKind)
	bound("reason", &r.Reason, MaxWebhookReason)
	bound("gitlab_server", &r.GitLabServer, MaxWebhookServer)
	bound("job_status", &r.JobStatus, MaxWebhookJobStatus)
	bound("ref", &r.Ref, MaxWebhookRef)
	if r.Tags != nil {
		tags := r.Tags
		tagsCut := len(tags) > MaxWebhookTags
		if tagsCut {
			tags = tags[:MaxWebhookTags]
		}
		r.Tags = make([]string, len(tags))
		for i, t := range tags {
			var ok bool
			if r.Tags[i], ok = TruncateUTF8(t, MaxWebhookTag); ok {
				tagsCut = true
			}
		}
		if tagsCut && !slices.Contains(cut, "tags") {
			cut = append(cut, "tags")
		}
	}
	r.Truncated = cut
	return r
}

// TruncateUTF8 returns s cut to at most max bytes without splitting a UTF-8
// sequence, and whether it cut anything.
func TruncateUTF8(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	i := max
	// Back up over at most three continuation bytes to the start of the
	// rune that does not fit (further only for invalid UTF-8, which is cut
	// where it is).
	for j := 0; j < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(s[i]); j++ {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = max
	}
	return s[:i], true
}

func (w *Webhook) apply(ev events.Event) error {
	e, ok := ev.(events.WebhookReceived)
	if !ok {
		return unknownEvent("webhook "+w.deliveryID, ev)
	}
	w.outcome = e.Outcome
	return nil
}
