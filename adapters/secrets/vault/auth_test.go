package vault_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/vault/vaulttest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

const appURI = "vault://secret/app/token"

// mustAppRole starts a fake holding appURI's secret with an AppRole whose
// tokens have opts, and a backend logging in with it on clock.
func mustAppRole(t *testing.T, opts vaulttest.TokenOptions, clock *testClock) (*vaulttest.Server, *vault.Backend) {
	t.Helper()
	fake := vaulttest.Start(t)
	fake.SetClock(clock.Now)
	fake.Put("secret", "app", "token", "v")
	fake.AddAppRole("", "role-1", "secret-1", opts)
	b := mustBackend(t, vault.Config{Address: fake.URL(), RoleID: "role-1", SecretID: "secret-1", Now: clock.Now})
	return fake, b
}

func TestTokenAuth(t *testing.T) {
	fake := vaulttest.Start(t)
	fake.Put("secret", "app", "token", "v")
	good := mustBackend(t, vault.Config{Address: fake.URL(), Token: fake.NewToken(vaulttest.TokenOptions{})})
	if got := mustResolve(t, good, appURI); got != "v" {
		t.Fatalf("Resolve = %q", got)
	}
	wrong := mustBackend(t, vault.Config{Address: fake.URL(), Token: "hvs.wrong"})
	_, err := wrong.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAUTHORIZED, "the Vault token was refused: expired, revoked or without a policy for secret/data/app")
	if n := fake.Counts().Logins; n != 0 {
		t.Fatalf("logins = %d with a static token", n)
	}
}

func TestStaticTokenExpiredIsUnauthorized(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "token", "v")
	mustResolve(t, b, appURI)
	fake.ExpireTokens()
	_, err := b.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAUTHORIZED, "expired, revoked or without a policy for secret/data/app")
}

func TestStaticTokenRenewedBeforeExpiry(t *testing.T) {
	clock := newTestClock()
	fake := vaulttest.Start(t)
	fake.SetClock(clock.Now)
	fake.Put("secret", "app", "token", "v")
	tok := fake.NewToken(vaulttest.TokenOptions{TTL: time.Minute, Renewable: true})
	b := mustBackend(t, vault.Config{Address: fake.URL(), Token: tok, Now: clock.Now})

	mustResolve(t, b, appURI)
	if c := fake.Counts(); c.Lookups != 1 || c.Renewals != 0 {
		t.Fatalf("after the first call: %+v, want one lookup, no renewal", c)
	}
	clock.Advance(30 * time.Second) // half the TTL: not yet
	mustResolve(t, b, appURI)
	if c := fake.Counts(); c.Renewals != 0 {
		t.Fatalf("renewed at half the TTL: %+v", c)
	}
	clock.Advance(15 * time.Second) // 45s > 2/3 of 60s
	mustResolve(t, b, appURI)
	clock.Advance(45 * time.Second) // 90s after creation: alive only because renewed
	mustResolve(t, b, appURI)
	if c := fake.Counts(); c.Renewals != 2 || c.Lookups != 1 {
		t.Fatalf("counts %+v, want 2 renewals and the one lookup", c)
	}
}

func TestAppRoleLogin(t *testing.T) {
	clock := newTestClock()
	fake, b := mustAppRole(t, vaulttest.TokenOptions{TTL: time.Hour, Renewable: true}, clock)
	for range 3 {
		if got := mustResolve(t, b, appURI); got != "v" {
			t.Fatalf("Resolve = %q", got)
		}
	}
	if c := fake.Counts(); c.Logins != 1 || c.Renewals != 0 {
		t.Fatalf("counts %+v, want one login and no renewal", c)
	}
}

func TestAppRoleConcurrentCallsLogInOnce(t *testing.T) {
	fake, b := mustAppRole(t, vaulttest.TokenOptions{TTL: time.Hour}, newTestClock())
	errc := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := b.Resolve(context.Background(), appURI)
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.Counts().Logins; n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}
}

func TestAppRoleSecretIDFileAndMount(t *testing.T) {
	fake := vaulttest.Start(t)
	fake.Put("secret", "app", "token", "v")
	fake.AddAppRole("ci-approle", "role-1", "from-file", vaulttest.TokenOptions{TTL: time.Hour})
	file := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := mustBackend(t, vault.Config{Address: fake.URL(), RoleID: "role-1", SecretIDFile: file, AppRoleMount: "ci-approle"})
	if got := mustResolve(t, b, appURI); got != "v" {
		t.Fatalf("Resolve = %q", got)
	}
}

func TestAppRoleWrongSecretID(t *testing.T) {
	fake := vaulttest.Start(t)
	fake.Put("secret", "app", "token", "v")
	fake.AddAppRole("", "role-1", "secret-1", vaulttest.TokenOptions{TTL: time.Hour})
	b := mustBackend(t, vault.Config{Address: fake.URL(), RoleID: "role-1", SecretID: "wrong"})
	_, err := b.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAUTHORIZED, "AppRole login at auth/approle/login was refused")
}

func TestAppRoleAccessDeniedAfterFreshLogin(t *testing.T) {
	fake, b := mustAppRole(t, vaulttest.TokenOptions{TTL: time.Hour}, newTestClock())
	fake.Deny("secret/data/app")
	_, err := b.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAUTHORIZED, "fresh login")
	if n := fake.Counts().Logins; n != 2 {
		t.Fatalf("logins = %d, want 2 (the first, one retry)", n)
	}
}

func TestKubernetesLogin(t *testing.T) {
	fake := vaulttest.Start(t)
	fake.Put("secret", "app", "token", "v")
	fake.AddKubernetesRole("", "mothergoose", "sa-jwt", vaulttest.TokenOptions{TTL: time.Hour, Renewable: true})
	jwt := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(jwt, []byte("sa-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := mustBackend(t, vault.Config{Address: fake.URL(), K8sRole: "mothergoose", K8sTokenFile: jwt})
	if got := mustResolve(t, b, appURI); got != "v" {
		t.Fatalf("Resolve = %q", got)
	}
	mustResolve(t, b, appURI)
	if n := fake.Counts().Logins; n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}

	// The projected service account token is rotated by the kubelet: the
	// next login reads the file again.
	fake.AddKubernetesRole("", "mothergoose", "sa-jwt-2", vaulttest.TokenOptions{TTL: time.Hour})
	if err := os.WriteFile(jwt, []byte("sa-jwt-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake.ExpireTokens()
	mustResolve(t, b, appURI)
	if n := fake.Counts().Logins; n != 2 {
		t.Fatalf("logins = %d, want 2", n)
	}
}

func TestKubernetesWrongJWT(t *testing.T) {
	fake := vaulttest.Start(t)
	fake.AddKubernetesRole("", "mothergoose", "sa-jwt", vaulttest.TokenOptions{TTL: time.Hour})
	jwt := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(jwt, []byte("other"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := mustBackend(t, vault.Config{Address: fake.URL(), K8sRole: "mothergoose", K8sTokenFile: jwt})
	_, err := b.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAUTHORIZED, "Kubernetes login at auth/kubernetes/login was refused")

	missing := mustBackend(t, vault.Config{Address: fake.URL(), K8sRole: "mothergoose", K8sTokenFile: filepath.Join(t.TempDir(), "none")})
	_, err = missing.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAUTHORIZED, "cannot read the service account token")
}

func TestLoginTokenRenewedBeforeExpiry(t *testing.T) {
	clock := newTestClock()
	fake, b := mustAppRole(t, vaulttest.TokenOptions{TTL: time.Minute, Renewable: true}, clock)
	mustResolve(t, b, appURI)
	for range 3 {
		clock.Advance(41 * time.Second) // past 2/3 of the TTL each time
		mustResolve(t, b, appURI)
	}
	if c := fake.Counts(); c.Logins != 1 || c.Renewals != 3 {
		t.Fatalf("counts %+v, want one login and 3 renewals", c)
	}
}

func TestLoginAgainWhenTheTokenCannotBeRenewed(t *testing.T) {
	clock := newTestClock()
	fake, b := mustAppRole(t, vaulttest.TokenOptions{TTL: time.Minute}, clock)
	mustResolve(t, b, appURI)
	clock.Advance(41 * time.Second)
	mustResolve(t, b, appURI)
	if c := fake.Counts(); c.Logins != 2 || c.Renewals != 0 || c.Reads != 2 {
		t.Fatalf("counts %+v, want 2 logins, no renewal and no refused read", c)
	}
}

func TestLoginAgainAtMaxTTL(t *testing.T) {
	clock := newTestClock()
	fake, b := mustAppRole(t, vaulttest.TokenOptions{TTL: time.Minute, MaxTTL: 90 * time.Second, Renewable: true}, clock)
	mustResolve(t, b, appURI)
	clock.Advance(41 * time.Second) // renewed, capped at 90s after creation: 49s left
	mustResolve(t, b, appURI)
	clock.Advance(35 * time.Second) // 2/3 of 49s passed: a capped token is replaced
	mustResolve(t, b, appURI)
	if c := fake.Counts(); c.Logins != 2 || c.Renewals != 1 {
		t.Fatalf("counts %+v, want 2 logins and 1 renewal", c)
	}
}

func TestReloginAfterTokenExpired(t *testing.T) {
	clock := newTestClock()
	fake, b := mustAppRole(t, vaulttest.TokenOptions{TTL: time.Hour, Renewable: true}, clock)
	mustResolve(t, b, appURI)
	fake.ExpireTokens() // revoked behind the backend's back
	if got := mustResolve(t, b, appURI); got != "v" {
		t.Fatalf("Resolve = %q", got)
	}
	if c := fake.Counts(); c.Logins != 2 || c.Reads != 3 {
		t.Fatalf("counts %+v, want 2 logins and 3 reads (one refused)", c)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"VAULT_ADDR": "https://vault:8200", "VAULT_NAMESPACE": "ns", "VAULT_CACERT": "/ca.pem",
		"VAULT_TOKEN": "t", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s", "VAULT_SECRET_ID_FILE": "/sid",
		"VAULT_APPROLE_MOUNT": "am", "VAULT_K8S_ROLE": "kr", "VAULT_K8S_TOKEN_FILE": "/jwt", "VAULT_K8S_MOUNT": "km",
	}
	cfg, ok := vault.ConfigFromEnv(func(k string) string { return env[k] })
	want := vault.Config{
		Address: "https://vault:8200", Namespace: "ns", CACert: "/ca.pem", Token: "t",
		RoleID: "r", SecretID: "s", SecretIDFile: "/sid", AppRoleMount: "am",
		K8sRole: "kr", K8sTokenFile: "/jwt", K8sMount: "km",
	}
	if !ok || cfg.Address != want.Address || cfg.Namespace != want.Namespace || cfg.CACert != want.CACert ||
		cfg.Token != want.Token || cfg.RoleID != want.RoleID || cfg.SecretID != want.SecretID ||
		cfg.SecretIDFile != want.SecretIDFile || cfg.AppRoleMount != want.AppRoleMount ||
		cfg.K8sRole != want.K8sRole || cfg.K8sTokenFile != want.K8sTokenFile || cfg.K8sMount != want.K8sMount {
		t.Fatalf("ConfigFromEnv = %+v, %v", cfg, ok)
	}
	if _, ok := vault.ConfigFromEnv(func(string) string { return "" }); ok {
		t.Fatal("ok without VAULT_ADDR")
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	for name, cfg := range map[string]vault.Config{
		"no_address":          {Token: "t"},
		"no_credentials":      {Address: "http://127.0.0.1:1"},
		"role_without_secret": {Address: "http://127.0.0.1:1", RoleID: "r"},
		"missing_ca_file":     {Address: "https://127.0.0.1:1", Token: "t", CACert: "/nonexistent/ca.pem"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := vault.New(context.Background(), cfg)
			wantCode(t, err, errs.EINVALID)
		})
	}
}

func TestCACertTrustsVaultsCertificate(t *testing.T) {
	fake := vaulttest.StartTLS(t)
	fake.Put("secret", "app", "token", "v")
	token := fake.NewToken(vaulttest.TokenOptions{})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, fake.CACert(), 0o600); err != nil {
		t.Fatal(err)
	}
	b := mustBackend(t, vault.Config{Address: fake.URL(), Token: token, CACert: ca})
	if got := mustResolve(t, b, appURI); got != "v" {
		t.Fatalf("Resolve over TLS = %q", got)
	}
	untrusted := mustBackend(t, vault.Config{Address: fake.URL(), Token: token})
	_, err := untrusted.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAVAILABLE, "certificate")
}

func TestStaticTokenRenewalRetriedAfterOutage(t *testing.T) {
	clock := newTestClock()
	fake := vaulttest.Start(t)
	fake.SetClock(clock.Now)
	fake.Put("secret", "app", "token", "v")
	tok := fake.NewToken(vaulttest.TokenOptions{TTL: time.Minute, Renewable: true})
	b := mustBackend(t, vault.Config{Address: fake.URL(), Token: tok, Now: clock.Now})
	mustResolve(t, b, appURI)

	clock.Advance(45 * time.Second) // renewal due, and Vault sealed
	fake.Seal()
	_, err := b.Resolve(context.Background(), appURI)
	wantCode(t, err, errs.EUNAVAILABLE, "sealed")
	fake.Unseal()
	mustResolve(t, b, appURI) // renews now

	clock.Advance(45 * time.Second) // 90s after creation: alive only if renewed after the outage
	if got := mustResolve(t, b, appURI); got != "v" {
		t.Fatalf("Resolve = %q", got)
	}
}
