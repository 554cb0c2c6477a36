package dynamodb

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// unavailable wraps an error from the SDK: the service, the network or the
// context failed, and the caller may retry. A missing table gets a hint,
// since it means Migrate has not run.
func unavailable(err error, format string, args ...any) error {
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		format += " (table missing: run the migrate command)"
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "dynamodb: "+format, args...)
}

// corrupt reports a stored item that this code cannot have written.
func corrupt(format string, args ...any) error {
	return errs.Errorf(errs.EINTERNAL, "dynamodb: corrupt item: "+format, args...)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// backoff is a bounded exponential delay with full jitter, so that writers
// racing for the same counter spread out instead of colliding again.
func backoff(attempt int) time.Duration {
	const (
		base = 2 * time.Millisecond
		max  = 100 * time.Millisecond
	)
	d := base << min(attempt, 10)
	if d > max {
		d = max
	}
	return time.Duration(rand.Int64N(int64(d))) + time.Millisecond
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// requestToken returns a fresh TransactWriteItems client request token (26
// base32 characters; DynamoDB allows up to 36).
func requestToken() string {
	return cryptorand.Text()
}
