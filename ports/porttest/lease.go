package porttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Leases runs the lease store contract against stores from newStore.
// newStore may return the same store each time: every case uses its own
// lease names. Times are a controlled clock, so nothing here sleeps.
func Leases(t *testing.T, newStore func(t *testing.T) ports.Leases) {
	ctx := context.Background()
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	const ttl = 10 * time.Second

	t.Run("a_free_lease_is_taken_with_token_1", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		if _, ok, err := s.Get(ctx, name); err != nil || ok {
			t.Fatalf("get of a lease never taken: %v %v", ok, err)
		}
		l, err := s.Acquire(ctx, name, "a", ttl, t0)
		if err != nil {
			t.Fatal(err)
		}
		if l.Name != name || l.Holder != "a" || l.Token != 1 || !l.ExpiresAt.Equal(t0.Add(ttl)) {
			t.Fatalf("acquired %+v", l)
		}
		got, ok, err := s.Get(ctx, name)
		if err != nil || !ok || got != l {
			t.Fatalf("get %+v %v %v, want %+v", got, ok, err, l)
		}
	})

	t.Run("a_held_lease_is_refused_to_another_holder", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		mustAcquire(t, s, name, "a", ttl, t0)
		l, err := s.Acquire(ctx, name, "b", ttl, t0.Add(ttl-time.Millisecond))
		if errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("second holder: %v", err)
		}
		if l.Holder != "a" || l.Token != 1 {
			t.Fatalf("the refusal returns %+v, want a's lease", l)
		}
	})

	t.Run("renewal_keeps_the_token_and_moves_the_expiry", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		mustAcquire(t, s, name, "a", ttl, t0)
		l := mustAcquire(t, s, name, "a", ttl, t0.Add(5*time.Second))
		if l.Token != 1 || !l.ExpiresAt.Equal(t0.Add(5*time.Second+ttl)) {
			t.Fatalf("renewed %+v", l)
		}
		if _, err := s.Acquire(ctx, name, "b", ttl, t0.Add(ttl+time.Second)); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("b took a renewed lease before its new expiry: %v", err)
		}
	})

	t.Run("a_lapsed_lease_goes_to_another_with_the_next_token", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		mustAcquire(t, s, name, "a", ttl, t0)
		l := mustAcquire(t, s, name, "b", ttl, t0.Add(ttl))
		if l.Holder != "b" || l.Token != 2 {
			t.Fatalf("taken over %+v", l)
		}
		// The old holder, back from a pause, is fenced and cannot renew.
		if err := s.Check(ctx, name, 1, t0.Add(ttl+time.Second)); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("check of the old token: %v", err)
		}
		if _, err := s.Acquire(ctx, name, "a", ttl, t0.Add(ttl+time.Second)); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("the old holder took it back: %v", err)
		}
		if err := s.Check(ctx, name, 2, t0.Add(ttl+time.Second)); err != nil {
			t.Fatalf("check of the holder's token: %v", err)
		}
	})

	t.Run("the_same_holder_after_a_lapse_gets_a_new_token", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		mustAcquire(t, s, name, "a", ttl, t0)
		if l := mustAcquire(t, s, name, "a", ttl, t0.Add(2*ttl)); l.Token != 2 {
			t.Fatalf("re-taken after a lapse %+v, want token 2", l)
		}
	})

	t.Run("check_refuses_a_lapsed_lease", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		l := mustAcquire(t, s, name, "a", ttl, t0)
		if err := s.Check(ctx, name, l.Token, t0.Add(ttl)); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("check at expiry: %v", err)
		}
		if err := s.Check(ctx, uniqueKey("lease-none"), 1, t0); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("check of a lease never taken: %v", err)
		}
	})

	t.Run("release_frees_the_lease_and_keeps_the_token", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		l := mustAcquire(t, s, name, "a", ttl, t0)
		// A release with a stale token or by another holder does nothing.
		if err := s.Release(ctx, name, "b", l.Token); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, name, "a", l.Token+1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Acquire(ctx, name, "b", ttl, t0.Add(time.Second)); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("a foreign release freed the lease: %v", err)
		}
		if err := s.Release(ctx, name, "a", l.Token); err != nil {
			t.Fatal(err)
		}
		if err := s.Check(ctx, name, l.Token, t0.Add(time.Second)); errs.Code(err) != errs.ECONFLICT {
			t.Fatalf("check after release: %v", err)
		}
		if got := mustAcquire(t, s, name, "b", ttl, t0.Add(time.Second)); got.Token != 2 {
			t.Fatalf("taken after release %+v, want token 2", got)
		}
	})

	t.Run("of_concurrent_acquirers_exactly_one_wins", func(t *testing.T) {
		s, name := newStore(t), uniqueKey("lease")
		const n = 8
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  []string
			errc = make(chan error, n)
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				holder := fmt.Sprintf("h%d", i)
				_, err := s.Acquire(ctx, name, holder, ttl, t0)
				switch {
				case err == nil:
					mu.Lock()
					won = append(won, holder)
					mu.Unlock()
				case errs.Code(err) != errs.ECONFLICT:
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if len(won) != 1 {
			t.Fatalf("%d winners: %v", len(won), won)
		}
		if l, _, _ := s.Get(ctx, name); l.Holder != won[0] || l.Token != 1 {
			t.Fatalf("stored %+v, winner %s", l, won[0])
		}
	})

	t.Run("bad_arguments_are_EINVALID", func(t *testing.T) {
		s := newStore(t)
		for _, tc := range []struct {
			name, holder string
			ttl          time.Duration
		}{{"", "a", ttl}, {uniqueKey("lease"), "", ttl}, {uniqueKey("lease"), "a", 0}} {
			if _, err := s.Acquire(ctx, tc.name, tc.holder, tc.ttl, t0); errs.Code(err) != errs.EINVALID {
				t.Fatalf("acquire(%q, %q, %s): %v", tc.name, tc.holder, tc.ttl, err)
			}
		}
	})
}

func mustAcquire(t *testing.T, s ports.Leases, name, holder string, ttl time.Duration, now time.Time) ports.Lease {
	t.Helper()
	l, err := s.Acquire(context.Background(), name, holder, ttl, now)
	if err != nil {
		t.Fatalf("acquire %s by %s: %v", name, holder, err)
	}
	return l
}
