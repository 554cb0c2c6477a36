package lockbox

import (
	"crypto/tls"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// reconnect bounds grpc's backoff between connection attempts, so a
// Lockbox that comes back is used again within a second (the default
// backoff grows to two minutes).
var reconnect = backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second}

// dial returns a lazily connecting client of endpoint (host:port): TLS with
// the system roots, or plaintext when the host is a loopback address. Calls
// are made without WaitForReady, so a refused connection fails them at once.
func dial(endpoint string, timeout time.Duration) (*grpc.ClientConn, error) {
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil || host == "" || port == "" {
		return nil, errs.Errorf(errs.EINVALID, "endpoint %q is not host:port", endpoint)
	}
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	if isLoopback(host) {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(endpoint,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnect, MinConnectTimeout: timeout}),
	)
	if err != nil {
		return nil, errs.Wrap(errs.EINVALID, err, "endpoint %q", endpoint)
	}
	return conn, nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
