package secrets

import (
	"strings"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// CheckRunnerSecretBase checks a base URI under which runners' secrets are
// written (RunnerSecretURI): yc-lockbox://<secret-id or name> (one Lockbox
// secret, a key per runner secret), aws-sm://<name-prefix> (a Secrets Manager
// secret per runner) or vault://<mount>[/<path-prefix>] (a KV v2 secret per
// runner).
func CheckRunnerSecretBase(base string) error {
	scheme, rest, ok := strings.Cut(base, "://")
	segs := strings.Split(rest, "/")
	if !ok || rest == "" || strings.ContainsAny(rest, " ?#") || strings.Contains(rest, "//") {
		return errs.Errorf(errs.EINVALID, "base %q: want yc-lockbox://<secret-id>, aws-sm://<name-prefix> or vault://<mount>[/<path-prefix>]", base)
	}
	switch scheme {
	case "yc-lockbox":
		if len(segs) != 1 {
			return errs.Errorf(errs.EINVALID, "base %q: a Lockbox base is one secret, by id or name (yc-lockbox://<secret>); each runner gets keys in it", base)
		}
	case "aws-sm", "vault":
	default:
		return errs.Errorf(errs.EINVALID, "base %q: runners' secrets are written to yc-lockbox://, aws-sm:// or vault://", base)
	}
	_, err := domain.CheckSecretURIShape(RunnerSecretURI(base, "runner-0", "runner-token"))
	return err
}

// RunnerSecretURI is where secret name of runner runnerID is written under
// base (checked by CheckRunnerSecretBase): in Lockbox the key
// "<runner-id>.<name>" of the base secret; in Secrets Manager and Vault the
// key <name> of the secret "<base>/<runner-id>".
func RunnerSecretURI(base, runnerID, name string) string {
	base = strings.TrimRight(base, "/")
	if Scheme(base) == "yc-lockbox" {
		return base + "/" + runnerID + "." + name
	}
	return base + "/" + runnerID + "/" + name
}
