package awssm

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// location is where an aws-sm URI points: a secret and a key of its JSON
// object.
type location struct {
	uri, name, key string
}

// parse splits an aws-sm://<secret-name>/<json-key> URI; the last segment
// is the key, what precedes it the secret's name.
func parse(uri string) (location, error) {
	rest, ok := strings.CutPrefix(uri, Scheme+"://")
	if !ok {
		return location{}, errs.Errorf(errs.EINVALID, "secret URI %q is not an %s:// URI (%s://<secret-name>/<json-key>)", uri, Scheme, Scheme)
	}
	if _, err := domain.CheckSecretURIShape(uri); err != nil {
		return location{}, err
	}
	i := strings.LastIndexByte(rest, '/')
	return location{uri: uri, name: rest[:i], key: rest[i+1:]}, nil
}
