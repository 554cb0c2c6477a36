package domain

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// SecretSchemeShape describes what follows "<scheme>://" in a secret URI of
// the configuration; CheckSecretURIShape enforces it.
type SecretSchemeShape struct {
	Scheme      string // "yc-lockbox"
	Shape       string // "yc-lockbox://<secret-id>/<key>"
	MinSegments int    // '/'-separated non-empty segments after "://"
	Local       bool   // a local/embedded backend (env, file)
}

// SecretShapes is the table of secret URI schemes of the configuration. The
// secret part of yc-lockbox and aws-sm may itself contain '/' (a secret
// name such as "gitlab/gitlab.com/egg"); the last segment is always the key.
var SecretShapes = []SecretSchemeShape{
	{Scheme: "yc-lockbox", Shape: "yc-lockbox://<secret-id>/<key>", MinSegments: 2},
	{Scheme: "aws-sm", Shape: "aws-sm://<secret-name>/<json-key>", MinSegments: 2},
	{Scheme: "vault", Shape: "vault://<mount>/<path...>/<key>", MinSegments: 3},
	{Scheme: "env", Shape: "env://<VAR>", MinSegments: 1, Local: true},
	{Scheme: "file", Shape: "file:///<absolute-path>", MinSegments: 1, Local: true},
}

// secretShape returns the SecretShapes entry of s's scheme and what follows
// its "://"; ok is false when s names no scheme of the table.
func secretShape(s string) (shape SecretSchemeShape, rest string, ok bool) {
	scheme, rest, found := strings.Cut(s, "://")
	if found {
		for _, sh := range SecretShapes {
			if sh.Scheme == scheme {
				return sh, rest, true
			}
		}
	}
	return SecretSchemeShape{}, "", false
}

// secretSchemes lists the schemes of SecretShapes with their "://", for messages.
func secretSchemes() string {
	schemes := make([]string, len(SecretShapes))
	for i, sh := range SecretShapes {
		schemes[i] = sh.Scheme + "://"
	}
	return strings.Join(schemes, ", ")
}

// LooksLikeSecretURI reports whether s starts with a scheme of SecretShapes
// ("vault://..."), that is whether it is meant as a secret reference.
func LooksLikeSecretURI(s string) bool {
	_, _, ok := secretShape(s)
	return ok
}

// CheckSecretURIShape checks a secret URI of the configuration: NewSecretURI
// plus the shape of its scheme (SecretShapes): non-empty '/'-separated
// segments, no spaces, '?' or '#', an environment variable name for env://
// and an absolute path for file:///. The secret itself is never read.
func CheckSecretURIShape(s string) (SecretURI, error) {
	shape, rest, ok := secretShape(s)
	if !ok {
		return SecretURI{}, invalid("secret URI %q: the scheme must be one of %s", s, secretSchemes())
	}
	u, err := NewSecretURI(s)
	if err != nil {
		return SecretURI{}, invalid("secret URI %q names no secret after %s://", s, shape.Scheme)
	}
	bad := func(why string) (SecretURI, error) {
		return SecretURI{}, errs.Errorf(errs.EINVALID, "secret URI %q %s; the shape is %s", s, why, shape.Shape)
	}
	if i := strings.IndexFunc(rest, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '?' || r == '#' }); i >= 0 {
		return bad("contains " + quoteRune(rest[i]))
	}
	switch shape.Scheme {
	case "env":
		if CheckEnvName(rest) != nil {
			return bad("does not name an environment variable")
		}
		return u, nil
	case "file":
		if !strings.HasPrefix(rest, "/") || len(rest) == 1 {
			return bad("is not an absolute path")
		}
		rest = rest[1:]
	}
	segments := strings.Split(rest, "/")
	for _, seg := range segments {
		if seg == "" {
			return bad("has an empty path segment")
		}
	}
	if len(segments) < shape.MinSegments {
		return bad("has too few path segments")
	}
	return u, nil
}

func quoteRune(c byte) string {
	switch {
	case c == ' ':
		return "a space"
	case c < ' ' || c == 0x7f:
		return "a control character"
	default:
		return "'" + string(c) + "'"
	}
}

// IsLocalSecretScheme reports whether the URI's backend is local or embedded
// (env://, file://): fine for development, suspicious with a cloud provider.
func IsLocalSecretScheme(u SecretURI) bool {
	shape, _, ok := secretShape(u.s)
	return ok && shape.Local
}

// SecretSchemeFor returns the secret store of a cloud provider of the
// configuration: "yc-lockbox" for "yandex", "aws-sm" for "aws", "" otherwise.
func SecretSchemeFor(provider CloudProvider) string {
	switch provider {
	case ProviderYandex:
		return "yc-lockbox"
	case ProviderAWS:
		return "aws-sm"
	}
	return ""
}

// DefaultSecretURI is the conventional location of a GitLab secret when a
// configuration leaves it out: <scheme>://gitlab/<server>/<owner>/<key>,
// where owner is the egg ("payments-api") or bucket and repo
// ("selected-services/api") and key is "runner-token" or "webhook-secret".
// It returns "" for an unknown provider.
func DefaultSecretURI(provider CloudProvider, server, owner, key string) string {
	scheme := SecretSchemeFor(provider)
	if scheme == "" {
		return ""
	}
	return scheme + "://gitlab/" + server + "/" + owner + "/" + key
}

// The keys of the two GitLab secrets of an egg.
const (
	SecretKeyRunnerToken   = "runner-token"
	SecretKeyWebhookSecret = "webhook-secret"
)
