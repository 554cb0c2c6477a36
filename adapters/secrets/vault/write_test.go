package vault_test

import (
	"context"
	"testing"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestWriteThenResolve(t *testing.T) {
	fake, b := mustTokenBackend(t)
	const uri = "vault://secret/gitlab/gitlab.com/web/runner-token"
	if err := b.Write(context.Background(), uri, []byte("glrt-new")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := mustResolve(t, b, uri); got != "glrt-new" {
		t.Fatalf("Resolve after Write = %q", got)
	}
	if _, version, _ := fake.Data("secret", "gitlab/gitlab.com/web"); version != 1 {
		t.Fatalf("version = %d, want 1 (a created secret)", version)
	}
}

func TestWriteKeepsOtherKeys(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.PutData("secret", "app", map[string]any{"webhook-secret": "hook", "runner-token": "old"})
	if err := b.Write(context.Background(), "vault://secret/app/runner-token", []byte("new")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	data, version, _ := fake.Data("secret", "app")
	if data["webhook-secret"] != "hook" || data["runner-token"] != "new" || version != 2 {
		t.Fatalf("secret after Write = version %d %v; want version 2 with both keys", version, data)
	}
}

func TestWriteOverDeletedVersion(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "k", "old")
	fake.Delete("secret", "app", false)
	if err := b.Write(context.Background(), "vault://secret/app/k", []byte("new")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := mustResolve(t, b, "vault://secret/app/k"); got != "new" {
		t.Fatalf("Resolve = %q", got)
	}
}

// Another writer adds a version between the backend's read and its write:
// the check-and-set fails once, the backend reads again and keeps the other
// writer's key.
func TestWriteRetriesOnCheckAndSetMismatch(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "a", "1")
	interleaved := false
	fake.BeforeWrite(func() {
		if !interleaved {
			interleaved = true
			fake.Put("secret", "app", "b", "2")
		}
	})
	if err := b.Write(context.Background(), "vault://secret/app/c", []byte("3")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	data, version, _ := fake.Data("secret", "app")
	if data["a"] != "1" || data["b"] != "2" || data["c"] != "3" || version != 3 {
		t.Fatalf("secret = version %d %v; want version 3 with a, b and c", version, data)
	}
	if got := fake.Counts().Writes; got != 2 {
		t.Fatalf("writes = %d, want 2 (a refused check-and-set, then the write)", got)
	}
}

func TestWriteConflictsWhenEveryAttemptLoses(t *testing.T) {
	fake, b := mustTokenBackend(t)
	fake.Put("secret", "app", "a", "1")
	fake.BeforeWrite(func() { fake.Put("secret", "app", "b", "2") })
	err := b.Write(context.Background(), "vault://secret/app/c", []byte("3"))
	wantCode(t, err, errs.ECONFLICT, "vault://secret/app/c")
}

func TestWriteErrors(t *testing.T) {
	fake, b := mustTokenBackend(t)
	ctx := context.Background()

	wantCode(t, b.Write(ctx, "vault://secret/app", []byte("v")), errs.EINVALID)
	wantCode(t, b.Write(ctx, "vault://secret/app/k", []byte{0xff, 0xfe}), errs.EINVALID, "UTF-8")

	fake.Deny("secret/data/app")
	wantCode(t, b.Write(ctx, "vault://secret/app/k", []byte("v")), errs.EUNAUTHORIZED)
	fake.Allow("secret/data/app")

	fake.Throttle(100)
	wantCode(t, b.Write(ctx, "vault://secret/app/k", []byte("v")), errs.EUNAVAILABLE, "throttled")
}
