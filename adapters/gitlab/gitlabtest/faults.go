package gitlabtest

import (
	"net/http"
	"strconv"
	"strings"
)

// fault is an answer Fail injected: the next N requests whose method and
// path match get it instead of the real one.
type fault struct {
	method, prefix string
	status, left   int
	retryAfter     int
}

// Fail answers the next n requests of method (or any method when "")
// whose path starts with pathPrefix (after /api/v4, e.g. "/user/runners")
// with status and GitLab's documented error body for it: 401 and 403
// {"message": "401 Unauthorized"} / {"message": "403 Forbidden"}, 404
// {"message": "404 Not Found"}, 429 "Retry later" with Retry-After
// retryAfter seconds, 5xx {"message": "500 Internal Server Error"}. n < 0
// fails every matching request until Heal.
func (s *Server) Fail(method, pathPrefix string, status, n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: "/api/v4" + pathPrefix, status: status, left: n, retryAfter: retryAfter})
}

// Heal removes every injected fault.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault r meets, counting it, or nil.
func (s *Server) takeFault(r *http.Request) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.method == "" || f.method == r.Method) && strings.HasPrefix(r.URL.Path, f.prefix) {
			if f.left > 0 {
				f.left--
				if f.left == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			c := *f
			return &c
		}
	}
	return nil
}

func (f *fault) write(w http.ResponseWriter) {
	switch {
	case f.status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte("Retry later\n"))
	default:
		writeJSON(w, f.status, map[string]any{"message": strconv.Itoa(f.status) + " " + http.StatusText(f.status)})
	}
}
