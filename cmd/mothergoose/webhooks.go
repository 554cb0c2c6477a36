package main

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/adapters/gitlab"
	"github.com/polar-gosling/polar-gosling/commands"
)

// openWebhookInstaller builds the installer of the eggs' GitLab webhooks
// (unless --webhook-check-interval is 0). Hooks point at the explicit
// --public-url only: the fallback http://<listen address> is one GitLab
// can rarely reach, so without --public-url every egg's hooks are recorded
// skipped with that reason.
func (m *Main) openWebhookInstaller(st *storage, jobs *gitlab.Jobs) error {
	if m.Config.WebhookCheckInterval <= 0 {
		return nil
	}
	var err error
	m.webhooks, err = commands.NewWebhookInstaller(commands.WebhookInstallerConfig{
		Handlers: m.Handlers, Views: st.Views, GitLab: jobs, Secrets: m.secrets, APITokens: m.apiTokens,
		PublicURL: strings.TrimRight(m.Config.PublicURL, "/"), Events: st.Events, Logger: m.log,
	})
	return err
}
