package provisioner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// Config is what New needs. Store, Codec, Handlers and Compute are required.
type Config struct {
	Store    ports.EventStore
	Codec    *events.Codec
	Handlers *commands.Handlers
	Compute  Compute
	// MaxApplies bounds the OpenTofu runs at once (default 4).
	MaxApplies int
	// Timeout bounds one action's OpenTofu runs (default 15m).
	Timeout time.Duration
	Policy  Policy
	// Wake returns a channel closed at the next append; PollInterval is
	// the wait without one (default 1s).
	Wake         func() <-chan struct{}
	PollInterval time.Duration
	Clock        func() time.Time
	NewID        func() string
	Logger       *slog.Logger
	// GitLab creates and deletes the runners' GitLab runners with the API
	// token APITokens names for the egg's server (keyed by
	// commands.ServerHost, as the reconciler's). Without it, or without a
	// token for an egg's server, runners are provisioned unregistered.
	GitLab    GitLabRunners
	APITokens map[string]string
	// SweepInterval is how often GitLab runners of ours that no live
	// runner owns are looked for and deleted (also once at start); 0: at
	// start only.
	SweepInterval time.Duration
	// MaxDeleteBackoff caps the wait between tries of an owed GitLab
	// runner delete (default 10m).
	MaxDeleteBackoff time.Duration
	// ToolPlatform is the os/arch OpenTofu runs on here, the platform an
	// egg's pinned tofu must be registered for (default: this process's).
	ToolPlatform string
}

// Provisioner is the deployment process manager.
type Provisioner struct {
	cfg Config
	log *slog.Logger

	model *Model
	mu    sync.Mutex        // guards busy and until
	busy  map[string]bool   // runners with a running action, or whose action's events are not folded yet
	until map[string]uint64 // finished actions: the log head after their last append
	slots chan struct{}
	done  chan struct{} // an action finished: decide again
	next  int           // round-robin offset over eggs
	wg    sync.WaitGroup
	// peak counts, per egg, the runners live at once (tests read it).
	peakMu sync.Mutex
	peak   map[string]int

	// regMu: registrations (create + record) hold it shared, the GitLab
	// sweep exclusively.
	regMu     sync.RWMutex
	hold      map[string]time.Time // guarded by mu: runners kept out of the decisions until then
	delFails  map[string]int       // guarded by mu: failed tries of owed GitLab deletes since the last success
	warned    map[string]bool      // guarded by mu: eggs warned of having no API token
	nextSweep time.Time            // Step's

	// modelMu guards the model against the read methods (deployer.go),
	// which run on other goroutines; only Step's goroutine writes it.
	modelMu sync.RWMutex
}

// New returns a provisioner, refusing missing dependencies.
func New(cfg Config) (*Provisioner, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("provisioner: nil event store")
	case cfg.Codec == nil:
		return nil, errors.New("provisioner: nil codec")
	case cfg.Handlers == nil:
		return nil, errors.New("provisioner: nil handlers")
	case cfg.Compute == nil:
		return nil, errors.New("provisioner: nil compute")
	case cfg.MaxApplies < 0:
		return nil, fmt.Errorf("provisioner: negative max applies %d", cfg.MaxApplies)
	}
	if cfg.MaxApplies == 0 {
		cfg.MaxApplies = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.NewID == nil {
		return nil, errors.New("provisioner: nil id generator")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Policy = cfg.Policy.withDefaults()
	if cfg.MaxDeleteBackoff <= 0 {
		cfg.MaxDeleteBackoff = 10 * time.Minute
	}
	if cfg.ToolPlatform == "" {
		cfg.ToolPlatform = runtime.GOOS + "/" + runtime.GOARCH
	}
	return &Provisioner{cfg: cfg, log: cfg.Logger, model: NewModel(), busy: map[string]bool{}, until: map[string]uint64{},
		slots: make(chan struct{}, cfg.MaxApplies), done: make(chan struct{}, 1), peak: map[string]int{},
		hold: map[string]time.Time{}, delFails: map[string]int{}, warned: map[string]bool{}}, nil
}

// Run folds the whole log, settles what a previous run left (plans without
// an outcome, workspaces without a live runner), then decides and acts
// after every append until ctx ends; it waits for running actions to stop.
func (p *Provisioner) Run(ctx context.Context) error {
	defer p.wg.Wait()
	if err := p.catchUp(ctx); err != nil {
		return err
	}
	p.orphans(ctx)
	for _, egg := range p.model.Eggs {
		if !egg.Removed {
			p.warnNoToken(ctx, egg)
		}
	}
	p.sweep(ctx)
	p.nextSweep = p.cfg.Clock().Add(p.cfg.SweepInterval)
	return projections.Follow(ctx, projections.Following{Poll: p.cfg.PollInterval, Wake: p.cfg.Wake, Also: p.done}, func(ctx context.Context) error {
		if err := p.Step(ctx); err != nil && ctx.Err() == nil {
			p.log.ErrorContext(ctx, "provisioner: step failed; retrying", "error", err)
			return projections.ErrRetry
		}
		return nil
	})
}

// Step folds new events and carries out what Decide returns: the quick
// actions at once, the OpenTofu ones in the background within MaxApplies,
// round robin over eggs.
func (p *Provisioner) Step(ctx context.Context) error {
	for range 8 { // quick actions append; fold them before deciding again
		if err := p.catchUp(ctx); err != nil {
			return err
		}
		p.mu.Lock()
		for id, pos := range p.until {
			// A finished action stays busy until the model holds its events,
			// so that it is not decided again on what it already changed.
			if p.model.Position >= pos {
				delete(p.busy, id)
				delete(p.until, id)
			}
		}
		busy := maps.Clone(p.busy)
		now := p.cfg.Clock()
		for id, t := range p.hold {
			if now.Before(t) {
				busy[id] = true
			} else {
				delete(p.hold, id)
			}
		}
		p.mu.Unlock()
		if p.cfg.SweepInterval > 0 && !p.nextSweep.IsZero() && !now.Before(p.nextSweep) {
			p.nextSweep = now.Add(p.cfg.SweepInterval)
			p.sweep(ctx)
		}
		acts := Decide(p.model, Inputs{Now: now, Busy: busy, Unavailable: p.cfg.Compute.Unavailable, Policy: p.cfg.Policy})
		p.observePeak()
		quick := 0
		var slow []Action
		for _, a := range acts {
			if a.Background() {
				slow = append(slow, a)
				continue
			}
			quick++
			if err := p.quick(ctx, a); err != nil {
				p.log.WarnContext(ctx, "provisioner: action failed", "action", a.Kind, "runner", a.Runner, "egg", a.Egg, "error", err)
			}
		}
		p.dispatch(ctx, slow)
		if quick == 0 {
			return nil
		}
	}
	return nil
}

func (p *Provisioner) catchUp(ctx context.Context) error {
	head, err := p.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	if head <= p.model.Position {
		return nil
	}
	return projections.ReadLog(ctx, p.cfg.Store, p.cfg.Codec, p.model.Position, head, 500, func(envs []events.Envelope) error {
		p.modelMu.Lock()
		defer p.modelMu.Unlock()
		for _, env := range envs {
			p.model.Apply(env)
		}
		return nil
	})
}

// observePeak records the live runners per egg (for tests and the log).
func (p *Provisioner) observePeak() {
	counts := map[string]int{}
	for _, r := range p.model.Runners {
		if r.live() || (r.State != StateTerminated && r.Deployed) {
			counts[r.Egg]++
		}
	}
	p.peakMu.Lock()
	for egg, n := range counts {
		p.peak[egg] = max(p.peak[egg], n)
	}
	p.peakMu.Unlock()
}

// Peak returns the most runners of egg the provisioner saw live at once.
func (p *Provisioner) Peak(egg string) int {
	p.peakMu.Lock()
	defer p.peakMu.Unlock()
	return p.peak[egg]
}

func (p *Provisioner) meta(cause string) commands.Meta {
	return commands.Meta{Actor: "mothergoose:provisioner", CorrelationID: cause}
}

// quick carries out an action that only appends.
func (p *Provisioner) quick(ctx context.Context, a Action) error {
	h := p.cfg.Handlers
	switch a.Kind {
	case Assign:
		if _, err := h.AssignJob(ctx, commands.AssignJob{Meta: p.meta(a.Request), RunnerID: a.Runner, JobID: a.JobID, RequestID: a.Request, Reason: a.Reason}); err != nil {
			return err
		}
		// The request stream ends: its job has a runner. (Decide destroys
		// it next round, which for a request never planned is a plain
		// runner.terminated.)
		return nil
	case Queue:
		_, err := h.QueueRunner(ctx, commands.QueueRunner{Meta: p.meta(a.Request), RunnerID: a.Runner, JobID: a.JobID, Reason: a.Reason})
		return err
	case Warm:
		egg := p.model.Eggs[a.Egg]
		if egg == nil {
			return nil
		}
		id := poolRunnerID(egg.Name, p.cfg.NewID())
		_, err := h.RequestRunner(ctx, commands.RequestRunner{Meta: p.meta(id), RunnerID: id, Egg: egg.Name,
			RunnerType: "apex", Provider: egg.Provider, Region: orLocal(egg.Region), Tags: egg.Tags, Reason: a.Reason})
		return err
	case FinishDeploy:
		_, err := p.finishDeploy(ctx, a)
		return err
	}
	return errs.Errorf(errs.EINTERNAL, "provisioner: %s is not a quick action", a.Kind)
}

func orLocal(region string) string {
	if region == "" {
		return "local"
	}
	return region
}

// poolRunnerID names a pool runner: the egg and 8 hex digits of a fresh id,
// within the 63 characters of a DNS label.
func poolRunnerID(egg, id string) string {
	sum := sha256.Sum256([]byte(id))
	if len(egg) > 48 {
		egg = egg[:48]
	}
	return egg + "-pool-" + hex.EncodeToString(sum[:4])
}

// dispatch starts the OpenTofu actions it has slots for, taking one action
// per egg in turn (starting from a rotating egg), so one egg's burst does
// not starve the others. The rest are decided again next step.
func (p *Provisioner) dispatch(ctx context.Context, acts []Action) {
	if len(acts) == 0 {
		return
	}
	var order []string
	byEgg := map[string][]Action{}
	for _, a := range acts {
		if _, ok := byEgg[a.Egg]; !ok {
			order = append(order, a.Egg)
		}
		byEgg[a.Egg] = append(byEgg[a.Egg], a)
	}
	p.next = (p.next + 1) % len(order)
	order = append(order[p.next:], order[:p.next]...)
	for round := 0; ; round++ {
		any := false
		for _, egg := range order {
			q := byEgg[egg]
			if round >= len(q) {
				continue
			}
			any = true
			select {
			case p.slots <- struct{}{}:
			default:
				return // every slot is taken
			}
			a := q[round]
			p.mu.Lock()
			p.busy[a.Runner] = true
			p.mu.Unlock()
			r := *p.model.Runners[a.Runner]
			r.Jobs = maps.Clone(r.Jobs)
			var egg *Egg
			if e := p.model.Eggs[a.Egg]; e != nil {
				c := *e
				c.pins = p.model.resolvePins(e, p.cfg.ToolPlatform)
				egg = &c
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer func() {
					<-p.slots
					head, err := p.cfg.Store.Head(context.WithoutCancel(ctx))
					p.mu.Lock()
					if err != nil {
						delete(p.busy, a.Runner)
					} else {
						p.until[a.Runner] = head
					}
					p.mu.Unlock()
					select {
					case p.done <- struct{}{}:
					default:
					}
				}()
				actx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
				defer cancel()
				if err := p.slow(actx, a, r, egg); err != nil && ctx.Err() == nil {
					p.log.WarnContext(ctx, "provisioner: action failed", "action", a.Kind, "runner", a.Runner, "egg", a.Egg, "error", err)
				}
			}()
		}
		if !any {
			return
		}
	}
}

// slow carries out an OpenTofu action on a copy of the runner's model.
func (p *Provisioner) slow(ctx context.Context, a Action, r Runner, egg *Egg) error {
	h := p.cfg.Handlers
	switch a.Kind {
	case Provision:
		if egg == nil {
			return nil
		}
		if a.Request != "" {
			// The request gets its own job: it is provisioned for it.
			if _, err := h.AssignJob(ctx, commands.AssignJob{Meta: p.meta(a.Request), RunnerID: r.ID, JobID: a.JobID, RequestID: a.Request,
				Reason: fmt.Sprintf("a new runner is provisioned for job %d", a.JobID)}); err != nil {
				return err
			}
		}
		return p.provision(ctx, r, egg)
	case Destroy:
		if err := p.rollBack(ctx, a, egg); err != nil {
			return err
		}
		if r.TerminationAsked == "" {
			if _, err := h.AskTermination(ctx, commands.AskTermination{Meta: p.meta(r.ID), RunnerID: r.ID, Reason: a.Reason}); err != nil {
				return err
			}
		}
		return p.destroy(ctx, r, egg, a, false)
	case GiveUp:
		return p.destroy(ctx, r, egg, a, true)
	case Resume:
		return p.resume(ctx, r)
	case Stop, Start:
		return p.power(ctx, r, egg, a)
	case DeleteGitLab:
		return p.deleteGitLab(ctx, r.ID, r.GitLab)
	}
	return errs.Errorf(errs.EINTERNAL, "provisioner: %s is not a background action", a.Kind)
}

func (p *Provisioner) spec(ctx context.Context, r Runner, egg *Egg) (Spec, string, error) {
	s := Spec{RunnerID: r.ID, Egg: r.Egg, RunnerType: r.Type, Provider: r.Provider, Region: orLocal(r.Region), SecretURIs: map[string]string{},
		Stopped: r.Pool == PoolNadir, AgentVersion: "latest"}
	if egg != nil {
		// A pin that does not resolve leaves the default tofu: a destroy
		// still runs (a create stops at provision's check first).
		s.TofuVersion, s.TofuSHA256 = egg.pins.TofuVersion, egg.pins.TofuSHA256
		if egg.pins.AgentVersion != "" {
			s.AgentVersion = egg.pins.AgentVersion
		}
		s.eggHash, s.deployID = egg.ConfigHash, egg.deploy
		s.CPU, s.MemoryMB, s.DiskGB, s.Image = egg.CPU, egg.MemoryGB*1024, egg.DiskGB, egg.Image
		if egg.TokenURI != "" {
			s.SecretURIs[domain.RunnerTokenSecret] = egg.TokenURI
		}
	}
	if r.GitLab.Registered() {
		// The token of the GitLab runner MotherGoose created replaces the egg's.
		s.SecretURIs[domain.RunnerTokenSecret] = r.GitLab.TokenURI
	}
	uri, sum, err := p.cfg.Compute.Credential(ctx, r.ID)
	if err != nil {
		return Spec{}, "", err
	}
	s.SecretURIs[domain.RunnerCredentialSecret] = uri
	return s, sum, nil
}

// plan runs a plan and records plan.created (and plan.failed when a stage
// before apply failed). It returns the plan id and result, or ok false
// when the plan failed (recorded).
func (p *Provisioner) plan(ctx context.Context, r Runner, spec Spec, destroy bool) (string, PlanResult, bool, error) {
	res, perr := p.cfg.Compute.Plan(ctx, spec, destroy)
	id := p.cfg.NewID()
	action := "create"
	switch {
	case destroy:
		action = "destroy"
	case r.Deployed:
		action = "update"
	}
	if res.ConfigHash == "" {
		res.ConfigHash = "none"
	}
	if _, err := p.cfg.Handlers.CreatePlan(ctx, commands.CreatePlan{Meta: p.meta(r.ID), PlanID: id, RunnerID: r.ID, Egg: r.Egg, Action: action,
		Module: res.Module, Inputs: res.Inputs, SecretURIs: res.SecretURIs, ConfigHash: res.ConfigHash, PlanFile: res.PlanFile,
		PlanSHA256: res.PlanSHA256, TofuVersion: res.TofuVersion, PreviousPlanID: r.LastPlan,
		EggConfigHash: spec.eggHash, DeployID: spec.deployID}); err != nil {
		return "", res, false, err
	}
	if perr != nil {
		return id, res, false, p.fail(ctx, id, perr)
	}
	return id, res, true, nil
}

func (p *Provisioner) fail(ctx context.Context, planID string, err error) error {
	var se *StageError
	if !errors.As(err, &se) {
		se = &StageError{Stage: "plan", Message: err.Error()}
	}
	msg := se.Message
	if msg == "" {
		msg = "failed"
	}
	_, ferr := p.cfg.Handlers.FailPlan(ctx, commands.FailPlan{Meta: p.meta(planID), PlanID: planID, Stage: se.Stage, Error: msg, Diagnostics: se.Diagnostics})
	return ferr
}

func (p *Provisioner) provision(ctx context.Context, r Runner, egg *Egg) error {
	if egg != nil && egg.pins.Problem != "" {
		return p.pinFailed(ctx, r, egg.pins.Problem)
	}
	token, ok, err := p.register(ctx, r, egg)
	if err != nil || !ok {
		return err
	}
	spec, credSum, err := p.spec(ctx, r, egg)
	if err != nil {
		return err
	}
	delete(spec.SecretURIs, domain.RunnerTokenSecret)
	if token != "" {
		spec.SecretURIs[domain.RunnerTokenSecret] = token
	}
	id, res, ok, err := p.plan(ctx, r, spec, false)
	if err != nil || !ok {
		return err
	}
	start := p.cfg.Clock()
	dep, aerr := p.cfg.Compute.Apply(ctx, r.ID, res)
	if aerr != nil {
		return p.fail(ctx, id, aerr)
	}
	return p.deployed(ctx, r.ID, id, dep, credSum, p.cfg.Clock().Sub(start))
}

// pinFailed records a runner whose egg pins a binary that is not
// registered as a failed plan of stage init, before anything is rendered
// or registered: permanent (retries cannot register the binary; the
// runner is given up at once, which the egg's breaker counts, so the egg
// stops until its configuration changes or an operator retries it).
func (p *Provisioner) pinFailed(ctx context.Context, r Runner, why string) error {
	p.log.WarnContext(ctx, "provisioner: "+why, "runner", r.ID, "egg", r.Egg)
	return p.failUnplanned(ctx, r, "init", why, true)
}

// failUnplanned records a plan that failed at stage before anything was
// rendered: a plan.created with no configuration ("none") and its
// plan.failed, so the runner's history and the egg's breaker see it like
// any failed plan.
func (p *Provisioner) failUnplanned(ctx context.Context, r Runner, stage, why string, permanent bool) error {
	id := p.cfg.NewID()
	action := "create"
	if r.Deployed {
		action = "update"
	}
	h := p.cfg.Handlers
	if _, err := h.CreatePlan(ctx, commands.CreatePlan{Meta: p.meta(r.ID), PlanID: id, RunnerID: r.ID, Egg: r.Egg, Action: action,
		ConfigHash: "none", PreviousPlanID: r.LastPlan}); err != nil {
		return err
	}
	_, err := h.FailPlan(ctx, commands.FailPlan{Meta: p.meta(id), PlanID: id, Stage: stage, Error: why, Permanent: permanent})
	return err
}

func (p *Provisioner) deployed(ctx context.Context, runnerID, planID string, dep Deployment, credSum string, took time.Duration) error {
	h := p.cfg.Handlers
	if _, err := h.ApplyPlan(ctx, commands.ApplyPlan{Meta: p.meta(planID), PlanID: planID, Outputs: dep.Outputs, Duration: max(0, took)}); err != nil {
		return err
	}
	if dep.InstanceID == "" {
		dep.InstanceID = "unknown"
	}
	_, err := h.DeployRunner(ctx, commands.DeployRunner{Meta: p.meta(planID), RunnerID: runnerID, PlanID: planID,
		InstanceID: dep.InstanceID, Address: dep.Address, Hostname: dep.Hostname, CredentialSHA256: credSum})
	return err
}

// destroy destroys a runner's infrastructure with a destroy plan, then
// terminates it (failed: marks it FAILED instead). A runner that never had
// a plan has nothing to destroy.
func (p *Provisioner) destroy(ctx context.Context, r Runner, egg *Egg, a Action, failed bool) error {
	h := p.cfg.Handlers
	reason := a.Reason
	owed := r.GitLab
	if r.GitLab.Registered() {
		// GitLab gives it no new job, and a running one finishes first.
		wait, err := p.retire(ctx, r, reason)
		if err != nil || wait {
			return err
		}
		owed.DeleteOwed = true
	}
	if r.Plans > 0 || r.Deployed {
		spec, _, err := p.spec(ctx, r, egg)
		if err != nil {
			return err
		}
		id, res, ok, err := p.plan(ctx, r, spec, true)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("destroy plan of %s failed; retried next step", r.ID)
		}
		start := p.cfg.Clock()
		if _, aerr := p.cfg.Compute.Apply(ctx, r.ID, res); aerr != nil {
			return errors.Join(aerr, p.fail(ctx, id, aerr))
		}
		if _, err := h.ApplyPlan(ctx, commands.ApplyPlan{Meta: p.meta(id), PlanID: id, Duration: max(0, p.cfg.Clock().Sub(start))}); err != nil {
			return err
		}
	}
	if failed {
		_, err := h.ChangeRunnerState(ctx, commands.ChangeRunnerState{Meta: p.meta(r.ID), RunnerID: r.ID, To: StateFailed, Reason: reason})
		if err != nil || !owed.Owed() {
			return err
		}
		return p.deleteGitLab(ctx, r.ID, owed)
	}
	// A request whose job went to another runner ends saying so, so that
	// the views tell it from a runner.
	servedBy := a.ServedBy
	if r.Plans > 0 || r.Deployed {
		servedBy = "" // it was a runner after all
	}
	if _, err := h.TerminateRunner(ctx, commands.TerminateRunner{Meta: p.meta(r.ID), RunnerID: r.ID, Reason: reason, ServedBy: servedBy}); err != nil {
		return err
	}
	if err := p.cfg.Compute.Forget(ctx, r.ID); err != nil {
		return err
	}
	if owed.Owed() {
		return p.deleteGitLab(ctx, r.ID, owed)
	}
	return nil
}

// resume settles a plan with no outcome: MotherGoose stopped between its
// plan.created and its plan.applied or plan.failed. The workspace's state
// tells whether the apply happened.
func (p *Provisioner) resume(ctx context.Context, r Runner) error {
	dep, exists, err := p.cfg.Compute.Deployed(ctx, r.ID)
	if err != nil {
		return err
	}
	switch {
	case r.PendingAction == "destroy" && !exists:
		if _, err := p.cfg.Handlers.ApplyPlan(ctx, commands.ApplyPlan{Meta: p.meta(r.PendingPlan), PlanID: r.PendingPlan}); err != nil {
			return err
		}
		if r.TerminationAsked == "" && r.Failures < p.cfg.Policy.MaxFailures {
			return nil // a give-up's destroy: decided again
		}
		_, err := p.cfg.Handlers.TerminateRunner(ctx, commands.TerminateRunner{Meta: p.meta(r.ID), RunnerID: r.ID, Reason: r.TerminationAsked})
		return errors.Join(err, p.cfg.Compute.Forget(ctx, r.ID))
	case r.PendingAction != "destroy" && exists && r.State == StateProvisioning:
		_, sum, err := p.cfg.Compute.Credential(ctx, r.ID)
		if err != nil {
			return err
		}
		return p.deployed(ctx, r.ID, r.PendingPlan, dep, sum, 0)
	default:
		return p.fail(ctx, r.PendingPlan, &StageError{Stage: "apply", Message: "interrupted: MotherGoose stopped before the outcome was recorded; the workspace state was read back at restart"})
	}
}

// orphans destroys workspaces that hold infrastructure no live runner owns
// (a runner terminated or failed while its destroy was cut short, or a
// workspace the log does not know).
func (p *Provisioner) orphans(ctx context.Context) {
	ids, err := p.cfg.Compute.Workspaces(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "provisioner: cannot list workspaces", "error", err)
		return
	}
	for _, id := range slices.Sorted(slices.Values(ids)) {
		r := p.model.Runners[id]
		if r != nil && r.State != StateTerminated && r.State != StateFailed {
			continue
		}
		if _, exists, err := p.cfg.Compute.Deployed(ctx, id); err != nil || !exists {
			continue
		}
		p.log.WarnContext(ctx, "provisioner: destroying infrastructure no live runner owns", "runner", id)
		rr := Runner{ID: id, Egg: "orphan", Type: "apex", Provider: "local", Region: "local", Plans: 1}
		var egg *Egg
		if r != nil {
			rr = *r
			egg = p.model.Eggs[r.Egg]
		}
		spec, _, err := p.spec(ctx, rr, egg)
		if err != nil {
			continue
		}
		res, err := p.cfg.Compute.Plan(ctx, spec, true)
		if err == nil {
			_, err = p.cfg.Compute.Apply(ctx, id, res)
		}
		if err != nil {
			p.log.ErrorContext(ctx, "provisioner: orphan destroy failed", "runner", id, "error", err)
		}
	}
}
