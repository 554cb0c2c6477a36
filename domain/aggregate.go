package domain

import (
	"maps"
	"reflect"
	"slices"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// evolver is an aggregate's one way of changing state: applying an event
// that happened. It is called for history only; decisions never call it.
type evolver interface {
	apply(ev events.Event) error
}

// replay applies history to a, checking that every envelope belongs to stream
// and that versions follow each other, and returns the last version.
// Envelopes without a position (built in memory) count 1, 2, 3, ...
func replay(a evolver, stream string, history []events.Envelope) (uint64, error) {
	var version uint64
	for _, env := range history {
		if env.Stream != "" && env.Stream != stream {
			return 0, errs.Errorf(errs.EINTERNAL, "rehydrate %s: event %s belongs to stream %q", stream, env.ID, env.Stream)
		}
		if env.Version != 0 && env.Version != version+1 {
			return 0, errs.Errorf(errs.EINTERNAL, "rehydrate %s: version %d follows %d", stream, env.Version, version)
		}
		if env.Payload == nil {
			return 0, errs.Errorf(errs.EINTERNAL, "rehydrate %s: event %d has no payload", stream, version+1)
		}
		if err := a.apply(payloadValue(env.Payload)); err != nil {
			return 0, err
		}
		version++
	}
	return version, nil
}

// payloadValue returns the event struct itself when ev is a pointer to one:
// the codec decodes to pointers, decisions produce values, and apply methods
// switch on values only.
func payloadValue(ev events.Event) events.Event {
	v := reflect.ValueOf(ev)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		if val, ok := v.Elem().Interface().(events.Event); ok {
			return val
		}
	}
	return ev
}

func unknownEvent(aggregate string, ev events.Event) error {
	return errs.Errorf(errs.EINTERNAL, "%s cannot apply event %s (%T)", aggregate, ev.EventName(), ev)
}

// version is embedded by every aggregate.
type version struct{ v uint64 }

// Version returns the stream version of the last event applied; 0 means the
// aggregate has no history (it does not exist yet).
func (v version) Version() uint64 { return v.v }

func invalid(format string, args ...any) error  { return errs.Errorf(errs.EINVALID, format, args...) }
func conflict(format string, args ...any) error { return errs.Errorf(errs.ECONFLICT, format, args...) }
func notFound(format string, args ...any) error { return errs.Errorf(errs.ENOTFOUND, format, args...) }

// sameOrEmpty checks a payload's id field against the aggregate's id: the
// caller may leave it empty (it is filled in) but may not name another one.
func sameOrEmpty(kind, got, want string) error {
	if got != "" && got != want {
		return invalid("%s %q does not match %q", kind, got, want)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// checkCommit validates a Git commit hash: 4 to 64 hex digits (abbreviated
// or full SHA-1/SHA-256).
func checkCommit(s string) error {
	if len(s) < 4 || len(s) > 64 || !isHex(s) {
		return invalid("commit %q is not a git commit hash (4 to 64 hex digits)", s)
	}
	return nil
}

// checkSecretURIs validates every URI in m (module input -> URI).
func checkSecretURIs(m map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if _, err := NewSecretURI(m[name]); err != nil {
			return invalid("secret input %q: %s", name, errs.Message(err))
		}
	}
	return nil
}

// corrupt reports a stored event whose values the domain no longer accepts:
// the log, not the caller, is wrong.
func corrupt(id string, err error) error {
	return errs.Wrap(errs.EINTERNAL, err, "stored event of %s holds an invalid value", id)
}
