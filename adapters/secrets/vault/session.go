package vault

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// session holds the Vault token and a client bound to it. Logins, renewals
// and the static token's lookup happen under mu, so concurrent calls make
// one login, not one each.
type session struct {
	cfg    Config
	ac     *api.Config
	method authMethod
	login  *api.Client // no token: logins carry none

	mu        sync.Mutex
	client    *api.Client // bound to the current token; nil before the first login
	gen       uint64      // bumped at each new token
	obtained  time.Time   // when ttl was read
	ttl       time.Duration
	renewable bool
	known     bool // ttl and renewable are known (login, or lookup-self of a static token)
}

func newSession(cfg Config, ac *api.Config) (*session, error) {
	s := &session{cfg: cfg, ac: ac, method: cfg.method()}
	var err error
	if s.login, err = s.newClient(""); err != nil {
		return nil, err
	}
	if s.method == methodToken {
		if s.client, err = s.newClient(cfg.Token); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newClient returns a client of the shared configuration (one connection
// pool) using token and the configured namespace, whatever VAULT_TOKEN and
// VAULT_NAMESPACE the process has.
func (s *session) newClient(token string) (*api.Client, error) {
	c, err := api.NewClient(s.ac)
	if err != nil {
		return nil, errs.Wrap(errs.EINVALID, err, "vault: cannot build the client for %s", s.cfg.Address)
	}
	if token == "" {
		c.ClearToken()
	} else {
		c.SetToken(token)
	}
	if s.cfg.Namespace == "" {
		c.ClearNamespace()
	} else {
		c.SetNamespace(s.cfg.Namespace)
	}
	return c, nil
}

// current returns the client to call Vault with and its generation (for
// relogin), logging in, looking the static token up or renewing first when
// due.
func (s *session) current(ctx context.Context) (*api.Client, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		if err := s.loginLocked(ctx); err != nil {
			return nil, 0, err
		}
	}
	if !s.known {
		if err := s.lookupLocked(ctx); err != nil {
			return nil, 0, err
		}
	}
	if s.ttl > 0 && !s.cfg.Now().Before(s.obtained.Add(s.ttl*2/3)) {
		if err := s.refreshLocked(ctx); err != nil {
			return nil, 0, err
		}
	}
	return s.client, s.gen, nil
}

// relogin replaces a token Vault refused (403) by a new login, unless
// another call already did (the generation moved on); it reports false for
// a static token, which cannot be replaced.
func (s *session) relogin(ctx context.Context, gen uint64) (*api.Client, bool, error) {
	if s.method == methodToken {
		return nil, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		if err := s.loginLocked(ctx); err != nil {
			return nil, true, err
		}
	}
	return s.client, true, nil
}

// lookupLocked reads the static token's TTL and renewability. A refusal is
// left to the call itself to report; Vault being unreachable is returned.
func (s *session) lookupLocked(ctx context.Context) error {
	sec, err := s.client.Auth().Token().LookupSelfWithContext(ctx)
	switch {
	case err == nil:
		s.setLease(sec)
		return nil
	case statusOf(err) == 403 || statusOf(err) == 400:
		s.known, s.ttl = true, 0
		return nil
	}
	return unavailable(err, "vault: cannot look the token up at auth/token/lookup-self")
}

// refreshLocked runs once two thirds of the token's TTL have passed: renew
// a renewable token, log in again otherwise (or when renewal fails). A
// failure is returned only when the current token has expired by now.
func (s *session) refreshLocked(ctx context.Context) error {
	expired := !s.cfg.Now().Before(s.obtained.Add(s.ttl))
	var err error
	if s.renewable && !expired {
		var sec *api.Secret
		sec, err = s.client.Auth().Token().RenewSelfWithContext(ctx, 0)
		if err == nil {
			before := s.ttl
			s.setLease(sec)
			// A renewal that gives less than before has reached the
			// token's max TTL: the next refresh logs in again.
			if s.ttl < before {
				s.renewable = false
			}
			s.cfg.Logger.Debug("vault: token renewed", "ttl", s.ttl)
			return nil
		}
		if code := statusOf(err); code == 400 || code == 403 {
			s.renewable = false
		}
		s.cfg.Logger.Warn("vault: token renewal failed", "error", errText(err))
	}
	if s.method == methodToken {
		// A static token cannot be replaced: go on with it (Vault's 403
		// will say when it has expired), and stop trying once it cannot
		// be renewed; a renewal that failed for a Vault outage is tried
		// again at the next call.
		if !s.renewable {
			s.ttl = 0
		}
		return nil
	}
	if lerr := s.loginLocked(ctx); lerr != nil {
		if expired {
			return lerr
		}
		s.cfg.Logger.Warn("vault: new login before the token expires failed", "error", errs.Message(lerr))
	}
	return nil
}

// loginLocked logs in with AppRole or Kubernetes and binds a new client to
// the token.
func (s *session) loginLocked(ctx context.Context) error {
	var (
		path, what string
		body       map[string]any
	)
	switch s.method {
	case methodAppRole:
		path, what = "auth/"+s.cfg.AppRoleMount+"/login", "AppRole"
		secretID := s.cfg.SecretID
		if s.cfg.SecretIDFile != "" {
			b, err := os.ReadFile(s.cfg.SecretIDFile)
			if err != nil {
				return errs.Errorf(errs.EUNAUTHORIZED, "vault: cannot read the AppRole secret ID file %s (VAULT_SECRET_ID_FILE): %s", s.cfg.SecretIDFile, pathErrReason(err))
			}
			secretID = strings.TrimSpace(string(b))
		}
		body = map[string]any{"role_id": s.cfg.RoleID, "secret_id": secretID}
	case methodKubernetes:
		path, what = "auth/"+s.cfg.K8sMount+"/login", "Kubernetes"
		b, err := os.ReadFile(s.cfg.K8sTokenFile)
		if err != nil {
			return errs.Errorf(errs.EUNAUTHORIZED, "vault: cannot read the service account token %s (VAULT_K8S_TOKEN_FILE): %s", s.cfg.K8sTokenFile, pathErrReason(err))
		}
		body = map[string]any{"role": s.cfg.K8sRole, "jwt": strings.TrimSpace(string(b))}
	default:
		return errs.Errorf(errs.EUNAUTHORIZED, "vault: the static token cannot be replaced by a login")
	}
	sec, err := s.login.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		switch code := statusOf(err); {
		case code == 400 || code == 401 || code == 403:
			return errs.Errorf(errs.EUNAUTHORIZED, "vault: the %s login at %s was refused (%d)", what, path, code)
		default:
			return unavailable(err, "vault: %s login at %s", what, path)
		}
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return errs.Errorf(errs.EUNAUTHORIZED, "vault: the %s login at %s answered no token", what, path)
	}
	client, err := s.newClient(sec.Auth.ClientToken)
	if err != nil {
		return err
	}
	s.client = client
	s.gen++
	s.setLease(sec)
	s.cfg.Logger.Info("vault: logged in", "method", what, "path", path, "ttl", s.ttl, "renewable", s.renewable)
	return nil
}

// setLease records the TTL and renewability of a login, renewal or lookup
// answer.
func (s *session) setLease(sec *api.Secret) {
	ttl, err := sec.TokenTTL()
	if err != nil {
		ttl = 0
	}
	renewable, err := sec.TokenIsRenewable()
	if err != nil {
		renewable = false
	}
	s.obtained, s.ttl, s.renewable, s.known = s.cfg.Now(), ttl, renewable, true
}

// pathErrReason is the OS reason of a file error without repeating the path.
func pathErrReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
