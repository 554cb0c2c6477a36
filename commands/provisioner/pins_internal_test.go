package provisioner

import (
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/events"
)

func TestResolvePins(t *testing.T) {
	tofu := func(v, platform, sum string) events.Event {
		return events.BinaryVersionRegistered{Binary: "tofu", Version: v, Platform: platform, SHA256: sum}
	}
	gosling := func(v string) events.Event {
		return events.BinaryVersionRegistered{Binary: "gosling", Version: v, Platform: AgentPlatform, SHA256: "9" + v}
	}
	activate := func(kind, v string) events.Event { return events.BinaryVersionActivated{Binary: kind, Version: v} }
	for _, tc := range []struct {
		name             string
		history          []events.Event
		tofuPin, agent   string
		want             toolPins
		problemHasPrefix string
	}{
		{"unpinned_no_binaries", nil, "", "", toolPins{AgentVersion: "latest"}, ""},
		{"unpinned_follows_the_active_gosling", []events.Event{gosling("0.3.0"), gosling("0.4.0"), activate("gosling", "0.4.0")}, "", "",
			toolPins{AgentVersion: "0.4.0"}, ""},
		{"tofu_pin_registered_for_this_host", []events.Event{tofu("1.9.0", "linux/amd64", "ab"), tofu("1.9.0", "darwin/arm64", "cd")}, "1.9.0", "",
			toolPins{TofuVersion: "1.9.0", TofuSHA256: "ab", AgentVersion: "latest"}, ""},
		{"tofu_pin_only_for_another_platform", []events.Event{tofu("1.9.0", "darwin/arm64", "cd")}, "1.9.0", "",
			toolPins{AgentVersion: "latest"}, "egg web pins tofu 1.9.0, which is not registered for linux/amd64: mothergoose binaries add --kind tofu --version 1.9.0"},
		{"gosling_pin_wins_over_the_active", []events.Event{gosling("0.3.0"), gosling("0.4.0"), activate("gosling", "0.4.0")}, "", "0.3.0",
			toolPins{AgentVersion: "0.3.0"}, ""},
		{"gosling_pin_not_registered", []events.Event{gosling("0.4.0"), activate("gosling", "0.4.0")}, "", "0.5.0",
			toolPins{AgentVersion: "0.5.0"}, "egg web pins gosling 0.5.0, which is not registered for linux/amd64, so its runners could not download the agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel()
			for i, ev := range tc.history {
				m.Apply(events.Envelope{Position: events.Position{GlobalPosition: uint64(i + 1)}, Payload: ev})
			}
			got := m.resolvePins(&Egg{Name: "web", TofuVersion: tc.tofuPin, GoslingVersion: tc.agent}, "linux/amd64")
			problem := got.Problem
			got.Problem = ""
			if got != tc.want {
				t.Errorf("pins %+v, want %+v", got, tc.want)
			}
			if (tc.problemHasPrefix == "") != (problem == "") || !strings.HasPrefix(problem, tc.problemHasPrefix) {
				t.Errorf("problem %q, want one starting %q", problem, tc.problemHasPrefix)
			}
		})
	}
}
