package lockboxtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox"
)

// metadataState is the fake metadata service of a VM.
type metadataState struct {
	srv      *httptest.Server
	calls    int  // under Server.mu
	detached bool // no service account attached: 404
}

// MetadataURL is the base URL of the fake metadata service.
func (s *Server) MetadataURL() string { return s.meta.srv.URL }

// MetadataCalls is how many token requests the metadata service received.
func (s *Server) MetadataCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta.calls
}

// DetachServiceAccount makes the metadata service answer 404, as it does on
// a VM without a service account.
func (s *Server) DetachServiceAccount() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta.detached = true
}

// metadataHandler answers GET {MetadataTokenPath} with the
// "Metadata-Flavor: Google" header as the metadata service documents:
// {"access_token", "expires_in", "token_type": "Bearer"}; without the header
// 403, on another path or without a service account 404.
func (s *Server) metadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.meta.calls++
		switch {
		case r.URL.Path != lockbox.MetadataTokenPath || s.meta.detached:
			http.NotFound(w, r)
			return
		case r.Method != http.MethodGet:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		case r.Header.Get("Metadata-Flavor") != "Google":
			http.Error(w, "Missing required header: Metadata-Flavor: Google", http.StatusForbidden)
			return
		}
		tok, exp := s.issueLocked()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": tok,
			"expires_in":   int64(exp.Sub(s.now()).Seconds()),
			"token_type":   "Bearer",
		})
	})
}
