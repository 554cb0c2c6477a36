// Package nestsync keeps the event log in line with the Nest repository: it
// fetches the branch, works out which .fly files changed since the last
// synced commit, parses only those (the rest come from a cache of parsed
// files), and records the result through commands.Handlers: EggSynced,
// EggRemoved, JobSynced, UglyFoxConfigSynced and NestSynced, or, when any
// file is invalid, NestSyncFailed with every diagnostic and nothing else.
// A failure to read the repository is NestSyncFailed with its cause; the
// same failure again is counted and recorded as NestSyncFailureRepeated.
//
// It is application code: the Git repository and the .fly loader are
// interfaces declared here, implemented by adapters/gitrepo and adapters/fly
// and passed in by the composition root.
package nestsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Repo is the Nest repository (adapters/gitrepo.Repo). Every read names one
// commit; paths are relative to the repository root with '/'.
type Repo interface {
	// Fetch updates the followed branch and returns its head commit.
	Fetch(ctx context.Context) (string, error)
	// Files returns every .fly file of commit with its blob hash. A commit
	// the repository does not hold is an ENOTFOUND error; any other
	// failure (disk, corrupt object) has another code.
	Files(ctx context.Context, commit string) (map[string]string, error)
	// ChangedFiles returns the .fly files that differ between from and to:
	// path -> blob hash at to, "" for a file removed at to.
	ChangedFiles(ctx context.Context, from, to string) (map[string]string, error)
	// ReadFiles returns the content of paths at commit.
	ReadFiles(ctx context.Context, commit string, paths []string) (map[string][]byte, error)
}

// Loader parses and checks a whole Nest held in memory
// (adapters/fly.Cache): keys maps every .fly path of a commit to its blob
// hash; Missing says which contents LoadNest needs, the others being held
// from earlier loads.
type Loader interface {
	Missing(keys map[string]string) []string
	// LoadNest returns the typed Nest and every diagnostic, in the events'
	// form (file names relative to the Nest root).
	LoadNest(ctx context.Context, keys map[string]string, content map[string][]byte) (*domain.Nest, []events.Diagnostic)
}

// Config is what a Syncer needs. Repo, Loader, Handlers and LastSync are required.
type Config struct {
	Repo     Repo
	Loader   Loader
	Handlers *commands.Handlers
	// LastSync returns the Nest sync history as recorded (StoreLastSync).
	LastSync func(ctx context.Context) (*domain.NestSync, error)
	Branch   string // recorded in the events
	Clock    func() time.Time
	Logger   *slog.Logger
	// Workers is how many egg/job commands run at once (default 16), so
	// that their appends share commits.
	Workers int
	// Observe, when set, is told the trigger, outcome (a Status or "error")
	// and duration of every Sync: the metrics hook.
	Observe func(trigger, status string, d time.Duration)
	// RepeatFlush is how often a failure that keeps repeating identically
	// is recorded as nest.sync_failure_repeated while it goes on (default
	// DefaultRepeatFlush); it is also recorded when the outcome changes.
	RepeatFlush time.Duration
}

// DefaultRepeatFlush is Config.RepeatFlush's default: a Nest that keeps
// failing the same way adds one event an hour to the log, not one per
// --sync-interval tick, and the log still tells it goes on.
const DefaultRepeatFlush = time.Hour

// Sync statuses of a Result.
const (
	StatusSynced    = "synced"
	StatusFailed    = "failed"
	StatusUnchanged = "unchanged"
)

// Result is the outcome of one Sync.
type Result struct {
	Status        string
	Commit        string
	Previous      string
	Changes       []events.FileChange
	EggsAdded     int
	EggsUpdated   int
	EggsRemoved   int
	JobsSynced    int
	UglyFoxSynced bool
	Diagnostics   []events.Diagnostic
	Duration      time.Duration
	// FullResyncReason says why Commit was synced in full against what the
	// log holds as live instead of diffed against Previous.
	FullResyncReason string
}

// Syncer syncs the Nest. Syncs never overlap; Trigger coalesces requests.
type Syncer struct {
	cfg Config

	syncMu sync.Mutex  // one sync at a time
	state  *nestState  // the Nest as of state.commit, the last synced commit seen by this process
	failed string      // the last commit that failed to sync (not retried unless manual)
	run    *failureRun // the failure this process recorded last, while it is the outcome

	trigMu  sync.Mutex
	running bool
	pending string // trigger of the queued run, "" for none
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	onRun func() // test hook: called at the start of every triggered run
}

// nestState is what a synced commit left: its files and the hashes recorded.
type nestState struct {
	commit string
	// fullResync, when set, says why commit is "" although a commit was
	// synced before: files, eggs and jobs are then what the log holds as
	// live, without blobs or hashes.
	fullResync string
	files      map[string]string // .fly path -> blob
	eggs       map[string]eggMemo
	jobs       map[string]string // name -> config hash
	uf         string            // config hash of UF/config.fly
}

// failureRun is a recorded failure and the identical ones counted since
// (not appended one by one). It lives in memory only: after a restart the
// first failure is recorded again and counting starts over.
type failureRun struct {
	key      string // what makes two failures identical: commit and error text
	eventID  string // the recorded failure's event
	position uint64
	commit   string
	count    int       // identical failures since the recorded one
	recorded int       // count as of the last nest.sync_failure_repeated
	first    time.Time // of the first and last repeat
	last     time.Time
	flushed  time.Time // when the failure or its last repeat event was recorded
}

type eggMemo struct {
	blob   string
	bounds [3]int
	ev     events.EggSynced
}

// New returns a Syncer, refusing missing dependencies.
func New(cfg Config) (*Syncer, error) {
	switch {
	case cfg.Repo == nil:
		return nil, errs.Errorf(errs.EINVALID, "nestsync: nil repo")
	case cfg.Loader == nil:
		return nil, errs.Errorf(errs.EINVALID, "nestsync: nil loader")
	case cfg.Handlers == nil:
		return nil, errs.Errorf(errs.EINVALID, "nestsync: nil handlers")
	case cfg.LastSync == nil:
		return nil, errs.Errorf(errs.EINVALID, "nestsync: nil LastSync")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.RepeatFlush <= 0 {
		cfg.RepeatFlush = DefaultRepeatFlush
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Syncer{cfg: cfg, ctx: ctx, cancel: cancel}, nil
}

// StoreLastSync returns a LastSync that reads the "nest" stream of store,
// loading only the events appended since its previous call.
func StoreLastSync(store ports.EventStore, codec *events.Codec) func(context.Context) (*domain.NestSync, error) {
	var mu sync.Mutex
	var history []events.Envelope
	var version uint64
	return func(ctx context.Context) (*domain.NestSync, error) {
		mu.Lock()
		defer mu.Unlock()
		recs, err := store.Load(ctx, domain.NestStream(), version)
		if err != nil {
			return nil, err
		}
		envs, err := codec.DecodeAll(recs)
		if err != nil {
			return nil, err
		}
		history = append(history, envs...)
		if n := len(recs); n > 0 {
			version = recs[n-1].Version
		}
		return domain.RehydrateNestSync(history)
	}
}

// Close stops triggered runs, waits for the running one to end and
// records the repeats of the current failure counted since the last record
// (bounded by closeFlushTimeout).
func (s *Syncer) Close() {
	s.cancel()
	s.wg.Wait()
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
	defer cancel()
	s.flushRepeats(ctx)
}

// closeFlushTimeout bounds Close's last record of counted repeats.
const closeFlushTimeout = 5 * time.Second

// Trigger asks for a sync and returns at once. At most one triggered sync
// runs at a time; requests made while one runs coalesce into exactly one
// more run after it (with the trigger of the latest request).
func (s *Syncer) Trigger(trigger string) {
	s.trigMu.Lock()
	defer s.trigMu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	if s.running {
		s.pending = trigger
		return
	}
	s.running = true
	s.wg.Add(1)
	go s.loop(trigger)
}

func (s *Syncer) loop(trigger string) {
	defer s.wg.Done()
	for {
		if s.onRun != nil {
			s.onRun()
		}
		if _, err := s.Sync(s.ctx, trigger); err != nil && s.ctx.Err() == nil {
			s.cfg.Logger.Error("nest sync failed", "trigger", trigger, "error", err)
		}
		s.trigMu.Lock()
		if s.pending == "" || s.ctx.Err() != nil {
			s.running = false
			s.trigMu.Unlock()
			return
		}
		trigger, s.pending = s.pending, ""
		s.trigMu.Unlock()
	}
}

// RunSchedule triggers a scheduled sync now and then every interval until
// ctx ends; it returns ctx.Err().
func (s *Syncer) RunSchedule(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return errs.Errorf(errs.EINVALID, "nestsync: schedule interval %s is not positive", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	s.Trigger("scheduled")
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			s.Trigger("scheduled")
		}
	}
}

// Sync fetches the Nest and records what changed since the last synced
// commit. trigger is scheduled, webhook or manual. A head already synced is
// a no-op (nothing appended); so is a head that already failed, unless the
// trigger is manual. An invalid Nest is not an error: the Result says
// StatusFailed and carries the diagnostics recorded in NestSyncFailed. An
// error means the sync could not be carried out (fetch, store); an error
// of the repository (fetch, read) is recorded as NestSyncFailed too, with
// its cause, or counted when it repeats the one recorded last (repoFailed).
// When the repository no longer holds the last synced commit, the head is
// synced in full against the log (previous) and Result.FullResyncReason
// says so.
func (s *Syncer) Sync(ctx context.Context, trigger string) (Result, error) {
	start := s.cfg.Clock()
	res, err := s.sync(ctx, trigger)
	if s.cfg.Observe != nil {
		status := res.Status
		if err != nil {
			status = "error"
		}
		s.cfg.Observe(trigger, status, s.cfg.Clock().Sub(start))
	}
	return res, err
}

func (s *Syncer) sync(ctx context.Context, trigger string) (Result, error) {
	if _, err := domain.ParseSyncTrigger(trigger); err != nil {
		return Result{}, err
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	start := s.cfg.Clock()
	hist, err := s.cfg.LastSync(ctx)
	if err != nil {
		return Result{}, err
	}
	last := hist.LastCommit()
	head, err := s.cfg.Repo.Fetch(ctx)
	if err != nil {
		return Result{}, s.repoFailed(ctx, trigger, "", start, err)
	}
	res := Result{Status: StatusUnchanged, Commit: head, Previous: last}
	if head == s.failed && head != last && trigger != "manual" {
		// The invalid head already recorded (not retried unless manual).
		s.outcomeChanged(ctx) // the fetch works: a run of fetch failures ends
		res.Duration = s.cfg.Clock().Sub(start)
		return res, nil
	}
	if head == last {
		s.outcomeChanged(ctx)
		res.Duration = s.cfg.Clock().Sub(start)
		return res, nil
	}

	prev, err := s.previous(ctx, hist)
	if err != nil {
		return Result{}, s.repoFailed(ctx, trigger, head, start, err)
	}
	files, changes, err := s.filesAt(ctx, prev, head)
	if err != nil {
		return Result{}, s.repoFailed(ctx, trigger, head, start, err)
	}
	res.Changes = changes
	missing := s.cfg.Loader.Missing(files)
	content, err := s.cfg.Repo.ReadFiles(ctx, head, missing)
	if err != nil {
		return Result{}, s.repoFailed(ctx, trigger, head, start, err)
	}
	nest, diags := s.cfg.Loader.LoadNest(ctx, files, content)
	if err := ctx.Err(); err != nil {
		// A parse cut short by shutdown says nothing about the commit: it
		// is neither recorded as failed nor remembered as such.
		return Result{}, err
	}
	if hasErrors(diags) || nest == nil {
		res.Status = StatusFailed
		res.Diagnostics = diags
		res.Duration = s.cfg.Clock().Sub(start)
		s.outcomeChanged(ctx)
		_, err := s.cfg.Handlers.RecordNestSyncFailed(ctx, commands.RecordNestSyncFailed{
			Meta: meta(trigger, head),
			Failure: events.NestSyncFailed{Commit: head, Branch: s.cfg.Branch, Trigger: trigger,
				Diagnostics: res.Diagnostics, StartedAt: start, DurationMS: res.Duration.Milliseconds()},
		})
		if err != nil {
			return Result{}, err
		}
		s.failed = head
		s.cfg.Logger.Warn("nest sync: invalid commit", "commit", head, "diagnostics", len(res.Diagnostics))
		for i, d := range res.Diagnostics {
			if i == maxLoggedDiagnostics {
				s.cfg.Logger.Warn("nest sync: more diagnostics in nest.sync_failed", "commit", head, "not_logged", len(res.Diagnostics)-i)
				break
			}
			s.cfg.Logger.Warn("nest sync: diagnostic", "commit", head, "diagnostic", diagnosticLine(d))
		}
		return res, nil
	}

	next := &nestState{commit: head, files: files, eggs: map[string]eggMemo{}, jobs: map[string]string{}}
	if err := s.apply(ctx, trigger, prev, next, nest, &res); err != nil {
		return Result{}, err
	}
	res.Status = StatusSynced
	res.FullResyncReason = prev.fullResync
	res.Duration = s.cfg.Clock().Sub(start)
	s.outcomeChanged(ctx)
	_, err = s.cfg.Handlers.RecordNestSync(ctx, commands.RecordNestSync{
		Meta: meta(trigger, head),
		Sync: events.NestSynced{Commit: head, Branch: s.cfg.Branch, Trigger: trigger, Changes: res.Changes,
			EggsAdded: res.EggsAdded, EggsUpdated: res.EggsUpdated, EggsRemoved: res.EggsRemoved,
			JobsSynced: res.JobsSynced, UglyFoxSynced: res.UglyFoxSynced, StartedAt: start, DurationMS: res.Duration.Milliseconds(),
			FullResyncReason: res.FullResyncReason},
	})
	if err != nil {
		return Result{}, err
	}
	s.state, s.failed = next, ""
	s.cfg.Logger.Info("nest synced", "commit", head, "trigger", trigger, "changes", len(res.Changes),
		"eggs_added", res.EggsAdded, "eggs_updated", res.EggsUpdated, "eggs_removed", res.EggsRemoved, "duration", res.Duration,
		"full_resync_reason", res.FullResyncReason)
	return res, nil
}

func meta(trigger, commit string) commands.Meta {
	return commands.Meta{Actor: "mothergoose:nest-sync:" + trigger, CorrelationID: "nest-sync-" + commit}
}

func (s *Syncer) since(t time.Time) int64 { return s.cfg.Clock().Sub(t).Milliseconds() }

// repoFailed records a failure to read the Nest (fetch, or a read of
// commit) and returns err. The recorded text is the error's message with its
// cause chain ("gitrepo: fetch /nest (branch main): reference not found"),
// from which gitrepo has removed the credential and domain.RecordFailed
// removes URL secrets and cuts to domain.MaxSyncErrorLen. A failure
// identical to the one recorded last (same commit, same text) is counted,
// not appended, unless the trigger is manual: the count goes to the log as
// nest.sync_failure_repeated when the outcome changes and every RepeatFlush.
func (s *Syncer) repoFailed(ctx context.Context, trigger, commit string, start time.Time, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	text := causeOf(err)
	now := s.cfg.Clock()
	key := commit + "\x00" + text
	if r := s.run; r != nil && r.key == key && trigger != "manual" {
		if r.count++; r.count == 1 {
			r.first = now
		}
		r.last = now
		if now.Sub(r.flushed) >= s.cfg.RepeatFlush {
			s.flushRepeats(ctx)
		}
		return err
	}
	s.outcomeChanged(ctx)
	f := events.NestSyncFailed{Commit: commit, Branch: s.cfg.Branch, Trigger: trigger, Error: text, StartedAt: start, DurationMS: s.since(start)}
	label := commit
	if label == "" {
		label = "fetch"
	}
	ar, rerr := s.cfg.Handlers.RecordNestSyncFailed(ctx, commands.RecordNestSyncFailed{Meta: meta(trigger, label), Failure: f})
	if rerr != nil {
		s.cfg.Logger.Error("nest sync: cannot record the failure", "error", rerr)
		return err
	}
	s.run = newRun(commit, key, ar, now)
	return err
}

func newRun(commit, key string, ar ports.AppendResult, now time.Time) *failureRun {
	if len(ar.EventIDs) == 0 { // a duplicate append: nothing of ours to count against
		return nil
	}
	return &failureRun{key: key, eventID: ar.EventIDs[0], position: ar.LastPosition, commit: commit, flushed: now}
}

// outcomeChanged ends the current failure run: its uncounted repeats are
// recorded before the new outcome is.
func (s *Syncer) outcomeChanged(ctx context.Context) {
	s.flushRepeats(ctx)
	s.run = nil
}

// flushRepeats records the repeats of the current failure counted since
// the last record, if any. A failed append is logged and retried at the
// next flush: the count is cumulative.
func (s *Syncer) flushRepeats(ctx context.Context) {
	r := s.run
	if r == nil || r.count == r.recorded {
		return
	}
	_, err := s.cfg.Handlers.RecordNestSyncFailureRepeated(ctx, commands.RecordNestSyncFailureRepeated{
		Meta: commands.Meta{Actor: "mothergoose:nest-sync", CorrelationID: "nest-sync-" + r.eventID},
		Repeat: events.NestSyncFailureRepeated{FailureEventID: r.eventID, FailurePosition: r.position, Commit: r.commit,
			Count: r.count, FirstAt: r.first, LastAt: r.last},
	})
	if err != nil {
		s.cfg.Logger.Error("nest sync: cannot record the repeats of a failure", "failure", r.eventID, "count", r.count, "error", err)
		return
	}
	r.recorded, r.flushed = r.count, s.cfg.Clock()
}

// causeOf is the text recorded for a failed read of the Nest: the coded
// error's message and its cause chain. An internal error's detail stays in
// the log.
func causeOf(err error) string {
	var e *errs.Error
	if !errors.As(err, &e) || e.Code == errs.EINTERNAL {
		return errs.Message(err)
	}
	switch {
	case e.Err == nil:
		return e.Message
	case e.Message == "":
		return e.Err.Error()
	}
	return e.Message + ": " + e.Err.Error()
}

// previous returns the state of the last synced commit: kept in memory
// from this process's last sync, or rebuilt by loading that commit (after a
// restart). It is empty before the first sync. When the repository no
// longer holds that commit (the branch was rewritten, or serve now follows
// another repository, and this clone is fresh), it is what the log holds as
// live, so the head is synced in full against it (see fromLog).
func (s *Syncer) previous(ctx context.Context, hist *domain.NestSync) (*nestState, error) {
	last := hist.LastCommit()
	empty := &nestState{eggs: map[string]eggMemo{}, jobs: map[string]string{}}
	if last == "" {
		return empty, nil
	}
	if s.state != nil && s.state.commit == last {
		return s.state, nil
	}
	files, err := s.cfg.Repo.Files(ctx, last)
	if errs.Code(err) == errs.ENOTFOUND {
		s.cfg.Logger.Warn("nest sync: the last synced commit is not in the repository; syncing in full against the log", "commit", last)
		return fromLog(hist, fmt.Sprintf("the last synced commit %s is not in the repository (the branch was rewritten or the Nest replaced)", last)), nil
	}
	if err != nil {
		return nil, err // a disk or store error fails the sync: no full resync on a transient error
	}
	content, err := s.cfg.Repo.ReadFiles(ctx, last, s.cfg.Loader.Missing(files))
	if err != nil {
		return nil, err
	}
	st := &nestState{commit: last, files: files, eggs: map[string]eggMemo{}, jobs: map[string]string{}}
	nest, diags := s.cfg.Loader.LoadNest(ctx, files, content)
	if err := ctx.Err(); err != nil {
		return nil, err // cut short, not "no longer loads"
	}
	if nest == nil {
		// The last synced commit no longer loads (the parser got stricter):
		// compare against nothing, so every egg and job is synced again
		// (the aggregates append only what changed). Removals are then
		// found from the file list alone: eggs and jobs are named by their
		// paths.
		s.cfg.Logger.Warn("nest sync: the last synced commit does not load any more", "commit", last, "diagnostics", len(diags))
		for p := range files {
			if name, ok := eggName(p); ok {
				st.eggs[name] = eggMemo{}
			}
			if name, ok := jobName(p); ok {
				st.jobs[name] = ""
			}
		}
		return st, nil
	}
	for name, ev := range eggEvents(nest, files, last, nil) {
		st.eggs[name] = ev
	}
	for _, j := range nest.Jobs {
		st.jobs[j.Name] = jobEvent(j, last).ConfigHash
	}
	if nest.UglyFox != nil {
		st.uf = ufEvent(*nest.UglyFox, last).ConfigHash
	}
	return st, nil
}

// fromLog is the state the log says is deployed: the .fly files of the last
// synced commit as the "nest" stream's NestSynced changes add up to
// (domain.NestSync.LivePaths), with the eggs and jobs those paths name.
//
// Why the "nest" stream and not the egg_configs view and the job streams:
// it is the stream this sync reads anyway and appends to with an expected
// version, so every replica sees the same complete history, read from the
// event store itself (shared by the replicas) at the moment of the sync;
// a view may lag behind the log or be rebuilding after a restart, and the
// job streams cannot be listed without a scan of the whole log. Eggs and
// jobs are named by their paths, so the paths are enough: an egg or job
// removed since by other means is found already removed (ENOTFOUND), and
// the aggregates append only real changes for the ones still present.
func fromLog(hist *domain.NestSync, reason string) *nestState {
	st := &nestState{fullResync: reason, files: map[string]string{}, eggs: map[string]eggMemo{}, jobs: map[string]string{}}
	for _, p := range hist.LivePaths() {
		st.files[p] = ""
		if name, ok := eggName(p); ok {
			st.eggs[name] = eggMemo{}
		}
		if name, ok := jobName(p); ok {
			st.jobs[name] = ""
		}
	}
	return st
}

// filesAt returns the .fly files of head and the changes since prev. With
// no previous commit (the first sync, or a full resync) they are the
// changes from prev's files: added, removed, and "modified" for a file in
// both (its content as deployed is unknown; the counts say what changed).
func (s *Syncer) filesAt(ctx context.Context, prev *nestState, head string) (map[string]string, []events.FileChange, error) {
	if prev.commit == "" {
		files, err := s.cfg.Repo.Files(ctx, head)
		if err != nil {
			return nil, nil, err
		}
		changes := make([]events.FileChange, 0, len(files))
		for _, p := range slices.Sorted(maps.Keys(files)) {
			action := "added"
			if _, ok := prev.files[p]; ok {
				action = "modified"
			}
			changes = append(changes, events.FileChange{Path: p, Action: action})
		}
		for _, p := range slices.Sorted(maps.Keys(prev.files)) {
			if _, ok := files[p]; !ok {
				changes = append(changes, events.FileChange{Path: p, Action: "removed"})
			}
		}
		slices.SortFunc(changes, func(a, b events.FileChange) int { return strings.Compare(a.Path, b.Path) })
		return files, changes, nil
	}
	changed, err := s.cfg.Repo.ChangedFiles(ctx, prev.commit, head)
	if err != nil {
		return nil, nil, err
	}
	files := maps.Clone(prev.files)
	changes := make([]events.FileChange, 0, len(changed))
	for _, p := range slices.Sorted(maps.Keys(changed)) {
		blob := changed[p]
		_, had := files[p]
		switch {
		case blob == "":
			delete(files, p)
			changes = append(changes, events.FileChange{Path: p, Action: "removed"})
		case had:
			files[p] = blob
			changes = append(changes, events.FileChange{Path: p, Action: "modified"})
		default:
			files[p] = blob
			changes = append(changes, events.FileChange{Path: p, Action: "added"})
		}
	}
	return files, changes, nil
}

// apply runs the egg, job and uglyfox commands for the difference between
// prev and nest, filling next and the counts of res.
func (s *Syncer) apply(ctx context.Context, trigger string, prev, next *nestState, nest *domain.Nest, res *Result) error {
	m := meta(trigger, next.commit)
	next.eggs = eggEvents(nest, next.files, next.commit, prev.eggs)
	var tasks []func(context.Context) (int, error)
	const (
		none = iota
		added
		updated
		removed
		jobSynced
	)
	for _, name := range slices.Sorted(maps.Keys(next.eggs)) {
		cur := next.eggs[name]
		old, had := prev.eggs[name]
		if had && old.ev.ConfigHash == cur.ev.ConfigHash {
			continue
		}
		tasks = append(tasks, func(ctx context.Context) (int, error) {
			r, err := s.cfg.Handlers.SyncEgg(ctx, commands.SyncEgg{Meta: m, Config: cur.ev})
			switch {
			case err != nil:
				return none, err
			case r.LastVersion == 0:
				return none, nil
			case had:
				return updated, nil
			default:
				return added, nil
			}
		})
	}
	for _, name := range slices.Sorted(maps.Keys(prev.eggs)) {
		if _, ok := next.eggs[name]; ok {
			continue
		}
		tasks = append(tasks, func(ctx context.Context) (int, error) {
			_, err := s.cfg.Handlers.RemoveEgg(ctx, commands.RemoveEgg{Meta: m, Name: name, Commit: next.commit, Reason: "file removed from the Nest"})
			if errs.Code(err) == errs.ENOTFOUND {
				return none, nil // already removed
			}
			return removed, err
		})
	}
	for _, name := range slices.Sorted(maps.Keys(nest.Jobs)) {
		ev := jobEvent(nest.Jobs[name], next.commit)
		next.jobs[name] = ev.ConfigHash
		if prev.jobs[name] == ev.ConfigHash {
			continue
		}
		tasks = append(tasks, func(ctx context.Context) (int, error) {
			r, err := s.cfg.Handlers.SyncJob(ctx, commands.SyncJob{Meta: m, Job: ev})
			if err != nil || r.LastVersion == 0 {
				return none, err
			}
			return jobSynced, nil
		})
	}
	for _, name := range slices.Sorted(maps.Keys(prev.jobs)) {
		if _, ok := nest.Jobs[name]; ok {
			continue
		}
		hash := prev.jobs[name]
		tasks = append(tasks, func(ctx context.Context) (int, error) {
			r, err := s.cfg.Handlers.SyncJob(ctx, commands.SyncJob{Meta: m, Job: events.JobSynced{Name: name, Removed: true, ConfigHash: hash, Commit: next.commit}})
			switch {
			case errs.Code(err) == errs.ENOTFOUND:
				return none, nil // never synced or already removed
			case err != nil || r.LastVersion == 0:
				return none, err
			}
			return jobSynced, nil
		})
	}
	counts, err := s.runAll(ctx, tasks)
	if err != nil {
		return err
	}
	res.EggsAdded, res.EggsUpdated, res.EggsRemoved, res.JobsSynced = counts[added], counts[updated], counts[removed], counts[jobSynced]

	if nest.UglyFox != nil {
		ev := ufEvent(*nest.UglyFox, next.commit)
		next.uf = ev.ConfigHash
		if ev.ConfigHash != prev.uf {
			r, err := s.cfg.Handlers.SyncUglyFoxConfig(ctx, commands.SyncUglyFoxConfig{Meta: m, Config: ev})
			if err != nil {
				return err
			}
			res.UglyFoxSynced = r.LastVersion > 0
		}
	}
	return nil
}

// runAll runs tasks on cfg.Workers goroutines and counts their outcomes.
// The first error cancels the rest and is returned.
func (s *Syncer) runAll(ctx context.Context, tasks []func(context.Context) (int, error)) ([5]int, error) {
	var counts [5]int
	if len(tasks) == 0 {
		return counts, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ch := make(chan func(context.Context) (int, error))
	type outcome struct {
		kind int
		err  error
	}
	out := make(chan outcome, len(tasks))
	var wg sync.WaitGroup
	for range min(s.cfg.Workers, len(tasks)) {
		wg.Go(func() {
			for task := range ch {
				k, err := task(ctx)
				if err != nil {
					cancel(err)
				}
				out <- outcome{k, err}
			}
		})
	}
	for _, t := range tasks {
		ch <- t
	}
	close(ch)
	wg.Wait()
	close(out)
	var first error
	for o := range out {
		if o.err != nil && first == nil {
			first = o.err
		}
		counts[o.kind]++
	}
	if first != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			first = c
		}
		return counts, fmt.Errorf("nest sync: %w", first)
	}
	return counts, nil
}

// maxLoggedDiagnostics is how many diagnostics of an invalid commit are
// logged; all of them (up to fly.MaxEventDiagnostics) are recorded.
const maxLoggedDiagnostics = 20

// diagnosticLine is d as gosling validate prints a diagnostic's first line:
// "path:line:col: error: summary: detail", the detail on one line.
func diagnosticLine(d events.Diagnostic) string {
	line := fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Column, cmp.Or(d.Severity, "error"), d.Summary)
	if d.File == "" {
		line = fmt.Sprintf("%s: %s", cmp.Or(d.Severity, "error"), d.Summary)
	}
	if d.Detail != "" {
		line += ": " + strings.Join(strings.FieldsFunc(d.Detail, func(r rune) bool { return r == '\n' }), " ")
	}
	return line
}

// hasErrors reports whether any diagnostic is an error (warnings do not
// fail a sync).
func hasErrors(diags []events.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == "error" {
			return true
		}
	}
	return false
}
