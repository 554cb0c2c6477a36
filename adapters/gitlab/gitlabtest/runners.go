package gitlabtest

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The runners part of the fake, as documented:
//   - POST /api/v4/user/runners
//     (https://docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user):
//     201 {"id", "token": "glrt-...", "token_expires_at": null};
//   - POST /api/v4/projects/:id/runners
//     (https://docs.gitlab.com/api/runners/#assign-a-runner-to-project): 201;
//   - PUT /api/v4/runners/:id
//     (https://docs.gitlab.com/api/runners/#update-runners-details), paused;
//   - GET /api/v4/runners/:id/jobs?status=
//     (https://docs.gitlab.com/api/runners/#list-jobs-processed-by-a-runner);
//   - DELETE /api/v4/runners/:id
//     (https://docs.gitlab.com/api/runners/#delete-a-runner-by-id): 204;
//   - GET /api/v4/projects/:id/runners?type=
//     (https://docs.gitlab.com/api/runners/#list-projects-runners) and GET
//     /api/v4/groups/:id/runners?type=
//     (https://docs.gitlab.com/api/runners/#list-groups-runners), paginated.

// Runner is a GitLab runner the fake holds.
type Runner struct {
	ID             int64
	Type           string // project_type, group_type
	GroupID        int64
	ProjectIDs     []int64 // the project it was created in first
	Description    string
	Tags           []string
	RunUntagged    bool
	MaximumTimeout int64
	Paused         bool
	Token          string
	RunningJobs    []int64
}

type runnerState struct {
	next    int64
	runners map[int64]*Runner
	hold    chan struct{} // non-nil: creates answer only once it is closed
	held    int           // creates made and waiting for their answer
	creates int           // creates answered or held
	deletes []int64       // DELETE requests that found their runner
	tokens  []string      // every authentication token handed out
}

func (s *Server) routeRunners(mux *http.ServeMux) {
	s.rs = &runnerState{next: 1000, runners: map[int64]*Runner{}}
	mux.HandleFunc("POST /api/v4/user/runners", s.createRunner)
	mux.HandleFunc("POST /api/v4/projects/{id}/runners", s.enableRunner)
	mux.HandleFunc("PUT /api/v4/runners/{id}", s.updateRunner)
	mux.HandleFunc("GET /api/v4/runners/{id}/jobs", s.runnerJobs)
	mux.HandleFunc("DELETE /api/v4/runners/{id}", s.deleteRunner)
	mux.HandleFunc("GET /api/v4/projects/{id}/runners", s.listOwnerRunners)
	mux.HandleFunc("GET /api/v4/groups/{id}/runners", s.listOwnerRunners)
}

// Runners returns copies of the runners the fake holds, by id.
func (s *Server) Runners() []Runner {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Runner, 0, len(s.rs.runners))
	for _, r := range s.rs.runners {
		c := *r
		c.ProjectIDs, c.Tags, c.RunningJobs = slices.Clone(r.ProjectIDs), slices.Clone(r.Tags), slices.Clone(r.RunningJobs)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Runner) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// AddRunner adds a runner as if created earlier (for a test of cleanup);
// it returns its id.
func (s *Server) AddRunner(r Runner) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rs.next++
	r.ID = s.rs.next
	if r.Token == "" {
		r.Token = newRunnerToken()
	}
	s.rs.runners[r.ID] = &r
	return r.ID
}

// Creates is the number of runner creations made (held ones included).
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rs.creates
}

// Deletes are the ids of the runners DELETE removed, in order.
func (s *Server) Deletes() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rs.deletes)
}

// Tokens are the authentication tokens of every runner created, deleted
// ones included (for scans that no copy leaked).
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rs.tokens)
}

// SetRunningJob marks job as running on runner id (running) or no longer.
func (s *Server) SetRunningJob(id, job int64, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rs.runners[id]
	if r == nil {
		return
	}
	r.RunningJobs = slices.DeleteFunc(r.RunningJobs, func(j int64) bool { return j == job })
	if running {
		r.RunningJobs = append(r.RunningJobs, job)
	}
}

// HoldCreates makes every later creation happen server-side at once but
// answer only after release is called (the crash window between GitLab's
// create and MotherGoose's record). Release answers the held ones.
func (s *Server) HoldCreates() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.rs.hold = ch
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.rs.hold == ch {
			s.rs.hold = nil
		}
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

// HeldCreates is the number of creations made and waiting for their answer.
func (s *Server) HeldCreates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rs.held
}

// CertificatePEM is a TLS fake's certificate in PEM, for a process that
// trusts it through SSL_CERT_FILE (a Nest names a GitLab server by host
// alone, reached over HTTPS).
func (s *Server) CertificatePEM() []byte {
	c := s.srv.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func newRunnerToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "glrt-" + hex.EncodeToString(b)
}

// runnerParams reads a request's parameters: a JSON body (as client-go
// sends them) or a form.
func runnerParams(r *http.Request) (map[string]any, bool) {
	out := map[string]any{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&out); err != nil {
			return nil, false
		}
		return out, true
	}
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	for k, v := range r.Form {
		if strings.HasSuffix(k, "[]") {
			out[strings.TrimSuffix(k, "[]")] = anySlice(v)
		} else if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out, true
}

func anySlice(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

func intParam(p map[string]any, k string) (int64, bool) {
	switch v := p[k].(type) {
	case float64:
		return int64(v), v == float64(int64(v))
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func boolParam(p map[string]any, k string) (bool, bool) {
	switch v := p[k].(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

func tagsParam(p map[string]any) []string {
	var out []string
	switch v := p["tag_list"].(type) {
	case []any:
		for _, t := range v {
			if s, ok := t.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	case string:
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

func (s *Server) createRunner(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	p, ok := runnerParams(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is not valid"})
		return
	}
	typ, _ := p["runner_type"].(string)
	nr := &Runner{Type: typ, Tags: tagsParam(p), RunUntagged: true}
	nr.Description, _ = p["description"].(string)
	if b, ok := boolParam(p, "run_untagged"); ok {
		nr.RunUntagged = b
	}
	if b, ok := boolParam(p, "paused"); ok {
		nr.Paused = b
	}
	nr.MaximumTimeout, _ = intParam(p, "maximum_timeout")
	s.mu.Lock()
	switch typ {
	case "project_type":
		id, ok := intParam(p, "project_id")
		if !ok {
			s.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "project_id is missing"})
			return
		}
		if !s.projects[id] {
			s.mu.Unlock()
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
			return
		}
		nr.ProjectIDs = []int64{id}
	case "group_type":
		id, ok := intParam(p, "group_id")
		if !ok {
			s.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "group_id is missing"})
			return
		}
		if _, known := s.groups[id]; !known {
			s.mu.Unlock()
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Group Not Found"})
			return
		}
		nr.GroupID = id
	default:
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "runner_type does not have a valid value"})
		return
	}
	s.rs.next++
	nr.ID, nr.Token = s.rs.next, newRunnerToken()
	s.rs.runners[nr.ID] = nr
	s.rs.tokens = append(s.rs.tokens, nr.Token)
	s.rs.creates++
	hold := s.rs.hold
	id, token := nr.ID, nr.Token
	if hold != nil {
		s.rs.held++
	}
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		s.rs.held--
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "token": token, "token_expires_at": nil})
}

// runnerOf is the runner the path's id names, or answers 404.
func (s *Server) runnerOf(w http.ResponseWriter, r *http.Request, id string) (*Runner, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	rr := s.rs.runners[n]
	if err != nil || rr == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Runner Not Found"})
		return nil, false
	}
	return rr, true
}

func (s *Server) enableRunner(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	pid, ok := s.pathProject(w, r)
	if !ok {
		return
	}
	p, ok := runnerParams(r)
	rid, ok2 := intParam(p, "runner_id")
	if !ok || !ok2 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "runner_id is missing"})
		return
	}
	rr, found := s.runnerOf(w, r, strconv.FormatInt(rid, 10))
	if !found {
		return
	}
	s.mu.Lock()
	if rr.Type != "project_type" || slices.Contains(rr.ProjectIDs, pid) {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{"Runner has already been taken"}}})
		return
	}
	rr.ProjectIDs = append(rr.ProjectIDs, pid)
	body := runnerJSON(rr)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, body)
}

func (s *Server) updateRunner(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	rr, ok := s.runnerOf(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	p, ok := runnerParams(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is not valid"})
		return
	}
	s.mu.Lock()
	if b, ok := boolParam(p, "paused"); ok {
		rr.Paused = b
	}
	body := runnerJSON(rr)
	body["tag_list"], body["run_untagged"], body["maximum_timeout"] = nonNil(rr.Tags), rr.RunUntagged, rr.MaximumTimeout
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) runnerJobs(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	rr, ok := s.runnerOf(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(statuses, status) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "status does not have a valid value"})
		return
	}
	s.mu.Lock()
	var items []any
	if status == "" || status == "running" {
		for _, j := range rr.RunningJobs {
			items = append(items, map[string]any{"id": j, "status": "running", "stage": "test", "name": "job", "ref": "main", "tag": false})
		}
	}
	s.mu.Unlock()
	if items == nil {
		items = []any{}
	}
	s.writePage(w, r, items)
}

func (s *Server) deleteRunner(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	rr, ok := s.runnerOf(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.rs.runners, rr.ID)
	s.rs.deletes = append(s.rs.deletes, rr.ID)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// listOwnerRunners is a project's or a group's runners, filtered by type.
func (s *Server) listOwnerRunners(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	group := strings.HasPrefix(r.URL.Path, "/api/v4/groups/")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	typ := r.URL.Query().Get("type")
	if typ != "" && typ != "instance_type" && typ != "group_type" && typ != "project_type" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "type does not have a valid value"})
		return
	}
	s.mu.Lock()
	known := err == nil && s.projects[id]
	if group {
		_, known = s.groups[id]
		known = known && err == nil
	}
	var list []*Runner
	for _, rr := range s.rs.runners {
		mine := (group && rr.GroupID == id) || (!group && slices.Contains(rr.ProjectIDs, id))
		if mine && (typ == "" || typ == rr.Type) {
			list = append(list, rr)
		}
	}
	slices.SortFunc(list, func(a, b *Runner) int { return cmp.Compare(a.ID, b.ID) })
	items := make([]any, 0, len(list))
	for _, rr := range list {
		items = append(items, runnerJSON(rr))
	}
	s.mu.Unlock()
	if !known {
		what := "Project"
		if group {
			what = "Group"
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 " + what + " Not Found"})
		return
	}
	s.writePage(w, r, items)
}

// runnerJSON is a runner as the list endpoints answer it (s.mu held).
func runnerJSON(r *Runner) map[string]any {
	return map[string]any{
		"id": r.ID, "description": r.Description, "ip_address": "", "active": !r.Paused, "paused": r.Paused,
		"is_shared": false, "runner_type": r.Type, "name": "gitlab-runner", "online": false, "status": "never_contacted",
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
