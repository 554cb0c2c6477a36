package events

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// UnknownTypeError is returned for a record whose type no registry entry or
// upcaster knows. It is EINVALID: the input, not the reader, is wrong.
type UnknownTypeError struct{ Type string }

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("events: unknown event type %q", e.Type)
}
func (e *UnknownTypeError) ErrorCode() string { return errs.EINVALID }

// CorruptPayloadError is returned for a payload that is not valid JSON for
// its declared type.
type CorruptPayloadError struct {
	Type   string
	Stream string
	Ver    uint64
	Err    error
}

func (e *CorruptPayloadError) Error() string {
	return fmt.Sprintf("events: corrupt payload of %s (stream %q version %d): %v", e.Type, e.Stream, e.Ver, e.Err)
}
func (e *CorruptPayloadError) Unwrap() error     { return e.Err }
func (e *CorruptPayloadError) ErrorCode() string { return errs.EINVALID }

// Codec converts between Envelopes and Records with JSON payloads.
type Codec struct{ reg *Registry }

// NewCodec returns a codec over reg.
func NewCodec(reg *Registry) *Codec { return &Codec{reg: reg} }

// Registry returns the registry the codec decodes with.
func (c *Codec) Registry() *Registry { return c.reg }

// Encode returns the record for env. The payload's type must be registered
// under the name it reports, so that whatever is written can be read back.
func (c *Codec) Encode(env Envelope) (Record, error) {
	if env.Payload == nil {
		return Record{}, fmt.Errorf("events: envelope %s has no payload", env.ID)
	}
	name := env.Payload.EventName()
	t, ok := c.reg.types[name]
	if !ok {
		return Record{}, &UnknownTypeError{Type: name}
	}
	if pt := reflect.TypeOf(env.Payload); pt != t && !(pt.Kind() == reflect.Pointer && pt.Elem() == t) {
		return Record{}, fmt.Errorf("events: payload %s is registered as %s, not %s", name, t, pt)
	}
	raw, err := json.Marshal(env.Payload)
	if err != nil {
		return Record{}, fmt.Errorf("events: encode %s: %w", name, err)
	}
	return Record{Metadata: env.Metadata, Position: env.Position, Type: name, Payload: raw}, nil
}

// Decode returns the envelope for rec, upcasting old versions to the newest
// registered one and retired spellings to the current ones (respell.go). The returned payload is a pointer to the event struct.
func (c *Codec) Decode(rec Record) (Envelope, error) {
	typ, payload := rec.Type, rec.Payload
	for hops := 0; ; hops++ {
		if _, ok := c.reg.types[typ]; ok {
			break
		}
		u, ok := c.reg.upcasts[typ]
		if !ok || hops > 64 {
			return Envelope{}, &UnknownTypeError{Type: rec.Type}
		}
		next, err := u.fn(payload)
		if err != nil {
			return Envelope{}, &CorruptPayloadError{Type: typ, Stream: rec.Stream, Ver: rec.Version, Err: fmt.Errorf("upcast to %s: %w", u.to, err)}
		}
		typ, payload = u.to, next
	}
	ev, err := c.reg.New(typ)
	if err != nil {
		return Envelope{}, err
	}
	if err := json.Unmarshal(payload, ev); err != nil {
		return Envelope{}, &CorruptPayloadError{Type: typ, Stream: rec.Stream, Ver: rec.Version, Err: err}
	}
	if r, ok := ev.(respeller); ok {
		r.respell() // retired spellings of v1 payloads (respell.go)
	}
	return Envelope{Metadata: rec.Metadata, Position: rec.Position, Type: typ, Payload: ev}, nil
}

// DecodeAll decodes recs in order, stopping at the first error.
func (c *Codec) DecodeAll(recs []Record) ([]Envelope, error) {
	out := make([]Envelope, len(recs))
	for i, r := range recs {
		env, err := c.Decode(r)
		if err != nil {
			return nil, err
		}
		out[i] = env
	}
	return out, nil
}
