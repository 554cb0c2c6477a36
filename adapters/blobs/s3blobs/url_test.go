package s3blobs_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/blobs/s3blobs"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want s3blobs.URLSettings
	}{
		{"aws_bucket", "s3://gosling-binaries?region=eu-central-1", s3blobs.URLSettings{Bucket: "gosling-binaries", Region: "eu-central-1"}},
		{"yandex_with_prefix", "s3://gosling-binaries/prod/blobs/?region=ru-central1&endpoint=https://storage.yandexcloud.net",
			s3blobs.URLSettings{Bucket: "gosling-binaries", Prefix: "prod/blobs", Region: "ru-central1", Endpoint: "https://storage.yandexcloud.net"}},
		{"local_path_style", "s3://bkt?endpoint=http://127.0.0.1:4566&path_style=true",
			s3blobs.URLSettings{Bucket: "bkt", Endpoint: "http://127.0.0.1:4566", PathStyle: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s3blobs.ParseURL(tc.raw)
			if err != nil || got != tc.want {
				t.Fatalf("%+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseURL_refuses(t *testing.T) {
	for _, tc := range []struct {
		name, raw, says string
	}{
		{"other_scheme", "gs://bkt", "scheme must be s3"},
		{"no_bucket", "s3:///prefix?region=r", "no S3 bucket name"},
		{"upper_case_bucket", "s3://Binaries?region=r", "no S3 bucket name"},
		{"dot_dot_prefix", "s3://bkt/a/../b?region=r", "no empty, . or .. folder"},
		{"unknown_parameter", "s3://bkt?region=r&pathstyle=true", `unknown parameter "pathstyle"`},
		{"twice", "s3://bkt?region=r&region=s", `parameter "region" given 2 times`},
		{"endpoint_not_http", "s3://bkt?region=r&endpoint=storage.yandexcloud.net", "endpoint must be an http(s) URL"},
		{"path_style_not_bool", "s3://bkt?region=r&path_style=maybe", `path_style "maybe" is no boolean`},
		{"credentials_in_url", "s3://key:secret@bkt?region=r", "only s3://bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s3blobs.ParseURL(tc.raw)
			if errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("%v, want EINVALID saying %q", err, tc.says)
			}
			if strings.Contains(err.Error(), "secret") && tc.name == "credentials_in_url" {
				t.Errorf("the error repeats the URL's credentials: %v", err)
			}
		})
	}
}

func TestNewClient_needs_a_region(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	_, _, err := s3blobs.NewClient(context.Background(), "s3://bkt?endpoint=http://127.0.0.1:1")
	if errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), "no region") {
		t.Fatalf("%v, want EINVALID saying no region", err)
	}
}

// TestStore_codes_errors: what an S3 endpoint answers becomes a coded
// error. The refusals are those S3 documents (an XML Error body with its
// Code, https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
// a fake answers them because the local S3 checks no credentials.
func TestStore_codes_errors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		code   string
		want   string
	}{
		{"access_denied", 403, "AccessDenied", errs.EUNAUTHORIZED},
		{"bad_key", 403, "InvalidAccessKeyId", errs.EUNAUTHORIZED},
		{"no_such_bucket", 404, "NoSuchBucket", errs.EINVALID},
		{"slow_down", 503, "SlowDown", errs.EUNAVAILABLE},
		{"internal", 500, "InternalError", errs.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = r.Body.Read(make([]byte, 1<<10))
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tc.status)
				if r.Method != http.MethodHead {
					_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + tc.code + `</Code><Message>refused</Message><RequestId>1</RequestId></Error>`))
				}
			}))
			defer srv.Close()
			t.Setenv("AWS_ACCESS_KEY_ID", "test")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			// No retries: SlowDown and 5xx would otherwise be retried with backoff.
			t.Setenv("AWS_MAX_ATTEMPTS", "1")
			st, err := s3blobs.Open(context.Background(), "s3://bkt?region=us-east-1&path_style=true&endpoint="+srv.URL, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			data := []byte("x")
			// Put's HeadObject gets the bare status (HEAD has no body), its
			// PutObject the documented code.
			_, err = st.Put(context.Background(), sum(data), bytes.NewReader(data), 0)
			// (HeadObject's bare 404 is "no such object": Has says false,
			// and PutObject then says NoSuchBucket.)
			if errs.Code(err) != tc.want {
				t.Fatalf("put: %v, want %s", err, tc.want)
			}
		})
	}
}

// TestStore_put_sends_content_md5_and_no_sdk_checksums: the upload
// carries Content-MD5 (what S3 and Yandex Object Storage both check on
// receipt) and the metadata sha256, and none of the SDK's x-amz-checksum
// headers, which S3-compatible stores do not all know. The local S3 keeps
// no request headers, so a recording endpoint answers here.
func TestStore_put_sends_content_md5_and_no_sdk_checksums(t *testing.T) {
	data := []byte("gosling 0.3.0")
	puts := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
		case http.MethodPut:
			select {
			case puts <- r.Header.Clone():
			default:
			}
			w.Header().Set("ETag", `"x"`)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	st, err := s3blobs.Open(context.Background(), "s3://bkt?region=us-east-1&path_style=true&endpoint="+srv.URL, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), sum(data), bytes.NewReader(data), 0); err != nil {
		t.Fatal(err)
	}
	h := <-puts
	wantMD5 := md5.Sum(data) //nolint:gosec // what S3 checks
	if got := h.Get("Content-MD5"); got != base64.StdEncoding.EncodeToString(wantMD5[:]) {
		t.Errorf("Content-MD5 %q", got)
	}
	if got := h.Get("X-Amz-Meta-Sha256"); got != sum(data) {
		t.Errorf("x-amz-meta-sha256 %q", got)
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum") || strings.EqualFold(k, "X-Amz-Trailer") {
			t.Errorf("the upload sends %s: %q", k, h.Get(k))
		}
	}
}
