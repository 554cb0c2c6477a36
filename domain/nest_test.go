package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// The error text of a failure is recorded without credentials and within
// MaxSyncErrorLen bytes.
func TestNestSync_RecordFailed_error_is_redacted_and_bounded(t *testing.T) {
	n := mustNest(t)
	tests := []struct {
		name, in, secret string
	}{
		{"url_userinfo", `gitrepo: fetch https://deploy:hunter2-token@gitlab.example.com/nest.git (branch main): Get "https://deploy:hunter2-token@gitlab.example.com/nest.git/info/refs": dial tcp: lookup gitlab.example.com: no such host`, "hunter2-token"},
		{"query_token", `Get "https://gitlab.example.com/nest.git/info/refs?service=git-upload-pack&private_token=glpat-abcdef123456": 401`, "glpat-abcdef123456"},
		{"token_pair", `remote: access_token=glpat-zyx987654321 rejected`, "glpat-zyx987654321"},
		{"bearer", `request with Authorization: Bearer glpat-qqq111222333 refused`, "glpat-qqq111222333"},
		{"pem", "ssh: bad key -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := n.RecordFailed(events.NestSyncFailed{Trigger: "scheduled", Error: tc.in})
			if err != nil {
				t.Fatal(err)
			}
			got := evs[0].(events.NestSyncFailed).Error
			if strings.Contains(got, tc.secret) || !strings.Contains(got, "***") {
				t.Fatalf("recorded %q", got)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		evs, err := n.RecordFailed(events.NestSyncFailed{Trigger: "scheduled", Error: "gitrepo: fetch: " + strings.Repeat("é", 2*domain.MaxSyncErrorLen)})
		if err != nil {
			t.Fatal(err)
		}
		got := evs[0].(events.NestSyncFailed).Error
		if len(got) > domain.MaxSyncErrorLen || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "gitrepo: fetch: ") {
			t.Fatalf("recorded %d bytes: %q", len(got), got)
		}
	})
	t.Run("known_value", func(t *testing.T) {
		if got := domain.Redact("auth as oauth2 with s3cr3t-value failed", "s3cr3t-value"); strings.Contains(got, "s3cr3t") {
			t.Fatalf("redacted %q", got)
		}
	})
}

func TestNestSync_RecordFailureRepeated(t *testing.T) {
	failed := events.NestSyncFailed{Trigger: "scheduled", Error: "gitrepo: fetch: reference not found"}
	ok := events.NestSyncFailureRepeated{FailureEventID: "ev-1", FailurePosition: 7, Count: 3, FirstAt: t0, LastAt: t0.Add(time.Hour)}
	tests := []struct {
		name string
		in   events.NestSyncFailureRepeated
		code string
	}{
		{"counted", ok, ""},
		{"with_commit", func() events.NestSyncFailureRepeated { r := ok; r.Commit = "bbbb222"; return r }(), ""},
		{"no_event_id", func() events.NestSyncFailureRepeated { r := ok; r.FailureEventID = ""; return r }(), errs.EINVALID},
		{"no_position", func() events.NestSyncFailureRepeated { r := ok; r.FailurePosition = 0; return r }(), errs.EINVALID},
		{"zero_count", func() events.NestSyncFailureRepeated { r := ok; r.Count = 0; return r }(), errs.EINVALID},
		{"times_reversed", func() events.NestSyncFailureRepeated { r := ok; r.LastAt = t0.Add(-time.Second); return r }(), errs.EINVALID},
		{"bad_commit", func() events.NestSyncFailureRepeated { r := ok; r.Commit = "main"; return r }(), errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := mustNest(t, events.NestSynced{Commit: "aaaa111", Trigger: "manual"}, failed)
			evs, err := n.RecordFailureRepeated(tc.in)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			wantEvents(t, evs, tc.in)
			after := mustNest(t, events.NestSynced{Commit: "aaaa111", Trigger: "manual"}, failed, evs[0])
			if after.LastCommit() != "aaaa111" || after.LastStatus() != domain.SyncFailed || after.Version() != 3 {
				t.Fatalf("a repeat changed the state: %q %s v%d", after.LastCommit(), after.LastStatus(), after.Version())
			}
		})
	}
}

// LivePaths adds up the changes of every NestSynced: it needs no Git object.
func TestNestSync_LivePaths(t *testing.T) {
	n := mustNest(t,
		events.NestSynced{Commit: "aaaa111", Trigger: "manual", Changes: []events.FileChange{
			{Path: "Eggs/x/config.fly", Action: "added"}, {Path: "Eggs/y/config.fly", Action: "added"}, {Path: "Jobs/rotate.fly", Action: "added"}}},
		events.NestSyncFailed{Commit: "bbbb222", Trigger: "webhook", Error: "x"},
		events.NestSynced{Commit: "cccc333", Trigger: "manual", Changes: []events.FileChange{
			{Path: "Eggs/x/config.fly", Action: "removed"}, {Path: "Eggs/y/config.fly", Action: "modified"}, {Path: "UF/config.fly", Action: "added"}}},
	)
	if got := n.LivePaths(); !slices.Equal(got, []string{"Eggs/y/config.fly", "Jobs/rotate.fly", "UF/config.fly"}) {
		t.Fatalf("live paths %v", got)
	}
	if got := mustNest(t).LivePaths(); len(got) != 0 {
		t.Fatalf("live paths before any sync %v", got)
	}
}
