package domain

import (
	"slices"

	"github.com/polar-gosling/polar-gosling/events"
)

// UglyFoxConfig is UF/config.fly as last synced (stream "uglyfox").
type UglyFoxConfig struct {
	version
	config events.UglyFoxConfigSynced
}

// RehydrateUglyFoxConfig rebuilds the UglyFox configuration.
func RehydrateUglyFoxConfig(history []events.Envelope) (*UglyFoxConfig, error) {
	u := &UglyFoxConfig{}
	v, err := replay(u, UglyFoxStream(), history)
	if err != nil {
		return nil, err
	}
	u.v = v
	return u, nil
}

func (u *UglyFoxConfig) ConfigHash() string { return u.config.ConfigHash }
func (u *UglyFoxConfig) Policies() []string { return slices.Clone(u.config.Policies) }

// Sync records the configuration as of a Nest commit; the same hash again is no events.
func (u *UglyFoxConfig) Sync(c events.UglyFoxConfigSynced) ([]events.Event, error) {
	if c.ConfigHash == "" {
		return nil, invalid("uglyfox config: config hash is empty")
	}
	if u.v > 0 && u.config.ConfigHash == c.ConfigHash {
		return nil, nil
	}
	c.Policies = slices.Clone(c.Policies)
	return []events.Event{c}, nil
}

func (u *UglyFoxConfig) apply(ev events.Event) error {
	e, ok := ev.(events.UglyFoxConfigSynced)
	if !ok {
		return unknownEvent("uglyfox config", ev)
	}
	e.Policies = slices.Clone(e.Policies)
	u.config = e
	return nil
}
