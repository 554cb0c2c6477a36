// Package events is the wire contract of the event log: one struct per event
// type with a stable, versioned name, the envelope every event travels in, the
// registry of known types and the JSON codec. It does no I/O and imports no SDK.
package events

import (
	"encoding/json"
	"time"
)

// Event is the payload of one event. EventName returns the published wire
// name ("runner.deployed.v1"); it is written out by hand for every type and
// never derived from the Go type name, so a rename cannot orphan stored events.
type Event interface {
	EventName() string
}

// Metadata is what the writer of an event knows besides its payload.
type Metadata struct {
	// ID is unique per event (a UUIDv7, so it sorts by creation time).
	ID string `json:"id"`
	// OccurredAt is when the fact happened, as told by the deciding code's clock.
	OccurredAt time.Time `json:"occurred_at"`
	// Actor is who caused it: "gitlab:webhook", "uglyfox", "user:alice", "mothergoose:sync".
	Actor string `json:"actor,omitempty"`
	// CorrelationID ties together everything that one outside request caused.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the id of the command or event that directly caused this one.
	CausationID string `json:"causation_id,omitempty"`
}

// Position is what the store assigns when it records an event.
type Position struct {
	// Stream is the aggregate's stream ("runner-<id>").
	Stream string `json:"stream"`
	// Version is the event's 1-based number within its stream.
	Version uint64 `json:"version"`
	// GlobalPosition is its 1-based place in the whole log; it respects the
	// order of each stream (a later version always has a greater position).
	GlobalPosition uint64 `json:"global_position"`
	// RecordedAt is the store's clock at commit.
	RecordedAt time.Time `json:"recorded_at"`
	// IdempotencyKey is the key of the append that wrote the event, if any.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// Envelope is a decoded event with everything known about it.
type Envelope struct {
	Metadata
	Position
	Type    string `json:"type"`
	Payload Event  `json:"-"`
}

// Record is an event as stores keep it: the envelope with the payload still
// encoded. Stores read and write Records; the Codec turns them into Envelopes.
type Record struct {
	Metadata
	Position
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}
