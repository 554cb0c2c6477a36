package domain

import (
	"slices"
	"strings"

	"github.com/polar-gosling/polar-gosling/events"
)

// maxDeliveryID bounds a webhook delivery id (a UUID from GitLab, or a
// client's Idempotency-Key).
const maxDeliveryID = 128

// Webhook is one GitLab webhook delivery, keyed by its delivery id.
type Webhook struct {
	version
	deliveryID string
	outcome    string
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

// RehydrateWebhook rebuilds delivery deliveryID from its stream's history.
func RehydrateWebhook(deliveryID string, history []events.Envelope) (*Webhook, error) {
	if err := CheckDeliveryID(deliveryID); err != nil {
		return nil, err
	}
	w := &Webhook{deliveryID: deliveryID}
	v, err := replay(w, WebhookStream(deliveryID), history)
	if err != nil {
		return nil, err
	}
	w.v = v
	return w, nil
}

func (w *Webhook) DeliveryID() string { return w.deliveryID }
func (w *Webhook) Exists() bool       { return w.v > 0 }

// Outcome returns "accepted" or "ignored" once received.
func (w *Webhook) Outcome() string { return w.outcome }

// Receive records the delivery, accepted or ignored with a reason. A
// delivery is received once; DeliveryID may be left empty.
func (w *Webhook) Receive(r events.WebhookReceived) ([]events.Event, error) {
	if w.Exists() {
		return nil, conflict("webhook delivery %s was already received", w.deliveryID)
	}
	if err := sameOrEmpty("delivery id", r.DeliveryID, w.deliveryID); err != nil {
		return nil, err
	}
	if r.EventKind == "" {
		return nil, invalid("webhook %s: event kind is empty", w.deliveryID)
	}
	switch r.Outcome {
	case "accepted":
	case "ignored":
		if strings.TrimSpace(r.Reason) == "" {
			return nil, invalid("webhook %s: an ignored delivery needs a reason", w.deliveryID)
		}
	default:
		return nil, invalid("webhook %s: outcome %q is not accepted or ignored", w.deliveryID, r.Outcome)
	}
	if r.Egg != "" {
		if _, err := NewEggName(r.Egg); err != nil {
			return nil, err
		}
	}
	r.DeliveryID = w.deliveryID
	r.Tags = slices.Clone(r.Tags)
	return []events.Event{r}, nil
}

func (w *Webhook) apply(ev events.Event) error {
	e, ok := ev.(events.WebhookReceived)
	if !ok {
		return unknownEvent("webhook "+w.deliveryID, ev)
	}
	w.outcome = e.Outcome
	return nil
}
