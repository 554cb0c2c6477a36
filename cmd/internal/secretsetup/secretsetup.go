// Package secretsetup builds the secret backends the same way for every
// binary that resolves secrets: mothergoose serve (webhook secrets, API
// tokens, the Nest credential, runners' tokens it writes) and the gosling
// agent on a runner (its credential and GitLab token). Each cloud backend
// is configured from its cloud's standard environment and opened at first
// use.
package secretsetup

import (
	"context"
	"log/slog"
	"os"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Options are the settings a binary gives beyond the environment.
type Options struct {
	// LookupEnv reads the environment (os.LookupEnv by default).
	LookupEnv func(string) (string, bool)
	// AWSRegion is Secrets Manager's region when neither the egg's region
	// nor the SDK's configuration gives one.
	AWSRegion string
	// Log receives the backends' own records (Vault logins and renewals;
	// never a token); nil: slog.Default().
	Log *slog.Logger
}

// Router returns the router over env://, file:// and the cloud schemes.
func Router(o Options) *secrets.Router {
	local := secrets.NewLocal()
	if o.LookupEnv != nil {
		local.LookupEnv = o.LookupEnv
	} else {
		o.LookupEnv = os.LookupEnv
	}
	getenv := func(k string) string { v, _ := o.LookupEnv(k); return v }
	return secrets.NewRouter(local, map[string]secrets.Opener{
		lockbox.Scheme: func(ctx context.Context) (ports.Secrets, error) {
			// Without YC_* settings the metadata service of the VM or
			// container gives the IAM token.
			cfg, _ := lockbox.ConfigFromEnv(getenv)
			return lockbox.New(ctx, cfg)
		},
		awssm.Scheme: func(ctx context.Context) (ports.Secrets, error) {
			cfg, err := awssm.ConfigFromEnv(getenv)
			if err != nil {
				return nil, err
			}
			if o.AWSRegion != "" {
				cfg.Region = o.AWSRegion
			}
			return awssm.New(ctx, cfg)
		},
		vault.Scheme: func(ctx context.Context) (ports.Secrets, error) {
			cfg, ok := vault.ConfigFromEnv(getenv)
			if !ok {
				return nil, errs.Errorf(errs.EINVALID, "vault:// secrets need VAULT_ADDR (and VAULT_TOKEN, VAULT_ROLE_ID/VAULT_SECRET_ID or VAULT_K8S_ROLE)")
			}
			cfg.Logger = o.Log
			return vault.New(ctx, cfg)
		},
	})
}
