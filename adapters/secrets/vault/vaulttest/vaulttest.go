// Package vaulttest is a fake HashiCorp Vault on 127.0.0.1 that follows
// Vault's HTTP API (https://developer.hashicorp.com/vault/api-docs) for what
// the vault secret backend uses:
//   - KV v2 read and write, GET and POST/PUT /v1/<mount>/data/<path>
//     (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2), kv.go;
//   - AppRole login, POST /v1/auth/<mount>/login {"role_id","secret_id"}
//     (https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle),
//     Kubernetes login, POST /v1/auth/<mount>/login {"role","jwt"}
//     (https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#login),
//     token renew-self and lookup-self
//     (https://developer.hashicorp.com/vault/api-docs/auth/token), auth.go.
//
// Every call but a login carries its token in the X-Vault-Token header
// (https://developer.hashicorp.com/vault/api-docs#authentication); tokens
// have TTLs the fake tracks on its clock (SetClock), and an unknown,
// expired or revoked token gets 403 {"errors":["permission denied"]}, as
// Vault answers. Errors have Vault's body {"errors":[...]}
// (https://developer.hashicorp.com/vault/api-docs#error-response): 404
// {"errors":[]} for a missing secret, 400 for bad input, 429 "request rate
// limit exceeded", 503 "Vault is sealed".
//
// Fault injection (faults.go): Deny a path, Throttle the next n calls, Seal,
// ExpireTokens, Stop and Restart on the same address; counters of logins,
// renewals, lookups, reads and writes let a test assert how many calls a
// client made.
package vaulttest

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// newID returns a random identifier in the shape of Vault's UUIDs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Server is a fake Vault on 127.0.0.1.
type Server struct {
	addr string      // host:port, kept across Stop/Restart
	tls  *tls.Config // nil: plain HTTP
	ca   []byte      // PEM of the certificate when tls is set

	mu          sync.Mutex
	srv         *http.Server // nil while stopped
	now         func() time.Time
	secrets     map[string]*kvSecret // "<mount>/<path>"
	mounts      map[string]bool      // KV v2 mounts
	tokens      map[string]*token
	approles    map[[2]string]appRole // (auth mount, role_id)
	k8sRoles    map[[2]string]k8sRole // (auth mount, role)
	denied      map[string]bool       // API paths (no /v1/) answered 403
	throttle    int                   // requests still to answer 429
	sealed      bool                  // every request answers 503
	counts      Counts                // calls received
	lastNS      string                // X-Vault-Namespace of the last request
	beforeWrite func()                // BeforeWrite's hook
}

// Counts are the calls the fake received, by kind (faulted calls included).
type Counts struct {
	Logins   int // AppRole and Kubernetes logins
	Renewals int // auth/token/renew-self
	Lookups  int // auth/token/lookup-self
	Reads    int // GET <mount>/data/<path>
	Writes   int // POST/PUT <mount>/data/<path>
	Requests int // every request
}

// Start starts a fake with the KV v2 mount "secret" (Vault's dev-server
// default) and closes it at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartTLS is Start over HTTPS: URL is https://127.0.0.1:port and CACert
// is the PEM certificate to trust (VAULT_CACERT).
func StartTLS(t testing.TB) *Server {
	t.Helper()
	s, err := newServer(true)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a fake with the KV v2 mount "secret"; Close stops it.
func New() (*Server, error) { return newServer(false) }

func newServer(withTLS bool) (*Server, error) {
	s := &Server{
		now:      time.Now,
		secrets:  map[string]*kvSecret{},
		mounts:   map[string]bool{"secret": true},
		tokens:   map[string]*token{},
		approles: map[[2]string]appRole{},
		k8sRoles: map[[2]string]k8sRole{},
		denied:   map[string]bool{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	if withTLS {
		// httptest's certificate for 127.0.0.1, borrowed from a server
		// that never serves.
		ts := httptest.NewUnstartedServer(http.NotFoundHandler())
		ts.StartTLS()
		s.tls = ts.TLS.Clone()
		s.ca = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
		ts.Close()
	}
	s.serve(ln)
	return s, nil
}

// CACert is the PEM certificate of a StartTLS fake (nil for plain HTTP).
func (s *Server) CACert() []byte { return s.ca }

func (s *Server) serve(ln net.Listener) {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// URL is the fake's address, http(s)://127.0.0.1:port (VAULT_ADDR).
func (s *Server) URL() string {
	if s.tls != nil {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// Close stops the fake for good.
func (s *Server) Close() { s.Stop() }

// Stop closes the listener and every connection: clients get connection
// refused until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart listens again on the address Stop released, with the state
// (secrets, tokens, roles) kept.
func (s *Server) Restart() error {
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.serve(ln)
	return nil
}

// SetClock replaces the clock token TTLs are measured on (default
// time.Now), so that a test can move time without sleeping.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Counts returns the calls received so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// LastNamespace is the X-Vault-Namespace header of the last request.
func (s *Server) LastNamespace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastNS
}

// maxBody bounds a request body; Vault's default max_request_size is 32 MiB,
// the fake needs far less.
const maxBody = 1 << 20

// handle routes a request after the checks every Vault call goes through:
// sealed (503), rate limit (429), then the route's own token check.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	apiPath, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		writeErrors(w, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	s.countLocked(r.Method, apiPath)
	s.lastNS = r.Header.Get("X-Vault-Namespace")
	sealed := s.sealed
	throttled := s.throttle > 0
	if throttled {
		s.throttle--
	}
	s.mu.Unlock()
	switch {
	case sealed:
		writeErrors(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	case throttled:
		// Vault's rate limit quotas answer 429 with this message
		// (https://developer.hashicorp.com/vault/docs/concepts/resource-quotas).
		writeErrors(w, http.StatusTooManyRequests, "request rate limit exceeded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	switch {
	case strings.HasPrefix(apiPath, "auth/token/"):
		s.handleToken(w, r, strings.TrimPrefix(apiPath, "auth/token/"))
	case strings.HasPrefix(apiPath, "auth/") && strings.HasSuffix(apiPath, "/login"):
		s.handleLogin(w, r, strings.TrimSuffix(strings.TrimPrefix(apiPath, "auth/"), "/login"))
	default:
		s.handleKV(w, r, apiPath)
	}
}

// countLocked counts a request by kind, before any fault answers it.
func (s *Server) countLocked(method, apiPath string) {
	s.counts.Requests++
	switch {
	case apiPath == "auth/token/renew-self":
		s.counts.Renewals++
	case apiPath == "auth/token/lookup-self":
		s.counts.Lookups++
	case strings.HasPrefix(apiPath, "auth/") && strings.HasSuffix(apiPath, "/login"):
		s.counts.Logins++
	case strings.Contains(apiPath, "/data/") && method == http.MethodGet:
		s.counts.Reads++
	case strings.Contains(apiPath, "/data/") && (method == http.MethodPost || method == http.MethodPut):
		s.counts.Writes++
	}
}

// authorize checks the request's X-Vault-Token and the denied paths; it
// answers 403 {"errors":["permission denied"]} and returns nil when the
// call may not go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, apiPath string) *token {
	s.mu.Lock()
	tok := s.tokens[r.Header.Get("X-Vault-Token")]
	valid := tok != nil && tok.validAt(s.now())
	denied := s.isDenied(apiPath)
	s.mu.Unlock()
	if !valid || denied {
		writeErrors(w, http.StatusForbidden, "permission denied")
		return nil
	}
	return tok
}

func decodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return errors.New("empty body")
	}
	return json.NewDecoder(r.Body).Decode(v)
}

// writeErrors writes Vault's error body {"errors":[...]} ({"errors":[]}
// when msgs is empty, as for a missing secret).
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// response is Vault's response envelope
// (https://developer.hashicorp.com/vault/api-docs#http-status-codes).
func response(data any, auth any) map[string]any {
	return map[string]any{
		"request_id":     newID(),
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           data,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           auth,
		"mount_type":     "",
	}
}
