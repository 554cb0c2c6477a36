package events

import "time"

// The lease log: who held a lease (UglyFox's sweep), one holder at a time,
// on the stream of the lease (domain.LeaseStream). The lease itself lives in
// ports.Leases; these events make its history auditable.
const (
	UglyFoxLeaseAcquiredV1 = "uglyfox.lease_acquired.v1"
	UglyFoxLeaseReleasedV1 = "uglyfox.lease_released.v1"
	UglyFoxLeaseLostV1     = "uglyfox.lease_lost.v1"
)

// UglyFoxLeaseAcquired: Holder took the lease with a new fencing Token
// (renewals under the same token are not recorded).
type UglyFoxLeaseAcquired struct {
	Lease     string    `json:"lease"`
	Holder    string    `json:"holder"`
	Token     uint64    `json:"token"`
	TTLMS     int64     `json:"ttl_ms"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (UglyFoxLeaseAcquired) EventName() string { return UglyFoxLeaseAcquiredV1 }

// UglyFoxLeaseReleased: Holder gave the lease up (a clean stop).
type UglyFoxLeaseReleased struct {
	Lease  string `json:"lease"`
	Holder string `json:"holder"`
	Token  uint64 `json:"token"`
}

func (UglyFoxLeaseReleased) EventName() string { return UglyFoxLeaseReleasedV1 }

// UglyFoxLeaseLost: Holder's token stopped being the lease's without a
// release: a renewal was refused, a sweep command was fenced, or another
// holder took the lapsed lease over (then recorded by the new holder, just
// before its own uglyfox.lease_acquired).
type UglyFoxLeaseLost struct {
	Lease  string `json:"lease"`
	Holder string `json:"holder"`
	Token  uint64 `json:"token"`
	Reason string `json:"reason"`
}

func (UglyFoxLeaseLost) EventName() string { return UglyFoxLeaseLostV1 }
