package s3blobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/polar-gosling/polar-gosling/adapters/blobs/s3blobs"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// runID keeps bucket names unique per run, so runs against one S3 never
// see each other's objects.
var (
	runID     = time.Now().UnixNano()
	bucketSeq atomic.Uint64
)

// mustLocalS3 returns the URL of a fresh bucket in the local S3 at
// S3_ENDPOINT (scripts/fauxqs.sh), with credentials in the environment as
// the default AWS chain reads them, or skips the test (fails it on CI,
// which must run it).
func mustLocalS3(t *testing.T, prefix string) (rawURL string, client *s3.Client, bucket string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	endpoint := os.Getenv("S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("S3_ENDPOINT not set on CI; the S3 blob store tests must run there (make test starts fauxqs)")
		}
		t.Skip("S3_ENDPOINT not set; run make test, or S3_ENDPOINT=$(scripts/fauxqs.sh start) go test, to run the S3 blob store against a local S3")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	bucket = fmt.Sprintf("it-%d-%d", runID, bucketSeq.Add(1))
	rawURL = "s3://" + bucket
	if prefix != "" {
		rawURL += "/" + prefix
	}
	rawURL += "?region=us-east-1&path_style=true&endpoint=" + endpoint
	client, _, err := s3blobs.NewClient(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("client for %s: %v", endpoint, err)
	}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	return rawURL, client, bucket
}

// mustStore opens the store of rawURL as a deployment does.
func mustStore(t *testing.T, rawURL string) *s3blobs.Store {
	t.Helper()
	st, err := s3blobs.Open(context.Background(), rawURL, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// objects lists every key in bucket, sorted.
func objects(t *testing.T, client *s3.Client, bucket string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for page := 0; p.HasMorePages(); page++ {
		if page > 100 {
			t.Fatal("more than 100 pages of objects")
		}
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}
