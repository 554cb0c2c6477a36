package lockbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// DefaultMetadataURL is the metadata service of a Yandex Cloud VM or
// serverless container.
const DefaultMetadataURL = "http://169.254.169.254"

// MetadataTokenPath is where the metadata service gives the IAM token of the
// service account attached to the VM
// (https://yandex.cloud/en/docs/compute/operations/vm-connect/auth-inside-vm).
const MetadataTokenPath = "/computeMetadata/v1/instance/service-accounts/default/token"

// maxMetadataBody bounds the token answer read (a real one is ~1 KiB).
const maxMetadataBody = 64 << 10

// metadataSource asks the metadata service for the VM's IAM token.
type metadataSource struct {
	url    string // base URL, no trailing slash
	client *http.Client
	now    func() time.Time
}

func newMetadataSource(base string, timeout time.Duration, now func() time.Time) *metadataSource {
	// The metadata service is link-local: never through a proxy.
	transport := &http.Transport{Proxy: nil, MaxIdleConns: 1, IdleConnTimeout: time.Minute}
	return &metadataSource{
		url:    strings.TrimRight(base, "/"),
		client: &http.Client{Timeout: timeout, Transport: transport},
		now:    now,
	}
}

// metadataToken is the documented answer: {"access_token", "expires_in"
// (seconds), "token_type": "Bearer"}.
type metadataToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// Token asks the metadata service. Its answer's body is never put into an
// error (it holds a token).
func (m *metadataSource) Token(ctx context.Context) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+MetadataTokenPath, nil)
	if err != nil {
		return Token{}, errs.Wrap(errs.EINVALID, err, "metadata service URL %q", m.url)
	}
	req.Header.Set("Metadata-Flavor", "Google")
	asked := m.now()
	resp, err := m.client.Do(req)
	if err != nil {
		return Token{}, errs.Wrap(errs.EUNAVAILABLE, err, "the metadata service at %s gave no IAM token", m.url)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBody))
	switch {
	case err != nil:
		return Token{}, errs.Wrap(errs.EUNAVAILABLE, err, "reading the IAM token of the metadata service at %s", m.url)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Token{}, errs.Errorf(errs.EUNAVAILABLE, "the metadata service at %s answered %s to the IAM token request", m.url, resp.Status)
	case resp.StatusCode != http.StatusOK:
		// 404 is what a VM without a service account gets.
		return Token{}, errs.Errorf(errs.EUNAUTHORIZED, "the metadata service at %s answered %s to the IAM token request: is a service account attached to this VM?", m.url, resp.Status)
	}
	var t metadataToken
	if json.Unmarshal(body, &t) != nil || t.AccessToken == "" {
		return Token{}, errs.Errorf(errs.EUNAVAILABLE, "the metadata service at %s answered something that is not an IAM token", m.url)
	}
	tok := Token{Value: t.AccessToken}
	if t.ExpiresIn > 0 {
		tok.ExpiresAt = asked.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return tok, nil
}
