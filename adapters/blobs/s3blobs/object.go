package s3blobs

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// object reads a stored blob as an io.ReadSeekCloser, which
// http.ServeContent needs for Range requests, by ranged GetObject calls:
// Seek only records the offset (and drops a body being read elsewhere);
// the next Read opens GetObject with Range bytes=OFFSET- and streams it.
//
// Why not a local cache file: reading the bucket directly keeps no state
// on the server's disk (nothing to bound, evict, verify again or lose on a
// restart), costs one request per range asked for, and a content-addressed
// object never changes, so ranges of it always agree. A request that only
// asks for HEAD or a 304 costs no GetObject at all, as nothing is read.
type object struct {
	ctx    context.Context
	client *s3.Client
	bucket string
	key    string
	size   int64

	off  int64         // where the next Read starts
	body io.ReadCloser // the open GetObject body, at off; nil when none
}

func (o *object) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF // S3 answers 416 to a range past the end; nothing to ask
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.body == nil {
		out, err := o.client.GetObject(o.ctx, &s3.GetObjectInput{
			Bucket: aws.String(o.bucket),
			Key:    aws.String(o.key),
			Range:  aws.String("bytes=" + strconv.FormatInt(o.off, 10) + "-"),
		})
		if err != nil {
			return 0, classify(err, "read s3://%s/%s from byte %d", o.bucket, o.key, o.off)
		}
		o.body = out.Body
	}
	n, err := o.body.Read(p)
	o.off += int64(n)
	switch {
	case errors.Is(err, io.EOF) && o.off < o.size:
		// The object is shorter than its HeadObject said: never for an
		// object that is its SHA-256, so the connection was cut.
		o.drop()
		return n, errs.Errorf(errs.EUNAVAILABLE, "read s3://%s/%s: the body ended at byte %d of %d", o.bucket, o.key, o.off, o.size)
	case errors.Is(err, io.EOF):
		o.drop()
		return n, io.EOF
	case err != nil:
		o.drop()
		return n, errs.Wrap(errs.EUNAVAILABLE, err, "read s3://%s/%s", o.bucket, o.key)
	}
	return n, nil
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	var at int64
	switch whence {
	case io.SeekStart:
		at = offset
	case io.SeekCurrent:
		at = o.off + offset
	case io.SeekEnd:
		at = o.size + offset
	default:
		return o.off, errs.Errorf(errs.EINVALID, "seek: whence %d", whence)
	}
	if at < 0 {
		return o.off, errs.Errorf(errs.EINVALID, "seek: offset %d is before the start", at)
	}
	if at != o.off {
		o.drop() // the next Read asks for the range at the new offset
		o.off = at
	}
	return at, nil
}

// drop closes the body being read, if any.
func (o *object) drop() {
	if o.body != nil {
		_ = o.body.Close()
		o.body = nil
	}
}

func (o *object) Close() error {
	o.drop()
	return nil
}
