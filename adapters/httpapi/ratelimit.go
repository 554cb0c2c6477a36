package httpapi

import (
	lru "container/list"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/polar-gosling/polar-gosling/commands"
)

// UnauthenticatedLimits bound what senders that no token authenticates (a
// delivery for a project no egg owns: no webhook secret to check it
// against) can append to the log: token buckets per source address and in
// total. A delivery over either is answered 429 with Retry-After and
// nothing is appended; GitLab retries 429. Authenticated deliveries are
// never limited. A zero field takes its value from
// DefaultUnauthenticatedLimits.
type UnauthenticatedLimits struct {
	// PerSource and PerSourceBurst: deliveries per second, and at once, from
	// one source: the request's remote IP address (an IPv6 address counts
	// by its /64, what one host is usually given). X-Forwarded-For is not
	// read.
	PerSource      float64
	PerSourceBurst int
	// Total and TotalBurst: the same over all sources.
	Total      float64
	TotalBurst int
	// MaxSources bounds the per-source table. A source idle long enough
	// for its bucket to be full again is dropped (losing nothing); when the
	// table is full the least recently seen source is dropped, which can
	// only give that source a fresh bucket: Total still holds.
	MaxSources int
}

// DefaultUnauthenticatedLimits: GitLab sends a group's deliveries from a
// few addresses, and a group hook fires for projects that are no egg too,
// so one source may legitimately send bursts of unauthenticated deliveries:
// 10/s with bursts of 20 per source, 100/s with bursts of 200 in all. At
// about 400 bytes a record, that bounds the log's growth from
// unauthenticated senders to about 40 KB/s, whatever they send, and the
// per-source table to 10,000 entries of about 200 bytes.
var DefaultUnauthenticatedLimits = UnauthenticatedLimits{
	PerSource: 10, PerSourceBurst: 20, Total: 100, TotalBurst: 200, MaxSources: 10_000,
}

func (l UnauthenticatedLimits) withDefaults() UnauthenticatedLimits {
	d := DefaultUnauthenticatedLimits
	if l.PerSource == 0 {
		l.PerSource = d.PerSource
	}
	if l.PerSourceBurst == 0 {
		l.PerSourceBurst = d.PerSourceBurst
	}
	if l.Total == 0 {
		l.Total = d.Total
	}
	if l.TotalBurst == 0 {
		l.TotalBurst = d.TotalBurst
	}
	if l.MaxSources == 0 {
		l.MaxSources = d.MaxSources
	}
	return l
}

// Check reports a limit that is negative or not a number.
func (l UnauthenticatedLimits) Check() error {
	var problems []error
	for _, f := range []struct {
		name string
		v    float64
	}{{"per-source rate", l.PerSource}, {"total rate", l.Total}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			problems = append(problems, errors.New("unauthenticated "+f.name+" must be a positive number of deliveries per second"))
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"per-source burst", l.PerSourceBurst}, {"total burst", l.TotalBurst}, {"source table size", l.MaxSources}} {
		if f.v < 0 {
			problems = append(problems, errors.New("unauthenticated "+f.name+" must be positive"))
		}
	}
	return errors.Join(problems...)
}

// sourceLimiter is the per-source and total token buckets of
// UnauthenticatedLimits, with a bounded table of sources kept in
// least-recently-seen order.
type sourceLimiter struct {
	mu      sync.Mutex
	limits  UnauthenticatedLimits
	idle    time.Duration // a source unseen this long has a full bucket again
	total   *rate.Limiter
	sources map[netip.Prefix]*lru.Element // of *sourceEntry
	order   *lru.List                     // front: most recently seen
	now     func() time.Time
}

type sourceEntry struct {
	key  netip.Prefix
	lim  *rate.Limiter
	seen time.Time
}

func newSourceLimiter(l UnauthenticatedLimits, now func() time.Time) *sourceLimiter {
	l = l.withDefaults()
	idle := time.Duration(float64(l.PerSourceBurst) / l.PerSource * float64(time.Second))
	return &sourceLimiter{
		limits: l, idle: max(idle, time.Second),
		total:   rate.NewLimiter(rate.Limit(l.Total), l.TotalBurst),
		sources: make(map[netip.Prefix]*lru.Element), order: lru.New(), now: now,
	}
}

var _ commands.SourceLimiter = (*sourceLimiter)(nil)

// Allow takes one delivery from source's bucket and the total one, or
// neither and says how long until both would have one.
func (l *sourceLimiter) Allow(source netip.Prefix) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for back := l.order.Back(); back != nil; back = l.order.Back() {
		if e := back.Value.(*sourceEntry); now.Sub(e.seen) >= l.idle {
			l.drop(back)
			continue
		}
		break
	}
	var e *sourceEntry
	if el, ok := l.sources[source]; ok {
		e = el.Value.(*sourceEntry)
		l.order.MoveToFront(el)
	} else {
		for l.order.Len() >= l.limits.MaxSources {
			l.drop(l.order.Back())
		}
		e = &sourceEntry{key: source, lim: rate.NewLimiter(rate.Limit(l.limits.PerSource), l.limits.PerSourceBurst)}
		l.sources[source] = l.order.PushFront(e)
	}
	e.seen = now
	rs := e.lim.ReserveN(now, 1)
	if wait := rs.DelayFrom(now); !rs.OK() || wait > 0 {
		rs.CancelAt(now)
		return wait, false
	}
	rt := l.total.ReserveN(now, 1)
	if wait := rt.DelayFrom(now); !rt.OK() || wait > 0 {
		rt.CancelAt(now)
		rs.CancelAt(now)
		return wait, false
	}
	return 0, true
}

func (l *sourceLimiter) drop(el *lru.Element) {
	delete(l.sources, el.Value.(*sourceEntry).key)
	l.order.Remove(el)
}

// size is the number of sources in the table.
func (l *sourceLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// sourceOf is the source a request is limited as: its remote IP address,
// an IPv6 one by its /64. An address that does not parse (not a TCP
// listener) is one shared source.
func sourceOf(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap().WithZone("")
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}
