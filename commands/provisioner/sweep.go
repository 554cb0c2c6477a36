package provisioner

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
)

// sweep deletes the GitLab runners of MotherGoose's making (their
// description names a runner id, Description) that no live runner owns:
// the runner is not in the log or has ended (and owes no delete that is
// under way), or it is live but recorded with another GitLab runner, or
// none: a create whose answer or record was lost (a kill between GitLab's
// answer and runner.gitlab_registered, an answer that failed). Each is
// recorded (runner.gitlab_orphan_deleted on the egg's stream).
//
// It runs with no registration in flight (regMu), on a model that holds
// every registration recorded so far, so a GitLab runner being created is
// never taken for an orphan.
func (p *Provisioner) sweep(ctx context.Context) {
	if p.cfg.GitLab == nil {
		return
	}
	p.regMu.Lock()
	defer p.regMu.Unlock()
	if err := p.catchUp(ctx); err != nil {
		p.log.WarnContext(ctx, "provisioner: GitLab sweep skipped", "error", err)
		return
	}
	eggs := make([]*Egg, 0, len(p.model.Eggs))
	for _, e := range p.model.Eggs {
		eggs = append(eggs, e)
	}
	slices.SortFunc(eggs, func(a, b *Egg) int { return cmp.Compare(a.Name, b.Name) })
	for _, egg := range eggs {
		api, ok := p.apiToken(egg.GitLabServer)
		if !ok {
			continue
		}
		seen := map[int64]bool{}
		for _, o := range owners(egg) {
			if ctx.Err() != nil {
				return
			}
			list, err := p.cfg.GitLab.List(ctx, egg.GitLabServer, api, o)
			if err != nil {
				p.log.WarnContext(ctx, "provisioner: cannot list GitLab runners; swept next time", "egg", egg.Name, "owner", o.String(), "error", err)
				continue
			}
			for _, g := range list {
				if seen[g.ID] {
					continue
				}
				seen[g.ID] = true
				runnerID := RunnerOf(g.Description)
				if runnerID == "" {
					continue // not ours
				}
				reason := p.orphanReason(runnerID, g.ID)
				if reason == "" {
					continue
				}
				if _, err := p.cfg.GitLab.Delete(ctx, egg.GitLabServer, api, g.ID); err != nil {
					p.log.WarnContext(ctx, "provisioner: orphan GitLab runner not deleted; tried next sweep", "egg", egg.Name, "gitlab_runner_id", g.ID, "runner", runnerID, "error", err)
					continue
				}
				p.log.WarnContext(ctx, "provisioner: orphan GitLab runner deleted", "egg", egg.Name, "gitlab_runner_id", g.ID, "runner", runnerID, "reason", reason)
				if _, err := p.cfg.Handlers.DeleteGitLabOrphan(ctx, commands.DeleteGitLabOrphan{Meta: p.meta(runnerID), Deleted: events.RunnerGitLabOrphanDeleted{
					Egg: egg.Name, GitLabServer: egg.GitLabServer, GitLabRunnerID: g.ID, RunnerID: runnerID, Reason: reason}}); err != nil {
					p.log.WarnContext(ctx, "provisioner: orphan GitLab runner deletion not recorded", "egg", egg.Name, "gitlab_runner_id", g.ID, "error", err)
				}
			}
		}
	}
}

// orphanReason is why GitLab runner id, whose description names runnerID,
// has no owner, or "" when it has one.
func (p *Provisioner) orphanReason(runnerID string, id int64) string {
	r := p.model.Runners[runnerID]
	switch {
	case r == nil:
		return fmt.Sprintf("runner %s is not in the log", runnerID)
	case r.GitLab.ID == id && r.GitLab.Owed():
		return "" // its owed delete is under way
	case r.State == StateTerminated || r.State == StateFailed:
		return fmt.Sprintf("runner %s is %s", runnerID, r.State)
	case r.GitLab.ID == id:
		return ""
	case r.GitLab.ID == 0:
		return fmt.Sprintf("runner %s has no GitLab runner recorded: a creation whose answer or record was lost", runnerID)
	}
	return fmt.Sprintf("a duplicate: runner %s's recorded GitLab runner is %d", runnerID, r.GitLab.ID)
}
