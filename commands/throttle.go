package commands

import (
	"errors"
	"time"
)

// RetryAfter reports whether err is GitLab's 429 (an error with a
// RetryAfter() method, as adapters/gitlab's ThrottledError) and the wait its
// Retry-After asks for (0 when it gave none).
func RetryAfter(err error) (time.Duration, bool) {
	var t interface{ RetryAfter() time.Duration }
	if !errors.As(err, &t) {
		return 0, false
	}
	return t.RetryAfter(), true
}

// throttled is RetryAfter with a floor of a second: how long a server that
// answered 429 is left alone.
func throttled(err error) (time.Duration, bool) {
	d, ok := RetryAfter(err)
	return max(time.Second, d), ok
}
