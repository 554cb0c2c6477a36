package commands

import (
	"context"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// RecordLeaseAcquired records that Holder took Lease with a new Token. The
// holder sends it fenced by that token (Meta.FenceLease/FenceToken), so it
// is recorded only while the token holds the lease.
type RecordLeaseAcquired struct {
	Meta      `json:"-"`
	Lease     string        `json:"lease"`
	Holder    string        `json:"holder"`
	Token     uint64        `json:"token"`
	TTL       time.Duration `json:"ttl"`
	ExpiresAt time.Time     `json:"expires_at"`
}

func (RecordLeaseAcquired) CommandName() string { return "lease.record_acquired" }

// RecordLeaseReleased records that Holder gave Token up (sent fenced, just
// before the release).
type RecordLeaseReleased struct {
	Meta   `json:"-"`
	Lease  string `json:"lease"`
	Holder string `json:"holder"`
	Token  uint64 `json:"token"`
}

func (RecordLeaseReleased) CommandName() string { return "lease.record_released" }

// RecordLeaseLost records that Holder's Token stopped being the lease's.
// It cannot be fenced (the token is no longer current); the lease log
// records it only while it still shows Holder with Token.
type RecordLeaseLost struct {
	Meta   `json:"-"`
	Lease  string `json:"lease"`
	Holder string `json:"holder"`
	Token  uint64 `json:"token"`
	Reason string `json:"reason"`
}

func (RecordLeaseLost) CommandName() string { return "lease.record_lost" }

// leaseLog runs decide on the log of lease name.
func (h *Handlers) leaseLog(ctx context.Context, cmd Command, name string, decide func(*domain.LeaseLog) ([]events.Event, error)) (ports.AppendResult, error) {
	if _, err := domain.RehydrateLeaseLog(name, nil); err != nil { // validates the name before touching the store
		return ports.AppendResult{}, err
	}
	return h.run(ctx, cycle{
		name:   cmd.CommandName(),
		stream: domain.LeaseStream(name),
		meta:   cmd.CommandMeta(),
		decide: decideOn(func(hist []events.Envelope) (*domain.LeaseLog, error) { return domain.RehydrateLeaseLog(name, hist) }, decide),
	})
}

// RecordLeaseAcquired appends uglyfox.lease_acquired (and lease_lost of a
// predecessor the log still shows holding).
func (h *Handlers) RecordLeaseAcquired(ctx context.Context, cmd RecordLeaseAcquired) (ports.AppendResult, error) {
	return h.leaseLog(ctx, cmd, cmd.Lease, func(l *domain.LeaseLog) ([]events.Event, error) {
		return l.Acquire(cmd.Holder, cmd.Token, cmd.TTL, cmd.ExpiresAt)
	})
}

// RecordLeaseReleased appends uglyfox.lease_released.
func (h *Handlers) RecordLeaseReleased(ctx context.Context, cmd RecordLeaseReleased) (ports.AppendResult, error) {
	return h.leaseLog(ctx, cmd, cmd.Lease, func(l *domain.LeaseLog) ([]events.Event, error) { return l.Release(cmd.Holder, cmd.Token) })
}

// RecordLeaseLost appends uglyfox.lease_lost.
func (h *Handlers) RecordLeaseLost(ctx context.Context, cmd RecordLeaseLost) (ports.AppendResult, error) {
	return h.leaseLog(ctx, cmd, cmd.Lease, func(l *domain.LeaseLog) ([]events.Event, error) { return l.Lose(cmd.Holder, cmd.Token, cmd.Reason) })
}
