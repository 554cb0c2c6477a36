// Package awssmtest is a fake of the part of AWS Secrets Manager that the
// aws-sm:// secret backend uses, on 127.0.0.1, speaking the service's wire
// protocol, AWS JSON 1.1
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/Welcome.html,
// https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html): every call
// is POST / with Content-Type application/x-amz-json-1.1 and an
// X-Amz-Target header "secretsmanager.<Operation>"; answers are JSON bodies;
// errors are HTTP 400 (500 for InternalServiceError) with an
// x-amzn-ErrorType header and a body {"__type": "<Code>", "Message": "..."}
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html).
//
// Operations (operations.go): GetSecretValue, PutSecretValue, CreateSecret
// and DescribeSecret. Every request must be signed with Signature Version 4
// (sigv4.go): the fake checks the shape of the Authorization header (not
// the signature, it has no secret keys) and records the access key and the
// region each request was signed for, so a test can prove which region a
// client used.
//
// Fault injection (faults.go): Deny a secret (AccessDeniedException),
// Throttle the next requests (ThrottlingException), ExpireCredentials of an
// access key (ExpiredTokenException), FailWith any documented error
// (FailInternal: HTTP 500 InternalServiceError), Stop and Restart on the
// same address. Calls counts what the fake received per operation.
package awssmtest

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Account is the AWS account ID in the ARNs the fake makes.
const Account = "123456789012"

// Server is a fake Secrets Manager on 127.0.0.1.
type Server struct {
	tb   testing.TB
	addr string // 127.0.0.1:port, kept across Stop and Restart

	mu      sync.Mutex
	srv     *http.Server
	secrets map[string]*secret // by name
	seq     int                // makes version IDs and ARN suffixes unique
	calls   map[string]int     // operation -> requests received
	signed  []Signature        // every signed request, in order
	faults  faults
}

// Start runs a fake on a free 127.0.0.1 port; it is closed at the end of
// the test.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, secrets: map[string]*secret{}, calls: map[string]int{}, faults: newFaults()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	tb.Cleanup(s.Stop)
	return s
}

// URL is the fake's endpoint, http://127.0.0.1:port: a client's
// BaseEndpoint or AWS_ENDPOINT_URL_SECRETS_MANAGER.
func (s *Server) URL() string { return "http://" + s.addr }

// Stop closes the listener and every open connection: clients get
// "connection refused" until Restart. The secrets are kept.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart listens again on the address of Start (after Stop), with the
// same secrets.
func (s *Server) Restart() {
	s.tb.Helper()
	var (
		ln  net.Listener
		err error
	)
	// The port was ours a moment ago; a bounded retry covers the rare case
	// where the kernel has not released it yet.
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.tb.Fatalf("awssmtest: restart on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.tb.Logf("awssmtest: serve: %v", err)
		}
	}()
}

// Calls returns how many requests of operation ("GetSecretValue") the fake
// received, including those answered with an injected fault.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// Signatures returns the access key and region of every signed request
// received, in order.
func (s *Server) Signatures() []Signature {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Signature(nil), s.signed...)
}
