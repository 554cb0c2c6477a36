package awssm

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Retries: two attempts, at most maxBackoff apart, so that a backend that
// is down fails in well under the timeout; the cache in front of the
// backend serves a stale value meanwhile.
const (
	maxAttempts = 2
	maxBackoff  = 250 * time.Millisecond
)

// Backend resolves and writes aws-sm:// secrets.
type Backend struct {
	base          aws.Config
	creds         *aws.CredentialsCache // kept to invalidate on ExpiredTokenException
	defaultRegion string
	endpoint      string
	timeout       time.Duration

	mu      sync.Mutex
	clients map[string]*secretsmanager.Client // by region, made on first use
}

var (
	_ ports.Secrets      = (*Backend)(nil)
	_ ports.SecretWriter = (*Backend)(nil)
)

// New loads the SDK's default configuration with c's settings over it.
// Nothing is fetched yet: credentials are retrieved on the first call.
func New(ctx context.Context, c Config) (*Backend, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(newRetryer),
	}
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	if c.Credentials != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(c.Credentials))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		// The SDK's text names a profile or a file, not a secret value.
		return nil, errs.Wrap(errs.EINVALID, err, "aws-sm: load the AWS configuration")
	}
	b := &Backend{
		base:          cfg,
		defaultRegion: cfg.Region,
		endpoint:      c.BaseEndpoint,
		timeout:       c.Timeout,
		clients:       map[string]*secretsmanager.Client{},
	}
	if b.timeout <= 0 {
		b.timeout = DefaultTimeout
	}
	if cfg.Credentials != nil {
		cache, ok := cfg.Credentials.(*aws.CredentialsCache)
		if !ok {
			cache = aws.NewCredentialsCache(cfg.Credentials)
		}
		b.creds = cache
		b.base.Credentials = markedCredentials{cache: cache}
	}
	return b, nil
}

func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = maxBackoff
		// The SDK's retry quota would turn errors into "retry quota
		// exceeded" after a burst of failures; two attempts are bound
		// enough.
		o.RateLimiter = ratelimit.None
	})
}

// client returns the client of region, made on first use and kept.
func (b *Backend) client(region string) *secretsmanager.Client {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.clients[region]; c != nil {
		return c
	}
	c := secretsmanager.NewFromConfig(b.base, func(o *secretsmanager.Options) {
		o.Region = region
		if b.endpoint != "" {
			o.BaseEndpoint = aws.String(b.endpoint)
		}
		// AWS_MAX_ATTEMPTS and AWS_RETRY_MODE must not lengthen the bound.
		o.Retryer = newRetryer()
		o.RetryMaxAttempts = 0
	})
	b.clients[region] = c
	return c
}

// call runs op against the client of the resolution's region, within the
// timeout. On ExpiredTokenException it drops the cached credentials and
// tries once more, so credentials that can be renewed are.
func call[T any](ctx context.Context, b *Backend, loc location, op func(context.Context, *secretsmanager.Client) (T, error)) (T, error) {
	var zero T
	region, err := b.region(ctx, loc)
	if err != nil {
		return zero, err
	}
	c := b.client(region)
	attempt := func() (T, error) {
		ctx, cancel := context.WithTimeout(ctx, b.timeout)
		defer cancel()
		return op(ctx, c)
	}
	out, err := attempt()
	if isExpiredToken(err) && b.creds != nil {
		b.creds.Invalidate()
		out, err = attempt()
	}
	return out, err
}
