package provisioner

import (
	"fmt"

	"github.com/polar-gosling/polar-gosling/events"
)

// AgentPlatform is the platform cloud runners download the agent for
// (the modules' cloud-init fetches .../linux-amd64).
const AgentPlatform = "linux/amd64"

// binaryBuilds is what the log says of one binary kind (tofu, gosling):
// its registered builds' SHA-256 by version and platform, and the active
// version.
type binaryBuilds struct {
	active string
	sha256 map[[2]string]string // {version, platform} -> hex SHA-256
}

func (m *Model) applyBinary(ev events.Event) {
	kind := func(name string) *binaryBuilds {
		b := m.binaries[name]
		if b == nil {
			b = &binaryBuilds{sha256: map[[2]string]string{}}
			m.binaries[name] = b
		}
		return b
	}
	switch e := ev.(type) {
	case events.BinaryVersionRegistered:
		kind(e.Binary).sha256[[2]string{e.Version, e.Platform}] = e.SHA256
	case events.BinaryVersionActivated:
		kind(e.Binary).active = e.Version
	}
}

// build returns the SHA-256 of kind's version for platform, "" when it is
// not registered.
func (m *Model) build(kind, version, platform string) string {
	if b := m.binaries[kind]; b != nil {
		return b.sha256[[2]string{version, platform}]
	}
	return ""
}

// toolPins is what an egg's versions pins resolve to when an action of
// its runner is dispatched.
type toolPins struct {
	// TofuVersion and TofuSHA256 are the registered OpenTofu build the
	// plans run (for the platform tofu runs on here); "": the default tofu.
	TofuVersion, TofuSHA256 string
	// AgentVersion is the modules' agent_version: the pin, else the active
	// gosling version, else latest.
	AgentVersion string
	// Problem says why a runner of the egg cannot be provisioned as
	// pinned ("": it can): a pinned version that is not registered.
	Problem string
}

// resolvePins resolves egg's pins against the registered binaries;
// toolPlatform is the os/arch tofu runs on here.
func (m *Model) resolvePins(egg *Egg, toolPlatform string) toolPins {
	var p toolPins
	if v := egg.TofuVersion; v != "" {
		if sum := m.build("tofu", v, toolPlatform); sum != "" {
			p.TofuVersion, p.TofuSHA256 = v, sum
		} else {
			p.Problem = fmt.Sprintf("egg %s pins tofu %s, which is not registered for %s: mothergoose binaries add --kind tofu --version %s --platform %s --file PATH|--url URL --sha256 SHA256",
				egg.Name, v, toolPlatform, v, toolPlatform)
		}
	}
	switch v := egg.GoslingVersion; {
	case v != "":
		p.AgentVersion = v
		if m.build("gosling", v, AgentPlatform) == "" && p.Problem == "" {
			p.Problem = fmt.Sprintf("egg %s pins gosling %s, which is not registered for %s, so its runners could not download the agent: mothergoose binaries add --kind gosling --version %s --platform %s --file PATH|--url URL --sha256 SHA256",
				egg.Name, v, AgentPlatform, v, AgentPlatform)
		}
	case m.binaries["gosling"] != nil && m.binaries["gosling"].active != "":
		p.AgentVersion = m.binaries["gosling"].active
	default:
		p.AgentVersion = "latest"
	}
	return p
}
