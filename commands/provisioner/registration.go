package provisioner

import (
	"context"
	"fmt"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// GitLab's runner creation flow around a runner's life: its GitLab runner
// is created before its first apply (register), paused and waited for
// before its destroy (retire), deleted after it (deleteGitLab, owed until
// done), and GitLab runners of ours that no live runner owns are deleted
// at start and every SweepInterval (sweep.go).

// tokenSecretName is the secret the runner's GitLab authentication token
// is stored as (a file in a local runner's workspace).
const tokenSecretName = "gitlab-runner-token"

// jobWait is how long a terminating runner whose GitLab runner still runs
// a job waits before GitLab is asked again.
const jobWait = 30 * time.Second

// apiToken is the secret URI of MotherGoose's API token for server.
func (p *Provisioner) apiToken(server string) (string, bool) {
	if p.cfg.GitLab == nil || server == "" {
		return "", false
	}
	return commands.APITokenFor(p.cfg.APITokens, server)
}

// noTokenReason is why a runner of egg is provisioned unregistered.
func noTokenReason(egg *Egg) string {
	if egg.GitLabServer == "" {
		return fmt.Sprintf("unregistered: egg %s names no GitLab server", egg.Name)
	}
	return "unregistered: no --gitlab-api-token for " + commands.ServerHostOf(egg.GitLabServer)
}

// warnNoToken logs once per egg that its runners are provisioned unregistered.
func (p *Provisioner) warnNoToken(ctx context.Context, egg *Egg) {
	if p.cfg.GitLab == nil {
		return
	}
	if _, ok := p.apiToken(egg.GitLabServer); ok {
		return
	}
	p.mu.Lock()
	seen := p.warned[egg.Name]
	p.warned[egg.Name] = true
	p.mu.Unlock()
	if !seen {
		p.log.WarnContext(ctx, "provisioner: egg "+egg.Name+"'s runners are provisioned without a GitLab runner of MotherGoose's making (they register with the egg's token_secret, if any); give --gitlab-api-token SERVER=URI with the create_runner and read_api scopes",
			"egg", egg.Name, "gitlab_server", egg.GitLabServer, "reason", noTokenReason(egg))
	}
}

// holdUntil keeps a runner out of the decisions until t (a backoff that is
// no failure of a plan: GitLab's Retry-After, a running job, an owed delete).
func (p *Provisioner) holdUntil(id string, t time.Time) {
	p.mu.Lock()
	p.hold[id] = t
	p.mu.Unlock()
}

// register makes sure a runner about to be provisioned has its GitLab
// runner, and returns the URI its module reads the runner token from
// (GOSLING_RUNNER_TOKEN): the stored token of the GitLab runner it
// created, or, unregistered, the egg's token_secret ("" when none). ok
// false: nothing is to be planned now (the failure is recorded, or GitLab
// asked to wait).
func (p *Provisioner) register(ctx context.Context, r Runner, egg *Egg) (uri string, ok bool, err error) {
	if r.GitLab.Registered() {
		return r.GitLab.TokenURI, true, nil
	}
	if p.cfg.GitLab == nil {
		return egg.TokenURI, true, nil
	}
	api, has := p.apiToken(egg.GitLabServer)
	if !has {
		p.warnNoToken(ctx, egg)
		if reason := noTokenReason(egg); r.GitLab.Unregistered != reason {
			if _, err := p.cfg.Handlers.MarkRunnerUnregistered(ctx, commands.MarkRunnerUnregistered{Meta: p.meta(r.ID), RunnerID: r.ID, Reason: reason}); err != nil {
				return "", false, err
			}
		}
		return egg.TokenURI, true, nil
	}
	own, others, why := owner(egg)
	if why != "" {
		return "", false, p.registerFailed(ctx, r, errs.Errorf(errs.EINVALID, "%s", why))
	}
	// The sweep never runs while a GitLab runner is created and not yet
	// recorded: it would take it for an orphan.
	p.regMu.RLock()
	defer p.regMu.RUnlock()
	spec := RegistrationSpec{Owner: own, Tags: egg.Tags, Description: Description(r.ID, r.Egg), MaximumTimeout: egg.MaxJobSeconds}
	id, token, err := p.cfg.GitLab.Create(ctx, egg.GitLabServer, api, spec)
	if err != nil {
		return "", false, p.registerFailed(ctx, r, err)
	}
	uri, err = p.cfg.Compute.StoreSecret(ctx, r.ID, r.Provider, tokenSecretName, token)
	clear(token)
	for _, project := range others {
		if err != nil {
			break
		}
		err = p.cfg.GitLab.Enable(ctx, egg.GitLabServer, api, id, project)
	}
	if err != nil {
		// Never recorded, so deleted now; if this fails too, the sweep
		// finds it (its description names the runner).
		if _, derr := p.cfg.GitLab.Delete(context.WithoutCancel(ctx), egg.GitLabServer, api, id); derr != nil {
			p.log.WarnContext(ctx, "provisioner: a GitLab runner whose setup failed could not be deleted; the sweep deletes it", "runner", r.ID, "gitlab_runner_id", id, "error", derr)
		}
		return "", false, p.registerFailed(ctx, r, err)
	}
	p.log.InfoContext(ctx, "provisioner: GitLab runner created", "runner", r.ID, "egg", r.Egg, "gitlab_runner_id", id, "owner", own.String(), "token_secret_uri", uri)
	if _, err := p.cfg.Handlers.RegisterGitLabRunner(ctx, commands.RegisterGitLabRunner{Meta: p.meta(r.ID), Registered: events.RunnerGitLabRegistered{
		RunnerID: r.ID, Egg: r.Egg, GitLabServer: egg.GitLabServer, GitLabRunnerID: id, RunnerType: own.Type, OwnerID: own.ID,
		Description: spec.Description, TokenSecretURI: uri}}); err != nil {
		return "", false, err
	}
	return uri, true, nil
}

// registerFailed records a failed registration as a failed plan (stage
// register): a 429 is no failure (the runner waits for Retry-After, queued
// with that reason); 401/403, 404 and what cannot be set up (EINVALID: a
// bucket GitLab cannot hold, no secret store) are permanent (the runner is
// given up at once, which the egg's breaker counts); the rest (5xx, the
// network) takes the ordinary retries.
func (p *Provisioner) registerFailed(ctx context.Context, r Runner, err error) error {
	if after, ok := commands.RetryAfter(err); ok {
		wait := max(after, p.cfg.Policy.Backoff)
		p.holdUntil(r.ID, p.cfg.Clock().Add(wait))
		reason := fmt.Sprintf("GitLab answered 429 Too Many Requests to the registration of the runner; it is tried again after the Retry-After (%s)", after)
		if r.Queued == reason {
			return nil
		}
		_, qerr := p.cfg.Handlers.QueueRunner(ctx, commands.QueueRunner{Meta: p.meta(r.ID), RunnerID: r.ID, JobID: r.JobID, Reason: reason})
		return qerr
	}
	msg, permanent := errs.Message(err), true
	switch errs.Code(err) {
	case errs.EUNAUTHORIZED:
		msg = "GitLab refused MotherGoose's API token (it needs the create_runner scope, and the Maintainer role on the project or Owner on the group): " + msg
	case errs.ENOTFOUND:
		msg = "GitLab does not find the egg's project or group (gone, or not visible to the API token): " + msg
	case errs.EINVALID:
	default:
		permanent = false
		if msg == "internal error" {
			msg = err.Error()
		}
	}
	p.log.WarnContext(ctx, "provisioner: GitLab runner registration failed", "runner", r.ID, "egg", r.Egg, "permanent", permanent, "error", msg)
	return p.failUnplanned(ctx, r, "register", msg, permanent)
}

// retire pauses a terminating runner's GitLab runner and records that its
// delete is owed; wait true: GitLab says it still runs a job (never cut),
// or GitLab cannot be reached: the destroy waits and is decided again.
func (p *Provisioner) retire(ctx context.Context, r Runner, reason string) (wait bool, err error) {
	g := r.GitLab
	api, has := p.apiToken(g.Server)
	if has {
		hold := func(err error) (bool, error) {
			d := p.cfg.Policy.Backoff
			if after, ok := commands.RetryAfter(err); ok {
				d = max(d, after)
			}
			p.holdUntil(r.ID, p.cfg.Clock().Add(d))
			return true, err
		}
		if err := p.cfg.GitLab.Pause(ctx, g.Server, api, g.ID); err != nil {
			if errs.Code(err) == errs.EUNAVAILABLE {
				return hold(fmt.Errorf("pause GitLab runner %d: %w", g.ID, err))
			}
			// Refused or gone: nothing to wait for; the delete decides.
			p.log.WarnContext(ctx, "provisioner: GitLab runner not paused", "runner", r.ID, "gitlab_runner_id", g.ID, "error", errs.Message(err))
		} else {
			n, err := p.cfg.GitLab.RunningJobs(ctx, g.Server, api, g.ID)
			if err != nil && errs.Code(err) == errs.EUNAVAILABLE {
				return hold(fmt.Errorf("running jobs of GitLab runner %d: %w", g.ID, err))
			}
			if n > 0 && !r.EvenIfBusy { // an UglyFox rule may say a BUSY runner goes now
				if !g.Paused {
					if _, err := p.cfg.Handlers.PauseGitLabRunner(ctx, commands.PauseGitLabRunner{Meta: p.meta(r.ID), RunnerID: r.ID, GitLabRunnerID: g.ID, RunningJobs: n,
						Reason: fmt.Sprintf("terminating (%s); its destroy waits for its %d running job(s)", reason, n)}); err != nil {
						return true, err
					}
				}
				p.holdUntil(r.ID, p.cfg.Clock().Add(jobWait))
				return true, nil
			}
			if !g.Paused {
				if _, err := p.cfg.Handlers.PauseGitLabRunner(ctx, commands.PauseGitLabRunner{Meta: p.meta(r.ID), RunnerID: r.ID, GitLabRunnerID: g.ID,
					Reason: "terminating: " + reason}); err != nil {
					return true, err
				}
			}
		}
	}
	_, err = p.cfg.Handlers.OweGitLabDelete(ctx, commands.OweGitLabDelete{Meta: p.meta(r.ID), RunnerID: r.ID, GitLabServer: g.Server, GitLabRunnerID: g.ID, Reason: reason})
	return false, err
}

// deleteGitLab deletes an ended runner's owed GitLab runner. A failure is
// recorded when its error changes, and tried again after a doubling
// backoff (at most MaxDeleteBackoff; a refused token waits that long at
// once, as an operator has to fix it); it is never forgotten.
func (p *Provisioner) deleteGitLab(ctx context.Context, runnerID string, g GitLabRecord) error {
	api, has := p.apiToken(g.Server)
	var gone bool
	var err error
	if has {
		gone, err = p.cfg.GitLab.Delete(ctx, g.Server, api, g.ID)
	} else {
		err = errs.Errorf(errs.EUNAUTHORIZED, "no --gitlab-api-token for %s: GitLab runner %d is deleted once one is given", commands.ServerHostOf(g.Server), g.ID)
	}
	if err == nil {
		p.mu.Lock()
		delete(p.delFails, runnerID)
		p.mu.Unlock()
		_, err := p.cfg.Handlers.DeleteGitLabRunner(ctx, commands.DeleteGitLabRunner{Meta: p.meta(runnerID), RunnerID: runnerID, GitLabRunnerID: g.ID, AlreadyGone: gone})
		return err
	}
	if ctx.Err() != nil {
		return err
	}
	p.mu.Lock()
	p.delFails[runnerID]++
	n := p.delFails[runnerID]
	p.mu.Unlock()
	wait := p.cfg.Policy.Backoff
	for i := 1; i < n && wait < p.cfg.MaxDeleteBackoff; i++ {
		wait *= 2
	}
	code := errs.Code(err)
	after, isThrottled := commands.RetryAfter(err)
	switch {
	case code == errs.EUNAUTHORIZED:
		wait = p.cfg.MaxDeleteBackoff
	case isThrottled:
		wait = max(wait, after)
	}
	wait = min(wait, p.cfg.MaxDeleteBackoff)
	p.holdUntil(runnerID, p.cfg.Clock().Add(wait))
	msg := errs.Message(err)
	if msg == "internal error" {
		msg = err.Error()
	}
	p.log.WarnContext(ctx, "provisioner: GitLab runner delete failed; tried again", "runner", runnerID, "gitlab_runner_id", g.ID, "code", code, "error", msg, "retry_in", wait)
	if code+": "+msg == g.DeleteError {
		return nil
	}
	_, rerr := p.cfg.Handlers.FailGitLabDelete(ctx, commands.FailGitLabDelete{Meta: p.meta(runnerID), RunnerID: runnerID, GitLabRunnerID: g.ID,
		Code: code, Error: msg, RetryInSeconds: int64(wait / time.Second)})
	return rerr
}
