package httpapi

import (
	"context"
	"fmt"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// jobTags returns the tags a pending job asks for: the payload's, else the
// job's as the GitLab Jobs API reports them (Config.JobTags, with the egg's
// token_secret), else (no JobTags, no token_secret, or one that cannot be
// resolved here) the egg's own.
//
// A non-empty reason means the delivery is to be recorded as ignored (GitLab
// refused the token or does not know the job: retrying will not help). An
// error means the tags cannot be known now and the delivery is to be
// answered 503 so that GitLab retries it.
func (s *server) jobTags(ctx context.Context, egg ports.EggConfigRow, p hookPayload) (tags []string, reason string, err error) {
	if len(p.Tags) > 0 {
		return p.Tags, "", nil
	}
	if s.cfg.JobTags == nil || egg.TokenSecretURI == "" {
		return egg.Tags, "", nil
	}
	tags, err = s.cfg.JobTags(ctx, egg.GitLabServer, p.projectID(), p.BuildID, egg.TokenSecretURI)
	switch code := errs.Code(err); code {
	case "":
		return tags, "", nil
	case errs.EUNAUTHORIZED, errs.ENOTFOUND:
		return nil, fmt.Sprintf("cannot read job %d's tags: %s", p.BuildID, errs.Message(err)), nil
	case errs.EINVALID:
		// The token secret is not there or not readable by this backend
		// (the default token_secret points at the cloud's store): as if
		// there were none.
		s.log.WarnContext(ctx, "job tags not read: the egg's token secret cannot be resolved; using the egg's tags",
			"egg", egg.Name, "job", p.BuildID, "token_uri", egg.TokenSecretURI)
		return egg.Tags, "", nil
	default:
		// The token URI may be logged, its value never (JobTags does not put it in errors).
		s.log.WarnContext(ctx, "job tags cannot be read from GitLab", "egg", egg.Name, "job", p.BuildID,
			"token_uri", egg.TokenSecretURI, "code", code, "error", err)
		return nil, "", errs.Wrap(errs.EUNAVAILABLE, err, "the tags of job %d cannot be read from GitLab; retry", p.BuildID)
	}
}
