// Package lockboxtest is a fake of the Yandex Cloud services the lockbox
// backend calls, on 127.0.0.1, following their documented gRPC API with
// the generated go-genproto servers:
//
//   - yandex.cloud.lockbox.v1.PayloadService/Get
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Payload/get): the
//     entries of the secret's current version;
//   - yandex.cloud.lockbox.v1.PayloadService/GetEx
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Payload/getEx): the
//     same by secret_id or by folder_and_name, the entries as a map of key
//     to bytes (names.go);
//   - yandex.cloud.lockbox.v1.SecretService/List
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/list): the
//     secrets of a folder, page_size (default 100, at most 1000) at a time
//     with next_page_token (names.go);
//   - yandex.cloud.lockbox.v1.SecretService/AddVersion
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/addVersion):
//     a new current version made of the base (current) version's entries
//     with the given entries changed, answered with a done Operation
//     carrying AddVersionMetadata and the Version; the rest of
//     SecretService (Get, Create, ...) is Unimplemented;
//   - yandex.cloud.iam.v1.IamTokenService/Create
//     (https://yandex.cloud/en/docs/iam/operations/iam-token/create-for-sa):
//     exchanges a PS256 JWT signed with a registered service account key
//     (WriteKeyFile) for an IAM token;
//   - the metadata service's token endpoint of a VM, over HTTP
//     (https://yandex.cloud/en/docs/compute/operations/vm-connect/auth-inside-vm).
//
// The Lockbox calls need "authorization: Bearer <IAM token>" with a token
// the fake issued (or AllowToken registered) that has not expired:
// otherwise UNAUTHENTICATED. A missing secret is NOT_FOUND, a denied one
// PERMISSION_DENIED, throttled calls RESOURCE_EXHAUSTED, as the Lockbox
// API documents its errors (https://yandex.cloud/en/docs/api-design-guide/concepts/errors).
//
// Secrets are put by ID (Put) or by folder and name (PutNamed, which gives
// them an ID of the shape Yandex Cloud issues).
//
// Fault injection: Deny, DenyFolder, Throttle, ExpireTokens, RevokeKey,
// DetachServiceAccount, FailOperations, PendOperations, Delay, Stop and Restart
// (same address). Calls, MetadataCalls and TokensIssued count what was
// received and given.
package lockboxtest

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	lockboxpb "github.com/yandex-cloud/go-genproto/yandex/cloud/lockbox/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox"
)

// The gRPC methods the fake serves, for Calls.
const (
	MethodGet         = lockboxpb.PayloadService_Get_FullMethodName
	MethodGetEx       = lockboxpb.PayloadService_GetEx_FullMethodName
	MethodList        = lockboxpb.SecretService_List_FullMethodName
	MethodAddVersion  = lockboxpb.SecretService_AddVersion_FullMethodName
	MethodCreateToken = iampb.IamTokenService_Create_FullMethodName
)

// DefaultTokenLifetime is the lifetime of the IAM tokens the fake issues
// unless SetTokenLifetime changes it (Yandex Cloud documents 12 hours).
const DefaultTokenLifetime = 12 * time.Hour

// Server is the fake. Its state (secrets, tokens, keys, counters) outlives
// Stop and Restart.
type Server struct {
	t    testing.TB
	addr string

	mu            sync.Mutex
	grpc          *grpc.Server // nil while stopped
	now           func() time.Time
	lifetime      time.Duration
	secrets       map[string]*secret
	denied        map[string]bool
	deniedFolders map[string]bool // DenyFolder
	throttle      int
	tokens        map[string]time.Time // IAM token -> expiry (zero: never)
	keys          map[string]saKey     // key id -> key
	calls         map[string]int
	issued        int

	delay     time.Duration // Delay
	opFail    opFailure     // FailOperations
	opPending bool          // PendOperations

	meta metadataState // metadata.go
}

// Start starts a fake on 127.0.0.1 that is stopped at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:             t,
		now:           time.Now,
		lifetime:      DefaultTokenLifetime,
		secrets:       map[string]*secret{},
		denied:        map[string]bool{},
		deniedFolders: map[string]bool{},
		tokens:        map[string]time.Time{},
		keys:          map[string]saKey{},
		calls:         map[string]int{},
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("lockboxtest: listen: %v", err)
	}
	s.addr = lis.Addr().String()
	s.serve(lis)
	s.meta.srv = httptest.NewServer(s.metadataHandler())
	t.Cleanup(func() {
		s.Stop()
		s.meta.srv.Close()
	})
	return s
}

// Addr is the host:port of the gRPC services (Lockbox and IAM alike).
func (s *Server) Addr() string { return s.addr }

// Config is a lockbox.Config with every endpoint on the fake and the
// metadata service's URL; choose the credentials (ServiceAccountKeyFile,
// IAMToken or none for the metadata service) before New.
func (s *Server) Config() lockbox.Config {
	return lockbox.Config{
		PayloadEndpoint: s.addr,
		Endpoint:        s.addr,
		IAMEndpoint:     s.addr,
		MetadataURL:     s.MetadataURL(),
		Timeout:         2 * time.Second,
	}
}

func (s *Server) serve(lis net.Listener) {
	g := grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	lockboxpb.RegisterPayloadServiceServer(g, payloadService{s: s})
	lockboxpb.RegisterSecretServiceServer(g, secretService{s: s})
	iampb.RegisterIamTokenServiceServer(g, iamService{s: s})
	s.mu.Lock()
	s.grpc = g
	s.mu.Unlock()
	go func() { _ = g.Serve(lis) }()
}

// Stop stops listening and closes every connection: clients get
// "connection refused" until Restart. The metadata service stays up.
func (s *Server) Stop() {
	s.mu.Lock()
	g := s.grpc
	s.grpc = nil
	s.mu.Unlock()
	if g != nil {
		g.Stop()
	}
}

// Restart listens again on the same address after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.grpc != nil
	s.mu.Unlock()
	if running {
		return
	}
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("lockboxtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(lis)
}

// SetClock sets the clock tokens are issued and checked by (time.Now).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetTokenLifetime sets the lifetime of the IAM tokens issued from now on,
// by IamTokenService/Create and by the metadata service.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// AllowToken accepts token as an IAM token that never expires (until
// ExpireTokens), as a token from `yc iam create-token` would be.
func (s *Server) AllowToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = time.Time{}
}

// ExpireTokens makes every IAM token issued or allowed so far expired:
// Lockbox answers UNAUTHENTICATED to them.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// TokensIssued is how many IAM tokens the fake issued (IAM and metadata).
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// Deny answers PERMISSION_DENIED to every call about secretID.
func (s *Server) Deny(secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[secretID] = true
}

// Throttle answers RESOURCE_EXHAUSTED to the next n Lockbox calls.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Delay holds every Lockbox call d before answering it (0: no delay), or
// until the client gives up.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Calls is how many calls of method (MethodGet, MethodGetEx, MethodList,
// MethodAddVersion, MethodCreateToken) the fake received, refused ones included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// intercept counts every call and, for Lockbox calls, applies throttling
// and checks the Bearer token before the handler runs.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s.mu.Lock()
	s.calls[info.FullMethod]++
	if !strings.HasPrefix(info.FullMethod, "/yandex.cloud.lockbox.") {
		s.mu.Unlock()
		return handler(ctx, req)
	}
	if s.throttle > 0 {
		s.throttle--
		s.mu.Unlock()
		return nil, status.Error(codes.ResourceExhausted, "Too many requests")
	}
	err, delay := s.checkTokenLocked(ctx), s.delay
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return handler(ctx, req)
}

// checkTokenLocked checks the "authorization: Bearer" metadata of ctx.
func (s *Server) checkTokenLocked(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") {
		return status.Error(codes.Unauthenticated, "Authorization header is missing or is not a Bearer token")
	}
	exp, ok := s.tokens[strings.TrimPrefix(auth[0], "Bearer ")]
	if !ok || (!exp.IsZero() && !s.now().Before(exp)) {
		return status.Error(codes.Unauthenticated, "The token is invalid or has expired")
	}
	return nil
}

// issueLocked returns a new IAM token and its expiry.
func (s *Server) issueLocked() (string, time.Time) {
	s.issued++
	tok := "t1.fake-" + randomHex(16)
	exp := s.now().Add(s.lifetime)
	s.tokens[tok] = exp
	return tok, exp
}
