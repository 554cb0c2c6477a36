package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// MaxHeartbeatBody is the limit of a heartbeat body: a state, at most
// commands.MaxRunningJobs job ids and a version fit in far less.
const MaxHeartbeatBody = 8 << 10

type heartbeatRequest struct {
	State         string  `json:"state"`
	RunningJobs   []int64 `json:"running_jobs"`
	Version       string  `json:"version"`
	CPUPercent    float64 `json:"cpu_percent"`
	MemoryPercent float64 `json:"memory_percent"`
}

// heartbeat reads an agent's heartbeat (its own credential as the bearer
// token) and answers what commands.Heartbeats decided: 200 with the
// runner's state, or 410 Gone for a terminated runner, whose agent stops.
func (s *server) heartbeat(w http.ResponseWriter, r *http.Request) {
	defer drain(r.Body)
	if s.heartbeats == nil {
		s.writeError(w, r, errs.Errorf(errs.EUNAVAILABLE, "heartbeats are not recorded by this server (no last-seen store)"))
		return
	}
	cred, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mothergoose-runner"`)
		s.writeError(w, r, errs.Errorf(errs.EUNAUTHORIZED, "the runner's credential is required as a bearer token"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHeartbeatBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSONError(w, http.StatusRequestEntityTooLarge, errs.EINVALID, "the body is over the limit of "+strconv.Itoa(MaxHeartbeatBody)+" bytes")
		return
	case err != nil:
		s.writeError(w, r, errs.Errorf(errs.EINVALID, "the body could not be read"))
		return
	}
	var req heartbeatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.writeError(w, r, errs.Errorf(errs.EINVALID, "the body is not a heartbeat: want {\"state\":\"IDLE\"|\"BUSY\",\"running_jobs\":[...],\"version\":\"...\"}"))
		return
	}
	ans, err := s.heartbeats.Receive(r.Context(), commands.ReceiveHeartbeat{
		RunnerID: mux.Vars(r)["id"], Credential: cred, State: req.State, RunningJobs: req.RunningJobs, Version: req.Version,
		CPUPercent: req.CPUPercent, MemoryPercent: req.MemoryPercent,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// runnerOut is a runners view row with the agent's last heartbeat.
type runnerOut struct {
	ports.RunnerRow
	LastHeartbeatAt time.Time `json:"last_heartbeat_at,omitzero"`
	AgentState      string    `json:"agent_state,omitempty"`
	AgentVersion    string    `json:"agent_version,omitempty"`
	RunningJobs     []int64   `json:"running_jobs,omitempty"`
	// The machine's load in percent as the agent last measured it
	// (absent when it does not).
	CPUPercent    float64 `json:"cpu_percent,omitempty"`
	MemoryPercent float64 `json:"memory_percent,omitempty"`
}

func withHeartbeat(row ports.RunnerRow, hb ports.Heartbeat, ok bool) runnerOut {
	out := runnerOut{RunnerRow: row}
	if ok {
		out.LastHeartbeatAt, out.AgentState, out.AgentVersion, out.RunningJobs = hb.At, hb.State, hb.Version, hb.RunningJobs
		out.CPUPercent, out.MemoryPercent = hb.CPUPercent, hb.MemoryPercent
	}
	return out
}

// runnersWithHeartbeats joins rows with their last heartbeats: one batched
// read for the whole page (a page is at most maxLimit rows, within
// ports.MaxLastSeenBatch).
func (s *server) runnersWithHeartbeats(r *http.Request, rows []ports.RunnerRow) ([]runnerOut, error) {
	out := make([]runnerOut, len(rows))
	var seen map[string]ports.Heartbeat
	if s.cfg.LastSeen != nil && len(rows) > 0 {
		ids := make([]string, len(rows))
		for i, row := range rows {
			ids[i] = row.ID
		}
		var err error
		if seen, err = s.cfg.LastSeen.List(r.Context(), ids); err != nil {
			return nil, err
		}
	}
	for i, row := range rows {
		hb, ok := seen[row.ID]
		out[i] = withHeartbeat(row, hb, ok)
	}
	return out, nil
}
