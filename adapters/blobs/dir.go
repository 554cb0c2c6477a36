// Package blobs stores content-addressed files (the registered tofu and
// gosling binaries) for ports.Blobs. Dir keeps them on the local file
// system: <root>/sha256/<hex>, the embedded default's <data-dir>/blobs.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Dir is a blob store in a directory.
type Dir struct{ root string }

var _ ports.Blobs = (*Dir)(nil)

// NewDir returns the store under root, creating root/sha256.
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errs.Errorf(errs.EINVALID, "blobs: the directory is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, errs.Wrap(errs.EINVALID, err, "blobs: %s", root)
	}
	if err := os.MkdirAll(filepath.Join(abs, "sha256"), 0o750); err != nil {
		return nil, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: create %s", abs)
	}
	return &Dir{root: abs}, nil
}

var hexRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckSHA256 refuses anything but 64 lower-case hex digits (a SHA-256 as
// the blob's name: never a path).
func CheckSHA256(sha256hex string) error {
	if !hexRe.MatchString(sha256hex) {
		return errs.Errorf(errs.EINVALID, "sha256 %q is not 64 lower-case hex digits", sha256hex)
	}
	return nil
}

func (d *Dir) path(sha256hex string) string { return filepath.Join(d.root, "sha256", sha256hex) }

// Put implements ports.Blobs: the bytes go to a temporary file in the same
// directory, hashed as they are written, are synced, and are renamed to
// their name only when the SHA-256 matches; on any failure the temporary
// file is removed, so nothing is left.
func (d *Dir) Put(ctx context.Context, sha256hex string, r io.Reader, limit int64) (size int64, err error) {
	if err := CheckSHA256(sha256hex); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Join(d.root, "sha256"), ".put-*")
	if err != nil {
		return 0, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: temporary file")
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := CopyBounded(ctx, io.MultiWriter(tmp, h), r, limit)
	if err != nil {
		return n, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha256hex {
		return n, errs.Errorf(errs.EINVALID, "SHA-256 mismatch: the %d bytes read have SHA-256 %s, not the %s given; nothing was stored", n, got, sha256hex)
	}
	if err := tmp.Sync(); err != nil {
		return n, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: sync")
	}
	if err := tmp.Close(); err != nil {
		return n, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: close")
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return n, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: chmod")
	}
	if err := os.Rename(tmp.Name(), d.path(sha256hex)); err != nil {
		return n, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: rename")
	}
	// The rename is durable once the directory is synced.
	if dir, err := os.Open(filepath.Join(d.root, "sha256")); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return n, nil
}

// CopyBounded copies r to w, at most limit bytes (limit <= 0: no bound),
// honouring ctx between reads: more is EINVALID. Every blob store stages
// what Put reads through it, so they refuse the same way.
func CopyBounded(ctx context.Context, w io.Writer, r io.Reader, limit int64) (int64, error) {
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, rerr := src.Read(buf)
		if k > 0 {
			n += int64(k)
			if limit > 0 && n > limit {
				return n, errs.Errorf(errs.EINVALID, "the binary is larger than %d bytes; nothing was stored", limit)
			}
			if _, err := w.Write(buf[:k]); err != nil {
				return n, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: write")
			}
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, errs.Wrap(errs.EUNAVAILABLE, rerr, "blobs: read")
		}
	}
}

// Open implements ports.Blobs.
func (d *Dir) Open(_ context.Context, sha256hex string) (io.ReadSeekCloser, ports.BlobInfo, error) {
	if err := CheckSHA256(sha256hex); err != nil {
		return nil, ports.BlobInfo{}, err
	}
	f, err := os.Open(d.path(sha256hex))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ports.BlobInfo{}, errs.Errorf(errs.ENOTFOUND, "blob %s is not stored", sha256hex)
	}
	if err != nil {
		return nil, ports.BlobInfo{}, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: open")
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, ports.BlobInfo{}, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: stat")
	}
	return f, ports.BlobInfo{Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Has implements ports.Blobs.
func (d *Dir) Has(_ context.Context, sha256hex string) (bool, error) {
	if err := CheckSHA256(sha256hex); err != nil {
		return false, err
	}
	_, err := os.Stat(d.path(sha256hex))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, errs.Wrap(errs.EUNAVAILABLE, err, "blobs: stat")
}
