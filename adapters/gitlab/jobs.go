// Package gitlab calls the GitLab REST API with the official client
// (gitlab.com/gitlab-org/api/client-go): jobs, a group's projects, runners
// and webhooks. API tokens are resolved through
// ports.Secrets for each call and are never logged or put into errors.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// DefaultTimeout bounds one Jobs API call when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Config is what NewJobs needs. Secrets is required.
type Config struct {
	Secrets ports.Secrets
	// Timeout bounds one call, the token resolution included (default DefaultTimeout).
	Timeout time.Duration
	// HTTPClient is the client the API calls use (default: a new one).
	HTTPClient *http.Client
}

// Jobs reads jobs through the GitLab Jobs API.
type Jobs struct {
	cfg Config
}

// NewJobs returns a Jobs reader.
func NewJobs(cfg Config) (*Jobs, error) {
	switch {
	case cfg.Secrets == nil:
		return nil, errors.New("gitlab: nil secrets")
	case cfg.Timeout < 0:
		return nil, errors.New("gitlab: negative timeout")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	return &Jobs{cfg: cfg}, nil
}

// JobTags returns the tags of job jobID of project projectID on server (an
// FQDN, perhaps with a port, or a URL with a scheme), read with the API
// token tokenURI resolves to (GET /api/v4/projects/:id/jobs/:job_id). The
// token must be allowed to read the project's jobs (read_api): MotherGoose
// uses one project, group or personal access token per GitLab server, set by
// the operator (mothergoose --gitlab-api-token). A runner authentication
// token (glrt-..., an egg's token_secret) is refused by the REST API. The
// token is resolved for each call, so a rotated secret is picked up.
//
// Errors: EINVALID when tokenURI names no secret or one this Secrets cannot
// read, EUNAUTHORIZED when GitLab refuses the token (401, 403), ENOTFOUND
// when the job does not exist for it (404), EUNAVAILABLE when the secret
// store or GitLab cannot be reached, times out or fails (5xx, 429).
func (j *Jobs) JobTags(ctx context.Context, server string, projectID, jobID int64, tokenURI string) ([]string, error) {
	if server == "" || projectID <= 0 || jobID <= 0 {
		return nil, errs.Errorf(errs.EINVALID, "a server, a project id and a job id are required (got %q, %d, %d)", server, projectID, jobID)
	}
	if tokenURI == "" {
		return nil, errs.Errorf(errs.EUNAUTHORIZED, "no API token is configured to read job %d", jobID)
	}
	ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	defer cancel()
	token, err := j.cfg.Secrets.Resolve(apiTokenScope(ctx, server), tokenURI)
	if err != nil {
		// The URI may be shown, the value never.
		code := errs.EUNAVAILABLE
		if c := errs.Code(err); c == errs.EINVALID || c == errs.ENOTFOUND {
			code = errs.EINVALID // no such secret, or a scheme this backend cannot read
		}
		return nil, errs.Wrap(code, err, "the API token %s cannot be resolved", tokenURI)
	}
	client, err := gl.NewClient(string(token),
		gl.WithBaseURL(baseURL(server)), gl.WithHTTPClient(j.cfg.HTTPClient),
		// The caller decides about retrying (a webhook answers 503 and GitLab retries).
		gl.WithoutRetries(),
	)
	if err != nil {
		return nil, errs.Wrap(errs.EINVALID, err, "GitLab server %q", server)
	}
	job, _, err := client.Jobs.GetJob(projectID, jobID, gl.WithContext(ctx))
	if err != nil {
		return nil, apiError(err, fmt.Sprintf("read job %d of project %d on %s", jobID, projectID, server))
	}
	return append([]string{}, job.TagList...), nil
}

// baseURL is https://<server>/api/v4, keeping a scheme the server has.
func baseURL(server string) string {
	s := strings.TrimRight(strings.TrimSpace(server), "/")
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return s + "/api/v4"
}

// apiTokenScope tells the secrets cache what the API token is resolved for.
func apiTokenScope(ctx context.Context, server string) context.Context {
	return ports.WithSecretScope(ctx, ports.SecretScope{Purpose: "GitLab API token of " + server})
}
