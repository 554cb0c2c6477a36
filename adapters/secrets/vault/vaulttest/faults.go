package vaulttest

import "strings"

// Deny makes every call to the API path (without /v1/, e.g.
// "secret/data/app/db"), or under it when it ends with '/', answer 403
// {"errors":["permission denied"]}, as when no policy of the token allows
// it. Allow undoes it.
func (s *Server) Deny(apiPath string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[apiPath] = true
}

// Allow removes a Deny.
func (s *Server) Allow(apiPath string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, apiPath)
}

func (s *Server) isDenied(apiPath string) bool {
	for p := range s.denied {
		if p == apiPath || (strings.HasSuffix(p, "/") && strings.HasPrefix(apiPath, p)) {
			return true
		}
	}
	return false
}

// Throttle answers the next n requests with 429 {"errors":["request rate
// limit exceeded"]}, as a rate limit quota does.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Seal makes every request answer 503 {"errors":["Vault is sealed"]} until
// Unseal.
func (s *Server) Seal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sealed = true
}

// Unseal undoes Seal.
func (s *Server) Unseal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sealed = false
}

// ExpireTokens revokes every token issued so far: calls with them answer
// 403 permission denied, as for an expired or revoked token. Logins still
// work and issue new tokens.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// BeforeWrite runs fn before each KV write is applied (nil removes it), so
// that a test can slip another writer's version in between a client's read
// and its check-and-set write.
func (s *Server) BeforeWrite(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeWrite = fn
}
