package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"sync"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// decodePayload reads a webhook body with encoding/json: anything that is
// not one JSON value (raw control characters in strings, bad escapes,
// leading zeros, trailing data, nesting past 10,000) or that does not fit
// commands.HookPayload (an id that is no integer, a kind that is no
// string, ...) is refused. A strict reader of our own was 8 µs per Job Hook
// faster, under 10% of a webhook's CPU: not worth its 700 lines (README,
// design notes).
func decodePayload(body []byte) (commands.HookPayload, error) {
	var p commands.HookPayload
	err := json.Unmarshal(body, &p)
	return p, err
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

// gitlabWebhook reads a delivery and answers what commands.Webhooks decided.
func (s *server) gitlabWebhook(w http.ResponseWriter, r *http.Request) {
	defer drain(r.Body)
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.reject(w, r, errs.Errorf(errs.EINVALID, "Content-Type must be application/json"), http.StatusUnsupportedMediaType)
		return
	}
	buf, err := readBody(w, r, s.cfg.MaxBody)
	defer releaseBody(buf)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.reject(w, r, errs.Errorf(errs.EINVALID, "the body is over the limit of %d bytes", s.cfg.MaxBody), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		s.reject(w, r, errs.Errorf(errs.EINVALID, "the body could not be read"), 0)
		return
	}
	p, err := decodePayload(buf.Bytes())
	if err != nil {
		s.reject(w, r, errs.Errorf(errs.EINVALID, "the body is not valid JSON: %s", err), 0)
		return
	}
	id := r.Header.Get("X-Gitlab-Event-UUID")
	if id == "" {
		id = r.Header.Get("Idempotency-Key")
	}
	out, err := s.webhooks.ReceiveDelivery(r.Context(), commands.ReceiveDelivery{
		ID: id, Event: r.Header.Get("X-Gitlab-Event"), Token: r.Header.Get("X-Gitlab-Token"),
		Source: sourceOf(r.RemoteAddr), Payload: p,
	})
	switch {
	case err != nil:
		s.reject(w, r, err, 0)
	case out.Duplicate && !out.Authenticated:
		s.metrics.webhooks.WithLabelValues("duplicate").Inc()
		writeJSON(w, http.StatusAccepted, bareReceipt{Duplicate: true})
	default:
		s.metrics.webhookRecorded(out)
		writeJSON(w, http.StatusAccepted, webhookResponse{EventID: out.EventID, Outcome: string(out.Status), Reason: out.Reason, Duplicate: out.Duplicate})
	}
}

// reject answers a delivery that was not recorded: with status, or (0) the
// status of err's code.
func (s *server) reject(w http.ResponseWriter, r *http.Request, err error, status int) {
	var limited *commands.RateLimitedError
	if errors.As(err, &limited) {
		s.metrics.webhooks.WithLabelValues("rate_limited").Inc()
	} else {
		s.metrics.webhooks.WithLabelValues("rejected").Inc()
	}
	if status != 0 {
		writeJSONError(w, status, errs.Code(err), errs.Message(err))
		return
	}
	s.writeError(w, r, err)
}

// webhookRecorded counts a recorded delivery and what it appended.
func (m *Metrics) webhookRecorded(out commands.DeliveryOutcome) {
	if out.Duplicate {
		m.webhooks.WithLabelValues("duplicate").Inc()
		return
	}
	m.webhooks.WithLabelValues(string(out.Status)).Inc()
	m.EventsAppended(events.WebhookReceivedV1, 1)
	if out.RunnerRequested {
		m.EventsAppended(events.RunnerRequestedV1, 1)
	}
}

// bodyBuffers recycle webhook body buffers: growing a fresh one from
// nothing for every 2 KiB delivery cost more CPU than parsing it.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps one huge delivery from pinning its buffer.
const maxPooledBody = 64 << 10

// readBody reads at most limit bytes of the body into a pooled buffer,
// sized from Content-Length when that is within the limit. The caller
// releases it (releaseBody) once nothing refers to its bytes: the payload
// decoder copies what it keeps.
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
