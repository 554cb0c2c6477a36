package projections

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// AuditLogs projects every event into the audit_logs view: one row per
// event, keyed by its global position, with a one-line summary for people.
// Events carry secret URIs, never secret values, and summaries show no more
// than the URI.
type AuditLogs struct{}

func (AuditLogs) Name() string { return ports.ViewAuditLogs }

func (AuditLogs) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	row := ports.AuditLogRow{
		Key:           ports.PositionKey(env.GlobalPosition),
		Position:      env.GlobalPosition,
		EventID:       env.ID,
		Stream:        env.Stream,
		StreamVersion: env.Version,
		Type:          env.Type,
		Actor:         env.Actor,
		CorrelationID: env.CorrelationID,
		CausationID:   env.CausationID,
		Summary:       Summary(env),
		OccurredAt:    utc(env.OccurredAt),
		RecordedAt:    utc(env.RecordedAt),
		Version:       env.Version,
	}
	// The row's version is its event's: a second Put of the same event is refused.
	_, err := ports.AuditLogs.In(tx).Put(ctx, row)
	return err
}

// maxDetail bounds free text (error messages, reasons) copied into a summary.
const maxDetail = 200

// Summary is the audit line of env: what happened, to what, and why when the
// event says. An event type without a summary of its own (a newer version
// not yet described) is shown by its name.
func Summary(env events.Envelope) string {
	switch e := payload(env).(type) {
	case events.NestSynced:
		return fmt.Sprintf("Nest synced at %s (%s): %d eggs added, %d updated, %d removed, %d jobs%s",
			short(e.Commit), e.Trigger, e.EggsAdded, e.EggsUpdated, e.EggsRemoved, e.JobsSynced, when(e.UglyFoxSynced, ", UglyFox config")) +
			when(e.FullResyncReason != "", ", in full: "+clip(e.FullResyncReason))
	case events.NestSyncFailureRepeated:
		return fmt.Sprintf("Nest sync failure %s repeated %d times, the last at %s", e.FailureEventID, e.Count, utc(e.LastAt).Format(time.RFC3339))
	case events.NestSyncFailed:
		if len(e.Diagnostics) > 0 {
			return fmt.Sprintf("Nest sync of %s (%s) failed: %d diagnostics, first %s:%d: %s",
				short(e.Commit), e.Trigger, len(e.Diagnostics), e.Diagnostics[0].File, e.Diagnostics[0].Line, clip(e.Diagnostics[0].Summary))
		}
		return fmt.Sprintf("Nest sync of %s (%s) failed: %s", orUnknown(short(e.Commit)), e.Trigger, clip(e.Error))
	case events.EggSynced:
		return fmt.Sprintf("%s %s synced at %s: %s on %s %s", orDefault(e.Kind, "egg"), e.Name, short(e.Commit), e.RunnerType, e.Provider, e.Region)
	case events.EggRemoved:
		return fmt.Sprintf("egg %s removed at %s%s", e.Name, short(e.Commit), because(e.Reason))
	case events.EggRetryAsked:
		return fmt.Sprintf("retry of egg %s asked%s", e.Egg, because(e.Reason))
	case events.EggReconcileFailed:
		wait := ""
		if e.RetryAfterMS > 0 {
			wait = fmt.Sprintf("; not asked again for %s", time.Duration(e.RetryAfterMS)*time.Millisecond)
		}
		return fmt.Sprintf("reconciliation of egg %s cannot list %s on %s (%s): %s%s", e.Egg, e.Scope, e.Server, e.Code, clip(e.Reason), wait)
	case events.EggReconcileRecovered:
		return fmt.Sprintf("reconciliation of egg %s lists its jobs on %s again", e.Egg, e.Server)
	case events.EggWebhookInstalled:
		return fmt.Sprintf("webhook %d of egg %s %s on %s %d (%s) -> %s%s", e.HookID, e.Egg, e.Action, e.Kind, e.ID, e.GitLabServer, e.URL, because(e.Reason))
	case events.EggWebhookInstallFailed:
		s := fmt.Sprintf("webhook of egg %s on %s %d (%s) failed: %s %s", e.Egg, e.Kind, e.ID, e.GitLabServer, e.Code, clip(e.Reason))
		if e.RetryAfterS > 0 {
			s += fmt.Sprintf(" (retry after %ds)", e.RetryAfterS)
		}
		return s
	case events.EggWebhookSkipped:
		return fmt.Sprintf("webhook of egg %s on %s %d (%s) not installed%s", e.Egg, e.Kind, e.ID, e.GitLabServer, because(e.Reason))
	case events.EggWebhookRemoved:
		return fmt.Sprintf("webhook %d of egg %s removed from %s %d (%s)%s", e.HookID, e.Egg, e.Kind, e.ID, e.GitLabServer, because(e.Reason))
	case events.EggDeployAsked:
		return fmt.Sprintf("deploy %s of egg %s to configuration %s asked%s", e.DeployID, e.Egg, e.ConfigHash, because(e.Reason))
	case events.EggRollbackAsked:
		return fmt.Sprintf("rollback %s of egg %s from configuration %s to %s (plan %s) asked%s", e.DeployID, e.Egg, e.FromConfigHash, e.ToConfigHash, e.ToPlanID, because(e.Reason))
	case events.EggDeployFinished:
		return fmt.Sprintf("deploy %s of egg %s finished: %s, %d plans%s", e.DeployID, e.Egg, e.Outcome, len(e.PlanIDs), because(e.Reason))
	case events.JobSynced:
		if e.Removed {
			return fmt.Sprintf("job %s removed at %s", e.Name, short(e.Commit))
		}
		return fmt.Sprintf("job %s synced at %s: schedule %q", e.Name, short(e.Commit), e.Schedule)
	case events.UglyFoxConfigSynced:
		return fmt.Sprintf("UglyFox config synced at %s: %d policies", short(e.Commit), len(e.Policies))
	case events.WebhookReceived:
		s := fmt.Sprintf("webhook %s %s", e.EventKind, e.Outcome)
		if e.Egg != "" {
			s += " for egg " + e.Egg
		}
		if e.JobID != 0 {
			s += fmt.Sprintf(" (job %d %s)", e.JobID, e.JobStatus)
		}
		return s + because(e.Reason)
	case events.RunnerRequested:
		return fmt.Sprintf("runner %s requested for egg %s: %s on %s %s%s", e.RunnerID, e.Egg, e.RunnerType, e.Provider, e.Region, because(e.Reason))
	case events.PlanCreated:
		return fmt.Sprintf("plan %s created to %s runner %s (%s module, tofu %s)", e.PlanID, e.Action, e.RunnerID, e.Module, e.TofuVersion)
	case events.PlanApplied:
		return fmt.Sprintf("plan %s applied for runner %s in %s", e.PlanID, e.RunnerID, time.Duration(e.DurationMS)*time.Millisecond)
	case events.PlanFailed:
		return fmt.Sprintf("plan %s for runner %s failed at %s: %s", e.PlanID, e.RunnerID, e.Stage, clip(e.Error))
	case events.PlanRolledBack:
		return fmt.Sprintf("plan %s for runner %s rolled back to plan %s%s", e.PlanID, e.RunnerID, e.RestoredPlanID, because(e.Reason))
	case events.RunnerDeployed:
		return fmt.Sprintf("runner %s deployed by plan %s as instance %s", e.RunnerID, e.PlanID, e.InstanceID)
	case events.RunnerStateChanged:
		return fmt.Sprintf("runner %s %s -> %s%s", e.RunnerID, e.From, e.To, because(e.Reason))
	case events.RunnerHeartbeatMissed:
		return fmt.Sprintf("runner %s missed heartbeat %d in a row (threshold %s)", e.RunnerID, e.Missed, time.Duration(e.ThresholdMS)*time.Millisecond)
	case events.RunnerHeartbeatResumed:
		return fmt.Sprintf("runner %s heard again at %s after a silence since %s", e.RunnerID, utc(e.LastSeenAt).Format(time.RFC3339), sinceText(e.SilentSince))
	case events.RunnerJobOverran:
		return fmt.Sprintf("runner %s BUSY since %s, past its job limit of %s%s", e.RunnerID, utc(e.BusySince).Format(time.RFC3339), time.Duration(e.LimitSeconds)*time.Second, because(e.Reason))
	case events.UglyFoxDecisionDeferred:
		return fmt.Sprintf("UglyFox deferred %s of runner %s until it is idle%s", e.Action, e.RunnerID, because(e.Reason))
	case events.RunnerPoolChanged:
		return fmt.Sprintf("runner %s moved from %s to %s pool%s", e.RunnerID, e.From, e.To, because(e.Reason))
	case events.RunnerJobAssigned:
		return fmt.Sprintf("job %d (request %s) assigned to runner %s%s", e.JobID, e.RequestID, e.RunnerID, because(e.Reason))
	case events.RunnerTerminationAsked:
		if e.EvenIfBusy {
			return fmt.Sprintf("termination of runner %s asked, even under a job%s", e.RunnerID, because(e.Reason))
		}
		return fmt.Sprintf("termination of runner %s asked%s", e.RunnerID, because(e.Reason))
	case events.RunnerQueued:
		return fmt.Sprintf("runner %s queued%s", e.RunnerID, because(e.Reason))
	case events.RunnerTerminated:
		return fmt.Sprintf("runner %s terminated%s", e.RunnerID, because(e.Reason))
	case events.RunnerGitLabRegistered:
		return fmt.Sprintf("GitLab runner %d (%s, %s %d) created for runner %s; its token is in %s", e.GitLabRunnerID, e.GitLabServer, e.RunnerType, e.OwnerID, e.RunnerID, e.TokenSecretURI)
	case events.RunnerGitLabUnregistered:
		return fmt.Sprintf("runner %s provisioned without a GitLab runner of ours%s", e.RunnerID, because(e.Reason))
	case events.RunnerGitLabPaused:
		return fmt.Sprintf("GitLab runner %d of runner %s paused (%d running jobs)%s", e.GitLabRunnerID, e.RunnerID, e.RunningJobs, because(e.Reason))
	case events.RunnerGitLabDeleteOwed:
		return fmt.Sprintf("GitLab runner %d of runner %s is to be deleted%s", e.GitLabRunnerID, e.RunnerID, because(e.Reason))
	case events.RunnerGitLabDeleteFailed:
		return fmt.Sprintf("delete of GitLab runner %d of runner %s failed (%s), retried in %ds: %s", e.GitLabRunnerID, e.RunnerID, e.Code, e.RetryInSeconds, clip(e.Error))
	case events.RunnerGitLabDeleted:
		return fmt.Sprintf("GitLab runner %d of runner %s deleted%s", e.GitLabRunnerID, e.RunnerID, when(e.AlreadyGone, " (already gone)"))
	case events.RunnerGitLabOrphanDeleted:
		return fmt.Sprintf("orphan GitLab runner %d (naming runner %s) of egg %s deleted%s", e.GitLabRunnerID, e.RunnerID, e.Egg, because(e.Reason))
	case events.BinaryVersionRegistered:
		return fmt.Sprintf("%s %s registered for %s", e.Binary, e.Version, e.Platform)
	case events.BinaryVersionActivated:
		if e.PreviousVersion != "" {
			return fmt.Sprintf("%s %s activated (was %s)", e.Binary, e.Version, e.PreviousVersion)
		}
		return fmt.Sprintf("%s %s activated", e.Binary, e.Version)
	case events.UglyFoxLeaseAcquired:
		return fmt.Sprintf("lease %s taken by %s with token %d for %s", e.Lease, e.Holder, e.Token, time.Duration(e.TTLMS)*time.Millisecond)
	case events.UglyFoxLeaseReleased:
		return fmt.Sprintf("lease %s released by %s (token %d)", e.Lease, e.Holder, e.Token)
	case events.UglyFoxLeaseLost:
		return fmt.Sprintf("lease %s lost by %s (token %d)%s", e.Lease, e.Holder, e.Token, because(e.Reason))
	case events.SecretAccessed:
		return fmt.Sprintf("secret %s %s for %s (%s)", e.URI, e.Outcome, e.Accessor, clip(e.Purpose))
	}
	return "event " + env.Type
}

// short abbreviates a commit hash as git does.
func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + clip(reason)
}

func when(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orUnknown(s string) string { return orDefault(s, "unknown commit") }

// sinceText is a silence's start: a time, or "deployment" when the agent
// was never heard.
func sinceText(t time.Time) string {
	if t.IsZero() {
		return "deployment (never heard)"
	}
	return utc(t).Format(time.RFC3339)
}
