package awssm

import (
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Scheme is the URI scheme this backend resolves.
const Scheme = "aws-sm"

// DefaultTimeout bounds a call to the service when Config.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// Config configures the backend; the zero value uses the SDK's default
// configuration (see the package documentation).
type Config struct {
	// Region is used when the resolution's scope names no AWS region; ""
	// leaves it to the SDK's default configuration (AWS_REGION, the shared
	// config file's profile).
	Region string
	// BaseEndpoint replaces the region's endpoint ("http://127.0.0.1:port"
	// for a fake, a VPC endpoint); "" leaves it to the SDK, which honours
	// AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL.
	BaseEndpoint string
	// Credentials replaces the default credential chain when not nil.
	Credentials aws.CredentialsProvider
	// Timeout bounds each call to the service, retries included (default
	// DefaultTimeout).
	Timeout time.Duration
}

// ConfigFromEnv reads the standard AWS environment through getenv (see
// the package documentation for the variables). An endpoint that is not an
// http(s) URL is EINVALID.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Region:       firstSet(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"),
		BaseEndpoint: firstSet(getenv, "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"),
	}
	if c.BaseEndpoint != "" {
		if u, err := url.Parse(c.BaseEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, errs.Errorf(errs.EINVALID, "aws-sm: the Secrets Manager endpoint %q is not an http(s) URL", c.BaseEndpoint)
		}
	}
	if id, key := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && key != "" {
		c.Credentials = credentials.NewStaticCredentialsProvider(id, key, getenv("AWS_SESSION_TOKEN"))
	}
	return c, nil
}

func firstSet(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}
