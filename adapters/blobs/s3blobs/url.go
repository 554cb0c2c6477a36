package s3blobs

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// URLSettings is what a blob store URL says.
type URLSettings struct {
	Bucket string
	// Prefix is the folder of the blobs in the bucket, without slashes at
	// its ends; "" keeps them at the bucket's root (sha256/<hex>).
	Prefix string
	Region string
	// Endpoint overrides the AWS endpoint (Yandex Object Storage, a local
	// S3); empty means AWS.
	Endpoint string
	// PathStyle addresses the bucket in the path (ENDPOINT/bucket/key)
	// instead of the host name (bucket.ENDPOINT/key): what a local S3 on
	// 127.0.0.1 needs.
	PathStyle bool
}

// Bounds and alphabets of the URL's parts: S3's bucket naming rules
// (lower-case letters, digits, dots and hyphens, 3 to 63) and a prefix of
// plain path segments, so that no key can climb out of it.
var (
	bucketRe        = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	prefixSegmentRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

const maxPrefixLen = 512

// ParseURL reads a blob store URL of the form
//
//	s3://bucket[/prefix]?region=R[&endpoint=URL][&path_style=true]
//
// Unknown query parameters are refused so that a typo is not silently
// ignored; every problem is reported at once.
func ParseURL(raw string) (URLSettings, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error repeats the URL, which may hold a password.
		return URLSettings{}, errs.Errorf(errs.EINVALID, "blob store url: not a URL; want s3://bucket[/prefix]?region=R")
	}
	shown := u.Redacted() // the URL as messages repeat it: without a password
	if u.Scheme != "s3" {
		return URLSettings{}, errs.Errorf(errs.EINVALID, "blob store url %q: scheme must be s3", shown)
	}
	var problems []string
	if u.User != nil || u.Port() != "" || u.Fragment != "" {
		problems = append(problems, "only s3://bucket[/prefix]?region=R[&endpoint=URL][&path_style=true] is understood")
	}
	s := URLSettings{Bucket: u.Hostname(), Prefix: strings.Trim(u.Path, "/")}
	if !bucketRe.MatchString(s.Bucket) {
		problems = append(problems, "the bucket "+strconv.Quote(s.Bucket)+" is no S3 bucket name (3 to 63 lower-case letters, digits, '.' and '-')")
	}
	if len(s.Prefix) > maxPrefixLen {
		problems = append(problems, "the prefix is longer than "+strconv.Itoa(maxPrefixLen)+" characters")
	} else if s.Prefix != "" {
		for _, seg := range strings.Split(s.Prefix, "/") {
			if !prefixSegmentRe.MatchString(seg) || seg == "." || seg == ".." {
				problems = append(problems, "the prefix "+strconv.Quote(s.Prefix)+" may only hold folders of letters, digits, '.', '_' and '-' (no empty, . or .. folder)")
				break
			}
		}
	}
	q := u.Query()
	for k, v := range q {
		switch {
		case k != "region" && k != "endpoint" && k != "path_style":
			problems = append(problems, "unknown parameter "+strconv.Quote(k))
		case len(v) != 1:
			problems = append(problems, "parameter "+strconv.Quote(k)+" given "+strconv.Itoa(len(v))+" times")
		}
	}
	s.Region, s.Endpoint = q.Get("region"), q.Get("endpoint")
	if s.Endpoint != "" {
		e, err := url.Parse(s.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			problems = append(problems, "endpoint must be an http(s) URL such as https://storage.yandexcloud.net")
		}
	}
	if v := q.Get("path_style"); v != "" {
		if s.PathStyle, err = strconv.ParseBool(v); err != nil {
			problems = append(problems, "path_style "+strconv.Quote(v)+" is no boolean")
		}
	}
	if len(problems) > 0 {
		return URLSettings{}, errs.Errorf(errs.EINVALID, "blob store url %q: %s", shown, strings.Join(problems, "; "))
	}
	return s, nil
}

// NewClient builds a client for the blob store URL with the default AWS
// configuration chain (env, shared config and credentials files, instance
// role). Unlike DynamoDB Local's, no dummy credentials are put in for an
// endpoint: Yandex Object Storage is an endpoint too, and its static keys
// come from the same chain (AWS_ACCESS_KEY_ID, ~/.aws/credentials).
func NewClient(ctx context.Context, raw string) (*s3.Client, URLSettings, error) {
	s, err := ParseURL(raw)
	if err != nil {
		return nil, URLSettings{}, err
	}
	var opts []func(*awsconfig.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, awsconfig.WithRegion(s.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, URLSettings{}, errs.Wrap(errs.EINVALID, err, "blob store: load AWS configuration")
	}
	if cfg.Region == "" {
		return nil, URLSettings{}, errs.Errorf(errs.EINVALID, "blob store url s3://%s: no region (add ?region=, ru-central1 for Yandex Object Storage, or set AWS_REGION)", s.Bucket)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
		}
		o.UsePathStyle = s.PathStyle
		// The SDK would add its own x-amz-checksum-crc32 to every upload
		// and ask for checksums on every download; S3-compatible stores
		// (Yandex Object Storage) do not all know these headers, and Put
		// sends Content-MD5, which they all check.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return client, s, nil
}

// Open builds the store a blob store URL names; tempDir is where Put
// stages what it reads ("": the system's temporary folder).
func Open(ctx context.Context, raw, tempDir string) (*Store, error) {
	client, s, err := NewClient(ctx, raw)
	if err != nil {
		return nil, err
	}
	return New(Config{Client: client, Bucket: s.Bucket, Prefix: s.Prefix, TempDir: tempDir})
}
