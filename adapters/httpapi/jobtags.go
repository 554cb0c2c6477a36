package httpapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// jobTags returns the tags a pending job asks for: the payload's, else the
// job's as the GitLab Jobs API reports them (Config.JobTags), read with
// MotherGoose's API token for the egg's GitLab server (Config.APITokens),
// else (no JobTags, no token for that server) the egg's own.
//
// The egg's token_secret is not used here: it is a runner authentication
// token (glrt-...), which the REST API refuses, so the Jobs API is read with
// one operator-configured credential per server (like the Nest's deploy
// credential). Those tokens were resolved once when serve started, so one
// that cannot be resolved now is a secret store problem, not configuration.
//
// A non-empty reason means the delivery is to be recorded as ignored (GitLab
// refused the token or does not know the job: retrying will not help). An
// error means the tags cannot be known now (GitLab or the secret store is
// unreachable or failing, the token cannot be resolved) and the delivery is
// to be answered 503 so that GitLab retries it.
func (s *server) jobTags(ctx context.Context, egg ports.EggConfigRow, p hookPayload) (tags []string, reason string, err error) {
	if len(p.Tags) > 0 {
		return p.Tags, "", nil
	}
	if s.cfg.JobTags == nil {
		s.log.DebugContext(ctx, "job tags not read from GitLab: no Jobs API reader; using the egg's tags", "egg", egg.Name, "job", p.BuildID)
		return egg.Tags, "", nil
	}
	project := p.projectID()
	if project <= 0 || p.BuildID <= 0 {
		s.log.DebugContext(ctx, "job tags not read from GitLab: the payload names no project or job; using the egg's tags",
			"egg", egg.Name, "project", project, "job", p.BuildID)
		return egg.Tags, "", nil
	}
	tokenURI, ok := s.apiToken(egg.GitLabServer)
	if !ok {
		s.log.DebugContext(ctx, "job tags not read from GitLab: no API token is configured for the egg's server; using the egg's tags",
			"egg", egg.Name, "job", p.BuildID, "server", egg.GitLabServer)
		return egg.Tags, "", nil
	}
	tags, err = s.cfg.JobTags(ctx, egg.GitLabServer, project, p.BuildID, tokenURI)
	switch code := errs.Code(err); code {
	case "":
		return tags, "", nil
	case errs.EUNAUTHORIZED, errs.ENOTFOUND:
		return nil, fmt.Sprintf("cannot read job %d's tags: %s", p.BuildID, errs.Message(err)), nil
	default:
		// EINVALID (the token cannot be resolved), EUNAVAILABLE and the
		// rest: GitLab retries. The token URI may be logged, its value
		// never (JobTags does not put it in errors).
		s.log.WarnContext(ctx, "job tags cannot be read from GitLab", "egg", egg.Name, "job", p.BuildID,
			"server", egg.GitLabServer, "token_uri", tokenURI, "code", code, "error", err)
		return nil, "", errs.Wrap(errs.EUNAVAILABLE, err, "the tags of job %d cannot be read from GitLab; retry", p.BuildID)
	}
}

// apiToken returns the secret URI of the API token for an egg's GitLab
// server, matched as sameServer matches deliveries: the same lower-case
// host[:port], else a token configured for the host without a port.
func (s *server) apiToken(eggServer string) (string, bool) {
	host := serverHost(eggServer)
	if uri, ok := s.apiTokens[host]; ok {
		return uri, true
	}
	if h, _, ok := strings.Cut(host, ":"); ok {
		uri, ok := s.apiTokens[h]
		return uri, ok
	}
	return "", false
}
