package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// newWebhooks builds the webhook command over Config: the egg_configs view
// as its egg directory, the limiter of unauthenticated senders (keyed by
// the remote address this adapter reads), and the Jobs API reader with
// MotherGoose's API token per GitLab server.
func newWebhooks(cfg Config, apiTokens map[string]string) (*commands.Webhooks, error) {
	eggs, err := commands.NewEggViews(cfg.Views, cfg.Events, time.Now)
	if err != nil {
		return nil, err
	}
	wc := commands.WebhooksConfig{
		Handlers: cfg.Handlers, Eggs: eggs, Secrets: cfg.Secrets,
		Limiter: newSourceLimiter(cfg.Unauthenticated, time.Now), TriggerToken: cfg.TriggerToken, Logger: cfg.Logger,
	}
	if cfg.Sync != nil {
		wc.Sync = cfg.Sync
	}
	if cfg.JobTags != nil {
		wc.JobTags = tokenJobTags{read: cfg.JobTags, tokens: apiTokens, log: cfg.Logger}
	}
	return commands.NewWebhooks(wc)
}

// tokenJobTags is the commands.JobTagReader over Config.JobTags, with
// MotherGoose's API token for the egg's GitLab server (Config.APITokens).
//
// The egg's token_secret is not used here: it is a runner authentication
// token (glrt-...), which the REST API refuses, so the Jobs API is read with
// one operator-configured credential per server (like the Nest's deploy
// credential). Those tokens were resolved once when serve started, so one
// that cannot be resolved now is a secret store problem, not configuration.
type tokenJobTags struct {
	read   func(ctx context.Context, server string, projectID, jobID int64, tokenURI string) ([]string, error)
	tokens map[string]string // keyed by commands.ServerHost
	log    *slog.Logger
}

func (j tokenJobTags) JobTags(ctx context.Context, server string, project, job int64) ([]string, bool, error) {
	tokenURI, ok := j.token(server)
	if !ok {
		j.log.DebugContext(ctx, "job tags not read from GitLab: no API token is configured for the egg's server; using the egg's tags",
			"job", job, "server", server)
		return nil, false, nil
	}
	tags, err := j.read(ctx, server, project, job, tokenURI)
	if code := errs.Code(err); err != nil && code != errs.EUNAUTHORIZED && code != errs.ENOTFOUND {
		// The token URI may be logged, its value never (JobTags does not
		// put it in errors).
		j.log.WarnContext(ctx, "job tags cannot be read from GitLab", "job", job,
			"server", server, "token_uri", tokenURI, "code", code, "error", err)
	}
	return tags, true, err
}

// token returns the secret URI of the API token for an egg's GitLab
// server (commands.APITokenFor).
func (j tokenJobTags) token(eggServer string) (string, bool) {
	return commands.APITokenFor(j.tokens, eggServer)
}
