package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/blobs/s3blobs"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// mustS3Bucket creates a fresh bucket in the local S3 at S3_ENDPOINT
// (scripts/fauxqs.sh) and returns its --blob-store URL and a client, or
// skips the test (fails it on CI, which must run it).
func mustS3Bucket(t *testing.T) (string, *s3.Client, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	endpoint := os.Getenv("S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("S3_ENDPOINT not set on CI; the S3 blob store tests must run there (make test starts fauxqs)")
		}
		t.Skip("S3_ENDPOINT not set; run make test, or S3_ENDPOINT=$(scripts/fauxqs.sh start) go test, to run --blob-store s3:// against a local S3")
	}
	// The default AWS chain reads these, as a deployment's would.
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	bucket := fmt.Sprintf("mg-%d", time.Now().UnixNano())
	raw := "s3://" + bucket + "/mothergoose?region=ru-central1&path_style=true&endpoint=" + endpoint
	client, _, err := s3blobs.NewClient(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	return raw, client, bucket
}

func bucketKeys(t *testing.T, client *s3.Client, bucket string) []string {
	t.Helper()
	out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// TestBinaries_in_an_S3_bucket_Integration: `binaries add --blob-store
// s3://...` refuses a wrong SHA-256 leaving the bucket empty, stores the
// right one as <prefix>/sha256/<hex> in the bucket (nothing in the data
// directory), and serve on the same --blob-store (from
// MOTHERGOOSE_BLOB_STORE) answers GET /v1/binaries/gosling/VERSION/OS-ARCH
// and latest with the exact bytes, a Range with the exact slice.
func TestBinaries_in_an_S3_bucket_Integration(t *testing.T) {
	ctx := context.Background()
	blobStore, client, bucket := mustS3Bucket(t)
	dataDir := t.TempDir()
	data := bytes.Repeat([]byte("\x7fELF gosling agent 0.3.0\n"), 40000)
	file := filepath.Join(t.TempDir(), "gosling")
	if err := os.WriteFile(file, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256Hex(data)
	add := func(sha string) (string, error) {
		return execute(ctx, "binaries", "add", "--data-dir", dataDir, "--blob-store", blobStore, "--kind", "gosling",
			"--version", "0.3.0", "--platform", "linux/amd64", "--file", file, "--sha256", sha, "--activate")
	}
	if _, err := add(sha256Hex([]byte("another build"))); errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), sum) {
		t.Fatalf("add with a wrong SHA-256: %v, want EINVALID naming %s", err, sum)
	}
	if keys := bucketKeys(t, client, bucket); len(keys) != 0 {
		t.Fatalf("a refused add left %v in the bucket", keys)
	}
	if evs := binaryEvents(t, dataDir); evs != "" {
		t.Fatalf("a refused add left events:\n%s", evs)
	}
	if out, err := add(sum); err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if keys := bucketKeys(t, client, bucket); !slices.Equal(keys, []string{"mothergoose/sha256/" + sum}) {
		t.Fatalf("bucket holds %v, want the one blob", keys)
	}
	if left := storedBlobs(t, dataDir); len(left) != 0 {
		t.Fatalf("the data directory holds blobs %v: they belong in the bucket", left)
	}

	t.Setenv("MOTHERGOOSE_BLOB_STORE", blobStore)
	cfg := parseServeConfig(t, "--data-dir", dataDir)
	if cfg.BlobStore != blobStore {
		t.Fatalf("MOTHERGOOSE_BLOB_STORE read as %q", cfg.BlobStore)
	}
	m, _ := mustServe(ctx, t, cfg)
	get := func(path, rng string) (int, []byte, http.Header) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.Addr()+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b, resp.Header
	}
	waitFor(ctx, t, "the binary served", func() bool {
		status, _, _ := get("/v1/binaries/gosling/0.3.0/linux-amd64", "")
		return status == http.StatusOK
	})
	for _, version := range []string{"0.3.0", "latest"} {
		status, b, h := get("/v1/binaries/gosling/"+version+"/linux-amd64", "")
		if status != http.StatusOK || !bytes.Equal(b, data) || h.Get("ETag") != `"`+sum+`"` {
			t.Fatalf("%s: %d, %d bytes, ETag %s; want 200, the %d bytes added, ETag %q", version, status, len(b), h.Get("ETag"), len(data), sum)
		}
	}
	status, b, h := get("/v1/binaries/gosling/0.3.0/linux-amd64", "bytes=1000-1999")
	if status != http.StatusPartialContent || !bytes.Equal(b, data[1000:2000]) || h.Get("Content-Range") != fmt.Sprintf("bytes 1000-1999/%d", len(data)) {
		t.Fatalf("range: %d %q, %d bytes; want 206 and bytes 1000-1999", status, h.Get("Content-Range"), len(b))
	}
}

// parseServeConfig is the configuration serve would run with on args (and
// the environment), with a free port and tokens.
func parseServeConfig(t *testing.T, args ...string) Config {
	t.Helper()
	root := &cobra.Command{Use: "mothergoose"}
	cfg := defaultConfig()
	bindSharedFlags(root, &cfg)
	if err := root.PersistentFlags().Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.APIToken, cfg.TriggerToken = "127.0.0.1:0", "test-api-token", "test-trigger-token"
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestBlobStore_flag_is_checked_before_anything_runs: a --blob-store
// that is no s3:// URL this understands is a usage error (exit 2) naming
// the problem, for serve's and binaries' subcommands alike, and a
// password in it is not repeated.
func TestBlobStore_flag_is_checked_before_anything_runs(t *testing.T) {
	for _, tc := range []struct {
		name, url, says string
	}{
		{"other_scheme", "gs://binaries", "scheme must be s3"},
		{"bad_bucket", "s3://Binaries?region=ru-central1", "no S3 bucket name"},
		{"unknown_parameter", "s3://binaries?region=ru-central1&style=path", `unknown parameter "style"`},
		{"credentials_in_the_url", "s3://key:hunter2@binaries?region=ru-central1", "only s3://bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := t.TempDir()
			_, err := execute(context.Background(), "binaries", "list", "--data-dir", dataDir, "--blob-store", tc.url)
			if exitCode(err) != 2 || !strings.Contains(err.Error(), "--blob-store") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("%v (exit %d), want a usage error saying %q", err, exitCode(err), tc.says)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error repeats the URL's password: %v", err)
			}
		})
	}
}
