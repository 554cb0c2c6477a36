package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

var _ commands.WebhookManager = (*Jobs)(nil)

// Hooks is one page of owner's webhooks: GET /projects/:id/hooks
// (https://docs.gitlab.com/api/project_webhooks/#list-webhooks-for-a-project)
// or GET /groups/:id/hooks
// (https://docs.gitlab.com/api/group_webhooks/#list-group-hooks). Errors are
// listError's; managing hooks needs the api scope and the Maintainer role
// on a project, Owner on a group.
func (j *Jobs) Hooks(ctx context.Context, tokenURI string, owner events.WebhookOwner, page int64) ([]commands.GitLabHook, int64, error) {
	ctx, client, cancel, err := j.hookClient(ctx, tokenURI, owner)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	opts := gl.ListOptions{Page: max(page, 1), PerPage: PerPage}
	var out []commands.GitLabHook
	var resp *gl.Response
	if owner.Kind == "group" {
		var hooks []*gl.GroupHook
		hooks, resp, err = client.Groups.ListGroupHooks(owner.ID, &gl.ListGroupHooksOptions{ListOptions: opts}, gl.WithContext(ctx))
		for _, h := range hooks {
			if h != nil {
				out = append(out, groupHook(h))
			}
		}
	} else {
		var hooks []*gl.ProjectHook
		hooks, resp, err = client.Projects.ListProjectHooks(owner.ID, &gl.ListProjectHooksOptions{ListOptions: opts}, gl.WithContext(ctx))
		for _, h := range hooks {
			if h != nil {
				out = append(out, projectHook(h))
			}
		}
	}
	if err != nil {
		return nil, 0, apiError(err, hookCall("list the hooks of", owner))
	}
	return out, nextPage(resp), nil
}

// AddHook creates the hook: POST /projects/:id/hooks
// (https://docs.gitlab.com/api/project_webhooks/#add-a-webhook-to-a-project)
// or POST /groups/:id/hooks
// (https://docs.gitlab.com/api/group_webhooks/#add-a-group-hook), every
// event off but job events as spec says (GitLab turns push events on
// unless told otherwise).
func (j *Jobs) AddHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, spec commands.HookSpec) (commands.GitLabHook, error) {
	ctx, client, cancel, err := j.hookClient(ctx, tokenURI, owner)
	if err != nil {
		return commands.GitLabHook{}, err
	}
	defer cancel()
	if owner.Kind == "group" {
		h, _, err := client.Groups.AddGroupHook(owner.ID, &gl.AddGroupHookOptions{
			URL: gl.Ptr(spec.URL), Token: gl.Ptr(spec.Token), Name: gl.Ptr(hookName), Description: gl.Ptr(hookDescription),
			JobEvents: gl.Ptr(spec.JobEvents), PushEvents: gl.Ptr(spec.PushEvents), EnableSSLVerification: gl.Ptr(spec.EnableSSLVerification),
		}, gl.WithContext(ctx))
		if err != nil {
			return commands.GitLabHook{}, apiError(err, hookCall("add a hook to", owner))
		}
		return groupHook(h), nil
	}
	h, _, err := client.Projects.AddProjectHook(owner.ID, &gl.AddProjectHookOptions{
		URL: gl.Ptr(spec.URL), Token: gl.Ptr(spec.Token), Name: gl.Ptr(hookName), Description: gl.Ptr(hookDescription),
		JobEvents: gl.Ptr(spec.JobEvents), PushEvents: gl.Ptr(spec.PushEvents), EnableSSLVerification: gl.Ptr(spec.EnableSSLVerification),
	}, gl.WithContext(ctx))
	if err != nil {
		return commands.GitLabHook{}, apiError(err, hookCall("add a hook to", owner))
	}
	return projectHook(h), nil
}

// EditHook saves spec on hook: PUT /projects/:id/hooks/:hook_id
// (https://docs.gitlab.com/api/project_webhooks/#edit-a-project-webhook) or
// PUT /groups/:id/hooks/:hook_id
// (https://docs.gitlab.com/api/group_webhooks/#edit-group-hook).
func (j *Jobs) EditHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, hook int64, spec commands.HookSpec) (commands.GitLabHook, error) {
	ctx, client, cancel, err := j.hookClient(ctx, tokenURI, owner)
	if err != nil {
		return commands.GitLabHook{}, err
	}
	defer cancel()
	if owner.Kind == "group" {
		h, _, err := client.Groups.EditGroupHook(owner.ID, hook, &gl.EditGroupHookOptions{
			URL: gl.Ptr(spec.URL), Token: gl.Ptr(spec.Token), Name: gl.Ptr(hookName), Description: gl.Ptr(hookDescription),
			JobEvents: gl.Ptr(spec.JobEvents), PushEvents: gl.Ptr(spec.PushEvents), EnableSSLVerification: gl.Ptr(spec.EnableSSLVerification),
		}, gl.WithContext(ctx))
		if err != nil {
			return commands.GitLabHook{}, apiError(err, hookCall(fmt.Sprintf("edit hook %d of", hook), owner))
		}
		return groupHook(h), nil
	}
	h, _, err := client.Projects.EditProjectHook(owner.ID, hook, &gl.EditProjectHookOptions{
		URL: gl.Ptr(spec.URL), Token: gl.Ptr(spec.Token), Name: gl.Ptr(hookName), Description: gl.Ptr(hookDescription),
		JobEvents: gl.Ptr(spec.JobEvents), PushEvents: gl.Ptr(spec.PushEvents), EnableSSLVerification: gl.Ptr(spec.EnableSSLVerification),
	}, gl.WithContext(ctx))
	if err != nil {
		return commands.GitLabHook{}, apiError(err, hookCall(fmt.Sprintf("edit hook %d of", hook), owner))
	}
	return projectHook(h), nil
}

// DeleteHook deletes hook: DELETE /projects/:id/hooks/:hook_id
// (https://docs.gitlab.com/api/project_webhooks/#delete-project-webhook) or
// DELETE /groups/:id/hooks/:hook_id
// (https://docs.gitlab.com/api/group_webhooks/#delete-a-group-hook). A hook
// already gone is ENOTFOUND.
func (j *Jobs) DeleteHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, hook int64) error {
	ctx, client, cancel, err := j.hookClient(ctx, tokenURI, owner)
	if err != nil {
		return err
	}
	defer cancel()
	if owner.Kind == "group" {
		_, err = client.Groups.DeleteGroupHook(owner.ID, hook, gl.WithContext(ctx))
	} else {
		_, err = client.Projects.DeleteProjectHook(owner.ID, hook, gl.WithContext(ctx))
	}
	if err != nil {
		return apiError(err, hookCall(fmt.Sprintf("delete hook %d of", hook), owner))
	}
	return nil
}

// TestHook sends a test job event through hook, which re-enables a hook
// GitLab disabled when the delivery succeeds: POST
// /projects/:id/hooks/:hook_id/test/job_events
// (https://docs.gitlab.com/api/project_webhooks/#trigger-a-test-project-webhook)
// or POST /groups/:id/hooks/:hook_id/test/job_events
// (https://docs.gitlab.com/api/group_webhooks/#trigger-a-test-group-hook).
func (j *Jobs) TestHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, hook int64) error {
	ctx, client, cancel, err := j.hookClient(ctx, tokenURI, owner)
	if err != nil {
		return err
	}
	defer cancel()
	if owner.Kind == "group" {
		_, err = client.Groups.TriggerTestGroupHook(owner.ID, hook, gl.GroupHookTrigger("job_events"), gl.WithContext(ctx))
	} else {
		_, err = client.Projects.TriggerTestProjectHook(owner.ID, hook, gl.ProjectHookEvent("job_events"), gl.WithContext(ctx))
	}
	if err != nil {
		return apiError(err, hookCall(fmt.Sprintf("test hook %d of", hook), owner))
	}
	return nil
}

// The name and description of the hooks MotherGoose installs, so that
// people looking at a project's webhooks know whose it is.
const (
	hookName        = "Polar Gosling MotherGoose"
	hookDescription = "Job events for Polar Gosling runners; managed by MotherGoose (edits are overwritten)"
)

func (j *Jobs) hookClient(ctx context.Context, tokenURI string, owner events.WebhookOwner) (context.Context, *gl.Client, context.CancelFunc, error) {
	if owner.ID <= 0 || (owner.Kind != "project" && owner.Kind != "group") {
		return nil, nil, nil, errs.Errorf(errs.EINVALID, "a project or group with a positive id is required (got %s %d)", owner.Kind, owner.ID)
	}
	return j.client(ctx, owner.GitLabServer, tokenURI)
}

func projectHook(h *gl.ProjectHook) commands.GitLabHook {
	out := commands.GitLabHook{ID: h.ID, URL: h.URL, JobEvents: h.JobEvents, PushEvents: h.PushEvents,
		EnableSSLVerification: h.EnableSSLVerification, AlertStatus: h.AlertStatus}
	if h.DisabledUntil != nil {
		out.DisabledUntil = *h.DisabledUntil
	}
	return out
}

func groupHook(h *gl.GroupHook) commands.GitLabHook {
	return commands.GitLabHook{ID: h.ID, URL: h.URL, JobEvents: h.JobEvents, PushEvents: h.PushEvents,
		EnableSSLVerification: h.EnableSSLVerification, AlertStatus: h.AlertStatus}
}

// hookCall names a hook call for its errors: what, then the owner.
func hookCall(what string, owner events.WebhookOwner) string {
	return fmt.Sprintf("%s %s %d on %s", what, owner.Kind, owner.ID, owner.GitLabServer)
}
