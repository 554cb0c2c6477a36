package vault

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// statusOf is the HTTP status of a Vault error answer, 0 for an error that
// is not one (transport, timeout, decoding).
func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// vaultErrors is Vault's own error list of an answer ("permission
// denied"), bounded, for messages: Vault's messages name paths and reasons,
// not the data of the request.
func vaultErrors(err error) string {
	var re *api.ResponseError
	if !errors.As(err, &re) || len(re.Errors) == 0 || re.RawError {
		return ""
	}
	s := strings.Join(re.Errors, "; ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// unavailable is the EUNAVAILABLE error of a call that Vault did not answer
// usefully: throttled (429), sealed or failing (5xx), or unreachable. Only
// transport errors are wrapped (their text is the URL and the network
// reason); an answer's body is summarised, never wrapped.
func unavailable(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch code := statusOf(err); {
	case code == 429:
		return errs.Errorf(errs.EUNAVAILABLE, "%s: throttled by Vault (429 %s)", what, vaultErrors(err))
	case code == 503:
		return errs.Errorf(errs.EUNAVAILABLE, "%s: Vault is sealed or in standby (503 %s)", what, vaultErrors(err))
	case code != 0:
		return errs.Errorf(errs.EUNAVAILABLE, "%s: Vault answered %d %s", what, code, vaultErrors(err))
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "%s: Vault is unreachable", what)
}

// classify maps the error of a KV call on the secret of uri to its code;
// 403 is handled by the caller (it depends on the auth method).
func classify(err error, uri, op string) error {
	switch code := statusOf(err); {
	case code == 404:
		return errs.Errorf(errs.ENOTFOUND, "secret %s: %s: not found (404 %s)", uri, op, vaultErrors(err))
	case code == 400:
		return errs.Errorf(errs.EINVALID, "secret %s: Vault refused %s (400 %s)", uri, op, vaultErrors(err))
	case code == 401 || code == 403:
		return errs.Errorf(errs.EUNAUTHORIZED, "secret %s: Vault denied %s (%d)", uri, op, code)
	}
	return unavailable(err, "secret %s: %s", uri, op)
}

// errText is an error's text for a log line: the coded message, or the
// status and Vault's error list of an answer.
func errText(err error) string {
	if code := statusOf(err); code != 0 {
		return fmt.Sprintf("%d %s", code, vaultErrors(err))
	}
	return err.Error()
}
