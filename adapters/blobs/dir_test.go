package blobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/blobs"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func mustDir(t *testing.T) (*blobs.Dir, string) {
	t.Helper()
	root := t.TempDir()
	d, err := blobs.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return d, root
}

// entries lists what the store's folder holds, temporary files included.
func entries(t *testing.T, root string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(root, "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestDir_put_then_open_gives_the_bytes(t *testing.T) {
	ctx := context.Background()
	d, _ := mustDir(t)
	body := bytes.Repeat([]byte("gosling "), 100000)
	n, err := d.Put(ctx, sum(body), bytes.NewReader(body), 0)
	if err != nil || n != int64(len(body)) {
		t.Fatalf("put: %d, %v", n, err)
	}
	f, info, err := d.Open(ctx, sum(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, body) || info.Size != int64(len(body)) || info.ModTime.IsZero() {
		t.Fatalf("read %d bytes (size %d), want %d", len(got), info.Size, len(body))
	}
	if ok, err := d.Has(ctx, sum(body)); !ok || err != nil {
		t.Fatalf("has: %v %v", ok, err)
	}
}

func TestDir_refuses_and_leaves_nothing(t *testing.T) {
	ctx := context.Background()
	body := []byte("the real binary")
	for _, tc := range []struct {
		name  string
		sha   string
		limit int64
		code  string
	}{
		{"wrong_sha256", sum([]byte("another binary")), 0, errs.EINVALID},
		{"over_the_limit", sum(body), 4, errs.EINVALID},
		{"not_a_sha256", "../../etc/passwd", 0, errs.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, root := mustDir(t)
			_, err := d.Put(ctx, tc.sha, bytes.NewReader(body), tc.limit)
			if errs.Code(err) != tc.code {
				t.Fatalf("put: %v, want code %s", err, tc.code)
			}
			if tc.name == "wrong_sha256" && !strings.Contains(err.Error(), sum(body)) {
				t.Errorf("the error does not name the SHA-256 read: %v", err)
			}
			if left := entries(t, root); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
			if _, _, err := d.Open(ctx, sum(body)); errs.Code(err) != errs.ENOTFOUND {
				t.Fatalf("open after a refused put: %v, want ENOTFOUND", err)
			}
		})
	}
}
