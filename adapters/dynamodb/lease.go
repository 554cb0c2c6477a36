package dynamodb

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// leasesTable holds one item per lease. It is state, not a view.
const leasesTable = "leases"

// Attributes of a leases item (besides the key, viewKeyAttr).
const (
	attrLeaseHolder  = "holder"
	attrLeaseToken   = "token"      // N
	attrLeaseExpires = "expires_at" // N: unix nanoseconds
)

// leaseRaces bounds Acquire's read-then-conditional-write rounds when other
// acquirers keep changing the item between the two.
const leaseRaces = 5

// Leases is the lease store (ports.Leases) in the <prefix>leases table
// (created by Migrate). Acquire reads the item (consistently) and writes the
// next one on the condition that it is still the item read, so of
// concurrent acquirers exactly one writes; the others read again and find
// the lease held.
type Leases struct {
	client *dynamodb.Client
	table  string
}

var _ ports.Leases = (*Leases)(nil)

// NewLeases returns the lease store of c's tables.
func NewLeases(c Config) (*Leases, error) {
	if err := c.validate("leases"); err != nil {
		return nil, err
	}
	return &Leases{client: c.Client, table: c.TablePrefix + leasesTable}, nil
}

// Acquire takes, renews or is refused the lease (ports.Leases).
func (s *Leases) Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (ports.Lease, error) {
	if err := ports.CheckLeaseArgs(name, holder, ttl); err != nil {
		return ports.Lease{}, err
	}
	for range leaseRaces {
		cur, found, err := s.Get(ctx, name)
		if err != nil {
			return ports.Lease{}, err
		}
		next := ports.Lease{Name: name, Holder: holder, Token: 1, ExpiresAt: now.Add(ttl)}
		switch {
		case !found:
		case cur.Holder == holder && cur.Held(now):
			next.Token = cur.Token // a renewal
		case !cur.Held(now):
			next.Token = cur.Token + 1
		default:
			return cur, errs.Errorf(errs.ECONFLICT, "lease %s is held by %s until %s", name, cur.Holder, cur.ExpiresAt.Format(time.RFC3339Nano))
		}
		in := &dynamodb.PutItemInput{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				viewKeyAttr:      attrS(name),
				attrLeaseHolder:  attrS(holder),
				attrLeaseToken:   attrN(next.Token),
				attrLeaseExpires: attrN(unixNanos(next.ExpiresAt)),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#k)"),
			ExpressionAttributeNames: map[string]string{"#k": viewKeyAttr},
		}
		if found {
			// Still the item read: same token and expiry (a renewal by
			// another acquirer moves the expiry, a takeover the token).
			in.ConditionExpression = aws.String("#tok = :tok AND #exp = :exp")
			in.ExpressionAttributeNames = map[string]string{"#tok": attrLeaseToken, "#exp": attrLeaseExpires}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{
				":tok": attrN(cur.Token), ":exp": attrN(unixNanos(cur.ExpiresAt)),
			}
		}
		if _, err := s.client.PutItem(ctx, in); err != nil {
			if isConditionFailed(err) {
				continue // another acquirer wrote between the read and the write
			}
			return ports.Lease{}, unavailable(err, "lease %s: acquire", name)
		}
		return next, nil
	}
	return ports.Lease{}, errs.Errorf(errs.EUNAVAILABLE, "dynamodb: lease %s: still contended after %d rounds", name, leaseRaces)
}

// Release ends holder's lease if token is still its token.
func (s *Leases) Release(ctx context.Context, name, holder string, token uint64) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      map[string]types.AttributeValue{viewKeyAttr: attrS(name)},
		UpdateExpression:         aws.String("SET #exp = :zero"),
		ConditionExpression:      aws.String("#h = :h AND #tok = :tok"),
		ExpressionAttributeNames: map[string]string{"#exp": attrLeaseExpires, "#h": attrLeaseHolder, "#tok": attrLeaseToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": attrN(0), ":h": attrS(holder), ":tok": attrN(token),
		},
	})
	if err != nil && !isConditionFailed(err) { // failed condition: not its lease any more
		return unavailable(err, "lease %s: release", name)
	}
	return nil
}

// Check fences token against the stored lease.
func (s *Leases) Check(ctx context.Context, name string, token uint64, now time.Time) error {
	l, found, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	return ports.Fence(name, l, found, token, now)
}

// Get reads the lease (a consistent read).
func (s *Leases) Get(ctx context.Context, name string) (ports.Lease, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{viewKeyAttr: attrS(name)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ports.Lease{}, false, unavailable(err, "lease %s: read", name)
	}
	if out.Item == nil {
		return ports.Lease{}, false, nil
	}
	d := itemReader{item: out.Item}
	l := ports.Lease{Name: name, Holder: d.s(attrLeaseHolder, true), Token: d.n(attrLeaseToken), ExpiresAt: time.Unix(0, int64(d.n(attrLeaseExpires))).UTC()}
	if d.err != nil {
		return ports.Lease{}, false, d.err
	}
	return l, true, nil
}

// unixNanos is t in unix nanoseconds, 0 for a time before 1970 (a
// released lease's expiry is 0).
func unixNanos(t time.Time) uint64 {
	if n := t.UnixNano(); n > 0 {
		return uint64(n)
	}
	return 0
}
