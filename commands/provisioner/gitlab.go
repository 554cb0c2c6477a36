package provisioner

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// GitLabRunners is the port to GitLab's runners API (adapters/gitlab
// implements it with the official client). Every call names the GitLab
// server and the secret URI of MotherGoose's API token on it (resolved per
// call, never logged). Errors carry codes: EUNAUTHORIZED (401, 403: the
// token lacks the create_runner scope or the role), ENOTFOUND (404),
// EUNAVAILABLE (5xx, network); a 429 also has a RetryAfter() time.Duration
// method.
type GitLabRunners interface {
	// Create creates a runner (POST /user/runners) and returns its id and
	// its authentication token (glrt-...), which the caller stores and
	// never records.
	Create(ctx context.Context, server, tokenURI string, spec RegistrationSpec) (id int64, token []byte, err error)
	// Enable assigns project runner id to another project
	// (POST /projects/:id/runners): a bucket's runner serves all its projects.
	Enable(ctx context.Context, server, tokenURI string, id, project int64) error
	// Pause pauses runner id (PUT /runners/:id paused=true): GitLab gives it no new job.
	Pause(ctx context.Context, server, tokenURI string, id int64) error
	// RunningJobs counts runner id's running jobs (GET /runners/:id/jobs?status=running).
	RunningJobs(ctx context.Context, server, tokenURI string, id int64) (int, error)
	// Delete deletes runner id (DELETE /runners/:id); one already gone
	// (404) is success, reported by gone.
	Delete(ctx context.Context, server, tokenURI string, id int64) (gone bool, err error)
	// List lists the runners of a project (GET /projects/:id/runners?type=project_type)
	// or a group (GET /groups/:id/runners?type=group_type), all pages.
	List(ctx context.Context, server, tokenURI string, owner Owner) ([]GitLabRunner, error)
}

// Owner is the project or group a GitLab runner belongs to.
type Owner struct {
	Type string // project_type, group_type
	ID   int64
}

// RegistrationSpec is what Create asks GitLab for.
type RegistrationSpec struct {
	Owner          Owner
	Tags           []string
	Description    string
	MaximumTimeout int64 // seconds; 0: GitLab's default
	// RunUntagged is always false: a runner takes only jobs with its egg's tags.
}

// GitLabRunner is a runner as GitLab lists it.
type GitLabRunner struct {
	ID          int64
	Description string
	Paused      bool
}

// descriptionPrefix marks GitLab runners of MotherGoose's making: orphan
// cleanup deletes only those, and reads the runner id from the rest.
const descriptionPrefix = "polar-gosling runner "

// Description names the runner id and its egg in a GitLab runner's description.
func Description(runnerID, egg string) string {
	return fmt.Sprintf("%s%s (egg %s)", descriptionPrefix, runnerID, egg)
}

// RunnerOf is the runner id a description of ours names, or "" for a
// GitLab runner MotherGoose did not make.
func RunnerOf(description string) string {
	rest, ok := strings.CutPrefix(description, descriptionPrefix)
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, " (egg ")
	if !ok || id == "" || strings.ContainsAny(id, " \t\n") {
		return ""
	}
	return id
}

// owner is where an egg's GitLab runner lives: its one group (group_type),
// else its first project (project_type, enabled in the others). A bucket
// of several groups, or of groups and projects, cannot share one GitLab
// runner: the reason says so.
func owner(egg *Egg) (Owner, []int64, string) {
	switch {
	case len(egg.GroupIDs) > 1:
		return Owner{}, nil, fmt.Sprintf("egg %s names %d groups: one GitLab runner belongs to one group; split the bucket into one egg per group", egg.Name, len(egg.GroupIDs))
	case len(egg.GroupIDs) == 1 && len(egg.ProjectIDs) > 0:
		return Owner{}, nil, fmt.Sprintf("egg %s names group %d and projects: one GitLab runner cannot be a group runner and a project runner; split the bucket", egg.Name, egg.GroupIDs[0])
	case len(egg.GroupIDs) == 1:
		return Owner{Type: "group_type", ID: egg.GroupIDs[0]}, nil, ""
	case len(egg.ProjectIDs) > 0:
		return Owner{Type: "project_type", ID: egg.ProjectIDs[0]}, egg.ProjectIDs[1:], ""
	}
	return Owner{}, nil, fmt.Sprintf("egg %s names no GitLab project or group", egg.Name)
}

// owners are every project and group an egg's GitLab runners are listed in.
func owners(egg *Egg) []Owner {
	var out []Owner
	for _, g := range egg.GroupIDs {
		out = append(out, Owner{Type: "group_type", ID: g})
	}
	for _, p := range egg.ProjectIDs {
		out = append(out, Owner{Type: "project_type", ID: p})
	}
	return out
}

func (o Owner) String() string {
	if o.Type == "group_type" {
		return "group " + strconv.FormatInt(o.ID, 10)
	}
	return "project " + strconv.FormatInt(o.ID, 10)
}
