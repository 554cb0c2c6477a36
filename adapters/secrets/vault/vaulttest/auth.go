package vaulttest

import (
	"net/http"
	"time"
)

// TokenOptions are the properties of a token the fake issues.
type TokenOptions struct {
	TTL       time.Duration // 0: the token never expires (a root token)
	MaxTTL    time.Duration // renewals never extend past creation+MaxTTL; 0: no cap
	Renewable bool
	Policies  []string // reported by lookup-self and the login's auth
}

type token struct {
	id, accessor string
	opts         TokenOptions
	created      time.Time
	expires      time.Time // zero when TTL is 0
	revoked      bool
}

func (t *token) validAt(now time.Time) bool {
	return !t.revoked && (t.expires.IsZero() || now.Before(t.expires))
}

// ttlAt is the token's remaining TTL in whole seconds, as Vault reports it.
func (t *token) ttlAt(now time.Time) int {
	if t.expires.IsZero() {
		return 0
	}
	return int(t.expires.Sub(now).Round(time.Second) / time.Second)
}

type appRole struct {
	secretID string
	opts     TokenOptions
}

type k8sRole struct {
	jwt  string
	opts TokenOptions
}

// NewToken issues a token (as `vault token create` would) and returns it.
func (s *Server) NewToken(opts TokenOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(opts).id
}

func (s *Server) issueLocked(opts TokenOptions) *token {
	now := s.now()
	t := &token{id: "hvs." + newID(), accessor: newID(), opts: opts, created: now}
	if opts.TTL > 0 {
		t.expires = now.Add(opts.TTL)
	}
	s.tokens[t.id] = t
	return t
}

// AddAppRole lets role_id/secret_id log in at auth/<mount>/login (mount
// "" is "approle"), receiving tokens with opts.
func (s *Server) AddAppRole(mount, roleID, secretID string, opts TokenOptions) {
	if mount == "" {
		mount = "approle"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approles[[2]string{mount, roleID}] = appRole{secretID: secretID, opts: opts}
}

// AddKubernetesRole lets a service account presenting jwt log in as role at
// auth/<mount>/login (mount "" is "kubernetes"), receiving tokens with opts.
func (s *Server) AddKubernetesRole(mount, role, jwt string, opts TokenOptions) {
	if mount == "" {
		mount = "kubernetes"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.k8sRoles[[2]string{mount, role}] = k8sRole{jwt: jwt, opts: opts}
}

// handleLogin serves POST /v1/auth/<mount>/login for AppRole
// (https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle)
// and Kubernetes
// (https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#login);
// logins carry no token. Success answers {"auth":{"client_token", ...}}.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, mount string) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
		return
	}
	var body struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
		Role     string `json:"role"`
		JWT      string `json:"jwt"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErrors(w, http.StatusBadRequest, "error parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var opts TokenOptions
	switch {
	case body.RoleID != "":
		role, ok := s.approles[[2]string{mount, body.RoleID}]
		if !ok {
			writeErrors(w, http.StatusBadRequest, "invalid role ID")
			return
		}
		if body.SecretID != role.secretID {
			writeErrors(w, http.StatusBadRequest, "invalid secret id")
			return
		}
		opts = role.opts
	case body.Role != "":
		role, ok := s.k8sRoles[[2]string{mount, body.Role}]
		if !ok {
			writeErrors(w, http.StatusBadRequest, "invalid role name \""+body.Role+"\"")
			return
		}
		if body.JWT != role.jwt {
			writeErrors(w, http.StatusForbidden, "permission denied")
			return
		}
		opts = role.opts
	default:
		writeErrors(w, http.StatusBadRequest, "missing role_id")
		return
	}
	t := s.issueLocked(opts)
	writeJSON(w, http.StatusOK, response(nil, authBody(t)))
}

func authBody(t *token) map[string]any {
	policies := t.opts.Policies
	if policies == nil {
		policies = []string{"default"}
	}
	return map[string]any{
		"client_token":   t.id,
		"accessor":       t.accessor,
		"policies":       policies,
		"token_policies": policies,
		"metadata":       map[string]string{},
		"lease_duration": int(t.opts.TTL / time.Second),
		"renewable":      t.opts.Renewable,
		"entity_id":      "",
		"token_type":     "service",
		"orphan":         true,
	}
}

// handleToken serves POST auth/token/renew-self and GET
// auth/token/lookup-self
// (https://developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self
// and #lookup-a-token-self).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, op string) {
	t := s.authorize(w, r, "auth/token/"+op)
	if t == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch {
	case op == "renew-self" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		if !t.opts.Renewable || t.expires.IsZero() {
			writeErrors(w, http.StatusBadRequest, "lease is not renewable")
			return
		}
		// Without an increment the token gets its TTL again, capped by
		// its max TTL.
		expires := now.Add(t.opts.TTL)
		if t.opts.MaxTTL > 0 {
			if limit := t.created.Add(t.opts.MaxTTL); expires.After(limit) {
				expires = limit
			}
		}
		t.expires = expires
		auth := authBody(t)
		auth["lease_duration"] = t.ttlAt(now)
		writeJSON(w, http.StatusOK, response(nil, auth))
	case op == "lookup-self" && r.Method == http.MethodGet:
		expire := any(nil)
		if !t.expires.IsZero() {
			expire = t.expires.UTC().Format(time.RFC3339Nano)
		}
		policies := t.opts.Policies
		if policies == nil {
			policies = []string{"default"}
		}
		writeJSON(w, http.StatusOK, response(map[string]any{
			"accessor":         t.accessor,
			"creation_time":    t.created.Unix(),
			"creation_ttl":     int(t.opts.TTL / time.Second),
			"display_name":     "token",
			"expire_time":      expire,
			"explicit_max_ttl": int(t.opts.MaxTTL / time.Second),
			"id":               t.id,
			"issue_time":       t.created.UTC().Format(time.RFC3339Nano),
			"num_uses":         0,
			"orphan":           true,
			"path":             "auth/token/create",
			"policies":         policies,
			"renewable":        t.opts.Renewable,
			"ttl":              t.ttlAt(now),
			"type":             "service",
		}, nil))
	default:
		writeErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}
