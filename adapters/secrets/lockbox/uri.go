package lockbox

import (
	"fmt"
	"strings"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Scheme is the URI scheme this backend serves.
const Scheme = "yc-lockbox"

// MaxSecretNameLength is the longest Lockbox secret name
// (https://yandex.cloud/en/docs/lockbox/concepts/secret).
const MaxSecretNameLength = 63

// secretIDLength is the length of every ID Yandex Cloud issues: a
// three-character service prefix ("e6q" for Lockbox) and 17 more lower-case
// letters and digits. The API reference only says "Latin letters and
// numbers" (https://yandex.cloud/en/docs/api-design-guide/concepts/resources-identification);
// the fixed length is what tells an ID from a name here.
const secretIDLength = 20

// secretRef is a parsed yc-lockbox URI: a secret by ID or by name.
type secretRef struct {
	uri      string
	secretID string // the secret part, when it is an ID
	name     string // otherwise the Lockbox name it stands for
	folderID string // the folder of a named secret (Config.FolderID)
	key      string // the last segment
}

func (r secretRef) byName() bool { return r.name != "" }

// subject names the secret in messages: the URI, and for a named secret
// the name and folder it was looked up by.
func (r secretRef) subject() string {
	if !r.byName() {
		return r.uri
	}
	return fmt.Sprintf("%s (Lockbox secret %q in folder %q)", r.uri, r.name, r.folderID)
}

// parseURI checks uri's shape and splits it into the secret (ID or name)
// and the key.
func parseURI(uri string) (secretRef, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || scheme != Scheme {
		return secretRef{}, errs.Errorf(errs.EINVALID, "secret URI %q is not a %s://<secret-id-or-name>/<key> URI", uri, Scheme)
	}
	if _, err := domain.CheckSecretURIShape(uri); err != nil {
		return secretRef{}, err
	}
	i := strings.LastIndexByte(rest, '/')
	part, key := rest[:i], rest[i+1:]
	if IsSecretID(part) {
		return secretRef{uri: uri, secretID: part, key: key}, nil
	}
	name := SecretName(part)
	if why := invalidName(name); why != "" {
		return secretRef{}, errs.Errorf(errs.EINVALID,
			"secret URI %q: %q is not a Lockbox secret ID (%d lower-case letters and digits), and the secret name it stands for, %q, %s "+
				"(a Lockbox name is lower-case letters, digits and '-', starts with a letter, at most %d characters)",
			uri, part, secretIDLength, name, why, MaxSecretNameLength)
	}
	return secretRef{uri: uri, name: name, key: key}, nil
}

// IsSecretID reports whether the secret part of a yc-lockbox URI (all
// before the last '/') is a Lockbox secret ID: one segment of exactly 20
// lower-case letters and digits, such as e6q8abcdefghij012345.
func IsSecretID(part string) bool {
	if len(part) != secretIDLength {
		return false
	}
	for _, c := range []byte(part) {
		if !isLowerOrDigit(c) {
			return false
		}
	}
	return true
}

// SecretName is the Lockbox secret name a secret part that is not an ID
// stands for: every '/' and '.' replaced by '-', lower-cased, so that the
// conventional "gitlab/gitlab.com/payments-api" is the secret named
// "gitlab-gitlab-com-payments-api". It does not check the result.
func SecretName(part string) string {
	return strings.ToLower(strings.NewReplacer("/", "-", ".", "-").Replace(part))
}

// invalidName says why name is not a valid Lockbox secret name, or "".
func invalidName(name string) string {
	switch {
	case len(name) > MaxSecretNameLength:
		return fmt.Sprintf("is %d characters long", len(name))
	case name == "" || name[0] < 'a' || name[0] > 'z':
		return "does not start with a letter"
	}
	for _, r := range name {
		if r >= 0x80 || !isLowerOrDigit(byte(r)) && r != '-' {
			return fmt.Sprintf("contains %q", r)
		}
	}
	return ""
}

func isLowerOrDigit(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
