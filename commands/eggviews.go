package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// EggViews is the EggDirectory over the egg_configs view. It holds the live
// rows, each with its server's host worked out once per load, for
// EggCacheTTL, so a delivery neither reads every egg nor parses every
// egg's server: a changed egg (tags, webhook secret URI) is seen within
// that time, and FindEggCaughtUp always reads the view again once it has
// caught up, so a newly synced egg is never missed.
type EggViews struct {
	views ports.ViewStore
	log   ports.EventStore
	now   func() time.Time
	wait  time.Duration

	mu     sync.Mutex
	list   []liveEgg
	loaded time.Time
}

// EggCacheTTL is how long EggViews answers FindEgg from the rows it holds.
const EggCacheTTL = time.Second

// DefaultEggWait bounds how long FindEggCaughtUp waits for the view.
const DefaultEggWait = 2 * time.Second

// liveEgg is an egg that is not removed, with serverHost(row.GitLabServer).
type liveEgg struct {
	row  ports.EggConfigRow
	host string
}

var _ EggDirectory = (*EggViews)(nil)

// NewEggViews returns the directory over views, caught up against log's
// head; now is the clock of the cache and of the wait.
func NewEggViews(views ports.ViewStore, log ports.EventStore, now func() time.Time) (*EggViews, error) {
	switch {
	case views == nil:
		return nil, errors.New("commands: egg views: nil view store")
	case log == nil:
		return nil, errors.New("commands: egg views: nil event store")
	case now == nil:
		return nil, errors.New("commands: egg views: nil clock")
	}
	return &EggViews{views: views, log: log, now: now, wait: DefaultEggWait}, nil
}

// FindEgg answers from the rows held, read again when older than EggCacheTTL.
func (d *EggViews) FindEgg(ctx context.Context, q EggQuery) (ports.EggConfigRow, bool, error) {
	eggs, err := d.live(ctx, false)
	if err != nil {
		return ports.EggConfigRow{}, false, err
	}
	egg, found := matchEgg(eggs, q)
	return egg, found, nil
}

// FindEggCaughtUp waits (at most DefaultEggWait) until the egg_configs
// projector has reached the log's head as it is now, then reads the view.
func (d *EggViews) FindEggCaughtUp(ctx context.Context, q EggQuery) (ports.EggConfigRow, bool, error) {
	caught, err := d.caughtUp(ctx)
	if err != nil {
		return ports.EggConfigRow{}, false, err
	}
	if !caught {
		return ports.EggConfigRow{}, false, errs.Errorf(errs.EUNAVAILABLE, "the egg configurations are still catching up; retry")
	}
	eggs, err := d.live(ctx, true)
	if err != nil {
		return ports.EggConfigRow{}, false, err
	}
	egg, found := matchEgg(eggs, q)
	return egg, found, nil
}

func (d *EggViews) caughtUp(ctx context.Context) (bool, error) {
	head, err := d.log.Head(ctx)
	if err != nil {
		return false, err
	}
	deadline := d.now().Add(d.wait)
	for {
		cp, err := d.views.Read().Checkpoint(ctx, ports.ViewEggConfigs)
		if err != nil {
			return false, err
		}
		if cp >= head {
			return true, nil
		}
		if d.now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (d *EggViews) live(ctx context.Context, fresh bool) ([]liveEgg, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !fresh && d.list != nil && d.now().Sub(d.loaded) < EggCacheTTL {
		return d.list, nil
	}
	rows, err := ports.EggConfigs.In(d.views.Read()).List(ctx, ports.Query{})
	if err != nil {
		return nil, err
	}
	d.list, d.loaded = liveEggs(rows), d.now()
	return d.list, nil
}

// liveEggs keeps the rows of eggs that are not removed, with their servers' hosts.
func liveEggs(rows []ports.EggConfigRow) []liveEgg {
	list := make([]liveEgg, 0, len(rows))
	for _, e := range rows {
		if !e.Removed {
			list = append(list, liveEgg{row: e, host: serverHost(e.GitLabServer)})
		}
	}
	return list
}

// matchEgg returns the egg that owns q's project (or group) on q's host; a
// project match wins over a group match.
func matchEgg(eggs []liveEgg, q EggQuery) (ports.EggConfigRow, bool) {
	var byGroup *ports.EggConfigRow
	for i := range eggs {
		e := &eggs[i]
		if !SameServer(e.host, q.Host) {
			continue
		}
		if q.Project != 0 && slices.Contains(e.row.ProjectIDs, q.Project) {
			return e.row, true
		}
		if byGroup == nil && q.Group != 0 && slices.Contains(e.row.GroupIDs, q.Group) {
			byGroup = &e.row
		}
	}
	if byGroup != nil {
		return *byGroup, true
	}
	return ports.EggConfigRow{}, false
}

// SameServer compares a server's host (ServerHost of an egg's GitLab
// server, or of a configured one) with a delivery's host: equal, or a
// server without a port names the host on any port.
func SameServer(server, host string) bool {
	if host == "" {
		return false
	}
	if server == host {
		return true
	}
	h, _, ok := strings.Cut(host, ":")
	return ok && server == h
}

// serverHost is the lower-case host[:port] of a GitLab server value: the
// host of a URL with a scheme, else the value itself.
func serverHost(server string) string {
	server = strings.ToLower(server)
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return server
}

// hostName is a DNS name: dot-separated labels of letters, digits and inner
// hyphens (lower case, as serverHost returns it).
var hostName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// ServerHost returns the lower-case host[:port] that a GitLab server value
// names, the form in which eggs' servers are matched to deliveries
// (SameServer): the value is an FQDN, perhaps with a port
// (gitlab.example.com:8443), or a URL with a scheme (https://GitLab.com
// gives gitlab.com). An empty value, a URL with credentials, or anything
// else that is no host[:port] is an EINVALID error.
func ServerHost(server string) (string, error) {
	shown := server
	bad := func(why string) (string, error) {
		return "", errs.Errorf(errs.EINVALID, "GitLab server %q: %s; want an FQDN such as gitlab.com, host:port, or a URL such as https://gitlab.example.com", shown, why)
	}
	if strings.TrimSpace(server) == "" {
		return bad("empty")
	}
	if u, err := url.Parse(strings.ToLower(server)); err == nil && u.User != nil {
		u.User = nil // not shown
		shown = u.String()
		return bad("credentials do not belong in a server")
	}
	h := serverHost(server)
	u, err := url.Parse("//" + h)
	if err != nil || u.Host != h || u.User != nil || u.Hostname() == "" || strings.HasSuffix(h, ":") {
		return bad("not a host[:port]")
	}
	if name := u.Hostname(); net.ParseIP(name) == nil && !hostName.MatchString(name) {
		return bad(fmt.Sprintf("%q is not a host name", name))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("port %q is out of range", p))
		}
	}
	return h, nil
}

// ServerHostOf is the lower-case host[:port] of a server value as eggs
// carry it, without ServerHost's checks (eggs' servers were checked when
// their Nest was parsed).
func ServerHostOf(server string) string { return serverHost(server) }
