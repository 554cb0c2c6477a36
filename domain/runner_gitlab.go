package domain

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/events"
)

// The runner's GitLab runner: recorded by the provisioner around GitLab's
// runner creation flow. The state machine does not move; these decisions
// only check that the records make sense together.

// RegisterGitLab records the GitLab runner created for the runner. The
// token is recorded by the URI of the secret it was stored in, never by value.
func (r *Runner) RegisterGitLab(e events.RunnerGitLabRegistered) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	switch {
	case e.GitLabRunnerID <= 0:
		return nil, invalid("runner %s: GitLab runner id %d", r.id, e.GitLabRunnerID)
	case e.RunnerType != "project_type" && e.RunnerType != "group_type":
		return nil, invalid("runner %s: GitLab runner type %q is not project_type or group_type", r.id, e.RunnerType)
	case e.GitLabServer == "":
		return nil, invalid("runner %s: GitLab runner without a server", r.id)
	case e.TokenSecretURI == "" || strings.HasPrefix(e.TokenSecretURI, "glrt-"):
		return nil, invalid("runner %s: the GitLab runner's token is recorded by the URI of its secret", r.id)
	}
	e.RunnerID, e.Egg = r.id.String(), r.egg.String()
	return []events.Event{e}, nil
}

// MarkUnregistered records that the runner is provisioned without a GitLab
// runner of MotherGoose's making, and why.
func (r *Runner) MarkUnregistered(reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, invalid("runner %s: unregistered without a reason", r.id)
	}
	return []events.Event{events.RunnerGitLabUnregistered{RunnerID: r.id.String(), Reason: reason}}, nil
}

// PauseGitLab records that the runner's GitLab runner was paused.
func (r *Runner) PauseGitLab(gitlabID int64, running int, reason string) ([]events.Event, error) {
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	if gitlabID <= 0 || running < 0 {
		return nil, invalid("runner %s: GitLab runner %d paused with %d running jobs", r.id, gitlabID, running)
	}
	return []events.Event{events.RunnerGitLabPaused{RunnerID: r.id.String(), GitLabRunnerID: gitlabID, RunningJobs: running, Reason: reason}}, nil
}

// OweGitLabDelete records that the runner's GitLab runner must be deleted.
// A terminated runner may still owe it (a crash between its destroy and this).
func (r *Runner) OweGitLabDelete(server string, gitlabID int64, reason string) ([]events.Event, error) {
	if !r.Exists() {
		return nil, notFound("runner %s does not exist", r.id)
	}
	if gitlabID <= 0 || server == "" {
		return nil, invalid("runner %s: GitLab runner %d on %q", r.id, gitlabID, server)
	}
	return []events.Event{events.RunnerGitLabDeleteOwed{RunnerID: r.id.String(), GitLabServer: server, GitLabRunnerID: gitlabID, Reason: reason}}, nil
}

// FailGitLabDelete records a failed DELETE of an owed GitLab runner (the
// runner is terminated by then, as a rule).
func (r *Runner) FailGitLabDelete(gitlabID int64, code, message string, retryIn int64) ([]events.Event, error) {
	if !r.Exists() {
		return nil, notFound("runner %s does not exist", r.id)
	}
	if gitlabID <= 0 || message == "" {
		return nil, invalid("runner %s: GitLab runner %d delete failed without a reason", r.id, gitlabID)
	}
	return []events.Event{events.RunnerGitLabDeleteFailed{RunnerID: r.id.String(), GitLabRunnerID: gitlabID, Code: code, Error: message, RetryInSeconds: max(0, retryIn)}}, nil
}

// DeleteGitLab records that the runner's GitLab runner is gone.
func (r *Runner) DeleteGitLab(gitlabID int64, alreadyGone bool) ([]events.Event, error) {
	if !r.Exists() {
		return nil, notFound("runner %s does not exist", r.id)
	}
	if gitlabID <= 0 {
		return nil, invalid("runner %s: GitLab runner id %d", r.id, gitlabID)
	}
	return []events.Event{events.RunnerGitLabDeleted{RunnerID: r.id.String(), GitLabRunnerID: gitlabID, AlreadyGone: alreadyGone}}, nil
}

// DeleteGitLabOrphan records that a GitLab runner of the egg's, which no
// live runner owns, was deleted.
func (e *Egg) DeleteGitLabOrphan(ev events.RunnerGitLabOrphanDeleted) ([]events.Event, error) {
	if !e.synced {
		return nil, notFound("egg %s does not exist", e.name)
	}
	if ev.GitLabRunnerID <= 0 || ev.Reason == "" {
		return nil, invalid("egg %s: orphan GitLab runner %d deleted without a reason", e.name, ev.GitLabRunnerID)
	}
	ev.Egg = e.name.String()
	return []events.Event{ev}, nil
}
