package domain

import "github.com/polar-gosling/polar-gosling/events"

// RecordSecretAccess decides the audit record of one secret resolution. The
// stream of a secret's accesses (SecretAccessStream) has no state to decide
// on, so there is no aggregate: it is appended to without a version check.
func RecordSecretAccess(a events.SecretAccessed) ([]events.Event, error) {
	if _, err := NewSecretURI(a.URI); err != nil {
		return nil, err
	}
	if a.Accessor == "" {
		return nil, invalid("secret access of %s: accessor is empty", a.URI)
	}
	if a.Outcome != "resolved" && a.Outcome != "failed" {
		return nil, invalid("secret access of %s: outcome %q is not resolved or failed", a.URI, a.Outcome)
	}
	return []events.Event{a}, nil
}

// The names under which a runner's module hands its agent secret URIs
// (GOSLING_SECRET_URIS): the provisioner writes them, the agent reads them.
const (
	// RunnerCredentialSecret is the runner's credential for its heartbeats.
	RunnerCredentialSecret = "GOSLING_RUNNER_CREDENTIAL"
	// RunnerTokenSecret is the GitLab runner authentication token (glrt-)
	// gitlab-runner is started with.
	RunnerTokenSecret = "GOSLING_RUNNER_TOKEN"
)
