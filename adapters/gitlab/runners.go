package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/polar-gosling/polar-gosling/commands/provisioner"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// maxRunnerPages bounds the pages one owner's runner list reads (100 a page).
const maxRunnerPages = 20

var _ provisioner.GitLabRunners = (*Runners)(nil)

// Runners creates and deletes GitLab runners through GitLab's runner
// creation flow (https://docs.gitlab.com/ci/runners/new_creation_workflow/)
// with MotherGoose's API token, which needs the create_runner scope (and
// read_api for the lists), and the Maintainer role on a project or Owner on
// a group. Tokens are resolved per call through ports.Secrets; the runner
// authentication token a create returns is handed to the caller and never
// logged or put into an error.
type Runners struct{ jobs *Jobs }

// NewRunners returns the runners API client.
func NewRunners(cfg Config) (*Runners, error) {
	j, err := NewJobs(cfg)
	if err != nil {
		return nil, err
	}
	return &Runners{jobs: j}, nil
}

// Create implements provisioner.GitLabRunners: POST /user/runners
// (https://docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user),
// run_untagged false.
func (r *Runners) Create(ctx context.Context, server, tokenURI string, spec provisioner.RegistrationSpec) (int64, []byte, error) {
	opts := &gl.CreateUserRunnerOptions{
		RunnerType: gl.Ptr(spec.Owner.Type), Description: gl.Ptr(spec.Description),
		RunUntagged: gl.Ptr(false), TagList: gl.Ptr(append([]string{}, spec.Tags...)),
	}
	switch spec.Owner.Type {
	case "project_type":
		opts.ProjectID = gl.Ptr(spec.Owner.ID)
	case "group_type":
		opts.GroupID = gl.Ptr(spec.Owner.ID)
	default:
		return 0, nil, errs.Errorf(errs.EINVALID, "GitLab runner type %q: want project_type or group_type", spec.Owner.Type)
	}
	if spec.MaximumTimeout > 0 {
		opts.MaximumTimeout = gl.Ptr(spec.MaximumTimeout)
	}
	what := fmt.Sprintf("create a runner in %s on %s", spec.Owner, server)
	ctx, client, cancel, err := r.jobs.client(ctx, server, tokenURI)
	if err != nil {
		return 0, nil, err
	}
	defer cancel()
	created, _, err := client.Users.CreateUserRunner(opts, gl.WithContext(ctx))
	if err != nil {
		return 0, nil, apiError(err, what)
	}
	if created == nil || created.ID <= 0 || created.Token == "" {
		return 0, nil, errs.Errorf(errs.EUNAVAILABLE, "GitLab answered the request to %s without a runner id or token", what)
	}
	return created.ID, []byte(created.Token), nil
}

// Enable implements provisioner.GitLabRunners: POST /projects/:id/runners
// (https://docs.gitlab.com/api/runners/#assign-a-runner-to-project).
func (r *Runners) Enable(ctx context.Context, server, tokenURI string, id, project int64) error {
	ctx, client, cancel, err := r.jobs.client(ctx, server, tokenURI)
	if err != nil {
		return err
	}
	defer cancel()
	_, _, err = client.Runners.EnableProjectRunner(project, &gl.EnableProjectRunnerOptions{RunnerID: id}, gl.WithContext(ctx))
	if err != nil {
		return apiError(err, fmt.Sprintf("assign runner %d to project %d on %s", id, project, server))
	}
	return nil
}

// Pause implements provisioner.GitLabRunners: PUT /runners/:id paused=true
// (https://docs.gitlab.com/api/runners/#pause-a-runner).
func (r *Runners) Pause(ctx context.Context, server, tokenURI string, id int64) error {
	ctx, client, cancel, err := r.jobs.client(ctx, server, tokenURI)
	if err != nil {
		return err
	}
	defer cancel()
	_, _, err = client.Runners.UpdateRunnerDetails(id, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(true)}, gl.WithContext(ctx))
	if err != nil {
		return apiError(err, fmt.Sprintf("pause runner %d on %s", id, server))
	}
	return nil
}

// RunningJobs implements provisioner.GitLabRunners: GET
// /runners/:id/jobs?status=running
// (https://docs.gitlab.com/api/runners/#list-jobs-processed-by-a-runner);
// one page of 100 is enough to know there is one.
func (r *Runners) RunningJobs(ctx context.Context, server, tokenURI string, id int64) (int, error) {
	ctx, client, cancel, err := r.jobs.client(ctx, server, tokenURI)
	if err != nil {
		return 0, err
	}
	defer cancel()
	jobs, _, err := client.Runners.ListRunnerJobs(id, &gl.ListRunnerJobsOptions{ListOptions: gl.ListOptions{PerPage: PerPage}, Status: gl.Ptr("running")}, gl.WithContext(ctx))
	if err != nil {
		return 0, apiError(err, fmt.Sprintf("list the running jobs of runner %d on %s", id, server))
	}
	return len(jobs), nil
}

// Delete implements provisioner.GitLabRunners: DELETE /runners/:id
// (https://docs.gitlab.com/api/runners/#delete-a-runner-by-id); a 404 is
// a runner already gone.
func (r *Runners) Delete(ctx context.Context, server, tokenURI string, id int64) (bool, error) {
	ctx, client, cancel, err := r.jobs.client(ctx, server, tokenURI)
	if err != nil {
		return false, err
	}
	defer cancel()
	_, err = client.Runners.RemoveRunner(id, gl.WithContext(ctx))
	if err == nil {
		return false, nil
	}
	err = apiError(err, fmt.Sprintf("delete runner %d on %s", id, server))
	if errs.Code(err) == errs.ENOTFOUND {
		return true, nil
	}
	return false, err
}

// List implements provisioner.GitLabRunners: GET
// /projects/:id/runners?type=project_type
// (https://docs.gitlab.com/api/runners/#list-projects-runners) or GET
// /groups/:id/runners?type=group_type
// (https://docs.gitlab.com/api/runners/#list-groups-runners), every page
// up to maxRunnerPages.
func (r *Runners) List(ctx context.Context, server, tokenURI string, owner provisioner.Owner) ([]provisioner.GitLabRunner, error) {
	var out []provisioner.GitLabRunner
	what := fmt.Sprintf("list the runners of %s on %s", owner, server)
	for page, n := int64(1), 0; page > 0 && n < maxRunnerPages; n++ {
		lctx, client, cancel, err := r.jobs.client(ctx, server, tokenURI)
		if err != nil {
			return nil, err
		}
		lo := gl.ListOptions{Page: page, PerPage: PerPage}
		var list []*gl.Runner
		var resp *gl.Response
		switch owner.Type {
		case "project_type":
			list, resp, err = client.Runners.ListProjectRunners(owner.ID, &gl.ListProjectRunnersOptions{ListOptions: lo, Type: gl.Ptr("project_type")}, gl.WithContext(lctx))
		case "group_type":
			list, resp, err = client.Runners.ListGroupsRunners(owner.ID, &gl.ListGroupsRunnersOptions{ListOptions: lo, Type: gl.Ptr("group_type")}, gl.WithContext(lctx))
		default:
			err = errs.Errorf(errs.EINVALID, "GitLab runner type %q: want project_type or group_type", owner.Type)
		}
		cancel()
		if err != nil {
			if errs.Code(err) == errs.EINVALID {
				return nil, err
			}
			return nil, apiError(err, what)
		}
		for _, g := range list {
			if g != nil {
				out = append(out, provisioner.GitLabRunner{ID: g.ID, Description: g.Description, Paused: g.Paused})
			}
		}
		page = nextPage(resp)
	}
	return out, nil
}
