// Package dynamodb keeps the event log and the read views in Amazon DynamoDB
// (aws-sdk-go-v2). EventStore implements ports.EventStore, ViewStore
// implements ports.ViewStore; Migrate creates their tables. README.md in this
// folder explains the table design and why the log is gap-free.
package dynamodb

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Config is what both stores need.
type Config struct {
	// Client talks to DynamoDB; NewClient builds one from a store URL.
	Client *dynamodb.Client
	// TablePrefix is prepended to every table name ("gosling_" gives
	// "gosling_events", "gosling_runners", ...), so several installations
	// can share one account and region.
	TablePrefix string
	// Now is the clock that stamps RecordedAt; nil means time.Now.
	Now func() time.Time
	// Views are the read views (default ports.DefaultViews()).
	Views *ports.ViewSet
	// Logger gets what Migrate did: schema steps, views rebuilt (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) views() *ports.ViewSet {
	if c.Views != nil {
		return c.Views
	}
	return ports.DefaultViews()
}

func (c Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// tablePrefixPattern keeps prefix+name within DynamoDB's table name alphabet.
var tablePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,200}$`)

func (c Config) validate(what string) error {
	if c.Client == nil {
		return errs.Errorf(errs.EINVALID, "dynamodb %s: nil client", what)
	}
	return validatePrefix(c.TablePrefix)
}

func validatePrefix(prefix string) error {
	if !tablePrefixPattern.MatchString(prefix) {
		return errs.Errorf(errs.EINVALID, "dynamodb: table prefix %q may only hold letters, digits, '_', '-' and '.' (at most 200)", prefix)
	}
	return nil
}

func (c Config) clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}

// Table names, without the prefix.
const (
	eventsTable      = "events"
	checkpointsTable = "checkpoints"
)

// TableNames lists every table Migrate creates for prefix and the default views.
func TableNames(prefix string) []string { return Config{TablePrefix: prefix}.TableNames() }

// TableNames lists every table Migrate creates for c.
func (c Config) TableNames() []string {
	names := []string{c.TablePrefix + eventsTable, c.TablePrefix + checkpointsTable, c.TablePrefix + lastSeenTable}
	for _, v := range c.views().All() {
		names = append(names, c.TablePrefix+v.Name())
	}
	return names
}

// URLSettings is what a store URL says.
type URLSettings struct {
	TablePrefix string
	Region      string
	// Endpoint overrides the AWS endpoint (DynamoDB Local); empty means AWS.
	Endpoint string
}

// ParseURL reads a store URL of the form
//
//	dynamodb://prefix?region=eu-central-1&endpoint=http://127.0.0.1:8000
//
// The host part is the table prefix and may be empty ("dynamodb://?region=...").
// Unknown query parameters are refused so that a typo is not silently ignored.
func ParseURL(raw string) (URLSettings, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return URLSettings{}, errs.Wrap(errs.EINVALID, err, "dynamodb url")
	}
	if u.Scheme != "dynamodb" {
		return URLSettings{}, errs.Errorf(errs.EINVALID, "dynamodb url %q: scheme must be dynamodb", raw)
	}
	if u.User != nil || u.Port() != "" || strings.Trim(u.Path, "/") != "" || u.Fragment != "" {
		return URLSettings{}, errs.Errorf(errs.EINVALID, "dynamodb url %q: only dynamodb://prefix?region=...&endpoint=... is understood", raw)
	}
	q := u.Query()
	for k, v := range q {
		if k != "region" && k != "endpoint" {
			return URLSettings{}, errs.Errorf(errs.EINVALID, "dynamodb url %q: unknown parameter %q", raw, k)
		}
		if len(v) != 1 {
			return URLSettings{}, errs.Errorf(errs.EINVALID, "dynamodb url %q: parameter %q given %d times", raw, k, len(v))
		}
	}
	s := URLSettings{TablePrefix: u.Hostname(), Region: q.Get("region"), Endpoint: q.Get("endpoint")}
	if err := validatePrefix(s.TablePrefix); err != nil {
		return URLSettings{}, err
	}
	if s.Endpoint != "" {
		e, err := url.Parse(s.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return URLSettings{}, errs.Errorf(errs.EINVALID, "dynamodb url %q: endpoint must be an http(s) URL", raw)
		}
	}
	return s, nil
}

// localRegion is the region used against an endpoint when none is given;
// DynamoDB Local accepts any region but keeps one database per region.
const localRegion = "us-east-1"

// NewClient builds a client for the store URL with the default AWS
// configuration chain (env, shared config, instance role). With an endpoint
// and no credentials in the environment it signs with static dummy
// credentials, which is what DynamoDB Local expects.
func NewClient(ctx context.Context, rawURL string) (*dynamodb.Client, URLSettings, error) {
	s, err := ParseURL(rawURL)
	if err != nil {
		return nil, URLSettings{}, err
	}
	var opts []func(*awsconfig.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, awsconfig.WithRegion(s.Region))
	}
	if s.Endpoint != "" {
		opts = append(opts, awsconfig.WithDefaultRegion(localRegion))
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
			opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, URLSettings{}, errs.Wrap(errs.EINVALID, err, "dynamodb: load AWS configuration")
	}
	if cfg.Region == "" {
		return nil, URLSettings{}, errs.Errorf(errs.EINVALID, "dynamodb url %q: no region (add ?region= or set AWS_REGION)", rawURL)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
			// DynamoDB Local sends no X-Amz-Crc32 header on error responses,
			// which the SDK would log as a checksum mismatch on every failed
			// condition; a local endpoint gains nothing from the check.
			o.DisableValidateResponseChecksum = true
		}
	})
	return client, s, nil
}
