package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// PerPage is the page size of the list calls (GitLab's maximum).
const PerPage = 100

var _ commands.PendingJobLister = (*Jobs)(nil)

// ThrottledError is GitLab's 429: wait RetryAfter (its Retry-After header,
// 0 when absent or unreadable) before asking that server again. Its code is
// EUNAVAILABLE.
type ThrottledError struct {
	Wait time.Duration
	Err  error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("GitLab answered 429 Too Many Requests (retry after %s): %v", e.Wait, e.Err)
}
func (e *ThrottledError) Unwrap() error             { return e.Err }
func (e *ThrottledError) ErrorCode() string         { return errs.EUNAVAILABLE }
func (e *ThrottledError) RetryAfter() time.Duration { return e.Wait }

// PendingJobs is one page of project's pending jobs on server
// (GET /projects/:id/jobs?scope[]=pending&per_page=100&page=N), read with
// the API token tokenURI resolves to; next is the next page (X-Next-Page,
// else the Link header's rel="next"), 0 after the last. Errors are
// JobTags', and a 429 is a *ThrottledError.
func (j *Jobs) PendingJobs(ctx context.Context, server, tokenURI string, project, page int64) ([]commands.ListedJob, int64, error) {
	if project <= 0 {
		return nil, 0, errs.Errorf(errs.EINVALID, "a project id is required (got %d)", project)
	}
	ctx, client, cancel, err := j.client(ctx, server, tokenURI)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	jobs, resp, err := client.Jobs.ListProjectJobs(project, &gl.ListJobsOptions{
		ListOptions: gl.ListOptions{Page: max(page, 1), PerPage: PerPage},
		Scope:       &[]gl.BuildStateValue{gl.Pending},
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, 0, apiError(err, fmt.Sprintf("list the pending jobs of project %d on %s", project, server))
	}
	out := make([]commands.ListedJob, 0, len(jobs))
	for _, job := range jobs {
		if job != nil {
			out = append(out, commands.ListedJob{ID: job.ID, Tags: append([]string{}, job.TagList...)})
		}
	}
	return out, nextPage(resp), nil
}

// GroupProjects is one page of the ids of group's own projects on server
// (GET /groups/:id/projects?include_subgroups=false&with_shared=false&archived=false).
func (j *Jobs) GroupProjects(ctx context.Context, server, tokenURI string, group, page int64) ([]int64, int64, error) {
	if group <= 0 {
		return nil, 0, errs.Errorf(errs.EINVALID, "a group id is required (got %d)", group)
	}
	ctx, client, cancel, err := j.client(ctx, server, tokenURI)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	projects, resp, err := client.Groups.ListGroupProjects(group, &gl.ListGroupProjectsOptions{
		ListOptions:      gl.ListOptions{Page: max(page, 1), PerPage: PerPage},
		IncludeSubGroups: gl.Ptr(false), WithShared: gl.Ptr(false), Archived: gl.Ptr(false), Simple: gl.Ptr(true),
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, 0, apiError(err, fmt.Sprintf("list the projects of group %d on %s", group, server))
	}
	ids := make([]int64, 0, len(projects))
	for _, p := range projects {
		if p != nil && p.ID > 0 {
			ids = append(ids, p.ID)
		}
	}
	return ids, nextPage(resp), nil
}

// client resolves the token and builds a client for one call, bounded by
// Config.Timeout (cancel releases it).
func (j *Jobs) client(ctx context.Context, server, tokenURI string) (context.Context, *gl.Client, context.CancelFunc, error) {
	if server == "" {
		return nil, nil, nil, errs.Errorf(errs.EINVALID, "a GitLab server is required")
	}
	if tokenURI == "" {
		return nil, nil, nil, errs.Errorf(errs.EUNAUTHORIZED, "no API token is configured for %s", server)
	}
	ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	token, err := j.cfg.Secrets.Resolve(apiTokenScope(ctx, server), tokenURI)
	if err != nil {
		cancel()
		code := errs.EUNAVAILABLE
		if c := errs.Code(err); c == errs.EINVALID || c == errs.ENOTFOUND {
			code = errs.EINVALID
		}
		return nil, nil, nil, errs.Wrap(code, err, "the API token %s cannot be resolved", tokenURI)
	}
	client, err := gl.NewClient(string(token),
		gl.WithBaseURL(baseURL(server)), gl.WithHTTPClient(j.cfg.HTTPClient),
		// Reconciliation pauses the server on 429 itself and tries again
		// at its next pass.
		gl.WithoutRetries(),
	)
	if err != nil {
		cancel()
		return nil, nil, nil, errs.Wrap(errs.EINVALID, err, "GitLab server %q", server)
	}
	return ctx, client, cancel, nil
}

// nextPage is X-Next-Page, else the page of the Link header's rel="next".
func nextPage(resp *gl.Response) int64 {
	if resp == nil {
		return 0
	}
	if resp.NextPage > 0 {
		return resp.NextPage
	}
	if resp.NextLink != "" {
		if u, err := url.Parse(resp.NextLink); err == nil {
			if n, err := strconv.ParseInt(u.Query().Get("page"), 10, 64); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// retryAfter reads Retry-After: delay-seconds or an HTTP date; 0 if neither.
func retryAfter(v string, now time.Time) time.Duration {
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
