// Package gitlabtest is a fake of the part of the GitLab Jobs API that
// MotherGoose uses, following the documented API
// (https://docs.gitlab.com/api/jobs/#get-a-single-job): GET
// /api/v4/projects/:id/jobs/:job_id with a PRIVATE-TOKEN header.
package gitlabtest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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

	mu    sync.Mutex
	jobs  map[[2]int64]Job
	calls int
}

// New starts a fake that accepts token as PRIVATE-TOKEN; it is closed at
// the end of the test.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{token: token, jobs: map[[2]int64]Job{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/projects/{id}/jobs/{job_id}", s.getJob)
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the fake's base, http://127.0.0.1:port (a GitLab server value).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the fake (to test an unreachable GitLab).
func (s *Server) Close() { s.srv.Close() }

// AddJob registers a job.
func (s *Server) AddJob(j Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[[2]int64{j.ProjectID, j.ID}] = j
}

// Calls is the number of job requests received, refused ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	if r.Header.Get("PRIVATE-TOKEN") != s.token || s.token == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
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
	if j.Status == "" {
		j.Status = "pending"
	}
	if j.Ref == "" {
		j.Ref = "main"
	}
	tags := j.Tags
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": j.ID, "name": j.Name, "stage": j.Stage, "status": j.Status, "ref": j.Ref, "tag": false,
		"tag_list": tags, "allow_failure": false, "coverage": nil,
		"created_at": "2023-01-10T13:50:02.000Z", "started_at": nil, "finished_at": nil, "duration": nil, "queued_duration": nil,
		"web_url":  s.srv.URL + "/p/-/jobs/" + strconv.FormatInt(j.ID, 10),
		"pipeline": map[string]any{"id": 1, "project_id": j.ProjectID, "ref": j.Ref, "status": j.Status},
		"project":  map[string]any{"ci_job_token_scope_enabled": false},
		"runner":   nil, "artifacts": []any{}, "user": map[string]any{"id": 1, "username": "fake"},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
