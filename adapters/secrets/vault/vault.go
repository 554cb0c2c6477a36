// Package vault resolves and writes vault://<mount>/<path...>/<key> secret
// URIs in a HashiCorp Vault KV v2 secrets engine through the official client
// github.com/hashicorp/vault/api: the first segment is the KV v2 mount, the
// last the key inside the secret, the segments between the secret's path
// (vault://secret/gitlab/gitlab.com/web/runner-token reads key
// "runner-token" of GET /v1/secret/data/gitlab/gitlab.com/web).
//
// A string value is returned as is, any other JSON value as its JSON text.
// Write sets one key in a new version of the secret, keeping its other keys,
// with check-and-set on the version read (one retry when another writer got
// in between). The backend caches no values (the caching router in front of
// it does); it keeps only its Vault token.
//
// Configuration (Config fields, with ConfigFromEnv reading Vault's own
// environment variable names):
//
//	VAULT_ADDR            Address     Vault's URL (required)
//	VAULT_NAMESPACE       Namespace   Vault Enterprise / HCP namespace
//	VAULT_CACERT          CACert      PEM file of the CA of Vault's certificate
//	VAULT_TOKEN           Token       token auth (a static token)
//	VAULT_ROLE_ID         RoleID      AppRole auth, with one of:
//	VAULT_SECRET_ID       SecretID
//	VAULT_SECRET_ID_FILE  SecretIDFile  (read at each login)
//	VAULT_APPROLE_MOUNT   AppRoleMount  default "approle"
//	VAULT_K8S_ROLE        K8sRole     Kubernetes auth, with the service account JWT of
//	VAULT_K8S_TOKEN_FILE  K8sTokenFile  default /var/run/secrets/kubernetes.io/serviceaccount/token (read at each login)
//	VAULT_K8S_MOUNT       K8sMount    default "kubernetes"
//	                      Timeout     per call, default 5s
//
// AppRole wins over Kubernetes, which wins over a static token: with a
// login method set, VAULT_TOKEN is ignored. A login's token is renewed
// (auth/token/renew-self) once two thirds of its TTL have passed, checked
// before each call (no background goroutine); a token that cannot be
// renewed any more is replaced by a new login. A call refused with 403 is
// retried once after a new login; with a static token, whose TTL is read
// once with auth/token/lookup-self, a 403 is EUNAUTHORIZED.
//
// Errors: 404 or a deleted/destroyed latest version, and a missing key, are
// ENOTFOUND; 403 EUNAUTHORIZED; 400 EINVALID; 429 ("throttled"), 5xx
// (sealed included), timeouts and transport errors EUNAVAILABLE. The
// client retries once after 100 ms (MaxRetries 1) so that a Vault that is
// down fails in well under two timeouts. Messages name URIs and Vault
// paths, never values or tokens.
package vault

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Scheme is the URI scheme this backend serves.
const Scheme = "vault"

// Defaults of Config.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultAppRoleMount = "approle"
	DefaultK8sMount     = "kubernetes"
	DefaultK8sTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
)

// The client's own retry: one, after a short fixed wait (Retry-After is not
// honoured: a throttled call is EUNAVAILABLE and the cache serves stale).
const (
	maxRetries = 1
	retryWait  = 100 * time.Millisecond
)

// Config configures the backend; see the package doc for the environment
// variable of each field.
type Config struct {
	Address   string
	Namespace string
	CACert    string

	Token string

	RoleID       string
	SecretID     string
	SecretIDFile string
	AppRoleMount string

	K8sRole      string
	K8sTokenFile string
	K8sMount     string

	Timeout time.Duration
	// Now is the clock token TTLs are measured on (default time.Now).
	Now func() time.Time
	// Logger records logins and renewals, never tokens (default slog.Default()).
	Logger *slog.Logger
}

// ConfigFromEnv reads Vault's environment variables (see the package doc);
// ok is false when VAULT_ADDR is unset, that is when Vault is not used.
func ConfigFromEnv(getenv func(string) string) (cfg Config, ok bool) {
	cfg = Config{
		Address:      getenv("VAULT_ADDR"),
		Namespace:    getenv("VAULT_NAMESPACE"),
		CACert:       getenv("VAULT_CACERT"),
		Token:        getenv("VAULT_TOKEN"),
		RoleID:       getenv("VAULT_ROLE_ID"),
		SecretID:     getenv("VAULT_SECRET_ID"),
		SecretIDFile: getenv("VAULT_SECRET_ID_FILE"),
		AppRoleMount: getenv("VAULT_APPROLE_MOUNT"),
		K8sRole:      getenv("VAULT_K8S_ROLE"),
		K8sTokenFile: getenv("VAULT_K8S_TOKEN_FILE"),
		K8sMount:     getenv("VAULT_K8S_MOUNT"),
	}
	return cfg, cfg.Address != ""
}

// withDefaults fills the defaults and checks that one auth method is
// complete.
func (c Config) withDefaults() (Config, error) {
	if c.Address == "" {
		return c, errs.Errorf(errs.EINVALID, "vault: no address (VAULT_ADDR)")
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AppRoleMount == "" {
		c.AppRoleMount = DefaultAppRoleMount
	}
	if c.K8sMount == "" {
		c.K8sMount = DefaultK8sMount
	}
	if c.K8sTokenFile == "" {
		c.K8sTokenFile = DefaultK8sTokenFile
	}
	switch c.method() {
	case methodAppRole:
		if c.SecretID == "" && c.SecretIDFile == "" {
			return c, errs.Errorf(errs.EINVALID, "vault: AppRole auth needs a secret ID (VAULT_SECRET_ID or VAULT_SECRET_ID_FILE) with VAULT_ROLE_ID")
		}
	case methodNone:
		return c, errs.Errorf(errs.EINVALID, "vault: no credentials: set VAULT_TOKEN, VAULT_ROLE_ID with VAULT_SECRET_ID(_FILE), or VAULT_K8S_ROLE")
	}
	return c, nil
}

type authMethod int

const (
	methodNone authMethod = iota
	methodToken
	methodAppRole
	methodKubernetes
)

func (c Config) method() authMethod {
	switch {
	case c.RoleID != "":
		return methodAppRole
	case c.K8sRole != "":
		return methodKubernetes
	case c.Token != "":
		return methodToken
	}
	return methodNone
}

// Backend resolves and writes vault:// URIs.
type Backend struct {
	cfg  Config
	http *http.Client
	sess *session
}

var (
	_ ports.Secrets      = (*Backend)(nil)
	_ ports.SecretWriter = (*Backend)(nil)
)

// New checks cfg and builds the client; it makes no call to Vault (the
// first Resolve logs in), so that a Vault down at start does not stop the
// binary.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ac := api.DefaultConfig()
	if ac.Error != nil {
		return nil, errs.Wrap(errs.EINVALID, ac.Error, "vault: the VAULT_* environment of the process is invalid")
	}
	ac.Address = cfg.Address
	ac.AgentAddress = "" // VAULT_AGENT_ADDR of the process would win over Address
	ac.Timeout = cfg.Timeout
	ac.MaxRetries = maxRetries
	ac.MinRetryWait, ac.MaxRetryWait = retryWait, retryWait
	ac.Backoff = func(minWait, _ time.Duration, _ int, _ *http.Response) time.Duration { return minWait }
	if cfg.CACert != "" {
		if err := ac.ConfigureTLS(&api.TLSConfig{CACert: cfg.CACert}); err != nil {
			return nil, errs.Wrap(errs.EINVALID, err, "vault: cannot use the CA certificate %s (VAULT_CACERT)", cfg.CACert)
		}
	}
	b := &Backend{cfg: cfg, http: ac.HttpClient}
	b.sess, err = newSession(cfg, ac)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Close releases the client's idle connections. The backend starts no
// goroutine, so nothing else is left running.
func (b *Backend) Close() error {
	b.http.CloseIdleConnections()
	return nil
}
