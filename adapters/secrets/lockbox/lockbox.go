package lockbox

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	lockboxpb "github.com/yandex-cloud/go-genproto/yandex/cloud/lockbox/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Default endpoints of Yandex Cloud
// (https://yandex.cloud/en/docs/api-design-guide/concepts/endpoints).
const (
	DefaultPayloadEndpoint = "payload.lockbox.api.cloud.yandex.net:443"
	DefaultEndpoint        = "lockbox.api.cloud.yandex.net:443"
	DefaultIAMEndpoint     = "iam.api.cloud.yandex.net:443"
	DefaultTimeout         = 5 * time.Second
)

// Config configures a Backend; the zero value reads Lockbox in Yandex
// Cloud with the IAM token of the VM's service account. See the package
// documentation for the environment variable of each field.
type Config struct {
	// ServiceAccountKeyFile is the path of a service account's authorized
	// key JSON; its IAM tokens are obtained at IAMEndpoint.
	ServiceAccountKeyFile string
	// IAMToken is a static IAM token (development); it is never renewed.
	IAMToken string
	// MetadataURL is the metadata service's base URL (DefaultMetadataURL),
	// used when neither ServiceAccountKeyFile nor IAMToken is set.
	MetadataURL string

	// FolderID is the folder holding the secrets a URI names by name
	// rather than by ID (see the package documentation); without it only
	// secret IDs resolve.
	FolderID string

	PayloadEndpoint string // PayloadService, host:port (DefaultPayloadEndpoint)
	Endpoint        string // SecretService, host:port (DefaultEndpoint)
	IAMEndpoint     string // IamTokenService, host:port (DefaultIAMEndpoint)

	// Timeout bounds each call to Lockbox, the IAM service or the metadata
	// service (DefaultTimeout).
	Timeout time.Duration
	// Now is the clock tokens are renewed by (time.Now).
	Now func() time.Time
	// Tokens, when set, replaces the three token sources above (tests).
	Tokens TokenSource
}

// Backend resolves and writes yc-lockbox:// URIs. It caches IAM tokens and
// connections, never secret values, and is safe for concurrent use.
type Backend struct {
	timeout  time.Duration
	folderID string
	names    nameCache // names.go
	payload  lockboxpb.PayloadServiceClient
	secrets  lockboxpb.SecretServiceClient
	tokens   *tokenCache
	conns    []*grpc.ClientConn
}

var (
	_ ports.Secrets      = (*Backend)(nil)
	_ ports.SecretWriter = (*Backend)(nil)
)

// New checks cfg and returns a Backend. It reads the key file but makes no
// network call: connections are made by the first calls.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg = withDefaults(cfg)
	if cfg.ServiceAccountKeyFile != "" && cfg.IAMToken != "" {
		return nil, errs.Errorf(errs.EINVALID, "lockbox: set a service account key file (%s) or an IAM token (%s), not both", EnvServiceAccountKeyFile, EnvIAMToken)
	}
	b := &Backend{timeout: cfg.Timeout, folderID: cfg.FolderID}
	conns := map[string]*grpc.ClientConn{}
	connect := func(endpoint string) (*grpc.ClientConn, error) {
		if c, ok := conns[endpoint]; ok {
			return c, nil
		}
		c, err := dial(endpoint, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		conns[endpoint] = c
		b.conns = append(b.conns, c)
		return c, nil
	}
	src, err := tokenSource(cfg, connect)
	if err == nil {
		var pc, sc *grpc.ClientConn
		if pc, err = connect(cfg.PayloadEndpoint); err == nil {
			if sc, err = connect(cfg.Endpoint); err == nil {
				b.payload = lockboxpb.NewPayloadServiceClient(pc)
				b.secrets = lockboxpb.NewSecretServiceClient(sc)
			}
		}
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	b.tokens = newTokenCache(src, cfg.Now)
	return b, nil
}

func withDefaults(cfg Config) Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.PayloadEndpoint, DefaultPayloadEndpoint)
	def(&cfg.Endpoint, DefaultEndpoint)
	def(&cfg.IAMEndpoint, DefaultIAMEndpoint)
	def(&cfg.MetadataURL, DefaultMetadataURL)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// tokenSource picks the source of IAM tokens cfg names.
func tokenSource(cfg Config, connect func(string) (*grpc.ClientConn, error)) (TokenSource, error) {
	switch {
	case cfg.Tokens != nil:
		return cfg.Tokens, nil
	case cfg.ServiceAccountKeyFile != "":
		key, rsaKey, err := readServiceAccountKey(cfg.ServiceAccountKeyFile)
		if err != nil {
			return nil, err
		}
		conn, err := connect(cfg.IAMEndpoint)
		if err != nil {
			return nil, err
		}
		return &keyFileSource{key: key, rsaKey: rsaKey, iam: iampb.NewIamTokenServiceClient(conn), now: cfg.Now, timeout: cfg.Timeout}, nil
	case cfg.IAMToken != "":
		return StaticToken(cfg.IAMToken), nil
	default:
		return newMetadataSource(cfg.MetadataURL, cfg.Timeout, cfg.Now), nil
	}
}

// Close closes the connections.
func (b *Backend) Close() error {
	var all []error
	for _, c := range b.conns {
		all = append(all, c.Close())
	}
	b.conns = nil
	return errors.Join(all...)
}

// Resolve returns the value of the URI's key in the current version of the
// secret: by PayloadService/Get for a secret ID, by PayloadService/GetEx
// with the folder and name for a named secret.
func (b *Backend) Resolve(ctx context.Context, uri string) ([]byte, error) {
	ref, err := b.parse(uri)
	if err != nil {
		return nil, err
	}
	if ref.byName() {
		return b.resolveNamed(ctx, ref)
	}
	var payload *lockboxpb.Payload
	err = b.call(ctx, ref, "read the secret", func(ctx context.Context) (err error) {
		payload, err = b.payload.Get(ctx, &lockboxpb.GetPayloadRequest{SecretId: ref.secretID})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, e := range payload.GetEntries() {
		if e.GetKey() != ref.key {
			continue
		}
		if v, ok := e.GetValue().(*lockboxpb.Payload_Entry_BinaryValue); ok {
			return v.BinaryValue, nil
		}
		return []byte(e.GetTextValue()), nil
	}
	return nil, noKey(ref)
}

// Write sets the URI's key to value in a new version of the secret, built
// by Lockbox from the current version (the other keys stay). The value is
// sent as text when it is UTF-8, as binary otherwise. A named secret must
// exist: its ID is looked up (names.go), it is never created.
func (b *Backend) Write(ctx context.Context, uri string, value []byte) error {
	ref, err := b.parse(uri)
	if err != nil {
		return err
	}
	if ref.byName() {
		return b.writeNamed(ctx, ref, value)
	}
	return b.addVersion(ctx, ref, value)
}

// addVersion adds a version of the secret ref.secretID with the key set
// to value.
func (b *Backend) addVersion(ctx context.Context, ref secretRef, value []byte) error {
	entry := &lockboxpb.PayloadEntryChange{Key: ref.key}
	if utf8.Valid(value) {
		entry.Value = &lockboxpb.PayloadEntryChange_TextValue{TextValue: string(value)}
	} else {
		entry.Value = &lockboxpb.PayloadEntryChange_BinaryValue{BinaryValue: value}
	}
	req := &lockboxpb.AddVersionRequest{SecretId: ref.secretID, PayloadEntries: []*lockboxpb.PayloadEntryChange{entry}}
	return b.call(ctx, ref, "add a version", func(ctx context.Context) error {
		op, err := b.secrets.AddVersion(ctx, req)
		if err != nil {
			return err
		}
		// Accepted, done or not; an operation that failed says why with a
		// google.rpc.Status code.
		if st := op.GetError(); st != nil {
			return codeError(codes.Code(st.GetCode()), ref.subject(), "add a version", nil)
		}
		return nil
	})
}

// call runs rpc with an IAM token and the per-call timeout. A call refused
// as UNAUTHENTICATED drops the token and is retried once with a renewed one.
func (b *Backend) call(ctx context.Context, ref secretRef, what string, rpc func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		tok, err := b.tokens.token(ctx)
		if err != nil {
			return errs.Wrap(errs.Code(err), err, "secret %s: no IAM token to %s", ref.subject(), what)
		}
		callCtx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), b.timeout)
		err = rpc(callCtx)
		cancel()
		if attempt == 1 && status.Code(err) == codes.Unauthenticated {
			b.tokens.drop(tok)
			continue
		}
		return classify(err, ref.subject(), what)
	}
}
