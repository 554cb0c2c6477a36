// Package secrets resolves secret URIs. Local reads env://VAR and
// file:///abs/path; the cloud schemes have their backends in the
// subpackages (lockbox, awssm, vault), opened at first use behind a Router;
// a Cache in front of the router is what callers use (per-scheme TTL, one
// fetch per URI, a negative cache, serve-stale while a backend is down, one
// audited access per URI per TTL), and RedactingHandler keeps the values it
// resolved out of the logs. Values are never logged and never appear in
// error messages; URIs do.
package secrets

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// localShapes lists the schemes Local resolves, for its messages.
const localShapes = "env://<VAR>, file:///<absolute-path>"

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Local resolves env:// and file:// secret URIs.
type Local struct {
	// LookupEnv reads the environment (default os.LookupEnv); tests replace it.
	LookupEnv func(string) (string, bool)
}

var _ ports.Secrets = Local{}

// NewLocal returns the env/file backend over the process environment.
func NewLocal() Local { return Local{LookupEnv: os.LookupEnv} }

// Resolve returns the value of the secret uri.
func (l Local) Resolve(ctx context.Context, uri string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return nil, errs.Errorf(errs.EINVALID, "secret URI %q has no scheme; supported: %s", uri, localShapes)
	}
	switch scheme {
	case "env":
		if !envName.MatchString(rest) {
			return nil, errs.Errorf(errs.EINVALID, "secret URI %q: %q is not an environment variable name (env://<VAR>)", uri, rest)
		}
		lookup := l.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(rest)
		if !ok {
			return nil, errs.Errorf(errs.ENOTFOUND, "secret %s: environment variable %s is not set", uri, rest)
		}
		return []byte(v), nil
	case "file":
		if !strings.HasPrefix(rest, "/") || strings.ContainsAny(rest, "?#") || filepath.Clean(rest) != rest {
			return nil, errs.Errorf(errs.EINVALID, "secret URI %q: want file:///<absolute-path> with a clean path", uri)
		}
		b, err := os.ReadFile(rest)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, errs.Errorf(errs.ENOTFOUND, "secret %s: no such file", uri)
		case err != nil:
			// The error names the path and the OS reason, never the content.
			return nil, errs.Wrap(errs.EUNAVAILABLE, err, "secret %s: cannot read the file", uri)
		}
		return b, nil
	default:
		return nil, errs.Errorf(errs.EINVALID, "secret URI %q: scheme %s:// is not supported by the local backend; supported: %s", uri, scheme, localShapes)
	}
}
