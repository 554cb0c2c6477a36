package lockbox

import (
	"context"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Token is an IAM token and the instant it stops being accepted; a zero
// ExpiresAt means unknown (the token is then kept until a call is refused).
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// TokenSource obtains a new IAM token each time it is asked; the Backend
// caches what it returns. Errors carry domain/errs codes (EUNAUTHORIZED
// when the credentials are refused, EUNAVAILABLE when the issuer is down)
// and never contain a token or a key.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// StaticToken is a TokenSource of one fixed IAM token, for development
// (YC_IAM_TOKEN): it cannot be renewed, so once it expires calls are
// EUNAUTHORIZED.
type StaticToken string

// Token returns the token.
func (s StaticToken) Token(context.Context) (Token, error) { return Token{Value: string(s)}, nil }

// Renew ahead of expiry when less than renewFraction of the token's life, or
// renewMargin, whichever is smaller, remains.
const (
	renewFraction = 10
	renewMargin   = 5 * time.Minute
)

// tokenCache holds the current token of a TokenSource and renews it, one
// renewal at a time, before it expires or when a call says it is refused.
type tokenCache struct {
	src TokenSource
	now func() time.Time
	sem chan struct{} // held while renewing; waiters honour their context

	mu       sync.Mutex
	tok      Token
	obtained time.Time
}

func newTokenCache(src TokenSource, now func() time.Time) *tokenCache {
	return &tokenCache{src: src, now: now, sem: make(chan struct{}, 1)}
}

// token returns a token that is not about to expire, renewing it if needed.
func (c *tokenCache) token(ctx context.Context) (string, error) {
	if v, ok := c.fresh(); ok {
		return v, nil
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", errs.Wrap(errs.EUNAVAILABLE, ctx.Err(), "waiting for an IAM token")
	}
	defer func() { <-c.sem }()
	// Another caller may have renewed it while this one waited.
	if v, ok := c.fresh(); ok {
		return v, nil
	}
	t, err := c.src.Token(ctx)
	if err != nil {
		return "", err
	}
	if t.Value == "" {
		return "", errs.Errorf(errs.EUNAUTHORIZED, "the IAM token source gave an empty token")
	}
	c.mu.Lock()
	c.tok, c.obtained = t, c.now()
	c.mu.Unlock()
	return t.Value, nil
}

// fresh returns the cached token when there is one that need not be renewed yet.
func (c *tokenCache) fresh() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value == "" {
		return "", false
	}
	if c.tok.ExpiresAt.IsZero() {
		return c.tok.Value, true
	}
	margin := min(c.tok.ExpiresAt.Sub(c.obtained)/renewFraction, renewMargin)
	if c.now().Add(margin).Before(c.tok.ExpiresAt) {
		return c.tok.Value, true
	}
	return "", false
}

// drop forgets value if it is still the cached token, so that the next
// token call renews it; a token another caller already replaced is kept.
func (c *tokenCache) drop(value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value == value {
		c.tok = Token{}
	}
}
