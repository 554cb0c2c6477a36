package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Paging of every list: limit= (default 100, at most 1000) rows per page,
// and cursor=, the opaque next of the previous page.
const (
	defaultLimit = 100
	maxLimit     = 1000
	// maxCursorLen bounds the cursor parameter (bytes): a cursor holds one
	// row key, and keys are short.
	maxCursorLen = 2048
	// countPage is the page size eggStatus counts runners with.
	countPage = 1000
)

// cursor is what a next carries, JSON in unpadded base64url: the list it
// continues and where, a view key or (for /events) a position or a stream's
// version. Clients treat it as opaque.
type cursor struct {
	List   string `json:"l"`
	Key    string `json:"k,omitempty"`
	After  uint64 `json:"a,omitempty"`
	Stream string `json:"s,omitempty"`
}

func (c cursor) encode() string {
	raw, _ := json.Marshal(c) // strings and a number: cannot fail
	return base64.RawURLEncoding.EncodeToString(raw)
}

// page is the paging of one list request.
type page struct {
	limit  int
	cursor cursor // zero without cursor=
	given  bool   // cursor= was given
}

// paging reads limit= and cursor= of the list named list; a cursor of
// another list, or one that does not decode, is EINVALID.
func paging(r *http.Request, list string) (page, error) {
	q := r.URL.Query()
	p := page{limit: defaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxLimit {
			return p, errs.Errorf(errs.EINVALID, "limit=%q: want an integer from 1 to %d", v, maxLimit)
		}
		p.limit = n
	}
	v := q.Get("cursor")
	if !q.Has("cursor") {
		return p, nil
	}
	bad := errs.Errorf(errs.EINVALID, "cursor=: not a cursor of %s (pass the next of the previous page unchanged)", r.URL.Path)
	if v == "" || len(v) > maxCursorLen {
		return p, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return p, bad
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.cursor); err != nil || dec.More() || p.cursor.List != list {
		return p, bad
	}
	p.given = true
	return p, nil
}

// after reads the after= of /events and /audit, which cursor= replaces:
// giving both is EINVALID.
func after(r *http.Request, p page) (uint64, error) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return 0, nil
	}
	if p.given {
		return 0, errs.Errorf(errs.EINVALID, "after= and cursor= both given: pass one")
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, errs.Errorf(errs.EINVALID, "after=%q: want an integer from 0 to %d", v, uint64(math.MaxUint64))
	}
	return n, nil
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

// boolParam reads the query parameter name: absent or "false" is false,
// "true" is true, anything else is EINVALID.
func boolParam(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, errs.Errorf(errs.EINVALID, "%s=%q: want true or false", name, v)
	}
}

// pageQuery sets q's paging from limit= and cursor= of the list named
// list; with positions (/audit, keyed by PositionKey), after= is accepted
// too, as a position.
func pageQuery(r *http.Request, list string, q ports.Query, positions bool) (ports.Query, error) {
	p, err := paging(r, list)
	if err != nil {
		return q, err
	}
	q.Limit = p.limit
	switch {
	case p.given:
		q.AfterKey = p.cursor.Key
	case positions:
		a, err := after(r, p)
		if err != nil {
			return q, err
		}
		if a > 0 {
			q.AfterKey = ports.PositionKey(a)
		}
	}
	return q, nil
}

// pageBody is {key: rows} with next, the cursor of the next page, unless
// this page is the last.
func pageBody[R ports.ViewRow](list, key string, pg ports.Page[R]) map[string]any {
	body := map[string]any{key: nonNil(pg.Rows)}
	if pg.Next != "" {
		body["next"] = cursor{List: list, Key: pg.Next}.encode()
	}
	return body
}

// listPage answers one page of t's rows matching q (paged by limit= and
// cursor=) as {key: rows, next}.
func listPage[R ports.ViewRow](s *server, w http.ResponseWriter, r *http.Request, list, key string, t ports.Table[R], q ports.Query) {
	q, err := pageQuery(r, list, q, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pg, err := t.ListPage(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody(list, key, pg))
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
	listPage(s, w, r, "eggs", "eggs", ports.EggConfigs.In(s.cfg.Views.Read()), ports.Query{Eq: eq(r, map[string]string{"kind": "kind"})})
}

func (s *server) getEgg(w http.ResponseWriter, r *http.Request) {
	if row, ok := get(s, w, r, ports.EggConfigs.In(s.cfg.Views.Read()), "egg", "name"); ok {
		writeJSON(w, http.StatusOK, row)
	}
}

// eggStatus is an egg's configuration state and its runners by state,
// counted a page of countPage runners at a time.
func (s *server) eggStatus(w http.ResponseWriter, r *http.Request) {
	row, ok := get(s, w, r, ports.EggConfigs.In(s.cfg.Views.Read()), "egg", "name")
	if !ok {
		return
	}
	byState := map[string]int{}
	total := 0
	q := ports.Query{Eq: map[string]any{"egg": row.Name, "served_by": ""}, Limit: countPage}
	for {
		pg, err := ports.Runners.In(s.cfg.Views.Read()).ListPage(r.Context(), q)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, rr := range pg.Rows {
			byState[rr.State]++
		}
		total += len(pg.Rows)
		if pg.Next == "" {
			break
		}
		q.AfterKey = pg.Next
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"egg": row.Name, "removed": row.Removed, "commit": row.Commit, "synced_at": row.SyncedAt,
		"runner_type": row.RunnerType, "runners": total, "runners_by_state": byState,
	})
}

// eggWebhooks is the state of the hooks MotherGoose installs for an egg
// (the egg_webhooks view); an egg with nothing recorded yet has none.
func (s *server) eggWebhooks(w http.ResponseWriter, r *http.Request) {
	egg, ok := get(s, w, r, ports.EggConfigs.In(s.cfg.Views.Read()), "egg", "name")
	if !ok {
		return
	}
	row, _, err := ports.EggWebhooks.In(s.cfg.Views.Read()).Get(r.Context(), egg.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	row.Egg = egg.Name
	row.Hooks = nonNil(row.Hooks)
	writeJSON(w, http.StatusOK, row)
}

func (s *server) listRunners(w http.ResponseWriter, r *http.Request) {
	if st := r.URL.Query().Get("state"); st != "" {
		if _, err := domain.ParseRunnerState(st); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	q := ports.Query{Eq: eq(r, map[string]string{"state": "state", "egg": "egg", "type": "type"})}
	requests, err := boolParam(r, "requests")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !requests {
		q.Eq["served_by"] = "" // runners only: no request whose job went to another runner
	}
	if t := r.URL.Query().Get("type"); t != "" {
		typ, err := domain.ParseRunnerType(t) // the retired "APEX" reads as "apex"
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		q.Eq["type"] = typ.String()
	}
	q, err = pageQuery(r, "runners", q, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pg, err := ports.Runners.In(s.cfg.Views.Read()).ListPage(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, err := s.runnersWithHeartbeats(r, pg.Rows)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := map[string]any{"runners": rows}
	if pg.Next != "" {
		body["next"] = cursor{List: "runners", Key: pg.Next}.encode()
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *server) getRunner(w http.ResponseWriter, r *http.Request) {
	row, ok := get(s, w, r, ports.Runners.In(s.cfg.Views.Read()), "runner", "id")
	if !ok {
		return
	}
	rows, err := s.runnersWithHeartbeats(r, []ports.RunnerRow{row})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rows[0])
}

// terminateRunner asks for the runner to be destroyed; the provisioner
// destroys it (a destroy plan, then runner.terminated), never under a BUSY
// runner's job. 202: the ask is recorded.
func (s *server) terminateRunner(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	res, err := s.cfg.Handlers.AskTermination(r.Context(), commands.AskTermination{
		Meta: commands.Meta{Actor: "api"}, RunnerID: id, Reason: "terminate asked through the API",
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"runner_id": id, "status": "terminating", "version": res.LastVersion})
}

// retryEgg asks an egg whose breaker tripped (its last runners failed to
// provision) to provision again under its current configuration. 202: the
// ask is recorded (egg.retry_asked); the provisioner acts on it.
func (s *server) retryEgg(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	res, err := s.cfg.Handlers.AskEggRetry(r.Context(), commands.AskEggRetry{
		Meta: commands.Meta{Actor: "api"}, Name: name, Reason: "retry asked through the API",
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"egg": name, "status": "retrying", "version": res.LastVersion})
}

func (s *server) getPlan(w http.ResponseWriter, r *http.Request) {
	if row, ok := get(s, w, r, ports.DeploymentPlans.In(s.cfg.Views.Read()), "plan", "id"); ok {
		writeJSON(w, http.StatusOK, row)
	}
}

func (s *server) listPlans(w http.ResponseWriter, r *http.Request) {
	listPage(s, w, r, "plans", "plans", ports.DeploymentPlans.In(s.cfg.Views.Read()), ports.Query{Eq: eq(r, map[string]string{"egg": "egg", "runner": "runner_id", "status": "status"})})
}

// listSyncHistory returns the latest syncs first.
func (s *server) listSyncHistory(w http.ResponseWriter, r *http.Request) {
	listPage(s, w, r, "sync-history", "sync_history", ports.SyncHistory.In(s.cfg.Views.Read()), ports.Query{Eq: eq(r, map[string]string{"status": "status"}), Desc: true})
}

// listAudit pages through the audit trail in log order. Besides next it
// answers next_after, the position to pass as after=: where the page
// stopped, or where it started when it is empty and last.
func (s *server) listAudit(w http.ResponseWriter, r *http.Request) {
	q, err := pageQuery(r, "audit", ports.Query{Eq: eq(r, map[string]string{"stream": "stream", "type": "type", "actor": "actor"})}, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pg, err := ports.AuditLogs.In(s.cfg.Views.Read()).ListPage(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Audit keys are PositionKeys, so a key is a position.
	stop := q.AfterKey
	if n := len(pg.Rows); n > 0 {
		stop = pg.Rows[n-1].Key
	}
	if pg.Next != "" {
		stop = pg.Next
	}
	body := pageBody("audit", "audit", pg)
	body["next_after"], _ = strconv.ParseUint(stop, 10, 64) // "" (the start) is 0
	writeJSON(w, http.StatusOK, body)
}

// listEvents is the audit replay: the whole log by global position, or one
// stream by version when stream= is given. next continues the page while
// there is more; next_after is the position (or version) to pass as after=,
// which --follow polls with after the last page.
func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	p, err := paging(r, "events")
	var from uint64
	if err == nil {
		from, err = after(r, p)
	}
	stream := r.URL.Query().Get("stream")
	if err == nil && p.given {
		if p.cursor.Stream != stream {
			err = errs.Errorf(errs.EINVALID, "cursor=: it continues stream %q, not %q", p.cursor.Stream, stream)
		}
		from = p.cursor.After
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, next, err := ports.ReadPage(r.Context(), s.cfg.Events, stream, from, p.limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := map[string]any{}
	if len(recs) > p.limit {
		recs = recs[:p.limit]
		if next = recs[p.limit-1].GlobalPosition; stream != "" {
			next = recs[p.limit-1].Version
		}
		body["next"] = cursor{List: "events", After: next, Stream: stream}.encode()
	}
	body["events"], body["next_after"] = nonNil(recs), next
	writeJSON(w, http.StatusOK, body)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
