package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// TestLeaseLog_one_holder_at_a_time: the log records an acquisition under a
// new token only, closes a predecessor that lapsed silently before the new
// holder's acquisition, and ignores a release or loss of a token it no
// longer shows held.
func TestLeaseLog_one_holder_at_a_time(t *testing.T) {
	const name = "uglyfox-sweep"
	acquiredA := events.UglyFoxLeaseAcquired{Lease: name, Holder: "fox-a", Token: 1, TTLMS: 30000, ExpiresAt: t0.Add(30 * time.Second)}
	released := events.UglyFoxLeaseReleased{Lease: name, Holder: "fox-a", Token: 1}
	tests := []struct {
		name    string
		history []events.Event
		decide  func(*domain.LeaseLog) ([]events.Event, error)
		want    []events.Event
		code    string
	}{
		{"first_acquisition", nil, func(l *domain.LeaseLog) ([]events.Event, error) {
			return l.Acquire("fox-a", 1, 30*time.Second, t0.Add(30*time.Second))
		}, []events.Event{acquiredA}, ""},
		{"same_token_again_records_nothing", []events.Event{acquiredA}, func(l *domain.LeaseLog) ([]events.Event, error) {
			return l.Acquire("fox-a", 1, 30*time.Second, t0.Add(time.Minute))
		}, nil, ""},
		{"takeover_closes_the_silent_predecessor", []events.Event{acquiredA}, func(l *domain.LeaseLog) ([]events.Event, error) {
			return l.Acquire("fox-b", 2, 30*time.Second, t0.Add(time.Minute))
		}, []events.Event{
			events.UglyFoxLeaseLost{Lease: name, Holder: "fox-a", Token: 1, Reason: "it lapsed; fox-b took the lease over with token 2"},
			events.UglyFoxLeaseAcquired{Lease: name, Holder: "fox-b", Token: 2, TTLMS: 30000, ExpiresAt: t0.Add(time.Minute)},
		}, ""},
		{"after_a_release_no_loss", []events.Event{acquiredA, released}, func(l *domain.LeaseLog) ([]events.Event, error) {
			return l.Acquire("fox-b", 2, 30*time.Second, t0.Add(time.Minute))
		}, []events.Event{events.UglyFoxLeaseAcquired{Lease: name, Holder: "fox-b", Token: 2, TTLMS: 30000, ExpiresAt: t0.Add(time.Minute)}}, ""},
		{"stale_token_is_refused", []events.Event{acquiredA, released}, func(l *domain.LeaseLog) ([]events.Event, error) {
			return l.Acquire("fox-b", 1, 30*time.Second, t0)
		}, nil, errs.ECONFLICT},
		{"resume_after_a_loss_under_the_same_token", []events.Event{acquiredA, events.UglyFoxLeaseLost{Lease: name, Holder: "fox-a", Token: 1, Reason: "the store was away"}},
			func(l *domain.LeaseLog) ([]events.Event, error) {
				return l.Acquire("fox-a", 1, 30*time.Second, t0.Add(30*time.Second))
			}, []events.Event{acquiredA}, ""},
		{"another_holder_under_a_used_token_is_refused", []events.Event{acquiredA, released}, func(l *domain.LeaseLog) ([]events.Event, error) {
			return l.Acquire("fox-b", 1, 30*time.Second, t0)
		}, nil, errs.ECONFLICT},
		{"release", []events.Event{acquiredA}, func(l *domain.LeaseLog) ([]events.Event, error) { return l.Release("fox-a", 1) }, []events.Event{released}, ""},
		{"release_of_an_old_token_records_nothing", []events.Event{acquiredA, released}, func(l *domain.LeaseLog) ([]events.Event, error) { return l.Release("fox-a", 1) }, nil, ""},
		{"loss_after_a_takeover_records_nothing", []events.Event{acquiredA, events.UglyFoxLeaseLost{Lease: name, Holder: "fox-a", Token: 1}, events.UglyFoxLeaseAcquired{Lease: name, Holder: "fox-b", Token: 2, TTLMS: 1}},
			func(l *domain.LeaseLog) ([]events.Event, error) { return l.Lose("fox-a", 1, "fenced") }, nil, ""},
		{"loss", []events.Event{acquiredA}, func(l *domain.LeaseLog) ([]events.Event, error) { return l.Lose("fox-a", 1, "fenced") },
			[]events.Event{events.UglyFoxLeaseLost{Lease: name, Holder: "fox-a", Token: 1, Reason: "fenced"}}, ""},
		{"token_zero_is_invalid", nil, func(l *domain.LeaseLog) ([]events.Event, error) { return l.Acquire("fox-a", 0, time.Second, t0) }, nil, errs.EINVALID},
		{"empty_holder_is_invalid", nil, func(l *domain.LeaseLog) ([]events.Event, error) { return l.Release("", 1) }, nil, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := domain.RehydrateLeaseLog(name, history(domain.LeaseStream(name), tc.history...))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.decide(l)
			wantCode(t, err, tc.code)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
