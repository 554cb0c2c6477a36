package domain

import (
	"slices"
	"strings"

	"github.com/polar-gosling/polar-gosling/events"
)

// Binary is the set of known builds of one binary (tofu, gosling) and the
// version new runners use.
type Binary struct {
	version
	name       string
	registered []binaryBuild
	active     string
}

type binaryBuild struct{ version, platform string }

// RehydrateBinary rebuilds binary name from its stream's history.
func RehydrateBinary(name string, history []events.Envelope) (*Binary, error) {
	if err := checkIdentifier("binary name", name); err != nil {
		return nil, err
	}
	b := &Binary{name: name}
	v, err := replay(b, BinaryStream(name), history)
	if err != nil {
		return nil, err
	}
	b.v = v
	return b, nil
}

func (b *Binary) Name() string { return b.name }

// ActiveVersion returns the activated version ("" before the first activation).
func (b *Binary) ActiveVersion() string { return b.active }

// Registered reports whether version is registered for any platform.
func (b *Binary) Registered(version string) bool {
	return slices.ContainsFunc(b.registered, func(r binaryBuild) bool { return r.version == version })
}

// RegisterVersion records a build of the binary. The same version and
// platform twice is a conflict; one version may have several platforms.
// Binary may be left empty (it is the aggregate's).
func (b *Binary) RegisterVersion(r events.BinaryVersionRegistered) ([]events.Event, error) {
	if err := sameOrEmpty("binary", r.Binary, b.name); err != nil {
		return nil, err
	}
	if r.Version == "" || strings.ContainsFunc(r.Version, isSpace) {
		return nil, invalid("binary %s: version %q is empty or has spaces", b.name, r.Version)
	}
	if os, arch, ok := strings.Cut(r.Platform, "/"); !ok || os == "" || arch == "" || strings.ContainsFunc(r.Platform, isSpace) {
		return nil, invalid("binary %s: platform %q is not os/arch", b.name, r.Platform)
	}
	if r.SHA256 == "" || !isHex(r.SHA256) {
		return nil, invalid("binary %s %s: sha256 %q is not hex", b.name, r.Version, r.SHA256)
	}
	if r.Size < 0 {
		return nil, invalid("binary %s %s: size %d is negative", b.name, r.Version, r.Size)
	}
	if err := checkWhoWhy(r.Actor, r.Reason); err != nil {
		return nil, err
	}
	if len(r.Source) > maxBinarySource {
		return nil, invalid("binary %s %s: source is %d bytes, at most %d", b.name, r.Version, len(r.Source), maxBinarySource)
	}
	if slices.Contains(b.registered, binaryBuild{r.Version, r.Platform}) {
		return nil, conflict("binary %s %s for %s is already registered", b.name, r.Version, r.Platform)
	}
	r.Binary = b.name
	return []events.Event{r}, nil
}

// Activate makes a registered version the one new runners use; actor and
// reason say who and why. Activating the active version is no events.
func (b *Binary) Activate(version, actor, reason string) ([]events.Event, error) {
	if !b.Registered(version) {
		return nil, notFound("binary %s has no registered version %q", b.name, version)
	}
	if err := checkWhoWhy(actor, reason); err != nil {
		return nil, err
	}
	if version == b.active {
		return nil, nil
	}
	return []events.Event{events.BinaryVersionActivated{Binary: b.name, Version: version, PreviousVersion: b.active, Actor: actor, Reason: reason}}, nil
}

// Bounds of what an operator records with a binary (events stay small).
const (
	maxBinaryActor  = 200
	maxBinaryReason = 1000
	maxBinarySource = 2000
)

func checkWhoWhy(actor, reason string) error {
	if len(actor) > maxBinaryActor {
		return invalid("binary actor is %d bytes, at most %d", len(actor), maxBinaryActor)
	}
	if len(reason) > maxBinaryReason {
		return invalid("binary reason is %d bytes, at most %d", len(reason), maxBinaryReason)
	}
	return nil
}

func (b *Binary) apply(ev events.Event) error {
	switch e := ev.(type) {
	case events.BinaryVersionRegistered:
		b.registered = append(b.registered, binaryBuild{e.Version, e.Platform})
	case events.BinaryVersionActivated:
		b.active = e.Version
	default:
		return unknownEvent("binary "+b.name, ev)
	}
	return nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }
