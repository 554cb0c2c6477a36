package main

import (
	"log/slog"

	"github.com/polar-gosling/polar-gosling/cmd/internal/foxrun"
	"github.com/polar-gosling/polar-gosling/commands/uglyfox"
)

// openUglyFox builds the in-process UglyFox loop (unless --uglyfox=false):
// the same sweep and lease as `uglyfox serve`, with its own holder id, its
// decisions sent through this process's bus.
func (m *Main) openUglyFox(st *storage, log *slog.Logger) error {
	if !m.Config.UglyFox {
		return nil
	}
	fox, err := foxrun.New(foxrun.Config{
		Deps: foxrun.Deps{Events: st.Events, Views: st.Views, LastSeen: st.LastSeen, Leases: st.Leases,
			Sender: m.Bus, Handlers: m.Handlers, Logger: log},
		Sweeper: m.Sweeper, Holder: "mothergoose-" + uglyfox.DefaultHolder(),
	})
	if err != nil {
		return err
	}
	m.fox = fox
	return nil
}
