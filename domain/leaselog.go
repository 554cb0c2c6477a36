package domain

import (
	"fmt"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// LeaseLog is the recorded history of one lease's holders (UglyFox's sweep
// lease): at most one holder at a time, tokens only growing. The lease
// itself is ports.Leases; the log makes "who swept when" auditable. A
// holder that lapsed without a word (kill -9) is closed by the next
// holder's acquisition, so the log never shows two holders at once.
type LeaseLog struct {
	version
	name   string
	holder string // "" when nobody holds it as far as the log knows
	token  uint64 // the current holder's token, or the last one
	last   string // the holder of token
}

// RehydrateLeaseLog rebuilds the log of lease name from its history.
func RehydrateLeaseLog(name string, history []events.Envelope) (*LeaseLog, error) {
	if err := checkIdentifier("lease name", name); err != nil {
		return nil, err
	}
	l := &LeaseLog{name: name}
	v, err := replay(l, LeaseStream(name), history)
	if err != nil {
		return nil, err
	}
	l.v = v
	return l, nil
}

// Holder returns the holder and token the log shows ("" when none).
func (l *LeaseLog) Holder() (string, uint64) { return l.holder, l.token }

// Acquire records that holder took the lease with token. The same holder
// and token again records nothing (a retried record), unless the log shows
// that token lost: a holder that could not renew (the store was away) and
// finds the lease still its own resumes under it. Any other token not above
// the last one is stale (ECONFLICT). A previous holder not released is
// recorded as lost first.
func (l *LeaseLog) Acquire(holder string, token uint64, ttl time.Duration, expiresAt time.Time) ([]events.Event, error) {
	if err := l.check(holder, token); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, invalid("lease %s: the time to live must be positive (got %s)", l.name, ttl)
	}
	if l.holder == holder && l.token == token {
		return nil, nil
	}
	if token < l.token || (token == l.token && holder != l.last) {
		return nil, conflict("lease %s: token %d is not newer than the recorded %d (holder %q)", l.name, token, l.token, l.holder)
	}
	var out []events.Event
	if l.holder != "" {
		out = append(out, events.UglyFoxLeaseLost{Lease: l.name, Holder: l.holder, Token: l.token,
			Reason: fmt.Sprintf("it lapsed; %s took the lease over with token %d", holder, token)})
	}
	return append(out, events.UglyFoxLeaseAcquired{Lease: l.name, Holder: holder, Token: token, TTLMS: ttl.Milliseconds(), ExpiresAt: expiresAt.UTC()}), nil
}

// Release records that holder gave token up; nothing when the log does not
// show holder holding token (already released, or lost).
func (l *LeaseLog) Release(holder string, token uint64) ([]events.Event, error) {
	if err := l.check(holder, token); err != nil {
		return nil, err
	}
	if l.holder != holder || l.token != token {
		return nil, nil
	}
	return []events.Event{events.UglyFoxLeaseReleased{Lease: l.name, Holder: holder, Token: token}}, nil
}

// Lose records that holder lost token, for reason; nothing when the log
// does not show holder holding token (a successor already closed it).
func (l *LeaseLog) Lose(holder string, token uint64, reason string) ([]events.Event, error) {
	if err := l.check(holder, token); err != nil {
		return nil, err
	}
	if l.holder != holder || l.token != token {
		return nil, nil
	}
	return []events.Event{events.UglyFoxLeaseLost{Lease: l.name, Holder: holder, Token: token, Reason: reason}}, nil
}

// maxLeaseHolder bounds a holder's name (host, pid and a random part fit).
const maxLeaseHolder = 256

func (l *LeaseLog) check(holder string, token uint64) error {
	switch {
	case holder == "":
		return invalid("lease %s: empty holder", l.name)
	case len(holder) > maxLeaseHolder:
		return invalid("lease %s: holder is longer than %d bytes", l.name, maxLeaseHolder)
	case token == 0:
		return invalid("lease %s: token 0 is no lease's", l.name)
	}
	return nil
}

func (l *LeaseLog) apply(ev events.Event) error {
	switch e := ev.(type) {
	case events.UglyFoxLeaseAcquired:
		l.holder, l.token, l.last = e.Holder, e.Token, e.Holder
	case events.UglyFoxLeaseReleased, events.UglyFoxLeaseLost:
		l.holder = ""
	default:
		return unknownEvent("lease "+l.name, ev)
	}
	return nil
}
