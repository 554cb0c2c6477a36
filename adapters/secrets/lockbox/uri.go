package lockbox

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Scheme is the URI scheme this backend serves.
const Scheme = "yc-lockbox"

// secretRef is a parsed yc-lockbox URI.
type secretRef struct {
	uri      string
	secretID string // everything between "://" and the last '/'
	key      string // the last segment
}

// parseURI checks uri's shape and splits it into the secret ID and the key.
func parseURI(uri string) (secretRef, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || scheme != Scheme {
		return secretRef{}, errs.Errorf(errs.EINVALID, "secret URI %q is not a %s://<secret-id>/<key> URI", uri, Scheme)
	}
	if _, err := domain.CheckSecretURIShape(uri); err != nil {
		return secretRef{}, err
	}
	i := strings.LastIndexByte(rest, '/')
	return secretRef{uri: uri, secretID: rest[:i], key: rest[i+1:]}, nil
}
