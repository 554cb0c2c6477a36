package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

// An unauthenticated delivery lives in a namespace of its own: another
// stream and another idempotency key than the authenticated delivery of the
// same id, so that it cannot take GitLab's real delivery's place.
func TestWebhook_unauthenticated_namespace(t *testing.T) {
	const id = "13792a34-cac6"
	auth, err := domain.RehydrateWebhook(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	unauth, err := domain.RehydrateUnauthenticatedWebhook(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth.Stream() == unauth.Stream() || auth.IdempotencyKey() == unauth.IdempotencyKey() {
		t.Fatalf("same namespace: streams %q %q, keys %q %q", auth.Stream(), unauth.Stream(), auth.IdempotencyKey(), unauth.IdempotencyKey())
	}
	// No delivery id, however chosen, names the other namespace's stream
	// or key: ids have no spaces, and no WebhookStream starts "unauthenticated-".
	for _, other := range []string{"unauthenticated-webhook-" + id, "unauthenticated " + id, "unauthenticated-" + id} {
		w, err := domain.RehydrateWebhook(other, nil)
		if err != nil {
			continue // not a delivery id at all
		}
		if w.Stream() == unauth.Stream() || w.IdempotencyKey() == unauth.IdempotencyKey() {
			t.Fatalf("authenticated delivery %q takes the unauthenticated namespace of %q", other, id)
		}
	}
	if !strings.HasPrefix(unauth.Stream(), "unauthenticated-webhook-") || strings.HasPrefix(unauth.Stream(), "webhook-") {
		t.Fatalf("stream %q", unauth.Stream())
	}

	ignored := events.WebhookReceived{DeliveryID: id, EventKind: "push", Outcome: "ignored", Reason: "no egg", Unauthenticated: true,
		Ref: "refs/heads/main", Tags: []string{"docker"}, JobStatus: "pending", Egg: "web", ProjectID: 7}
	evs, err := unauth.Receive(ignored)
	if err != nil {
		t.Fatal(err)
	}
	want := events.WebhookReceived{DeliveryID: id, EventKind: "push", Outcome: "ignored", Reason: "no egg", Unauthenticated: true, ProjectID: 7}
	wantEvents(t, evs, want)

	for name, tc := range map[string]struct {
		w  *domain.Webhook
		in events.WebhookReceived
	}{
		"unauthenticated_in_authenticated_stream": {auth, ignored},
		"authenticated_in_unauthenticated_stream": {unauth, func() events.WebhookReceived { r := ignored; r.Unauthenticated = false; return r }()},
		"unauthenticated_accepted":                {unauth, func() events.WebhookReceived { r := ignored; r.Outcome = "accepted"; return r }()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.w.Receive(tc.in)
			wantCode(t, err, errs.EINVALID)
		})
	}
	// The history of one namespace does not rehydrate the other.
	if _, err := domain.RehydrateWebhook(id, history(domain.UnauthenticatedWebhookStream(id), want)); err == nil {
		t.Fatal("an unauthenticated stream rehydrated an authenticated delivery")
	}
}

func TestBoundDelivery(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n/2) + "x" } // 2-byte runes, odd length
	manyTags := make([]string, domain.MaxWebhookTags+5)
	for i := range manyTags {
		manyTags[i] = "t"
	}
	tests := []struct {
		name      string
		in        events.WebhookReceived
		truncated []string
	}{
		{"within_bounds", events.WebhookReceived{EventKind: "build", Ref: "main", Tags: []string{"docker"}, GitLabServer: "gitlab.com", Reason: "r"}, nil},
		{"every_string", events.WebhookReceived{EventKind: long(1 << 20), Ref: long(1 << 20), JobStatus: long(300), GitLabServer: long(1000), Reason: long(5000), Tags: []string{long(1000)}},
			[]string{"event_kind", "reason", "gitlab_server", "job_status", "ref", "tags"}},
		{"too_many_tags", events.WebhookReceived{EventKind: "build", Tags: manyTags}, []string{"tags"}},
		{"already_marked", events.WebhookReceived{EventKind: long(100), Truncated: []string{"event_kind"}}, []string{"event_kind"}},
		{"unauthenticated_drops_free_text", events.WebhookReceived{EventKind: "push", Unauthenticated: true, Ref: long(1 << 20), Tags: manyTags, JobStatus: "pending", Egg: "web"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := domain.BoundDelivery(tc.in)
			if !reflect.DeepEqual(got.Truncated, tc.truncated) {
				t.Fatalf("truncated %q, want %q", got.Truncated, tc.truncated)
			}
			for field, v := range map[string]struct {
				s   string
				max int
			}{
				"event_kind": {got.EventKind, domain.MaxWebhookEventKind}, "ref": {got.Ref, domain.MaxWebhookRef},
				"job_status": {got.JobStatus, domain.MaxWebhookJobStatus}, "gitlab_server": {got.GitLabServer, domain.MaxWebhookServer},
				"reason": {got.Reason, domain.MaxWebhookReason},
			} {
				if len(v.s) > v.max || !utf8.ValidString(v.s) {
					t.Errorf("%s: %d bytes (max %d), valid UTF-8 %v", field, len(v.s), v.max, utf8.ValidString(v.s))
				}
			}
			if len(got.Tags) > domain.MaxWebhookTags {
				t.Errorf("%d tags", len(got.Tags))
			}
			for _, tag := range got.Tags {
				if len(tag) > domain.MaxWebhookTag || !utf8.ValidString(tag) {
					t.Errorf("tag of %d bytes", len(tag))
				}
			}
			if tc.in.Unauthenticated && (got.Ref != "" || got.Tags != nil || got.JobStatus != "" || got.Egg != "") {
				t.Errorf("unauthenticated record keeps free text: %+v", got)
			}
		})
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
		cut  bool
	}{
		{"abc", 3, "abc", false},
		{"abcd", 3, "abc", true},
		{"aé", 2, "a", true},                        // é is 2 bytes: not split
		{"a😀", 4, "a", true},                        // 4-byte rune
		{"😀😀", 4, "😀", true},                        // on a boundary
		{"a\xff\xff\xff\xff", 3, "a\xff\xff", true}, // invalid UTF-8 is cut where it is
		{"\x80\x80\x80\x80\x80", 2, "\x80\x80", true},
	} {
		got, cut := domain.TruncateUTF8(tc.in, tc.max)
		if got != tc.want || cut != tc.cut {
			t.Errorf("TruncateUTF8(%q, %d) = %q, %v; want %q, %v", tc.in, tc.max, got, cut, tc.want, tc.cut)
		}
	}
}

func TestJobEnded(t *testing.T) {
	for status, want := range map[string]bool{
		"success": true, "failed": true, "canceled": true, "cancelled": true, "skipped": true,
		"pending": false, "running": false, "created": false, "manual": false, "waiting_for_resource": false, "": false, "SUCCESS": false,
	} {
		if got := domain.JobEnded(status); got != want {
			t.Errorf("JobEnded(%q) = %v, want %v", status, got, want)
		}
	}
}
