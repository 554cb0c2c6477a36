package ports

import (
	"context"
	"io"
	"time"
)

// Blobs is a content-addressed store of files (the registered tofu and
// gosling binaries): a blob's name is the hex SHA-256 of its bytes.
type Blobs interface {
	// Put stores what r yields under sha256hex, computing the SHA-256 while
	// it reads. Bytes whose SHA-256 is another are refused (EINVALID,
	// naming both) and leave nothing stored; a blob already there is
	// kept (r is still read and checked). At most limit bytes are read
	// (limit <= 0: no bound); more is EINVALID and stores nothing.
	// It returns the size.
	Put(ctx context.Context, sha256hex string, r io.Reader, limit int64) (int64, error)
	// Open returns the blob sha256hex for reading, its size and when it was
	// stored; ENOTFOUND when there is none. The caller closes it.
	Open(ctx context.Context, sha256hex string) (io.ReadSeekCloser, BlobInfo, error)
	// Has reports whether the blob sha256hex is stored.
	Has(ctx context.Context, sha256hex string) (bool, error)
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Size    int64
	ModTime time.Time
}
