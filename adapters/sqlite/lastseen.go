package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// LastSeen is the last-seen store (ports.LastSeen) in the file's last_seen
// table. It is state, not a view: Truncate and replay leave it alone.
// Touches go through the views' writer connection (a heartbeat is one
// upsert, synchronous=NORMAL: a crash may lose the last ones, which the next
// heartbeats restore); reads through the read pool.
type LastSeen struct{ db *DB }

var _ ports.LastSeen = (*LastSeen)(nil)

// LastSeen returns the last-seen store of the file.
func (db *DB) LastSeen() *LastSeen { return &LastSeen{db: db} }

// Touch records hb unless a later heartbeat of the runner is recorded.
func (s *LastSeen) Touch(ctx context.Context, hb ports.Heartbeat) error {
	if hb.RunnerID == "" {
		return errs.Errorf(errs.EINVALID, "sqlite: last seen: empty runner id")
	}
	jobs, err := json.Marshal(nonNilJobs(hb.RunningJobs))
	if err != nil {
		return errs.Wrap(errs.EINTERNAL, err, "sqlite: last seen: encode running jobs")
	}
	_, err = s.db.views.ExecContext(ctx, `INSERT INTO last_seen (runner_id, at, state, running_jobs, version, cpu_percent, memory_percent) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (runner_id) DO UPDATE SET at = excluded.at, state = excluded.state,
			running_jobs = excluded.running_jobs, version = excluded.version,
			cpu_percent = excluded.cpu_percent, memory_percent = excluded.memory_percent
		WHERE excluded.at >= last_seen.at`,
		hb.RunnerID, hb.At.UnixNano(), hb.State, string(jobs), hb.Version, hb.CPUPercent, hb.MemoryPercent)
	if err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: last seen: record runner %s", hb.RunnerID)
	}
	return nil
}

// Get returns the last heartbeat of one runner.
func (s *LastSeen) Get(ctx context.Context, runnerID string) (ports.Heartbeat, bool, error) {
	rows, err := s.List(ctx, []string{runnerID})
	if err != nil {
		return ports.Heartbeat{}, false, err
	}
	hb, ok := rows[runnerID]
	return hb, ok, nil
}

// List returns the last heartbeats of the runners named, in one query.
func (s *LastSeen) List(ctx context.Context, runnerIDs []string) (map[string]ports.Heartbeat, error) {
	if len(runnerIDs) > ports.MaxLastSeenBatch {
		return nil, errs.Errorf(errs.EINVALID, "sqlite: last seen: %d runner ids in one read; at most %d", len(runnerIDs), ports.MaxLastSeenBatch)
	}
	out := make(map[string]ports.Heartbeat, len(runnerIDs))
	if len(runnerIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(runnerIDs))
	for i, id := range runnerIDs {
		args[i] = id
	}
	q := `SELECT runner_id, at, state, running_jobs, version, cpu_percent, memory_percent FROM last_seen WHERE runner_id IN (?` +
		strings.Repeat(", ?", len(runnerIDs)-1) + `)`
	rows, err := s.db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: last seen: read")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			hb   ports.Heartbeat
			at   int64
			jobs string
		)
		if err := rows.Scan(&hb.RunnerID, &at, &hb.State, &jobs, &hb.Version, &hb.CPUPercent, &hb.MemoryPercent); err != nil {
			return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: last seen: read")
		}
		hb.At = time.Unix(0, at).UTC()
		if err := json.Unmarshal([]byte(jobs), &hb.RunningJobs); err != nil {
			return nil, errs.Wrap(errs.EINTERNAL, err, "sqlite: last seen: runner %s: running jobs", hb.RunnerID)
		}
		if len(hb.RunningJobs) == 0 {
			hb.RunningJobs = nil
		}
		out[hb.RunnerID] = hb
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: last seen: read")
	}
	return out, nil
}

func nonNilJobs(j []int64) []int64 {
	if j == nil {
		return []int64{}
	}
	return j
}
