package ports

import (
	"context"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Lease is one named lease as the store holds it: who holds it, until when,
// and its fencing token.
type Lease struct {
	Name   string
	Holder string
	// Token is the fencing token: it grows by one each time the lease
	// changes hands or is taken again after it lapsed, and never goes back
	// (a release keeps it). A holder stamps its commands with it; a command
	// whose token is not the lease's current one is refused (Leases.Check),
	// so a holder that was paused past its expiry cannot act once another
	// has taken over, even if it does not know yet.
	Token     uint64
	ExpiresAt time.Time
}

// Held reports whether the lease is held at now.
func (l Lease) Held(now time.Time) bool { return l.Holder != "" && now.Before(l.ExpiresAt) }

// Leases keeps named leases with expiry and fencing tokens, so that of
// several processes exactly one does a job at a time (UglyFox's sweep) and
// another takes over within the lease time when the holder dies. Times are
// the caller's clock: processes sharing a lease must have clocks that agree
// to well within the lease time (NTP), as every lease over a shared store
// assumes.
type Leases interface {
	// Acquire takes the lease name for holder until now+ttl. It succeeds
	// when the lease is free, lapsed (ExpiresAt <= now), or held by holder
	// (a renewal: the token is kept). A lease held by another holder is an
	// ECONFLICT error, with that lease returned. Acquire is atomic: of two
	// processes acquiring at once, one gets it.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (Lease, error)
	// Release gives up the lease if holder still holds it with token; it
	// expires at once and keeps its token. Releasing a lease one no longer
	// holds does nothing.
	Release(ctx context.Context, name, holder string, token uint64) error
	// Check returns nil when token is the current token of name and the
	// lease is held at now; else an ECONFLICT error saying why (fenced).
	Check(ctx context.Context, name string, token uint64, now time.Time) error
	// Get returns the lease as stored (false when it was never taken).
	Get(ctx context.Context, name string) (Lease, bool, error)
}

// CheckLeaseArgs is Acquire's argument check, the same for every store.
func CheckLeaseArgs(name, holder string, ttl time.Duration) error {
	switch {
	case name == "":
		return errs.Errorf(errs.EINVALID, "lease: empty name")
	case holder == "":
		return errs.Errorf(errs.EINVALID, "lease %s: empty holder", name)
	case ttl <= 0:
		return errs.Errorf(errs.EINVALID, "lease %s: the time to live must be positive (got %s)", name, ttl)
	}
	return nil
}

// Fence is Check's rule over a lease as stored (found false: never taken).
func Fence(name string, l Lease, found bool, token uint64, now time.Time) error {
	switch {
	case !found:
		return errs.Errorf(errs.ECONFLICT, "fenced: lease %s was never taken", name)
	case l.Token != token:
		return errs.Errorf(errs.ECONFLICT, "fenced: lease %s has token %d (holder %s), not %d", name, l.Token, l.Holder, token)
	case !l.Held(now):
		return errs.Errorf(errs.ECONFLICT, "fenced: lease %s (token %d) lapsed at %s", name, token, l.ExpiresAt.Format(time.RFC3339Nano))
	}
	return nil
}
