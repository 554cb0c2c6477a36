package lockbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox/lockboxtest"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// fakeClock is a clock tests move by hand, shared by the fake and the Backend.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keyFileSetup starts a fake and a Backend authenticated by a service
// account key file the fake knows.
func keyFileSetup(t *testing.T) (*lockboxtest.Server, *lockbox.Backend, string) {
	t.Helper()
	fake := lockboxtest.Start(t)
	fake.Put("e6qsecret01234567890", "password", planted)
	path, keyID := fake.WriteKeyFile(t.TempDir(), "ajesa")
	cfg := fake.Config()
	cfg.ServiceAccountKeyFile = path
	return fake, mustBackend(t, cfg), keyID
}

func TestKeyFile_auth_end_to_end(t *testing.T) {
	fake, b, _ := keyFileSetup(t)
	for range 3 {
		if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password"); got != planted {
			t.Fatal("wrong value")
		}
	}
	if n := fake.Calls(lockboxtest.MethodCreateToken); n != 1 {
		t.Fatalf("IamTokenService/Create calls = %d, want 1 (the token is cached)", n)
	}
	if n := fake.MetadataCalls(); n != 0 {
		t.Fatalf("metadata calls = %d, want 0 with a key file", n)
	}
}

func TestKeyFile_refused_key_is_unauthorized(t *testing.T) {
	fake, b, keyID := keyFileSetup(t)
	fake.RevokeKey(keyID)
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAUTHORIZED)
}

func TestKeyFile_signed_by_another_key_is_unauthorized(t *testing.T) {
	fake := lockboxtest.Start(t)
	fake.Put("e6qsecret01234567890", "password", planted)
	dir := t.TempDir()
	path, _ := fake.WriteKeyFile(dir, "ajesa")
	otherPath, _ := fake.WriteKeyFile(dir, "ajesa")
	// The first file's key id with the second file's private key: the
	// signature cannot verify with the registered public key.
	mustSwapPrivateKey(t, path, otherPath)
	cfg := fake.Config()
	cfg.ServiceAccountKeyFile = path
	_, err := mustBackend(t, cfg).Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAUTHORIZED)
	if n := fake.TokensIssued(); n != 0 {
		t.Fatalf("the fake issued %d tokens for a forged JWT", n)
	}
}

// mustSwapPrivateKey writes the private_key of from into the key file to.
func mustSwapPrivateKey(t *testing.T, to, from string) {
	t.Helper()
	a, err1 := os.ReadFile(to)
	b, err2 := os.ReadFile(from)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	priv := func(s string) string { return s[strings.Index(s, `"private_key"`):strings.Index(s, `"public_key"`)] }
	if !strings.Contains(string(a), `"private_key"`) || strings.Index(string(a), `"private_key"`) > strings.Index(string(a), `"public_key"`) {
		t.Fatal("unexpected key file layout")
	}
	if err := os.WriteFile(to, []byte(strings.Replace(string(a), priv(string(a)), priv(string(b)), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFile_unreadable_or_malformed_is_invalid(t *testing.T) {
	dir := t.TempDir()
	const leaked = "MIIE-private-material"
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"id":"k","service_account_id":"sa","private_key":"`+leaked+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "notjson.json")
	if err := os.WriteFile(notJSON, []byte(leaked), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"missing": filepath.Join(dir, "nope.json"), "not_a_key": bad, "not_json": notJSON} {
		t.Run(name, func(t *testing.T) {
			_, err := lockbox.New(context.Background(), lockbox.Config{ServiceAccountKeyFile: path})
			if !errs.Is(err, errs.EINVALID) {
				t.Fatalf("New = %v, want EINVALID", err)
			}
			if strings.Contains(err.Error(), leaked) {
				t.Fatalf("the error shows the key file's content: %v", err)
			}
		})
	}
}

func TestNew_refuses_a_key_file_and_a_token_together(t *testing.T) {
	_, err := lockbox.New(context.Background(), lockbox.Config{ServiceAccountKeyFile: "/k.json", IAMToken: "t1"})
	if !errs.Is(err, errs.EINVALID) {
		t.Fatalf("New = %v, want EINVALID", err)
	}
}

func TestMetadata_auth_end_to_end(t *testing.T) {
	fake, b := setup(t)
	mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")
	mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/user")
	if n := fake.MetadataCalls(); n != 1 {
		t.Fatalf("metadata calls = %d, want 1 (the token is cached)", n)
	}
	if n := fake.Calls(lockboxtest.MethodCreateToken); n != 0 {
		t.Fatalf("IAM calls = %d, want 0 on a VM", n)
	}
}

func TestMetadata_without_service_account_is_unauthorized(t *testing.T) {
	fake, b := setup(t)
	fake.DetachServiceAccount()
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAUTHORIZED)
}

func TestMetadata_down_is_unavailable(t *testing.T) {
	fake := lockboxtest.Start(t)
	fake.Put("e6qsecret01234567890", "password", planted)
	cfg := fake.Config()
	cfg.MetadataURL = "http://" + closedAddr(t)
	_, err := mustBackend(t, cfg).Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAVAILABLE)
}

// closedAddr is a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestStaticToken(t *testing.T) {
	fake := lockboxtest.Start(t)
	fake.Put("e6qsecret01234567890", "password", planted)
	fake.AllowToken("t1.dev-token")
	cfg := fake.Config()
	cfg.IAMToken = "t1.dev-token"
	b := mustBackend(t, cfg)
	mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")

	// Expired and not renewable: EUNAUTHORIZED after one retry.
	fake.ExpireTokens()
	before := fake.Calls(lockboxtest.MethodGet)
	_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
	wantCode(t, err, errs.EUNAUTHORIZED)
	if n := fake.Calls(lockboxtest.MethodGet) - before; n != 2 {
		t.Fatalf("Get calls for the expired token = %d, want 2 (one retry)", n)
	}
}

func TestExpired_token_triggers_exactly_one_refresh(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T) (*lockboxtest.Server, *lockbox.Backend)
		renewed func(*lockboxtest.Server) int
	}{
		{"key_file", func(t *testing.T) (*lockboxtest.Server, *lockbox.Backend) {
			f, b, _ := keyFileSetup(t)
			return f, b
		}, func(f *lockboxtest.Server) int { return f.Calls(lockboxtest.MethodCreateToken) }},
		{"metadata", setup, (*lockboxtest.Server).MetadataCalls},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, b := tc.setup(t)
			mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")
			fake.ExpireTokens()
			if got := mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password"); got != planted {
				t.Fatal("wrong value after renewal")
			}
			if n := tc.renewed(fake); n != 2 {
				t.Fatalf("tokens obtained = %d, want 2 (the first and one renewal)", n)
			}
			if n := fake.Calls(lockboxtest.MethodGet); n != 3 {
				t.Fatalf("Get calls = %d, want 3 (ok, refused, retried)", n)
			}
		})
	}
}

func TestExpired_token_concurrent_calls_share_one_refresh(t *testing.T) {
	fake, b, _ := keyFileSetup(t)
	mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")
	fake.ExpireTokens()
	const n = 8
	results := make(chan error, n)
	for range n {
		go func() {
			_, err := b.Resolve(context.Background(), "yc-lockbox://e6qsecret01234567890/password")
			results <- err
		}()
	}
	for range n {
		if err := <-results; err != nil {
			t.Errorf("concurrent Resolve: %v", err)
		}
	}
	if got := fake.Calls(lockboxtest.MethodCreateToken); got != 2 {
		t.Fatalf("IAM Create calls = %d, want 2 (the first token and one renewal)", got)
	}
}

func TestToken_renewed_before_expiry(t *testing.T) {
	for _, tc := range []struct {
		name             string
		lifetime         time.Duration
		fresh, renewedAt time.Duration // ages of the token
	}{
		// 10% of an hour is 6 minutes: the 5-minute margin is smaller.
		{"one_hour_token_five_minutes_before", time.Hour, 54 * time.Minute, 56 * time.Minute},
		// 10% of 10 minutes is one minute: smaller than 5 minutes.
		{"ten_minute_token_a_tenth_before", 10 * time.Minute, 8*time.Minute + 30*time.Second, 9*time.Minute + 30*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			fake := lockboxtest.Start(t)
			fake.SetClock(clock.Now)
			fake.SetTokenLifetime(tc.lifetime)
			fake.Put("e6qsecret01234567890", "password", planted)
			path, _ := fake.WriteKeyFile(t.TempDir(), "ajesa")
			cfg := fake.Config()
			cfg.ServiceAccountKeyFile, cfg.Now = path, clock.Now
			b := mustBackend(t, cfg)

			mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")
			clock.Advance(tc.fresh)
			mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")
			if n := fake.Calls(lockboxtest.MethodCreateToken); n != 1 {
				t.Fatalf("at age %v IAM calls = %d, want 1 (not renewed yet)", tc.fresh, n)
			}
			clock.Advance(tc.renewedAt - tc.fresh)
			mustResolve(t, b, "yc-lockbox://e6qsecret01234567890/password")
			if n := fake.Calls(lockboxtest.MethodCreateToken); n != 2 {
				t.Fatalf("at age %v IAM calls = %d, want 2 (renewed ahead)", tc.renewedAt, n)
			}
			// Renewed ahead, not after a refusal: no Get was refused.
			if n := fake.Calls(lockboxtest.MethodGet); n != 3 {
				t.Fatalf("Get calls = %d, want 3 (none refused)", n)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"YC_SERVICE_ACCOUNT_KEY_FILE": "/etc/yc/key.json",
		"YC_IAM_TOKEN":                "t1.x",
		"YC_METADATA_URL":             "http://127.0.0.1:1",
		"YC_LOCKBOX_PAYLOAD_ENDPOINT": "127.0.0.1:2",
		"YC_LOCKBOX_ENDPOINT":         "127.0.0.1:3",
		"YC_IAM_ENDPOINT":             "127.0.0.1:4",
		"YC_FOLDER_ID":                "b1gfolder",
	}
	cfg, set := lockbox.ConfigFromEnv(func(k string) string { return env[k] })
	want := lockbox.Config{
		ServiceAccountKeyFile: "/etc/yc/key.json", IAMToken: "t1.x", MetadataURL: "http://127.0.0.1:1",
		PayloadEndpoint: "127.0.0.1:2", Endpoint: "127.0.0.1:3", IAMEndpoint: "127.0.0.1:4", FolderID: "b1gfolder",
	}
	if !set || cfg.ServiceAccountKeyFile != want.ServiceAccountKeyFile || cfg.IAMToken != want.IAMToken ||
		cfg.MetadataURL != want.MetadataURL || cfg.PayloadEndpoint != want.PayloadEndpoint ||
		cfg.Endpoint != want.Endpoint || cfg.IAMEndpoint != want.IAMEndpoint || cfg.FolderID != want.FolderID {
		t.Fatalf("ConfigFromEnv = %+v, %v; want %+v, true", cfg, set, want)
	}
	if _, set := lockbox.ConfigFromEnv(func(string) string { return "" }); set {
		t.Fatal("an empty environment reported as set")
	}
}

func TestConfig_printing_hides_the_token(t *testing.T) {
	cfg := lockbox.Config{IAMToken: "t1." + planted, Endpoint: "lockbox.example:443", FolderID: "b1gfolder"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("lockbox", "config", cfg)
	for _, shown := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%v", &cfg), fmt.Sprintf("%#v", cfg), logged.String()} {
		if strings.Contains(shown, planted) {
			t.Fatalf("the IAM token is shown: %s", shown)
		}
		if !strings.Contains(shown, "lockbox.example:443") || !strings.Contains(shown, "b1gfolder") {
			t.Fatalf("the config is not shown: %s", shown)
		}
	}
}
