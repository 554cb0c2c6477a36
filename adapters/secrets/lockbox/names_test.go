package lockbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	lockboxpb "github.com/yandex-cloud/go-genproto/yandex/cloud/lockbox/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox"
	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox/lockboxtest"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

const folder = "b1gfolder0000000000a"

// The conventional webhook secret of egg payments-api on gitlab.com, and
// the Lockbox secret it names.
var (
	conventionalURI  = domain.DefaultSecretURI(domain.ProviderYandex, "gitlab.com", "payments-api", domain.SecretKeyWebhookSecret)
	conventionalName = "gitlab-gitlab-com-payments-api"
)

// setupNamed is setup with the Backend's folder set and the conventional
// secret of payments-api in it: webhook-secret=planted, runner-token=glrt-1.
func setupNamed(t *testing.T) (*lockboxtest.Server, *lockbox.Backend, string) {
	t.Helper()
	fake := lockboxtest.Start(t)
	id := fake.PutNamed(folder, conventionalName, "webhook-secret", planted)
	fake.PutNamed(folder, conventionalName, "runner-token", "glrt-1")
	cfg := fake.Config()
	cfg.FolderID = folder
	return fake, mustBackend(t, cfg), id
}

func TestResolve_conventional_uri_by_name(t *testing.T) {
	fake, b, _ := setupNamed(t)
	if conventionalURI != "yc-lockbox://gitlab/gitlab.com/payments-api/webhook-secret" {
		t.Fatalf("the convention changed: %s", conventionalURI)
	}
	if got := mustResolve(t, b, conventionalURI); got != planted {
		t.Fatalf("webhook-secret = %q, want the stored value", got)
	}
	if got := mustResolve(t, b, "yc-lockbox://gitlab/gitlab.com/payments-api/runner-token"); got != "glrt-1" {
		t.Fatalf("runner-token = %q, want glrt-1", got)
	}
	if g, ex, l := fake.Calls(lockboxtest.MethodGet), fake.Calls(lockboxtest.MethodGetEx), fake.Calls(lockboxtest.MethodList); g != 0 || ex != 2 || l != 0 {
		t.Fatalf("calls Get=%d GetEx=%d List=%d; want one GetEx per Resolve and nothing else", g, ex, l)
	}
}

func TestResolve_single_segment_name_and_upper_case(t *testing.T) {
	fake, b, _ := setupNamed(t)
	fake.PutNamed(folder, "payments-db", "password", "pw")
	for _, uri := range []string{"yc-lockbox://payments-db/password", "yc-lockbox://Payments.DB/password"} {
		if got := mustResolve(t, b, uri); got != "pw" {
			t.Fatalf("%s = %q, want pw", uri, got)
		}
	}
}

func TestResolve_by_id_still_uses_get(t *testing.T) {
	fake, b, id := setupNamed(t)
	if got := mustResolve(t, b, "yc-lockbox://"+id+"/webhook-secret"); got != planted {
		t.Fatalf("by ID: %q, want the stored value", got)
	}
	if g, ex := fake.Calls(lockboxtest.MethodGet), fake.Calls(lockboxtest.MethodGetEx); g != 1 || ex != 0 {
		t.Fatalf("calls Get=%d GetEx=%d; want the ID read by Get", g, ex)
	}
}

func TestResolve_by_name_errors(t *testing.T) {
	t.Run("no_such_name", func(t *testing.T) {
		_, b, _ := setupNamed(t)
		_, err := b.Resolve(context.Background(), "yc-lockbox://gitlab/gitlab.com/nosuch/webhook-secret")
		wantCode(t, err, errs.ENOTFOUND)
		if !strings.Contains(err.Error(), `"gitlab-gitlab-com-nosuch" in folder "`+folder+`"`) {
			t.Fatalf("error %q does not name the secret and folder looked for", err)
		}
	})
	t.Run("missing_key", func(t *testing.T) {
		_, b, _ := setupNamed(t)
		_, err := b.Resolve(context.Background(), "yc-lockbox://gitlab/gitlab.com/payments-api/token")
		wantCode(t, err, errs.ENOTFOUND)
		if !strings.Contains(err.Error(), `the secret has no key "token"`) {
			t.Fatalf("error %q does not say which key is missing", err)
		}
	})
	t.Run("secret_denied", func(t *testing.T) {
		fake, b, id := setupNamed(t)
		fake.Deny(id)
		_, err := b.Resolve(context.Background(), conventionalURI)
		wantCode(t, err, errs.EUNAUTHORIZED)
	})
	t.Run("throttled", func(t *testing.T) {
		fake, b, _ := setupNamed(t)
		fake.Throttle(1)
		_, err := b.Resolve(context.Background(), conventionalURI)
		wantCode(t, err, errs.EUNAVAILABLE)
		if !strings.Contains(err.Error(), "throttled") {
			t.Fatalf("error %q does not say throttled", err)
		}
	})
	t.Run("backend_down", func(t *testing.T) {
		fake, b, _ := setupNamed(t)
		fake.Stop()
		_, err := b.Resolve(context.Background(), conventionalURI)
		wantCode(t, err, errs.EUNAVAILABLE)
	})
}

func TestNamed_secret_without_folder_is_invalid(t *testing.T) {
	fake := lockboxtest.Start(t)
	fake.PutNamed(folder, conventionalName, "webhook-secret", planted)
	b := mustBackend(t, fake.Config()) // no FolderID
	_, rerr := b.Resolve(context.Background(), conventionalURI)
	werr := b.Write(context.Background(), conventionalURI, []byte(planted))
	for _, err := range []error{rerr, werr} {
		wantCode(t, err, errs.EINVALID)
		for _, want := range []string{"is named", "not an ID", "set YC_FOLDER_ID", conventionalName} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
		}
	}
	if n := fake.Calls(lockboxtest.MethodGetEx) + fake.Calls(lockboxtest.MethodList); n != 0 {
		t.Fatalf("%d calls made without a folder", n)
	}
}

func TestNamed_invalid_name_is_invalid(t *testing.T) {
	fake, b, _ := setupNamed(t)
	long := strings.Repeat("a", 60) + "/b.c"
	for _, tc := range []struct{ uri, name, why string }{
		{"yc-lockbox://gitlab/gitlab.com/my_egg/runner-token", "gitlab-gitlab-com-my_egg", `contains '_'`},
		{"yc-lockbox://" + long + "/k", strings.Repeat("a", 60) + "-b-c", "is 64 characters long"},
		{"yc-lockbox://1gitlab/gitlab.com/k", "1gitlab-gitlab-com", "does not start with a letter"},
		{"yc-lockbox://.hidden/k", "-hidden", "does not start with a letter"},
	} {
		_, rerr := b.Resolve(context.Background(), tc.uri)
		werr := b.Write(context.Background(), tc.uri, []byte(planted))
		for _, err := range []error{rerr, werr} {
			wantCode(t, err, errs.EINVALID)
			for _, want := range []string{fmt.Sprintf("%q", tc.name), tc.why, "not a Lockbox secret ID"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not say %s", tc.uri, err, want)
				}
			}
		}
	}
	if n := fake.Calls(lockboxtest.MethodGetEx) + fake.Calls(lockboxtest.MethodList); n != 0 {
		t.Fatalf("%d calls made for invalid names", n)
	}
}

func TestWrite_by_name_keeps_other_keys_and_caches_the_id(t *testing.T) {
	fake, b, id := setupNamed(t)
	ctx := context.Background()
	runnerToken := "yc-lockbox://gitlab/gitlab.com/payments-api/runner-token"
	for _, v := range []string{"glrt-2", "glrt-3"} {
		if err := b.Write(ctx, runnerToken, []byte(v)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if v, _ := fake.Value(id, "runner-token"); v != "glrt-3" {
		t.Fatalf("runner-token = %q, want glrt-3", v)
	}
	if v, ok := fake.Value(id, "webhook-secret"); !ok || v != planted {
		t.Fatal("webhook-secret was not kept by the write of another key")
	}
	if got := mustResolve(t, b, runnerToken); got != "glrt-3" {
		t.Fatalf("resolved %q after the write, want glrt-3", got)
	}
	if l, a := fake.Calls(lockboxtest.MethodList), fake.Calls(lockboxtest.MethodAddVersion); l != 1 || a != 2 {
		t.Fatalf("calls List=%d AddVersion=%d; want the ID listed once for two writes", l, a)
	}
}

func TestWrite_by_name_not_found_creates_nothing(t *testing.T) {
	fake, b, _ := setupNamed(t)
	err := b.Write(context.Background(), "yc-lockbox://gitlab/gitlab.com/nosuch/runner-token", []byte(planted))
	wantCode(t, err, errs.ENOTFOUND)
	if !strings.Contains(err.Error(), `no secret named "gitlab-gitlab-com-nosuch" in folder "`+folder+`"`) {
		t.Fatalf("error %q does not name the secret and folder looked for", err)
	}
	if _, ok := fake.SecretID(folder, "gitlab-gitlab-com-nosuch"); ok || fake.Calls(lockboxtest.MethodAddVersion) != 0 {
		t.Fatal("a write to a missing name created the secret")
	}
}

func TestWrite_by_name_pages_through_the_folder(t *testing.T) {
	fake, b, _ := setupNamed(t)
	for i := range 2100 {
		fake.PutNamed(folder, fmt.Sprintf("other-%04d", i), "k", "v")
	}
	fake.PutNamed("b1gotherfolder", "wanted", "k", "v") // same name, another folder
	err := b.Write(context.Background(), "yc-lockbox://wanted/k", []byte("x"))
	wantCode(t, err, errs.ENOTFOUND)
	if n := fake.Calls(lockboxtest.MethodList); n != 3 {
		t.Fatalf("List calls = %d, want 3 pages of at most 1000 for 2101 secrets", n)
	}

	// The secret with the greatest ID is the last of the fake's pages: the
	// lookup reads all three to find it.
	lastName, lastID := "", ""
	for i := range 2100 {
		name := fmt.Sprintf("other-%04d", i)
		if id, _ := fake.SecretID(folder, name); id > lastID {
			lastName, lastID = name, id
		}
	}
	if err := b.Write(context.Background(), "yc-lockbox://"+lastName+"/k", []byte("x")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if v, _ := fake.Value(lastID, "k"); v != "x" {
		t.Fatalf("k = %q, want x", v)
	}
	if n := fake.Calls(lockboxtest.MethodList); n != 6 {
		t.Fatalf("List calls = %d, want 3 more to reach the third page", n)
	}
}

func TestWrite_by_name_after_the_secret_was_recreated(t *testing.T) {
	fake, b, id := setupNamed(t)
	ctx := context.Background()
	uri := "yc-lockbox://gitlab/gitlab.com/payments-api/runner-token"
	if err := b.Write(ctx, uri, []byte("glrt-2")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	fake.Delete(id)
	newID := fake.PutNamed(folder, conventionalName, "webhook-secret", "w")
	if err := b.Write(ctx, uri, []byte("glrt-3")); err != nil {
		t.Fatalf("Write after re-creation: %v", err)
	}
	if v, _ := fake.Value(newID, "runner-token"); v != "glrt-3" {
		t.Fatalf("runner-token of the new secret = %q, want glrt-3", v)
	}
	if n := fake.Calls(lockboxtest.MethodList); n != 2 {
		t.Fatalf("List calls = %d, want 2 (the stale ID looked up again)", n)
	}
}

func TestWrite_by_name_errors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*lockboxtest.Server, string)
		code  string
	}{
		{"folder_denied", func(f *lockboxtest.Server, _ string) { f.DenyFolder(folder) }, errs.EUNAUTHORIZED},
		{"secret_denied", func(f *lockboxtest.Server, id string) { f.Deny(id) }, errs.EUNAUTHORIZED},
		{"list_throttled", func(f *lockboxtest.Server, _ string) { f.Throttle(1) }, errs.EUNAVAILABLE},
		{"backend_down", func(f *lockboxtest.Server, _ string) { f.Stop() }, errs.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, b, id := setupNamed(t)
			tc.fault(fake, id)
			wantCode(t, b.Write(context.Background(), conventionalURI, []byte(planted)), tc.code)
		})
	}
}

func TestSecretName_and_IsSecretID(t *testing.T) {
	for part, want := range map[string]string{
		"gitlab/gitlab.com/payments-api":         "gitlab-gitlab-com-payments-api",
		"gitlab/GitLab.Example.com/selected/api": "gitlab-gitlab-example-com-selected-api",
		"payments-db":                            "payments-db",
	} {
		if got := lockbox.SecretName(part); got != want {
			t.Errorf("SecretName(%q) = %q, want %q", part, got, want)
		}
	}
	for part, want := range map[string]bool{
		"e6q8abcdefghij012345":  true,
		"e6q8abcdefghij01234":   false, // 19
		"e6q8abcdefghij0123456": false, // 21
		"e6q8ABCDEFGHIJ012345":  false,
		"e6q8abcdefghij-12345":  false,
		"gitlab/gitlab.com/egg": false,
	} {
		if got := lockbox.IsSecretID(part); got != want {
			t.Errorf("IsSecretID(%q) = %v, want %v", part, got, want)
		}
	}
}

// TestFake_list_pages checks the fake's List itself with a small page_size:
// every secret of the folder once, none of another folder, and the
// documented refusals.
func TestFake_list_pages(t *testing.T) {
	fake := lockboxtest.Start(t)
	want := map[string]bool{}
	for i := range 5 {
		want[fake.PutNamed(folder, fmt.Sprintf("s-%d", i), "k", "v")] = true
	}
	fake.PutNamed("b1gother", "elsewhere", "k", "v")
	fake.AllowToken("t1.dev")
	conn, err := grpc.NewClient(fake.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := lockboxpb.NewSecretServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer t1.dev")

	seen, token := map[string]bool{}, ""
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatal("more than 3 pages of 2 for 5 secrets")
		}
		resp, err := client.List(ctx, &lockboxpb.ListSecretsRequest{FolderId: folder, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, s := range resp.GetSecrets() {
			if seen[s.GetId()] || !want[s.GetId()] || s.GetFolderId() != folder {
				t.Fatalf("List returned %s (%s) again or from another folder", s.GetId(), s.GetName())
			}
			seen[s.GetId()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("List returned %d secrets, want %d", len(seen), len(want))
	}
	for _, bad := range []*lockboxpb.ListSecretsRequest{
		{FolderId: ""}, {FolderId: folder, PageSize: 1001}, {FolderId: folder, PageToken: "garbage"},
	} {
		if _, err := client.List(ctx, bad); err == nil {
			t.Errorf("List(%v) succeeded", bad)
		}
	}

	payload := lockboxpb.NewPayloadServiceClient(conn)
	id, _ := fake.SecretID(folder, "s-3")
	for _, req := range []*lockboxpb.GetExRequest{
		{Identifier: &lockboxpb.GetExRequest_SecretId{SecretId: id}},
		{Identifier: &lockboxpb.GetExRequest_FolderAndName{FolderAndName: &lockboxpb.FolderAndName{FolderId: folder, SecretName: "s-3"}}},
	} {
		resp, err := payload.GetEx(ctx, req)
		if err != nil || resp.GetSecretId() != id || string(resp.GetEntries()["k"]) != "v" {
			t.Fatalf("GetEx(%v) = %v, %v; want secret %s with k=v", req, resp, err, id)
		}
	}
}

func TestResolve_by_name_renews_an_expired_token(t *testing.T) {
	fake, b, _ := setupNamed(t) // tokens from the metadata service: renewable
	mustResolve(t, b, conventionalURI)
	fake.ExpireTokens()
	if got := mustResolve(t, b, conventionalURI); got != planted {
		t.Fatalf("after expiry: %q, want the stored value", got)
	}
	if n := fake.Calls(lockboxtest.MethodGetEx); n != 3 {
		t.Fatalf("GetEx calls = %d, want 3 (one refused, retried once with a new token)", n)
	}
}

func TestWrite_by_name_concurrently(t *testing.T) {
	fake, b, id := setupNamed(t)
	errc := make(chan error, 8)
	for i := range 8 {
		go func() {
			errc <- b.Write(context.Background(), fmt.Sprintf("yc-lockbox://gitlab/gitlab.com/payments-api/runner-%d.token", i), []byte("v"))
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	for i := range 8 {
		if _, ok := fake.Value(id, fmt.Sprintf("runner-%d.token", i)); !ok {
			t.Fatalf("key runner-%d.token missing after concurrent writes", i)
		}
	}
}
