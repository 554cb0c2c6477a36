package domain_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

func mustNest(t *testing.T, evs ...events.Event) *domain.NestSync {
	t.Helper()
	n, err := domain.RehydrateNestSync(history(domain.NestStream(), evs...))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNestSync_RecordSynced(t *testing.T) {
	first := events.NestSynced{Commit: "aaaa111", Trigger: "scheduled", StartedAt: t0, DurationMS: 40}
	failed := events.NestSyncFailed{Commit: "bbbb222", Trigger: "webhook", Diagnostics: []events.Diagnostic{{File: "Eggs/web/config.fly", Line: 3, Column: 5, Severity: "error", Summary: "bad cpu"}}}
	tests := []struct {
		name     string
		history  []events.Event
		in       events.NestSynced
		previous string
		code     string
	}{
		{"first_sync", nil, first, "", ""},
		{"second_sync", []events.Event{first}, events.NestSynced{Commit: "cccc333", Trigger: "manual"}, "aaaa111", ""},
		{"after_a_failure", []events.Event{first, failed}, events.NestSynced{Commit: "cccc333", Trigger: "webhook"}, "aaaa111", ""},
		{"caller_previous_ignored", []events.Event{first}, events.NestSynced{Commit: "cccc333", PreviousCommit: "ffff", Trigger: "manual"}, "aaaa111", ""},
		{"full_sha", nil, events.NestSynced{Commit: "da1560837b8f64ac8a1f93c3f6f8a6d0f1e2c3b4", Trigger: "manual"}, "", ""},
		{"bad_trigger", nil, events.NestSynced{Commit: "aaaa111", Trigger: "cron"}, "", errs.EINVALID},
		{"no_commit", nil, events.NestSynced{Trigger: "manual"}, "", errs.EINVALID},
		{"non_hex_commit", nil, events.NestSynced{Commit: "main", Trigger: "manual"}, "", errs.EINVALID},
		{"negative_count", nil, events.NestSynced{Commit: "aaaa111", Trigger: "manual", EggsAdded: -1}, "", errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustNest(t, tc.history...).RecordSynced(tc.in)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			want := tc.in
			want.PreviousCommit = tc.previous
			wantEvents(t, evs, want)
			after := mustNest(t, append(tc.history, evs...)...)
			if after.LastCommit() != tc.in.Commit || after.LastStatus() != domain.SyncSuccess {
				t.Fatalf("last commit %q status %s", after.LastCommit(), after.LastStatus())
			}
		})
	}
}

func TestNestSync_RecordFailed(t *testing.T) {
	first := events.NestSynced{Commit: "aaaa111", Trigger: "scheduled"}
	diag := []events.Diagnostic{{File: "Eggs/web/config.fly", Line: 3, Column: 5, Severity: "error", Summary: "bad cpu"}}
	tests := []struct {
		name    string
		history []events.Event
		in      events.NestSyncFailed
		code    string
	}{
		{"invalid_file", []events.Event{first}, events.NestSyncFailed{Commit: "bbbb222", Trigger: "webhook", Diagnostics: diag}, ""},
		{"fetch_failed_without_commit", []events.Event{first}, events.NestSyncFailed{Trigger: "scheduled", Error: "fetch: connection refused"}, ""},
		{"no_diagnostic_no_error", nil, events.NestSyncFailed{Commit: "bbbb222", Trigger: "manual"}, errs.EINVALID},
		{"diagnostics_without_commit", nil, events.NestSyncFailed{Trigger: "manual", Diagnostics: diag}, errs.EINVALID},
		{"bad_commit", nil, events.NestSyncFailed{Commit: "xyz!", Trigger: "manual", Error: "x"}, errs.EINVALID},
		{"bad_trigger", nil, events.NestSyncFailed{Commit: "bbbb222", Trigger: "", Diagnostics: diag}, errs.EINVALID},
		{"negative_duration", nil, events.NestSyncFailed{Commit: "bbbb222", Trigger: "manual", Diagnostics: diag, DurationMS: -1}, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := mustNest(t, tc.history...)
			evs, err := n.RecordFailed(tc.in)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			want := tc.in
			want.PreviousCommit = n.LastCommit()
			wantEvents(t, evs, want)
			after := mustNest(t, append(tc.history, evs...)...)
			if after.LastCommit() != n.LastCommit() || after.LastStatus() != domain.SyncFailed {
				t.Fatalf("a failure moved the last commit to %q (status %s)", after.LastCommit(), after.LastStatus())
			}
		})
	}
	t.Run("pure", func(t *testing.T) {
		n := mustNest(t, first)
		assertPure(t, n.Version, func() ([]events.Event, error) {
			return n.RecordFailed(events.NestSyncFailed{Commit: "bbbb222", Trigger: "webhook", Diagnostics: diag})
		})
		assertPure(t, n.Version, func() ([]events.Event, error) {
			return n.RecordSynced(events.NestSynced{Commit: "bbbb222", Trigger: "webhook"})
		})
		if n.LastCommit() != "aaaa111" {
			t.Fatal("decision changed the last commit")
		}
	})
}
