package ports

import (
	"context"
	"time"
)

// Heartbeat is what a runner's agent last reported: when, its state (IDLE
// or BUSY), the jobs it runs and its version.
type Heartbeat struct {
	RunnerID    string    `json:"runner_id"`
	At          time.Time `json:"at"`
	State       string    `json:"state"`
	RunningJobs []int64   `json:"running_jobs,omitempty"`
	Version     string    `json:"version,omitempty"`
	// CPUPercent and MemoryPercent are the runner machine's load as the
	// agent measured it (0 to 100; 0 when not reported), read by UglyFox's
	// Apex thresholds.
	CPUPercent    float64 `json:"cpu_percent,omitempty"`
	MemoryPercent float64 `json:"memory_percent,omitempty"`
}

// MaxLastSeenBatch is the most runner ids one LastSeen.List reads.
const MaxLastSeenBatch = 1000

// LastSeen keeps each runner's last heartbeat. It is state, not a
// projection: heartbeats are not events (thousands of runners every few
// seconds would swamp the log), so a replay does not rebuild it and
// `mothergoose replay` leaves it alone; only changes of a runner's state
// are events. A lost record costs nothing but the time until the runner's
// next heartbeat.
type LastSeen interface {
	// Touch records hb unless the record held for hb.RunnerID is newer
	// (a later At); a heartbeat delayed in transit never hides a later one.
	Touch(ctx context.Context, hb Heartbeat) error
	// Get returns the record of one runner.
	Get(ctx context.Context, runnerID string) (Heartbeat, bool, error)
	// List returns the records of the runners named (one batched read; at
	// most MaxLastSeenBatch ids, EINVALID beyond), keyed by runner id;
	// runners without a record are absent.
	List(ctx context.Context, runnerIDs []string) (map[string]Heartbeat, error)
}
