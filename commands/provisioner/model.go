// Package provisioner is the process manager of the deployment flow: it
// reads the event log (the projectors' read path, projections.ReadLog), folds
// it into a model of eggs, runners and their plans, decides what the model
// lacks (Decide, pure) and carries it out through the command handlers and
// the Compute port (OpenTofu behind an adapter).
//
// Decisions are level-triggered: they are made from the model, not from
// single events, so a redelivered event, a restart, or a crash between an
// apply and its event leads to the same decisions. The model is rebuilt from
// the whole log at start (the fold is cheap; nothing is decided before it is
// complete), then kept current from an in-memory cursor.
package provisioner

import (
	"reflect"
	"slices"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

// Runner states (the domain's names).
const (
	StateProvisioning = "PROVISIONING"
	StateActive       = "ACTIVE"
	StateIdle         = "IDLE"
	StateBusy         = "BUSY"
	StateFailed       = "FAILED"
	StateTerminated   = "TERMINATED"
	// StateStopped: a Nadir runner whose machine is stopped (kept).
	StateStopped = "STOPPED"
)

// The pools of a VM runner (Runner.Pool).
const (
	PoolApex  = "apex"
	PoolNadir = "nadir"
)

// Egg is what the provisioner knows of one egg.
type Egg struct {
	Name                  string
	RunnerType            string // serverless, apex
	Provider, Region      string
	Tags                  []string
	CPU, MemoryGB, DiskGB int
	Image                 string
	MinApex, MaxApex      int
	Concurrent            int // jobs one runner holds at once (>= 1)
	TokenURI              string
	ConfigHash            string
	// Where its GitLab runners are created, and their maximum_timeout
	// (seconds, 0: unset).
	GitLabServer         string
	ProjectIDs, GroupIDs []int64
	MaxJobSeconds        int64
	// TofuVersion and GoslingVersion are its `versions` pins ("": unpinned).
	TofuVersion, GoslingVersion string
	// pins is what they resolve to, set on the copy an action is given
	// (Provisioner.dispatch), from the binaries registered by then.
	pins    toolPins
	Removed bool
	// FailedRunners counts its runners given up (PROVISIONING to FAILED)
	// under ConfigHash since the last reset: a runner of the egg deployed,
	// a new config hash, a re-sync after its removal, or an operator's
	// retry (egg.retry_asked). LastRunnerError is
	// the last of those runners' errors, LastFailedRunner its id. Decide's
	// breaker reads them.
	FailedRunners                     int
	LastRunnerError, LastFailedRunner string
	deploy                            string // the deploy or rollback in force (deploys.go)
	seq                               uint64 // position of its first egg.synced: the round-robin order
	removedAt, lastSyncedPos          uint64
}

// configure sets the egg's configuration: the one synced, or the one a
// rollback pinned (deploys.go).
func (egg *Egg) configure(e events.EggSynced) {
	egg.RunnerType, egg.Provider, egg.Region = e.RunnerType, e.Provider, e.Region
	egg.Tags, egg.CPU, egg.MemoryGB, egg.DiskGB, egg.Image = slices.Clone(e.Tags), e.CPU, e.MemoryGB, e.DiskGB, e.Image
	egg.MinApex, egg.MaxApex, egg.Concurrent = e.MinApex, e.MaxApex, max(1, e.Concurrent)
	egg.TokenURI, egg.ConfigHash = e.TokenSecretURI, e.ConfigHash
	egg.GitLabServer, egg.ProjectIDs, egg.GroupIDs, egg.MaxJobSeconds = e.GitLabServer, slices.Clone(e.ProjectIDs), slices.Clone(e.GroupIDs), e.MaxJobSeconds
	egg.TofuVersion, egg.GoslingVersion = e.TofuVersion, e.GoslingVersion
}

// Serverless reports whether each job gets its own runner.
func (egg *Egg) Serverless() bool { return egg.RunnerType == "serverless" }

// Runner is what the provisioner knows of one runner stream.
type Runner struct {
	ID, Egg string
	// Type is the runner type it was requested as, the module's
	// runner_type for its whole life (a change would replace the VM);
	// Pool is where it is now (runner.pool_changed): its desired power
	// state, Nadir stopped, anything else running.
	Type, Pool       string
	Provider, Region string
	State            string
	JobID            int64 // the job the webhook requested it for; 0 for a pool runner
	Seq              uint64
	Queued           string         // the queue reason, while it waits
	Jobs             map[int64]bool // assigned jobs not yet finished
	ServedBy         string         // its job went to this other runner: the request ends
	EggHash          string         // the egg's config hash of its last create plan
	Plans            int            // plans created for it (it has a workspace when > 0)
	PendingPlan      string         // a created plan with no outcome yet
	PendingAction    string         // create, destroy
	LastPlan         string         // last applied plan
	Deployed         bool           // its infrastructure exists (applied create, no applied destroy)
	Failures         int            // failed plans since the last success
	LastError        string         // of its last failed plan, until a create or update applies
	LastFailureAt    time.Time
	TerminationAsked string // why it must go
	EvenIfBusy       bool   // it goes even under a job (an UglyFox rule said so)
	Refused          bool   // a failure no retry can help (plan.failed permanent): given up at once
	JobDone          bool   // serverless: its job finished
	GitLab           GitLabRecord
}

// GitLabRecord is what the log says of a runner's GitLab runner.
type GitLabRecord struct {
	ID           int64  // 0: none recorded
	Server       string // where it lives
	TokenURI     string // the secret its authentication token is stored in
	Unregistered string // why the runner has none of ours (no API token)
	Paused       bool   // paused before the runner's termination
	RunningJobs  int    // GitLab's running jobs when paused: the destroy waited
	DeleteOwed   bool   // its delete is owed (the runner is being or was destroyed)
	Deleted      bool   // it is gone
	DeleteError  string // the last failed delete's code and error
}

// Registered reports whether the runner has a GitLab runner of ours that is not gone or going.
func (g GitLabRecord) Registered() bool { return g.ID > 0 && !g.DeleteOwed && !g.Deleted }

// Owed reports whether a delete of its GitLab runner is still owed.
func (g GitLabRecord) Owed() bool { return g.ID > 0 && g.DeleteOwed && !g.Deleted }

// live reports whether the runner counts against its egg's max: it exists
// or is being provisioned.
func (r *Runner) live() bool {
	switch r.State {
	case StateActive, StateIdle, StateBusy, StateStopped:
		// A stopped (Nadir) runner is kept: it counts, and is started
		// rather than provisioned anew.
		return true
	case StateProvisioning:
		return r.provisioning()
	}
	return false
}

// provisioning: a PROVISIONING runner that is to get infrastructure (a
// pool runner, or a request that got its own job).
func (r *Runner) provisioning() bool {
	return r.State == StateProvisioning && r.ServedBy == "" && (r.JobID == 0 || r.Jobs[r.JobID])
}

// stopWanted: a Nadir runner whose machine still runs.
func (r *Runner) stopWanted() bool {
	return r.Pool == PoolNadir && (r.State == StateActive || r.State == StateIdle)
}

// startWanted: a stopped runner back in the Apex pool.
func (r *Runner) startWanted() bool { return r.Pool != PoolNadir && r.State == StateStopped }

// warmApex: a runner the warm pool (apex min_count) counts: a live runner
// of the Apex pool (a stopped one promoted back is being started).
func (r *Runner) warmApex() bool { return r.live() && r.Pool != PoolNadir }

// waiting: a request with no decision yet or queued.
func (r *Runner) waiting() bool {
	return r.State == StateProvisioning && r.ServedBy == "" && r.JobID != 0 && !r.Jobs[r.JobID]
}

// Model is the fold of the log.
type Model struct {
	Eggs     map[string]*Egg
	Runners  map[string]*Runner
	plans    map[string]string         // plan id -> runner id
	actions  map[string]string         // plan id -> action
	finished map[string]map[int64]bool // egg -> jobs a Job Hook said finished
	deploys  *deployModel              // configurations, pins, deploys (deploys.go)
	// unrendered are the plans made without rendering anything (a
	// registration or an egg's versions pin failed first): no workspace.
	unrendered map[string]bool
	binaries   map[string]*binaryBuilds // by kind (pins.go)
	Position   uint64
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{Eggs: map[string]*Egg{}, Runners: map[string]*Runner{}, plans: map[string]string{}, actions: map[string]string{}, finished: map[string]map[int64]bool{}, deploys: newDeployModel(),
		unrendered: map[string]bool{}, binaries: map[string]*binaryBuilds{}}
}

// Apply folds one event into the model.
func (m *Model) Apply(env events.Envelope) {
	if env.GlobalPosition > m.Position {
		m.Position = env.GlobalPosition
	}
	m.applyDeploys(env)
	switch e := payloadOf(env).(type) {
	case events.EggSynced:
		egg := m.Eggs[e.Name]
		if egg == nil {
			egg = &Egg{Name: e.Name, seq: env.GlobalPosition}
			m.Eggs[e.Name] = egg
		}
		if egg.Removed || egg.ConfigHash != e.ConfigHash {
			egg.FailedRunners, egg.LastRunnerError, egg.LastFailedRunner = 0, "", ""
		}
		egg.configure(e)
		egg.Removed, egg.lastSyncedPos = false, env.GlobalPosition
	case events.EggRemoved:
		if egg := m.Eggs[e.Name]; egg != nil {
			egg.Removed, egg.removedAt = true, env.GlobalPosition
		}
	case events.EggRetryAsked:
		if egg := m.Eggs[e.Egg]; egg != nil {
			egg.FailedRunners, egg.LastRunnerError, egg.LastFailedRunner = 0, "", ""
		}
	case events.RunnerRequested:
		r := &Runner{ID: e.RunnerID, Egg: e.Egg, Type: e.RunnerType, Pool: e.RunnerType, Provider: e.Provider, Region: e.Region,
			State: StateProvisioning, JobID: e.JobID, Seq: env.GlobalPosition, Jobs: map[int64]bool{}}
		m.Runners[r.ID] = r
		if e.JobID != 0 && m.finished[e.Egg][e.JobID] {
			r.JobDone = true
		}
	case events.RunnerQueued:
		if r := m.Runners[e.RunnerID]; r != nil {
			r.Queued = e.Reason
		}
	case events.RunnerPoolChanged:
		if r := m.Runners[e.RunnerID]; r != nil {
			r.Pool = e.To
		}
	case events.RunnerJobAssigned:
		if r := m.Runners[e.RunnerID]; r != nil && !m.finished[r.Egg][e.JobID] {
			r.Jobs[e.JobID] = true
		}
		if req := m.Runners[e.RequestID]; req != nil {
			req.Queued = ""
			if e.RequestID != e.RunnerID {
				req.ServedBy = e.RunnerID
			}
		}
	case events.RunnerTerminationAsked:
		if r := m.Runners[e.RunnerID]; r != nil {
			r.TerminationAsked, r.EvenIfBusy = e.Reason, e.EvenIfBusy
		}
	case events.PlanCreated:
		m.plans[e.PlanID], m.actions[e.PlanID] = e.RunnerID, e.Action
		if e.Module == "" {
			m.unrendered[e.PlanID] = true
		}
		if r := m.Runners[e.RunnerID]; r != nil {
			r.Plans++
			r.PendingPlan, r.PendingAction = e.PlanID, e.Action
			if e.Action != "destroy" {
				if egg := m.Eggs[r.Egg]; egg != nil {
					r.EggHash = egg.ConfigHash
				}
				if e.EggConfigHash != "" {
					r.EggHash = e.EggConfigHash
				}
			}
		}
	case events.PlanApplied:
		if r := m.Runners[m.plans[e.PlanID]]; r != nil {
			if r.PendingPlan == e.PlanID {
				r.PendingPlan, r.PendingAction = "", ""
			}
			r.LastPlan, r.Failures = e.PlanID, 0
			r.Deployed = m.actions[e.PlanID] != "destroy"
			if r.Deployed {
				// A destroy's apply (a give-up's) keeps the error that led to it.
				r.LastError = ""
			}
		}
	case events.PlanFailed:
		if r := m.Runners[m.plans[e.PlanID]]; r != nil {
			if r.PendingPlan == e.PlanID {
				r.PendingPlan, r.PendingAction = "", ""
			}
			if e.Stage == "register" || m.unrendered[e.PlanID] {
				// Registration and the pins come before the workspace: the plan made none.
				r.Plans = max(0, r.Plans-1)
			}
			r.Refused = r.Refused || e.Permanent
			r.Failures++
			r.LastError, r.LastFailureAt = e.Stage+": "+e.Error, env.OccurredAt
		}
	case events.BinaryVersionRegistered, events.BinaryVersionActivated:
		m.applyBinary(e)
	case events.RunnerDeployed:
		if r := m.Runners[e.RunnerID]; r != nil {
			r.State, r.Deployed = StateActive, true
			if egg := m.Eggs[r.Egg]; egg != nil {
				egg.FailedRunners, egg.LastRunnerError, egg.LastFailedRunner = 0, "", ""
			}
		}
	case events.RunnerStateChanged:
		if r := m.Runners[e.RunnerID]; r != nil {
			// A give-up: a runner that failed to provision under the
			// egg's current configuration.
			if egg := m.Eggs[r.Egg]; egg != nil && r.State == StateProvisioning && e.To == StateFailed && r.EggHash == egg.ConfigHash {
				egg.FailedRunners++
				egg.LastRunnerError, egg.LastFailedRunner = r.LastError, r.ID
				if egg.LastRunnerError == "" {
					egg.LastRunnerError = e.Reason
				}
			}
			r.State = e.To
		}
	case events.RunnerTerminated:
		if r := m.Runners[e.RunnerID]; r != nil {
			r.State, r.Jobs, r.Queued = StateTerminated, map[int64]bool{}, ""
		}
	case events.RunnerGitLabRegistered:
		if r := m.Runners[e.RunnerID]; r != nil {
			r.GitLab = GitLabRecord{ID: e.GitLabRunnerID, Server: e.GitLabServer, TokenURI: e.TokenSecretURI}
		}
	case events.RunnerGitLabUnregistered:
		if r := m.Runners[e.RunnerID]; r != nil {
			r.GitLab.Unregistered = e.Reason
		}
	case events.RunnerGitLabPaused:
		if r := m.Runners[e.RunnerID]; r != nil && r.GitLab.ID == e.GitLabRunnerID {
			r.GitLab.Paused, r.GitLab.RunningJobs = true, e.RunningJobs
		}
	case events.RunnerGitLabDeleteOwed:
		if r := m.Runners[e.RunnerID]; r != nil {
			if r.GitLab.ID != e.GitLabRunnerID {
				r.GitLab = GitLabRecord{ID: e.GitLabRunnerID, Server: e.GitLabServer}
			}
			r.GitLab.DeleteOwed = true
		}
	case events.RunnerGitLabDeleteFailed:
		if r := m.Runners[e.RunnerID]; r != nil && r.GitLab.ID == e.GitLabRunnerID {
			r.GitLab.DeleteError = e.Code + ": " + e.Error
		}
	case events.RunnerGitLabDeleted:
		if r := m.Runners[e.RunnerID]; r != nil && r.GitLab.ID == e.GitLabRunnerID {
			r.GitLab.Deleted, r.GitLab.DeleteError = true, ""
		}
	case events.WebhookReceived:
		if e.EventKind != "build" || e.Egg == "" || e.JobID <= 0 || !domain.JobEnded(e.JobStatus) {
			return
		}
		if m.finished[e.Egg] == nil {
			m.finished[e.Egg] = map[int64]bool{}
		}
		m.finished[e.Egg][e.JobID] = true
		for _, r := range m.Runners {
			if r.Egg != e.Egg {
				continue
			}
			if r.Jobs[e.JobID] {
				delete(r.Jobs, e.JobID)
				if r.JobID == e.JobID {
					r.JobDone = true
				}
			} else if r.JobID == e.JobID {
				r.JobDone = true
			}
		}
	}
}

func payloadOf(env events.Envelope) events.Event {
	v := reflect.ValueOf(env.Payload)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		if ev, ok := v.Elem().Interface().(events.Event); ok {
			return ev
		}
	}
	return env.Payload
}
