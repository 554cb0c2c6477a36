package gitlabtest

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Hook is a project or group webhook the fake holds. Token is kept so that
// tests can check it; GitLab never answers it.
type Hook struct {
	ID                    int64
	OwnerKind             string // project, group
	OwnerID               int64
	URL                   string
	Name                  string
	Token                 string
	JobEvents             bool
	PushEvents            bool
	EnableSSLVerification bool
	AlertStatus           string // executable, disabled, temporarily_disabled
	DisabledUntil         time.Time
}

// hookState is the fake's webhooks.
type hookState struct {
	byID   map[int64]*Hook
	nextID int64
	known  map[int64]bool // groups registered with AddGroup
}

// hookRoutes registers the webhook endpoints of projects
// (https://docs.gitlab.com/api/project_webhooks/) and groups
// (https://docs.gitlab.com/api/group_webhooks/), which have the same
// shapes: list (GET .../hooks, paginated), get, add (POST, 201), edit
// (PUT), delete (DELETE, 204) and test (POST .../hooks/:hook_id/test/:trigger,
// 201, which re-enables a disabled hook, as a successful test delivery does).
func (s *Server) hookRoutes(mux *http.ServeMux) {
	s.hooks = hookState{byID: map[int64]*Hook{}, known: map[int64]bool{}}
	for _, kind := range []string{"projects", "groups"} {
		base := "/api/v4/" + kind + "/{id}/hooks"
		mux.HandleFunc("GET "+base, s.hookHandler(kind, s.listHooks))
		mux.HandleFunc("POST "+base, s.hookHandler(kind, s.addHook))
		mux.HandleFunc("GET "+base+"/{hook_id}", s.hookHandler(kind, s.getHook))
		mux.HandleFunc("PUT "+base+"/{hook_id}", s.hookHandler(kind, s.editHook))
		mux.HandleFunc("DELETE "+base+"/{hook_id}", s.hookHandler(kind, s.deleteHook))
		mux.HandleFunc("POST "+base+"/{hook_id}/test/{trigger}", s.hookHandler(kind, s.testHook))
	}
}

// AddGroup registers a group (with no projects of its own).
func (s *Server) AddGroup(group int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.known[group] = true
	if _, ok := s.groups[group]; !ok {
		s.groups[group] = nil
	}
}

// Hooks are the hooks of a project ("project") or group ("group"), by id,
// tokens included.
func (s *Server) Hooks(kind string, owner int64) []Hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Hook
	for _, h := range s.hooks.byID {
		if h.OwnerKind == kind && h.OwnerID == owner {
			out = append(out, *h)
		}
	}
	slices.SortFunc(out, func(a, b Hook) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// SetHook changes a hook as someone in GitLab's UI, or GitLab itself
// (alert_status), would; false when there is no such hook.
func (s *Server) SetHook(id int64, change func(*Hook)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hooks.byID[id]
	if ok {
		change(h)
	}
	return ok
}

// DeleteHook removes a hook as someone in GitLab's UI would.
func (s *Server) DeleteHook(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hooks.byID, id)
}

type hookCall struct {
	kind  string // project, group
	owner int64
	hook  *Hook // the :hook_id's, when the path has one
}

// hookHandler admits the request, finds the owner (404 "Project Not
// Found" / "Group Not Found") and the hook (404 "Not found"), then calls h.
func (s *Server) hookHandler(kinds string, h func(http.ResponseWriter, *http.Request, hookCall)) http.HandlerFunc {
	kind := kinds[:len(kinds)-1]
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.admit(w, r, r.Method == http.MethodGet && r.PathValue("hook_id") == "") {
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		s.mu.Lock()
		known := err == nil && (kind == "project" && s.projects[id] || kind == "group" && (s.hooks.known[id] || s.groups[id] != nil))
		s.mu.Unlock()
		if !known {
			msg := "404 Project Not Found"
			if kind == "group" {
				msg = "404 Group Not Found"
			}
			writeJSON(w, http.StatusNotFound, map[string]any{"message": msg})
			return
		}
		c := hookCall{kind: kind, owner: id}
		if v := r.PathValue("hook_id"); v != "" {
			hid, err := strconv.ParseInt(v, 10, 64)
			s.mu.Lock()
			hook, ok := s.hooks.byID[hid]
			s.mu.Unlock()
			if err != nil || !ok || hook.OwnerKind != kind || hook.OwnerID != id {
				writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
				return
			}
			c.hook = hook
		}
		h(w, r, c)
	}
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request, c hookCall) {
	list := s.Hooks(c.kind, c.owner)
	out := make([]any, 0, len(list))
	for _, h := range list {
		out = append(out, hookJSON(h))
	}
	s.writePage(w, r, out)
}

func (s *Server) getHook(w http.ResponseWriter, _ *http.Request, c hookCall) {
	s.mu.Lock()
	h := *c.hook
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, hookJSON(h))
}

// hookParams are the attributes of an add or edit, from the JSON body
// (what client-go sends) or the query string (what curl examples use).
type hookParams struct {
	URL                   *string `json:"url"`
	Name                  *string `json:"name"`
	Token                 *string `json:"token"`
	JobEvents             *bool   `json:"job_events"`
	PushEvents            *bool   `json:"push_events"`
	EnableSSLVerification *bool   `json:"enable_ssl_verification"`
}

func readHookParams(r *http.Request) (hookParams, bool) {
	var p hookParams
	if r.ContentLength != 0 && r.Body != nil {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil {
			return p, false
		}
	}
	q := r.URL.Query()
	str := func(k string, dst **string) {
		if v, ok := q[k]; ok && *dst == nil {
			*dst = &v[0]
		}
	}
	boolean := func(k string, dst **bool) {
		if v, ok := q[k]; ok && *dst == nil {
			b := v[0] == "true"
			*dst = &b
		}
	}
	str("url", &p.URL)
	str("name", &p.Name)
	str("token", &p.Token)
	boolean("job_events", &p.JobEvents)
	boolean("push_events", &p.PushEvents)
	boolean("enable_ssl_verification", &p.EnableSSLVerification)
	return p, true
}

func (p hookParams) apply(h *Hook) {
	if p.URL != nil {
		h.URL = *p.URL
	}
	if p.Name != nil {
		h.Name = *p.Name
	}
	if p.Token != nil {
		h.Token = *p.Token
	}
	if p.JobEvents != nil {
		h.JobEvents = *p.JobEvents
	}
	if p.PushEvents != nil {
		h.PushEvents = *p.PushEvents
	}
	if p.EnableSSLVerification != nil {
		h.EnableSSLVerification = *p.EnableSSLVerification
	}
}

// addHook is POST .../hooks: url is required (400 {"error": "url is
// missing"}); push_events and enable_ssl_verification default to true.
func (s *Server) addHook(w http.ResponseWriter, r *http.Request, c hookCall) {
	p, ok := readHookParams(r)
	if !ok || p.URL == nil || *p.URL == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "url is missing"})
		return
	}
	h := &Hook{OwnerKind: c.kind, OwnerID: c.owner, PushEvents: true, EnableSSLVerification: true, AlertStatus: "executable"}
	p.apply(h)
	s.mu.Lock()
	s.hooks.nextID++
	h.ID = s.hooks.nextID
	s.hooks.byID[h.ID] = h
	out := *h
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, hookJSON(out))
}

// editHook is PUT .../hooks/:hook_id: url is required as well.
func (s *Server) editHook(w http.ResponseWriter, r *http.Request, c hookCall) {
	p, ok := readHookParams(r)
	if !ok || p.URL == nil || *p.URL == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "url is missing"})
		return
	}
	s.mu.Lock()
	p.apply(c.hook)
	out := *c.hook
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, hookJSON(out))
}

func (s *Server) deleteHook(w http.ResponseWriter, _ *http.Request, c hookCall) {
	s.mu.Lock()
	delete(s.hooks.byID, c.hook.ID)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// testTriggers are the documented :trigger values.
var testTriggers = []string{"push_events", "tag_push_events", "issues_events", "confidential_issues_events", "note_events",
	"merge_requests_events", "job_events", "pipeline_events", "wiki_page_events", "releases_events", "emoji_events", "resource_access_token_events"}

// testHook is POST .../hooks/:hook_id/test/:trigger: the fake's receiver
// always answers 2xx, so the hook is executable again.
func (s *Server) testHook(w http.ResponseWriter, r *http.Request, c hookCall) {
	if !slices.Contains(testTriggers, r.PathValue("trigger")) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "trigger does not have a valid value"})
		return
	}
	s.mu.Lock()
	c.hook.AlertStatus, c.hook.DisabledUntil = "executable", time.Time{}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"message": "201 Created"})
}

// hookJSON is a hook as the API answers it: never its token.
func hookJSON(h Hook) map[string]any {
	var until any
	if !h.DisabledUntil.IsZero() {
		until = h.DisabledUntil.UTC().Format(time.RFC3339)
	}
	status := cmp.Or(h.AlertStatus, "executable")
	out := map[string]any{
		"id": h.ID, "url": h.URL, "name": h.Name, "description": "", "created_at": "2024-01-10T13:50:02.000Z",
		"push_events": h.PushEvents, "push_events_branch_filter": "", "tag_push_events": false, "merge_requests_events": false,
		"issues_events": false, "confidential_issues_events": false, "note_events": false, "confidential_note_events": false,
		"pipeline_events": false, "wiki_page_events": false, "deployment_events": false, "releases_events": false,
		"job_events": h.JobEvents, "enable_ssl_verification": h.EnableSSLVerification,
		"repository_update_events": false, "alert_status": status, "disabled_until": until,
		"url_variables": []any{}, "custom_webhook_template": "", "custom_headers": []any{},
	}
	if h.OwnerKind == "group" {
		out["group_id"] = h.OwnerID
	} else {
		out["project_id"] = h.OwnerID
	}
	return out
}
