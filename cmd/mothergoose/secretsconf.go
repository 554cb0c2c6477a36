package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/domain"
)

// bindSecretFlags registers the secret cache's flags and where cloud
// runners' secrets are written.
func bindSecretFlags(f *pflag.FlagSet, c *Config) {
	f.StringArrayVar(&c.SecretTTL, "secret-ttl", splitPairs(env("MOTHERGOOSE_SECRET_TTL", "")),
		"SCHEME=DURATION, repeatable: how long a resolved secret of SCHEME is used before it is fetched again (a rotation is picked up within it); "+
			"defaults yc-lockbox, aws-sm and vault 5m; env:// and file:// are read at each use unless given one (env MOTHERGOOSE_SECRET_TTL, comma-separated)")
	f.DurationVar(&c.SecretStaleFor, "secret-stale-for", envDuration("MOTHERGOOSE_SECRET_STALE_FOR", c.SecretStaleFor),
		"how long past its TTL a cached secret is still used while its backend is unavailable (down, throttling); then the webhooks it authenticates answer 503 until the backend is back; 0 never serves stale (env MOTHERGOOSE_SECRET_STALE_FOR)")
	f.DurationVar(&c.SecretNegativeTTL, "secret-negative-ttl", envDuration("MOTHERGOOSE_SECRET_NEGATIVE_TTL", c.SecretNegativeTTL),
		"how long a secret that failed to resolve is answered from the cache before its backend is asked again (env MOTHERGOOSE_SECRET_NEGATIVE_TTL)")
	f.StringVar(&c.AWSRegion, "aws-region", env("MOTHERGOOSE_AWS_REGION", c.AWSRegion),
		"Secrets Manager's region for aws-sm:// secrets of eggs whose region is not an AWS region (default: AWS_REGION of the SDK's configuration; env MOTHERGOOSE_AWS_REGION)")
	f.StringArrayVar(&c.RunnerSecrets, "runner-secrets", splitPairs(env("MOTHERGOOSE_RUNNER_SECRETS", "")),
		"PROVIDER=BASE-URI, repeatable: where the GitLab token of a cloud runner is written for its agent (taken once cloud targets are provisioned; today only local runners are): yandex=yc-lockbox://<secret-id or name> (a key per runner in that existing secret; default yc-lockbox://polar-gosling-runners, a name in YC_FOLDER_ID), "+
			"aws=aws-sm://<name-prefix> (a secret per runner under the prefix; default aws-sm://polar-gosling/runners), or for either provider vault://<mount>/<path-prefix> (a KV v2 secret per runner) (env MOTHERGOOSE_RUNNER_SECRETS, comma-separated)")
}

func splitPairs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// secretTTLs returns the cache's TTLs by scheme: DefaultTTLs with the
// --secret-ttl pairs over them, and the problems found.
func (c Config) secretTTLs() (map[string]time.Duration, []string) {
	ttl := secrets.DefaultTTLs()
	var problems []string
	for _, pair := range c.SecretTTL {
		scheme, d, ok := strings.Cut(pair, "=")
		scheme = strings.TrimSuffix(strings.TrimSpace(scheme), "://")
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("--secret-ttl %q: want SCHEME=DURATION such as vault=1m", pair))
		case !knownScheme(scheme):
			problems = append(problems, fmt.Sprintf("--secret-ttl %q: %s is not a secret scheme (yc-lockbox, aws-sm, vault, env, file)", pair, scheme))
		case err != nil || dur < 0:
			problems = append(problems, fmt.Sprintf("--secret-ttl %q: %q is not a duration such as 5m (0: not cached)", pair, d))
		default:
			ttl[scheme] = dur
		}
	}
	return ttl, problems
}

func knownScheme(s string) bool {
	for _, sh := range domain.SecretShapes {
		if sh.Scheme == s {
			return true
		}
	}
	return false
}

// Where a cloud runner's token goes without --runner-secrets: a Secrets
// Manager secret per runner under this prefix, a key per runner in the
// Lockbox secret of this name (in YC_FOLDER_ID; MotherGoose adds versions
// to it, never creates it: its KMS key and access bindings are the
// operator's choice).
const (
	defaultAWSRunnerSecrets    = "aws-sm://polar-gosling/runners"
	defaultYandexRunnerSecrets = "yc-lockbox://polar-gosling-runners"
)

// runnerSecretBases returns the base URI by provider where a cloud
// runner's secrets are written, and the problems found.
func (c Config) runnerSecretBases() (map[string]string, []string) {
	bases := map[string]string{"aws": defaultAWSRunnerSecrets, "yandex": defaultYandexRunnerSecrets}
	var problems []string
	for _, pair := range c.RunnerSecrets {
		provider, base, ok := strings.Cut(pair, "=")
		provider, base = strings.TrimSpace(provider), strings.TrimRight(strings.TrimSpace(base), "/")
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("--runner-secrets %q: want PROVIDER=BASE-URI such as yandex=yc-lockbox://e6q8abcdefghij012345", pair))
			continue
		case provider != "yandex" && provider != "aws":
			problems = append(problems, fmt.Sprintf("--runner-secrets %q: the provider is yandex or aws (local runners' secrets are files of their workspace)", pair))
			continue
		}
		if err := secrets.CheckRunnerSecretBase(base); err != nil {
			problems = append(problems, fmt.Sprintf("--runner-secrets %s: %v", provider, err))
			continue
		}
		bases[provider] = base
	}
	return bases, problems
}

// secretShapes lists the secret URI shapes, for messages.
func secretShapes() string {
	out := make([]string, len(domain.SecretShapes))
	for i, sh := range domain.SecretShapes {
		out[i] = sh.Shape
	}
	return strings.Join(out, ", ")
}
