package ports

import "context"

// Secrets resolves a secret URI ("env://VAR", "file:///path",
// "yc-lockbox://<secret-id>/<key>", "aws-sm://<secret-name>/<json-key>",
// "vault://<mount>/<path...>/<key>") to its value. Values are never logged
// or put into events; callers hold them only as long as they need them.
//
// Errors carry codes the cache in front of every backend acts on: EINVALID
// for a malformed or unsupported URI, ENOTFOUND for a secret or key that
// does not exist, EUNAUTHORIZED for access denied (or credentials that
// cannot be renewed), EUNAVAILABLE for a backend that is down, throttling
// or timing out (only these are served from a stale cached value).
type Secrets interface {
	Resolve(ctx context.Context, uri string) ([]byte, error)
}

// SecretWriter stores what MotherGoose creates (a runner's GitLab
// authentication token, its credential) at a URI of the same shapes, where
// the runner's agent resolves it: the key of the URI is set to value and the
// secret's other keys are kept (Lockbox adds a version, Secrets Manager puts
// a value or creates the secret, Vault KV v2 writes a version). Same error
// codes as Secrets.
type SecretWriter interface {
	Write(ctx context.Context, uri string, value []byte) error
}

// SecretScope says what a resolution is for: the audit records Purpose
// (never the value), and a backend with regions (Secrets Manager) reads
// the secret in Region when it is set, its configured region otherwise.
type SecretScope struct {
	Purpose string // "webhook secret of egg web"
	Region  string // the egg's region or zone; "" for the backend's default
}

type secretScopeKey struct{}

// WithSecretScope returns ctx carrying s for the Resolve calls made with it.
func WithSecretScope(ctx context.Context, s SecretScope) context.Context {
	return context.WithValue(ctx, secretScopeKey{}, s)
}

// SecretScopeOf returns the scope WithSecretScope put in ctx (zero if none).
func SecretScopeOf(ctx context.Context) SecretScope {
	s, _ := ctx.Value(secretScopeKey{}).(SecretScope)
	return s
}
