package domain_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

func mustBinary(t *testing.T, evs ...events.Event) *domain.Binary {
	t.Helper()
	b, err := domain.RehydrateBinary("tofu", history(domain.BinaryStream("tofu"), evs...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var tofu1126 = events.BinaryVersionRegistered{Binary: "tofu", Version: "1.12.6", Platform: "linux/amd64", SHA256: "0f3c", Source: "github"}

func TestBinary_RegisterVersion(t *testing.T) {
	with := func(f func(*events.BinaryVersionRegistered)) events.BinaryVersionRegistered {
		r := tofu1126
		f(&r)
		return r
	}
	tests := []struct {
		name    string
		history []events.Event
		in      events.BinaryVersionRegistered
		code    string
	}{
		{"first", nil, tofu1126, ""},
		{"binary_filled_in", nil, with(func(r *events.BinaryVersionRegistered) { r.Binary = "" }), ""},
		{"other_version", []events.Event{tofu1126}, with(func(r *events.BinaryVersionRegistered) { r.Version = "1.12.7" }), ""},
		{"other_platform", []events.Event{tofu1126}, with(func(r *events.BinaryVersionRegistered) { r.Platform = "linux/arm64" }), ""},
		{"duplicate", []events.Event{tofu1126}, tofu1126, errs.ECONFLICT},
		{"other_binary", nil, with(func(r *events.BinaryVersionRegistered) { r.Binary = "gosling" }), errs.EINVALID},
		{"no_version", nil, with(func(r *events.BinaryVersionRegistered) { r.Version = "" }), errs.EINVALID},
		{"bad_platform", nil, with(func(r *events.BinaryVersionRegistered) { r.Platform = "linux" }), errs.EINVALID},
		{"bad_sha", nil, with(func(r *events.BinaryVersionRegistered) { r.SHA256 = "not-hex" }), errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustBinary(t, tc.history...).RegisterVersion(tc.in)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			want := tc.in
			want.Binary = "tofu"
			wantEvents(t, evs, want)
			if !mustBinary(t, append(tc.history, evs...)...).Registered(tc.in.Version) {
				t.Fatal("version not registered after the event")
			}
		})
	}
}

func TestBinary_Activate(t *testing.T) {
	tofu1127 := tofu1126
	tofu1127.Version = "1.12.7"
	activated := events.BinaryVersionActivated{Binary: "tofu", Version: "1.12.6", Actor: "alice", Reason: "test"}
	tests := []struct {
		name    string
		history []events.Event
		version string
		want    []events.Event
		code    string
	}{
		{"first_activation", []events.Event{tofu1126}, "1.12.6", []events.Event{activated}, ""},
		{"upgrade", []events.Event{tofu1126, tofu1127, activated}, "1.12.7", []events.Event{events.BinaryVersionActivated{Binary: "tofu", Version: "1.12.7", PreviousVersion: "1.12.6", Actor: "alice", Reason: "test"}}, ""},
		{"already_active_is_no_op", []events.Event{tofu1126, activated}, "1.12.6", nil, ""},
		{"not_registered", []events.Event{tofu1126}, "1.13.0", nil, errs.ENOTFOUND},
		{"unknown_binary", nil, "1.12.6", nil, errs.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustBinary(t, tc.history...)
			evs, err := b.Activate(tc.version, "alice", "test")
			wantCode(t, err, tc.code)
			wantEvents(t, evs, tc.want...)
			if tc.code == "" {
				if got := mustBinary(t, append(tc.history, evs...)...).ActiveVersion(); got != tc.version {
					t.Fatalf("active version %q, want %q", got, tc.version)
				}
			}
		})
	}
}

func TestWebhook_Receive(t *testing.T) {
	accepted := events.WebhookReceived{DeliveryID: "13792a34-cac6", EventKind: "build", Outcome: "accepted", Egg: "web", ProjectID: 15, JobID: 1977, JobStatus: "pending"}
	with := func(f func(*events.WebhookReceived)) events.WebhookReceived {
		w := accepted
		f(&w)
		return w
	}
	tests := []struct {
		name    string
		history []events.Event
		in      events.WebhookReceived
		code    string
	}{
		{"accepted", nil, accepted, ""},
		{"id_filled_in", nil, with(func(w *events.WebhookReceived) { w.DeliveryID = "" }), ""},
		{"ignored_with_reason", nil, with(func(w *events.WebhookReceived) { w.Outcome, w.Reason, w.Egg = "ignored", "unknown project", "" }), ""},
		{"again", []events.Event{accepted}, accepted, errs.ECONFLICT},
		{"ignored_without_reason", nil, with(func(w *events.WebhookReceived) { w.Outcome = "ignored" }), errs.EINVALID},
		{"bad_outcome", nil, with(func(w *events.WebhookReceived) { w.Outcome = "rejected" }), errs.EINVALID},
		{"no_kind", nil, with(func(w *events.WebhookReceived) { w.EventKind = "" }), errs.EINVALID},
		{"other_id", nil, with(func(w *events.WebhookReceived) { w.DeliveryID = "x" }), errs.EINVALID},
		{"bad_egg", nil, with(func(w *events.WebhookReceived) { w.Egg = "Web App" }), errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := domain.RehydrateWebhook("13792a34-cac6", history(domain.WebhookStream("13792a34-cac6"), tc.history...))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := w.Receive(tc.in)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			want := tc.in
			want.DeliveryID = "13792a34-cac6"
			wantEvents(t, evs, want)
			assertPure(t, w.Version, func() ([]events.Event, error) { return w.Receive(tc.in) })
		})
	}
	for _, id := range []string{"", "has space", string(make([]byte, 129))} {
		if _, err := domain.RehydrateWebhook(id, nil); errs.Code(err) != errs.EINVALID {
			t.Fatalf("delivery id %q accepted: %v", id, err)
		}
	}
}

func TestRecordSecretAccess(t *testing.T) {
	ok := events.SecretAccessed{URI: "vault://secret/data/gosling#token", Accessor: "mothergoose:apply", Purpose: "runner registration", Outcome: "resolved"}
	tests := []struct {
		name string
		in   events.SecretAccessed
		code string
	}{
		{"resolved", ok, ""},
		{"failed", events.SecretAccessed{URI: "env://TOKEN", Accessor: "mothergoose:webhook", Outcome: "failed"}, ""},
		{"bad_uri", events.SecretAccessed{URI: "TOKEN", Accessor: "x", Outcome: "resolved"}, errs.EINVALID},
		{"no_accessor", events.SecretAccessed{URI: "env://TOKEN", Outcome: "resolved"}, errs.EINVALID},
		{"bad_outcome", events.SecretAccessed{URI: "env://TOKEN", Accessor: "x", Outcome: "ok"}, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := domain.RecordSecretAccess(tc.in)
			wantCode(t, err, tc.code)
			if tc.code == "" {
				wantEvents(t, evs, tc.in)
			}
		})
	}
}
