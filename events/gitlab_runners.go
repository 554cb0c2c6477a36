package events

// The life of a runner's GitLab runner (POST /user/runners before its first
// apply, DELETE /runners/:id after its destroy). The runner authentication
// token GitLab returns is never in an event: only the URI of the secret it
// was stored in.

// RunnerGitLabRegistered: GitLab created the runner's GitLab runner
// (runner stream). TokenSecretURI is where its authentication token was
// stored; the runner's module reads it from there as GOSLING_RUNNER_TOKEN.
type RunnerGitLabRegistered struct {
	RunnerID       string `json:"runner_id"`
	Egg            string `json:"egg"`
	GitLabServer   string `json:"gitlab_server"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	RunnerType     string `json:"runner_type"` // project_type, group_type
	OwnerID        int64  `json:"owner_id"`    // the project or group it was created in
	Description    string `json:"description"`
	TokenSecretURI string `json:"token_secret_uri"`
}

func (RunnerGitLabRegistered) EventName() string { return RunnerGitLabRegisteredV1 }

// RunnerGitLabUnregistered: the runner is provisioned without a GitLab
// runner of MotherGoose's making, for Reason (no API token for the egg's
// server): it registers with the egg's own token_secret, if any.
type RunnerGitLabUnregistered struct {
	RunnerID string `json:"runner_id"`
	Reason   string `json:"reason"`
}

func (RunnerGitLabUnregistered) EventName() string { return RunnerGitLabUnregisteredV1 }

// RunnerGitLabPaused: the runner's GitLab runner was paused before its
// termination (it takes no new job). RunningJobs > 0: GitLab said it still
// runs jobs, and the destroy waits for them (recorded once per wait).
type RunnerGitLabPaused struct {
	RunnerID       string `json:"runner_id"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	RunningJobs    int    `json:"running_jobs,omitempty"`
	Reason         string `json:"reason"`
}

func (RunnerGitLabPaused) EventName() string { return RunnerGitLabPausedV1 }

// RunnerGitLabDeleteOwed: the runner is being destroyed and its GitLab
// runner must be deleted (DELETE /runners/:id); until
// runner.gitlab_deleted, MotherGoose keeps trying, across restarts.
type RunnerGitLabDeleteOwed struct {
	RunnerID       string `json:"runner_id"`
	GitLabServer   string `json:"gitlab_server"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	Reason         string `json:"reason"`
}

func (RunnerGitLabDeleteOwed) EventName() string { return RunnerGitLabDeleteOwedV1 }

// RunnerGitLabDeleteFailed: a DELETE of an owed GitLab runner failed with
// Code (EUNAUTHORIZED, EUNAVAILABLE, ...); it is tried again after
// RetryInSeconds. Recorded when the error changes, not on every try.
type RunnerGitLabDeleteFailed struct {
	RunnerID       string `json:"runner_id"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	Code           string `json:"code"`
	Error          string `json:"error"`
	RetryInSeconds int64  `json:"retry_in_seconds"`
}

func (RunnerGitLabDeleteFailed) EventName() string { return RunnerGitLabDeleteFailedV1 }

// RunnerGitLabDeleted: the runner's GitLab runner is gone (deleted, or
// GitLab answered 404: AlreadyGone).
type RunnerGitLabDeleted struct {
	RunnerID       string `json:"runner_id"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	AlreadyGone    bool   `json:"already_gone,omitempty"`
}

func (RunnerGitLabDeleted) EventName() string { return RunnerGitLabDeletedV1 }

// RunnerGitLabOrphanDeleted: reconciliation deleted a GitLab runner of
// MotherGoose's making (its description names RunnerID) that no live
// runner owns: its runner ended, or a create whose answer was lost made it
// (a crash between the create and its event), or it is a duplicate of the
// one recorded. Recorded on the egg's stream.
type RunnerGitLabOrphanDeleted struct {
	Egg            string `json:"egg"`
	GitLabServer   string `json:"gitlab_server"`
	GitLabRunnerID int64  `json:"gitlab_runner_id"`
	RunnerID       string `json:"runner_id"`
	Reason         string `json:"reason"`
}

func (RunnerGitLabOrphanDeleted) EventName() string { return RunnerGitLabOrphanDeletedV1 }
