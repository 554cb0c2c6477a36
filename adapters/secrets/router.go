package secrets

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Opener makes a cloud backend on first use. Backends are opened lazily:
// a MotherGoose whose eggs use no Vault URI never needs VAULT_ADDR, and a
// backend whose credentials are not there yet (a metadata service still
// starting) is opened again at a later use instead of failing the start.
type Opener func(ctx context.Context) (ports.Secrets, error)

// reopenAfter spaces the attempts to open a backend that failed to open,
// so a broken configuration is not retried on every webhook.
const reopenAfter = 10 * time.Second

// Router resolves every scheme: env:// and file:// through Local, each
// cloud scheme through the backend its Opener makes. It holds no values;
// the Cache in front of it does.
type Router struct {
	local   Local
	openers map[string]*lazyBackend
}

var (
	_ ports.Secrets      = (*Router)(nil)
	_ ports.SecretWriter = (*Router)(nil)
)

// NewRouter returns a router over local and the cloud backends by scheme
// ("yc-lockbox", "aws-sm", "vault").
func NewRouter(local Local, openers map[string]Opener) *Router {
	r := &Router{local: local, openers: map[string]*lazyBackend{}}
	for scheme, open := range openers {
		r.openers[scheme] = &lazyBackend{scheme: scheme, open: open}
	}
	return r
}

// schemes lists the schemes the router resolves.
func (r *Router) schemes() []string {
	out := []string{"env", "file"}
	for _, s := range []string{"yc-lockbox", "aws-sm", "vault"} {
		if r.openers[s] != nil {
			out = append(out, s)
		}
	}
	return out
}

// Resolve implements ports.Secrets.
func (r *Router) Resolve(ctx context.Context, uri string) ([]byte, error) {
	scheme := Scheme(uri)
	if scheme == "env" || scheme == "file" {
		return r.local.Resolve(ctx, uri)
	}
	b, err := r.backend(ctx, uri, scheme)
	if err != nil {
		return nil, err
	}
	return b.Resolve(ctx, uri)
}

// Write implements ports.SecretWriter for the cloud schemes; what
// MotherGoose writes on the local target are files of a runner's workspace
// (adapters/tofu), not routed here.
func (r *Router) Write(ctx context.Context, uri string, value []byte) error {
	scheme := Scheme(uri)
	b, err := r.backend(ctx, uri, scheme)
	if err != nil {
		return err
	}
	w, ok := b.(ports.SecretWriter)
	if !ok {
		return errs.Errorf(errs.EINVALID, "secret URI %q: the %s backend does not store secrets", uri, scheme)
	}
	return w.Write(ctx, uri, value)
}

func (r *Router) backend(ctx context.Context, uri, scheme string) (ports.Secrets, error) {
	lb := r.openers[scheme]
	if lb == nil {
		if scheme == "" {
			return nil, errs.Errorf(errs.EINVALID, "secret URI %q has no scheme; supported: %s", uri, r.supported())
		}
		return nil, errs.Errorf(errs.EINVALID, "secret URI %q: scheme %s:// has no backend here; supported: %s", uri, scheme, r.supported())
	}
	return lb.get(ctx)
}

func (r *Router) supported() string {
	s := r.schemes()
	for i := range s {
		s[i] += "://"
	}
	return strings.Join(s, ", ")
}

// Scheme returns the scheme of a secret URI ("" when it has none).
func Scheme(uri string) string {
	s, _, ok := strings.Cut(uri, "://")
	if !ok {
		return ""
	}
	return s
}

// lazyBackend opens its backend once; a failed open is kept for
// reopenAfter and then tried again.
type lazyBackend struct {
	scheme string
	open   Opener

	mu     sync.Mutex
	b      ports.Secrets
	err    error
	failed time.Time
}

func (l *lazyBackend) get(ctx context.Context) (ports.Secrets, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b != nil {
		return l.b, nil
	}
	if l.err != nil && time.Since(l.failed) < reopenAfter {
		return nil, l.err
	}
	b, err := l.open(ctx)
	if err != nil {
		code := errs.Code(err)
		if code == errs.EINTERNAL {
			code = errs.EUNAVAILABLE
		}
		l.err, l.failed = errs.Wrap(code, err, "the %s:// secrets backend cannot be opened", l.scheme), time.Now()
		return nil, l.err
	}
	l.b, l.err = b, nil
	return b, nil
}

// Close closes the backends that were opened and hold resources (gRPC
// connections, token renewers).
func (r *Router) Close() error {
	for _, lb := range r.openers {
		lb.mu.Lock()
		if c, ok := lb.b.(interface{ Close() error }); ok {
			_ = c.Close()
		}
		lb.mu.Unlock()
	}
	return nil
}
