package commands

import (
	"context"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// The records of a runner's GitLab runner (the provisioner sends them).

// RegisterGitLabRunner records the GitLab runner created for a runner
// (runner.gitlab_registered): its id and the URI of its token's secret.
type RegisterGitLabRunner struct {
	Meta       `json:"-"`
	Registered events.RunnerGitLabRegistered `json:"registered"`
}

func (RegisterGitLabRunner) CommandName() string { return "runner.register_gitlab" }

// MarkRunnerUnregistered records that a runner is provisioned without a
// GitLab runner of MotherGoose's making (runner.gitlab_unregistered).
type MarkRunnerUnregistered struct {
	Meta     `json:"-"`
	RunnerID string `json:"runner_id"`
	Reason   string `json:"reason"`
}

func (MarkRunnerUnregistered) CommandName() string { return "runner.mark_unregistered" }

// PauseGitLabRunner records that a runner's GitLab runner was paused
// before its termination (runner.gitlab_paused).
type PauseGitLabRunner struct {
	Meta           `json:"-"`
	RunnerID       string `json:"runner_id"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	RunningJobs    int    `json:"running_jobs,omitempty"`
	Reason         string `json:"reason"`
}

func (PauseGitLabRunner) CommandName() string { return "runner.pause_gitlab" }

// OweGitLabDelete records that a runner's GitLab runner must be deleted
// (runner.gitlab_delete_owed).
type OweGitLabDelete struct {
	Meta           `json:"-"`
	RunnerID       string `json:"runner_id"`
	GitLabServer   string `json:"gitlab_server"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	Reason         string `json:"reason"`
}

func (OweGitLabDelete) CommandName() string { return "runner.owe_gitlab_delete" }

// FailGitLabDelete records a failed DELETE of an owed GitLab runner
// (runner.gitlab_delete_failed).
type FailGitLabDelete struct {
	Meta           `json:"-"`
	RunnerID       string `json:"runner_id"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	Code           string `json:"code"`
	Error          string `json:"error"`
	RetryInSeconds int64  `json:"retry_in_seconds"`
}

func (FailGitLabDelete) CommandName() string { return "runner.fail_gitlab_delete" }

// DeleteGitLabRunner records that a runner's GitLab runner is gone
// (runner.gitlab_deleted).
type DeleteGitLabRunner struct {
	Meta           `json:"-"`
	RunnerID       string `json:"runner_id"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	AlreadyGone    bool   `json:"already_gone,omitempty"`
}

func (DeleteGitLabRunner) CommandName() string { return "runner.delete_gitlab" }

// DeleteGitLabOrphan records, on the egg's stream, that a GitLab runner of
// MotherGoose's making that no live runner owns was deleted
// (runner.gitlab_orphan_deleted).
type DeleteGitLabOrphan struct {
	Meta    `json:"-"`
	Deleted events.RunnerGitLabOrphanDeleted `json:"deleted"`
}

func (DeleteGitLabOrphan) CommandName() string { return "egg.delete_gitlab_orphan" }

// RegisterGitLabRunner records a runner's new GitLab runner.
func (h *Handlers) RegisterGitLabRunner(ctx context.Context, cmd RegisterGitLabRunner) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.Registered.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.RegisterGitLab(cmd.Registered)
	})
}

// MarkRunnerUnregistered records why a runner has no GitLab runner of ours.
func (h *Handlers) MarkRunnerUnregistered(ctx context.Context, cmd MarkRunnerUnregistered) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.MarkUnregistered(cmd.Reason)
	})
}

// PauseGitLabRunner records a paused GitLab runner.
func (h *Handlers) PauseGitLabRunner(ctx context.Context, cmd PauseGitLabRunner) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.PauseGitLab(cmd.GitLabRunnerID, cmd.RunningJobs, cmd.Reason)
	})
}

// OweGitLabDelete records an owed GitLab runner delete.
func (h *Handlers) OweGitLabDelete(ctx context.Context, cmd OweGitLabDelete) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.OweGitLabDelete(cmd.GitLabServer, cmd.GitLabRunnerID, cmd.Reason)
	})
}

// FailGitLabDelete records a failed GitLab runner delete.
func (h *Handlers) FailGitLabDelete(ctx context.Context, cmd FailGitLabDelete) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.FailGitLabDelete(cmd.GitLabRunnerID, cmd.Code, cmd.Error, cmd.RetryInSeconds)
	})
}

// DeleteGitLabRunner records a deleted GitLab runner.
func (h *Handlers) DeleteGitLabRunner(ctx context.Context, cmd DeleteGitLabRunner) (ports.AppendResult, error) {
	return h.runner(ctx, cmd, cmd.RunnerID, func(r *domain.Runner) ([]events.Event, error) {
		return r.DeleteGitLab(cmd.GitLabRunnerID, cmd.AlreadyGone)
	})
}

// DeleteGitLabOrphan records a deleted orphan GitLab runner on its egg's stream.
func (h *Handlers) DeleteGitLabOrphan(ctx context.Context, cmd DeleteGitLabOrphan) (ports.AppendResult, error) {
	return h.egg(ctx, cmd, cmd.Deleted.Egg, func(e *domain.Egg) ([]events.Event, error) { return e.DeleteGitLabOrphan(cmd.Deleted) })
}
