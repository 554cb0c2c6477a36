package s3blobs_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// body is a few MiB of bytes that differ at every offset, so a range read
// from the wrong place cannot pass for the right one.
func body(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestStore_put_has_open_round_trip_Integration: Put stores the exact
// bytes as <prefix>/sha256/<hex> with the SHA-256 as metadata; Has and
// Open find them, with their size and time; a second Put of the same
// bytes keeps the one object.
func TestStore_put_has_open_round_trip_Integration(t *testing.T) {
	ctx := context.Background()
	rawURL, client, bucket := mustLocalS3(t, "mothergoose/blobs")
	st := mustStore(t, rawURL)
	data := body(3<<20 + 17)
	id := sum(data)
	if ok, err := st.Has(ctx, id); ok || err != nil {
		t.Fatalf("has before put: %v %v", ok, err)
	}
	before := time.Now().Add(-time.Minute)
	n, err := st.Put(ctx, id, bytes.NewReader(data), 8<<20)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("put: %d, %v", n, err)
	}
	key := "mothergoose/blobs/sha256/" + id
	if got := objects(t, client, bucket); !slices.Equal(got, []string{key}) {
		t.Fatalf("bucket holds %v, want [%s]", got, key)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if head.Metadata["sha256"] != id {
		t.Errorf("metadata %v, want sha256=%s", head.Metadata, id)
	}
	if ok, err := st.Has(ctx, id); !ok || err != nil {
		t.Fatalf("has after put: %v %v", ok, err)
	}
	f, info, err := st.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v), want the %d put", len(got), err, len(data))
	}
	if info.Size != int64(len(data)) || info.ModTime.Before(before) {
		t.Fatalf("info %+v, want size %d and a time after %s", info, len(data), before)
	}
	if n, err := st.Put(ctx, id, bytes.NewReader(data), 8<<20); err != nil || n != int64(len(data)) {
		t.Fatalf("put again: %d, %v", n, err)
	}
	if got := objects(t, client, bucket); !slices.Equal(got, []string{key}) {
		t.Fatalf("after a second put the bucket holds %v", got)
	}
}

// TestStore_refused_put_stores_nothing_Integration: a body whose SHA-256
// is another, one over the limit, and a name that is no SHA-256 are
// refused with EINVALID before anything reaches the bucket.
func TestStore_refused_put_stores_nothing_Integration(t *testing.T) {
	ctx := context.Background()
	rawURL, client, bucket := mustLocalS3(t, "")
	st := mustStore(t, rawURL)
	data := []byte("the real gosling binary")
	for _, tc := range []struct {
		name  string
		id    string
		limit int64
		says  string
	}{
		{"wrong_sha256", sum([]byte("another binary")), 0, sum(data)},
		{"over_the_limit", sum(data), 4, "larger than 4 bytes"},
		{"not_a_sha256", "../../etc/passwd", 0, "not 64 lower-case hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Put(ctx, tc.id, bytes.NewReader(data), tc.limit)
			if errs.Code(err) != errs.EINVALID || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("put: %v, want EINVALID saying %q", err, tc.says)
			}
			if got := objects(t, client, bucket); len(got) != 0 {
				t.Fatalf("a refused put left %v in the bucket", got)
			}
			if _, _, err := st.Open(ctx, sum(data)); errs.Code(err) != errs.ENOTFOUND {
				t.Fatalf("open after a refused put: %v, want ENOTFOUND", err)
			}
		})
	}
}

// TestStore_missing_blob_is_not_found_Integration: Open of a blob never
// stored is ENOTFOUND, Has says false.
func TestStore_missing_blob_is_not_found_Integration(t *testing.T) {
	ctx := context.Background()
	rawURL, _, _ := mustLocalS3(t, "p")
	st := mustStore(t, rawURL)
	id := sum([]byte("never stored"))
	if _, _, err := st.Open(ctx, id); errs.Code(err) != errs.ENOTFOUND || !strings.Contains(err.Error(), id) {
		t.Fatalf("open: %v, want ENOTFOUND naming %s", err, id)
	}
	if ok, err := st.Has(ctx, id); ok || err != nil {
		t.Fatalf("has: %v %v, want false", ok, err)
	}
}

// TestStore_a_missing_bucket_is_a_configuration_error_Integration: Put
// and Check against a bucket that does not exist say EINVALID.
func TestStore_a_missing_bucket_is_a_configuration_error_Integration(t *testing.T) {
	ctx := context.Background()
	rawURL, _, bucket := mustLocalS3(t, "")
	st := mustStore(t, strings.Replace(rawURL, bucket, bucket+"-absent", 1))
	data := []byte("x")
	if _, err := st.Put(ctx, sum(data), bytes.NewReader(data), 0); errs.Code(err) != errs.EINVALID {
		t.Fatalf("put into a missing bucket: %v, want EINVALID", err)
	}
	if err := st.Check(ctx); errs.Code(err) != errs.EINVALID {
		t.Fatalf("check a missing bucket: %v, want EINVALID", err)
	}
	if err := mustStore(t, rawURL).Check(ctx); err != nil {
		t.Fatalf("check the bucket: %v", err)
	}
}

// TestStore_serves_ranges_through_ServeContent_Integration: what Open
// returns behind http.ServeContent answers a whole GET (200), a range
// (206, the exact slice), a suffix range and two ranges at once
// (multipart), each from the bucket; seeking back and forth reads the
// right bytes.
func TestStore_serves_ranges_through_ServeContent_Integration(t *testing.T) {
	ctx := context.Background()
	rawURL, _, _ := mustLocalS3(t, "")
	st := mustStore(t, rawURL)
	data := body(1<<20 + 5)
	id := sum(data)
	if _, err := st.Put(ctx, id, bytes.NewReader(data), 0); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, info, err := st.Open(r.Context(), id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", info.ModTime, f)
	}))
	defer srv.Close()
	get := func(t *testing.T, rng string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
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
		return resp, b
	}
	t.Run("whole", func(t *testing.T) {
		resp, b := get(t, "")
		if resp.StatusCode != 200 || !bytes.Equal(b, data) {
			t.Fatalf("%d, %d bytes, want 200 and the %d stored", resp.StatusCode, len(b), len(data))
		}
	})
	t.Run("range", func(t *testing.T) {
		resp, b := get(t, "bytes=100000-299999")
		if resp.StatusCode != 206 || !bytes.Equal(b, data[100000:300000]) || resp.Header.Get("Content-Range") != "bytes 100000-299999/1048581" {
			t.Fatalf("%d %q, %d bytes, want 206 and bytes 100000-299999", resp.StatusCode, resp.Header.Get("Content-Range"), len(b))
		}
	})
	t.Run("suffix", func(t *testing.T) {
		resp, b := get(t, "bytes=-10")
		if resp.StatusCode != 206 || !bytes.Equal(b, data[len(data)-10:]) {
			t.Fatalf("%d, %x, want 206 and the last 10 bytes", resp.StatusCode, b)
		}
	})
	t.Run("two_ranges", func(t *testing.T) {
		resp, b := get(t, "bytes=0-9,500000-500009")
		if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") ||
			!bytes.Contains(b, data[0:10]) || !bytes.Contains(b, data[500000:500010]) {
			t.Fatalf("%d %q, want 206 multipart with both slices", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("past_the_end", func(t *testing.T) {
		resp, _ := get(t, "bytes=2000000-")
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("%d, want 416", resp.StatusCode)
		}
	})
	t.Run("seek_back_and_forth", func(t *testing.T) {
		f, _, err := st.Open(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, at := range []int64{700000, 3, 1048570, 0} {
			if got, err := f.Seek(at, io.SeekStart); err != nil || got != at {
				t.Fatalf("seek %d: %d, %v", at, got, err)
			}
			buf := make([]byte, 11)
			n, err := io.ReadFull(f, buf)
			want := data[at:min(at+11, int64(len(data)))]
			if !bytes.Equal(buf[:n], want) || (err != nil && n != len(want)) {
				t.Fatalf("at %d read %x (%v), want %x", at, buf[:n], err, want)
			}
		}
		if end, err := f.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
			t.Fatalf("seek to the end: %d, %v", end, err)
		}
		if n, err := f.Read(make([]byte, 4)); n != 0 || err != io.EOF {
			t.Fatalf("read at the end: %d, %v, want io.EOF", n, err)
		}
	})
}
