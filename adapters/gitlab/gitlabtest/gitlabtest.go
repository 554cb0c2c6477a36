// Package gitlabtest is a fake of the part of the GitLab REST API that
// MotherGoose uses, following the documented API, with a PRIVATE-TOKEN
// header:
//   - GET /api/v4/projects/:id/jobs/:job_id
//     (https://docs.gitlab.com/api/jobs/#get-a-single-job);
//   - GET /api/v4/projects/:id/jobs?scope[]=...
//     (https://docs.gitlab.com/api/jobs/#list-project-jobs), newest first;
//   - GET /api/v4/groups/:id/projects
//     (https://docs.gitlab.com/api/groups/#list-projects), the group's own
//     projects (no subgroups, nothing shared);
//   - the runners API (runners.go: POST /user/runners, the project and
//     group runner lists, pause, running jobs, delete, enable in a project);
//   - project and group webhooks (hooks.go);
//
// the lists paginated as the REST API documents it
// (https://docs.gitlab.com/api/rest/#pagination): page and per_page
// (default 20, at most 100), X-Page, X-Per-Page, X-Next-Page, X-Prev-Page,
// X-Total, X-Total-Pages and Link headers. Errors have GitLab's bodies:
// {"message": "401 Unauthorized"}, {"message": "404 Project Not Found"},
// {"error": "scope does not have a valid value"} (400), and rate limiting's
// 429 with Retry-After and the plain text "Retry later"; Fail injects any
// of these for chosen calls (faults.go).
package gitlabtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Job is a job the fake serves.
type Job struct {
	ProjectID int64
	ID        int64
	Name      string
	Stage     string
	Status    string // default "pending"
	Ref       string // default "main"
	Tags      []string
}

// Server is a fake GitLab on 127.0.0.1.
type Server struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	jobs     map[[2]int64]Job
	projects map[int64]bool
	groups   map[int64][]int64 // group -> its own projects
	calls    int
	lists    []string     // paths and queries of list requests
	throttle int          // requests still to answer 429
	retry    int          // their Retry-After, seconds
	faults   []*fault     // Fail's injected answers, first match wins
	rs       *runnerState // runners.go

	hooks hookState // project and group webhooks (hooks.go)
}

// New starts a fake that accepts token as PRIVATE-TOKEN; it is closed at
// the end of the test.
func New(t testing.TB, token string) *Server { return start(t, token, false) }

// NewTLS is New over HTTPS (as GitLab servers named by host alone are
// reached): URL is https://127.0.0.1:port, and Client trusts its
// certificate.
func NewTLS(t testing.TB, token string) *Server { return start(t, token, true) }

// Client is an HTTP client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Host is the fake's 127.0.0.1:port, a GitLab server value in a Nest.
func (s *Server) Host() string { return s.srv.Listener.Addr().String() }

func start(t testing.TB, token string, tls bool) *Server {
	t.Helper()
	s := &Server{token: token, jobs: map[[2]int64]Job{}, projects: map[int64]bool{}, groups: map[int64][]int64{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/projects/{id}/jobs/{job_id}", s.getJob)
	mux.HandleFunc("GET /api/v4/projects/{id}/jobs", s.listJobs)
	mux.HandleFunc("GET /api/v4/groups/{id}/projects", s.listGroupProjects)
	s.hookRoutes(mux)
	s.routeRunners(mux)
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	if tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the fake's base, http://127.0.0.1:port (a GitLab server value).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the fake (to test an unreachable GitLab).
func (s *Server) Close() { s.srv.Close() }

// AddJob registers a job (and its project).
func (s *Server) AddJob(j Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[[2]int64{j.ProjectID, j.ID}] = j
	s.projects[j.ProjectID] = true
}

// AddProject registers a project, in group unless group is 0.
func (s *Server) AddProject(group, project int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[project] = true
	if group != 0 && !slices.Contains(s.groups[group], project) {
		s.groups[group] = append(s.groups[group], project)
	}
}

// Throttle answers the next n requests 429 with Retry-After retryAfter
// seconds, as GitLab's rate limits do.
func (s *Server) Throttle(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.retry = n, retryAfter
}

// Lists are the paths and queries of the list requests received, in order.
func (s *Server) Lists() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lists)
}

// Calls is the number of requests received, refused ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// admit counts the request and answers 429 or 401 when it must; false:
// answered.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, list bool) bool {
	s.mu.Lock()
	s.calls++
	if list {
		s.lists = append(s.lists, r.URL.Path+"?"+r.URL.RawQuery)
	}
	throttled, retry := s.throttle > 0, s.retry
	if throttled {
		s.throttle--
	}
	s.mu.Unlock()
	if f := s.takeFault(r); f != nil {
		f.write(w)
		return false
	}
	if throttled {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Retry later\n"))
		return false
	}
	if r.Header.Get("PRIVATE-TOKEN") != s.token || s.token == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return false
	}
	return true
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	// The documented :id may be a URL-encoded path; the fake knows only ids.
	pid, err1 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	jid, err2 := strconv.ParseInt(r.PathValue("job_id"), 10, 64)
	s.mu.Lock()
	j, ok := s.jobs[[2]int64{pid, jid}]
	s.mu.Unlock()
	if err1 != nil || err2 != nil || !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
		return
	}
	writeJSON(w, http.StatusOK, s.jobJSON(j))
}

// pathProject is the known project the path's :id names, else it answers
// 404 Project Not Found and false.
func (s *Server) pathProject(w http.ResponseWriter, r *http.Request) (int64, bool) {
	pid, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	known := err == nil && s.projects[pid]
	s.mu.Unlock()
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
	}
	return pid, known
}

// listJobs is GET /projects/:id/jobs, scope[] filtering by status.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	pid, ok := s.pathProject(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	scopes := append(q["scope[]"], q["scope"]...)
	for _, sc := range scopes {
		if !slices.Contains(statuses, sc) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "scope does not have a valid value"})
			return
		}
	}
	s.mu.Lock()
	var list []Job
	for k, j := range s.jobs {
		if k[0] == pid && (len(scopes) == 0 || slices.Contains(scopes, status(j))) {
			list = append(list, j)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b Job) int { return cmp.Compare(b.ID, a.ID) })
	out := make([]any, 0, len(list))
	for _, j := range list {
		out = append(out, s.jobJSON(j))
	}
	s.writePage(w, r, out)
}

// listGroupProjects is GET /groups/:id/projects (the group's own projects).
func (s *Server) listGroupProjects(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	gid, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	ids, known := s.groups[gid]
	ids = slices.Clone(ids)
	s.mu.Unlock()
	if err != nil || !known {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Group Not Found"})
		return
	}
	slices.Sort(ids)
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, map[string]any{
			"id": id, "name": fmt.Sprintf("project-%d", id), "path": fmt.Sprintf("project-%d", id),
			"path_with_namespace": fmt.Sprintf("group-%d/project-%d", gid, id), "namespace": map[string]any{"id": gid, "kind": "group"},
			"web_url": fmt.Sprintf("%s/group-%d/project-%d", s.srv.URL, gid, id), "archived": false,
		})
	}
	s.writePage(w, r, out)
}

// writePage answers one page of items with GitLab's offset pagination
// headers; per_page defaults to 20 and is at most 100.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 20
	}
	per = min(per, 100)
	total := len(items)
	pages := max(1, (total+per-1)/per)
	lo, hi := min((page-1)*per, total), min(page*per, total)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Prev-Page", "")
	h.Set("X-Next-Page", "")
	link := func(p int, rel string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", s.srv.URL, r.URL.Path, v.Encode(), rel)
	}
	var links []string
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(min(page-1, pages)))
		links = append(links, link(min(page-1, pages), "prev"))
	}
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
	writeJSON(w, http.StatusOK, items[lo:hi])
}

// statuses are the documented job statuses a scope may name.
var statuses = []string{"created", "pending", "running", "failed", "success", "canceled", "skipped", "waiting_for_resource", "manual"}

func status(j Job) string {
	if j.Status == "" {
		return "pending"
	}
	return j.Status
}

// jobJSON is a job as the Jobs API answers it.
func (s *Server) jobJSON(j Job) map[string]any {
	j.Status = status(j)
	if j.Ref == "" {
		j.Ref = "main"
	}
	tags := j.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": j.ID, "name": j.Name, "stage": j.Stage, "status": j.Status, "ref": j.Ref, "tag": false,
		"tag_list": tags, "allow_failure": false, "coverage": nil,
		"created_at": "2023-01-10T13:50:02.000Z", "started_at": nil, "finished_at": nil, "duration": nil, "queued_duration": nil,
		"web_url":  s.srv.URL + "/p/-/jobs/" + strconv.FormatInt(j.ID, 10),
		"pipeline": map[string]any{"id": 1, "project_id": j.ProjectID, "ref": j.Ref, "status": j.Status},
		"project":  map[string]any{"ci_job_token_scope_enabled": false},
		"runner":   nil, "artifacts": []any{}, "user": map[string]any{"id": 1, "username": "fake"},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// CertFile writes the fake's certificate (NewTLS) as PEM into dir and
// returns its path: a process started with SSL_CERT_FILE set to it trusts
// the fake, as a MotherGoose binary under test must.
func (s *Server) CertFile(t testing.TB, dir string) string {
	t.Helper()
	b := s.CertificatePEM()
	if b == nil {
		t.Fatal("gitlabtest: CertFile of a fake without TLS (use NewTLS)")
	}
	path := filepath.Join(dir, "gitlabtest-cert.pem")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
