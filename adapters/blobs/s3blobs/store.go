// Package s3blobs keeps the registered binaries in an S3 bucket (AWS S3,
// Yandex Object Storage or any S3 API) for ports.Blobs: the cloud
// deployments' blob store, chosen with --blob-store s3://bucket[/prefix].
// A blob is the object <prefix>/sha256/<hex>.
package s3blobs

import (
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 is the transfer check S3 APIs all verify, not a name
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/polar-gosling/polar-gosling/adapters/blobs"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Config is what the store needs.
type Config struct {
	// Client talks to the bucket; NewClient builds one from a URL.
	Client *s3.Client
	Bucket string
	// Prefix is the folder of the blobs in the bucket ("" = its root).
	Prefix string
	// TempDir is where Put stages the bytes it reads before anything is
	// uploaded; "" is the system's temporary folder.
	TempDir string
}

// Store is a blob store in a bucket.
type Store struct{ cfg Config }

var _ ports.Blobs = (*Store)(nil)

// New returns the store of cfg; it makes no call (Check does).
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errs.Errorf(errs.EINVALID, "s3 blobs: nil client")
	}
	if !bucketRe.MatchString(cfg.Bucket) {
		return nil, errs.Errorf(errs.EINVALID, "s3 blobs: %q is no bucket name", cfg.Bucket)
	}
	return &Store{cfg: cfg}, nil
}

// Key is the object a blob is stored as.
func (s *Store) Key(sha256hex string) string {
	if s.cfg.Prefix == "" {
		return "sha256/" + sha256hex
	}
	return s.cfg.Prefix + "/sha256/" + sha256hex
}

// Check asks whether the bucket is there and these credentials may read it.
func (s *Store) Check(ctx context.Context) error {
	if _, err := s.cfg.Client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.cfg.Bucket)}); err != nil {
		err = classify(err, "check the bucket %s", s.cfg.Bucket)
		if errs.Code(err) == errs.ENOTFOUND {
			return errs.Wrap(errs.EINVALID, err, "the bucket %s does not exist", s.cfg.Bucket)
		}
		return err
	}
	return nil
}

// Put implements ports.Blobs. The bytes are staged in a temporary file,
// hashed and counted as they are written, and uploaded only once their
// SHA-256 is the one given and they are within the limit: a refused body
// never reaches the bucket, so nothing is stored, not even for a moment.
// The upload carries Content-MD5, which S3 and Yandex Object Storage both
// check against what they received (x-amz-checksum-sha256 would say the
// same, but S3-compatible stores do not all know it), and the SHA-256 as
// the metadata sha256 for people.
func (s *Store) Put(ctx context.Context, sha256hex string, r io.Reader, limit int64) (int64, error) {
	if err := blobs.CheckSHA256(sha256hex); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(s.cfg.TempDir, "s3blob-put-*")
	if err != nil {
		return 0, errs.Wrap(errs.EUNAVAILABLE, err, "s3 blobs: temporary file")
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	h, m := sha256.New(), md5.New()
	n, err := blobs.CopyBounded(ctx, io.MultiWriter(tmp, h, m), r, limit)
	if err != nil {
		return n, err
	}
	sum := h.Sum(nil)
	if got := hex.EncodeToString(sum); got != sha256hex {
		return n, errs.Errorf(errs.EINVALID, "SHA-256 mismatch: the %d bytes read have SHA-256 %s, not the %s given; nothing was stored", n, got, sha256hex)
	}
	// A blob already stored is kept: its name is its content. Without
	// s3:ListBucket, S3 answers HeadObject of a missing key with 403, not
	// 404; the upload may still be allowed, so a refusal here is left for
	// PutObject to confirm.
	ok, err := s.Has(ctx, sha256hex)
	switch {
	case err != nil && errs.Code(err) != errs.EUNAUTHORIZED:
		return n, err
	case ok:
		return n, nil
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return n, errs.Wrap(errs.EUNAVAILABLE, err, "s3 blobs: rewind the temporary file")
	}
	_, err = s.cfg.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           aws.String(s.Key(sha256hex)),
		Body:          tmp,
		ContentLength: aws.Int64(n),
		ContentType:   aws.String("application/octet-stream"),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(m.Sum(nil))),
		Metadata:      map[string]string{"sha256": sha256hex},
	})
	if err != nil {
		return n, classify(err, "upload blob %s to s3://%s/%s", sha256hex, s.cfg.Bucket, s.Key(sha256hex))
	}
	return n, nil
}

// Has implements ports.Blobs.
func (s *Store) Has(ctx context.Context, sha256hex string) (bool, error) {
	if err := blobs.CheckSHA256(sha256hex); err != nil {
		return false, err
	}
	_, err := s.head(ctx, sha256hex)
	switch errs.Code(err) {
	case "":
		return true, nil
	case errs.ENOTFOUND:
		return false, nil
	}
	return false, err
}

func (s *Store) head(ctx context.Context, sha256hex string) (ports.BlobInfo, error) {
	out, err := s.cfg.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(s.Key(sha256hex))})
	if err != nil {
		return ports.BlobInfo{}, classify(err, "blob %s in s3://%s/%s", sha256hex, s.cfg.Bucket, s.Key(sha256hex))
	}
	info := ports.BlobInfo{Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}
	if info.ModTime.IsZero() {
		info.ModTime = time.Unix(0, 0).UTC()
	}
	return info, nil
}

// Open implements ports.Blobs. The object's size and time come from one
// HeadObject; its bytes are read by ranged GetObject calls (see object)
// within ctx, which must last as long as the reading.
func (s *Store) Open(ctx context.Context, sha256hex string) (io.ReadSeekCloser, ports.BlobInfo, error) {
	if err := blobs.CheckSHA256(sha256hex); err != nil {
		return nil, ports.BlobInfo{}, err
	}
	info, err := s.head(ctx, sha256hex)
	if errs.Code(err) == errs.ENOTFOUND {
		return nil, ports.BlobInfo{}, errs.Wrap(errs.ENOTFOUND, err, "blob %s is not stored", sha256hex)
	}
	if err != nil {
		return nil, ports.BlobInfo{}, err
	}
	return &object{ctx: ctx, client: s.cfg.Client, bucket: s.cfg.Bucket, key: s.Key(sha256hex), size: info.Size}, info, nil
}
