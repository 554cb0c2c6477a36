package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Paging of /events and /audit.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// paging reads after and limit (default 100, at most 1000).
func paging(r *http.Request) (after uint64, limit int, err error) {
	q := r.URL.Query()
	limit = defaultLimit
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, errs.Errorf(errs.EINVALID, "after=%q: want a non-negative integer", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxLimit {
			return 0, 0, errs.Errorf(errs.EINVALID, "limit=%q: want an integer from 1 to %d", v, maxLimit)
		}
		limit = n
	}
	return after, limit, nil
}

// eq builds equality filters from the query parameters named in cols
// (parameter name -> column name), skipping empty ones.
func eq(r *http.Request, cols map[string]string) map[string]any {
	out := map[string]any{}
	for param, col := range cols {
		if v := r.URL.Query().Get(param); v != "" {
			out[col] = v
		}
	}
	return out
}

// list answers {key: rows} with t's rows matching q ([] for none).
func list[R ports.ViewRow](s *server, w http.ResponseWriter, r *http.Request, key string, t ports.Table[R], q ports.Query) {
	rows, err := t.List(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{key: nonNil(rows)})
}

// get reads t's row keyed by the route variable v; a missing row is
// answered ENOTFOUND ("<what> <key> does not exist") and false returned.
func get[R ports.ViewRow](s *server, w http.ResponseWriter, r *http.Request, t ports.Table[R], what, v string) (R, bool) {
	key := mux.Vars(r)[v]
	row, ok, err := t.Get(r.Context(), key)
	if err == nil && !ok {
		err = errs.Errorf(errs.ENOTFOUND, "%s %s does not exist", what, key)
	}
	if err != nil {
		s.writeError(w, r, err)
		return row, false
	}
	return row, true
}

func (s *server) listEggs(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, "eggs", s.cfg.Views.Read().EggConfigs(), ports.Query{Eq: eq(r, map[string]string{"kind": "kind"})})
}

func (s *server) getEgg(w http.ResponseWriter, r *http.Request) {
	if row, ok := get(s, w, r, s.cfg.Views.Read().EggConfigs(), "egg", "name"); ok {
		writeJSON(w, http.StatusOK, row)
	}
}

// eggStatus is an egg's configuration state and its runners by state.
func (s *server) eggStatus(w http.ResponseWriter, r *http.Request) {
	row, ok := get(s, w, r, s.cfg.Views.Read().EggConfigs(), "egg", "name")
	if !ok {
		return
	}
	runners, err := s.cfg.Views.Read().Runners().List(r.Context(), ports.Query{Eq: map[string]any{"egg": row.Name}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	byState := map[string]int{}
	for _, rr := range runners {
		byState[rr.State]++
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"egg": row.Name, "removed": row.Removed, "commit": row.Commit, "synced_at": row.SyncedAt,
		"runner_type": row.RunnerType, "runners": len(runners), "runners_by_state": byState,
	})
}

func (s *server) listRunners(w http.ResponseWriter, r *http.Request) {
	if st := r.URL.Query().Get("state"); st != "" {
		if _, err := domain.ParseRunnerState(st); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	list(s, w, r, "runners", s.cfg.Views.Read().Runners(), ports.Query{Eq: eq(r, map[string]string{"state": "state", "egg": "egg", "type": "type"})})
}

func (s *server) getRunner(w http.ResponseWriter, r *http.Request) {
	if row, ok := get(s, w, r, s.cfg.Views.Read().Runners(), "runner", "id"); ok {
		writeJSON(w, http.StatusOK, row)
	}
}

func (s *server) listPlans(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, "plans", s.cfg.Views.Read().DeploymentPlans(), ports.Query{Eq: eq(r, map[string]string{"egg": "egg", "runner": "runner_id", "status": "status"})})
}

// listSyncHistory returns the latest syncs first.
func (s *server) listSyncHistory(w http.ResponseWriter, r *http.Request) {
	_, limit, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list(s, w, r, "sync_history", s.cfg.Views.Read().SyncHistory(), ports.Query{Eq: eq(r, map[string]string{"status": "status"}), Desc: true, Limit: limit})
}

// listAudit pages through the audit trail in log order.
func (s *server) listAudit(w http.ResponseWriter, r *http.Request) {
	after, limit, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := ports.Query{Eq: eq(r, map[string]string{"stream": "stream", "type": "type", "actor": "actor"}), Limit: limit}
	if after > 0 {
		q.AfterKey = ports.PositionKey(after)
	}
	rows, err := s.cfg.Views.Read().AuditLogs().List(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := after
	if len(rows) > 0 {
		next = rows[len(rows)-1].Position
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": nonNil(rows), "next_after": next})
}

// listEvents is the audit replay: the whole log by global position, or one
// stream by version when stream= is given; next_after continues the page.
func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	after, limit, err := paging(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, next, err := ports.ReadPage(r.Context(), s.cfg.Events, r.URL.Query().Get("stream"), after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": nonNil(recs), "next_after": next})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
