package domain_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

func TestCheckCron(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		ok       bool
	}{
		{"daily", "0 3 * * *", true},
		{"every_five_minutes", "*/5 * * * *", true},
		{"weekdays", "30 8 * * 1-5", true},
		{"lists_and_steps", "0,15,30,45 0-23/2 1,15 * *", true},
		{"names", "0 0 1 JAN,jul mon-fri", true},
		{"sunday_as_seven", "0 0 * * 7", true},
		{"extra_spaces", " 0  3 * * * ", true},
		{"four_fields", "0 3 * *", false},
		{"six_fields", "0 0 3 * * *", false},
		{"macro", "@daily", false},
		{"empty", "", false},
		{"minute_out_of_range", "60 * * * *", false},
		{"hour_out_of_range", "0 24 * * *", false},
		{"day_zero", "0 0 0 * *", false},
		{"month_thirteen", "0 0 1 13 *", false},
		{"weekday_eight", "0 0 * * 8", false},
		{"zero_step", "*/0 * * * *", false},
		{"backwards_range", "0 5-3 * * *", false},
		{"empty_list_item", "0, * * * *", false},
		{"word", "every * * * *", false},
		{"month_name_in_weekday", "0 0 * * JAN", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.CheckCron(tc.schedule)
			if tc.ok {
				wantCode(t, err, "")
			} else {
				wantCode(t, err, errs.EINVALID)
			}
		})
	}
}

func mustJob(t *testing.T, evs ...events.Event) *domain.Job {
	t.Helper()
	j, err := domain.RehydrateJob("rotate-tokens", history(domain.JobStream("rotate-tokens"), evs...))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJob_Sync(t *testing.T) {
	job := events.JobSynced{Name: "rotate-tokens", Schedule: "0 3 * * *", Egg: "web", Image: "alpine:3.20", ConfigHash: "sha256:9a", Commit: "da15608", Path: "Jobs/rotate-tokens.fly"}
	changed := job
	changed.Schedule, changed.ConfigHash = "0 4 * * *", "sha256:9b"
	removal := events.JobSynced{Name: "rotate-tokens", Removed: true, ConfigHash: "sha256:9a", Commit: "ee55"}
	bad := func(f func(*events.JobSynced)) events.JobSynced {
		j := job
		f(&j)
		return j
	}
	tests := []struct {
		name    string
		history []events.Event
		in      events.JobSynced
		emits   bool
		code    string
	}{
		{"new_job", nil, job, true, ""},
		{"same_hash_is_no_op", []events.Event{job}, job, false, ""},
		{"hash_changed", []events.Event{job}, changed, true, ""},
		{"removed", []events.Event{job}, removal, true, ""},
		{"removed_twice_is_no_op", []events.Event{job, removal}, removal, false, ""},
		{"back_after_removal", []events.Event{job, removal}, job, true, ""},
		{"remove_unknown", nil, removal, false, errs.ENOTFOUND},
		{"bad_schedule", nil, bad(func(j *events.JobSynced) { j.Schedule = "0 3 * *" }), false, errs.EINVALID},
		{"bad_egg", nil, bad(func(j *events.JobSynced) { j.Egg = "Web" }), false, errs.EINVALID},
		{"no_hash", nil, bad(func(j *events.JobSynced) { j.ConfigHash = "" }), false, errs.EINVALID},
		{"other_name", nil, bad(func(j *events.JobSynced) { j.Name = "prune" }), false, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := mustJob(t, tc.history...)
			evs, err := j.Sync(tc.in)
			wantCode(t, err, tc.code)
			if !tc.emits {
				wantEvents(t, evs)
				return
			}
			wantEvents(t, evs, tc.in)
			after := mustJob(t, append(tc.history, evs...)...)
			if after.Exists() == tc.in.Removed {
				t.Fatalf("after sync exists=%v, removed=%v", after.Exists(), tc.in.Removed)
			}
		})
	}
	t.Run("removal_without_hash_names_the_last_config", func(t *testing.T) {
		j := mustJob(t, job, changed)
		unnamed := removal
		unnamed.ConfigHash = ""
		evs, err := j.Sync(unnamed)
		wantCode(t, err, "")
		want := removal
		want.ConfigHash = changed.ConfigHash
		wantEvents(t, evs, want)
	})
	t.Run("bad_name", func(t *testing.T) {
		_, err := domain.RehydrateJob("Rotate", nil)
		wantCode(t, err, errs.EINVALID)
	})
}

func TestUglyFoxConfig_Sync(t *testing.T) {
	cfg := events.UglyFoxConfigSynced{ConfigHash: "sha256:77", Commit: "da15608", Path: "UF/config.fly", Policies: []string{"prune_failed"}}
	changed := cfg
	changed.ConfigHash, changed.Policies = "sha256:78", []string{"prune_failed", "demote_idle"}
	tests := []struct {
		name    string
		history []events.Event
		in      events.UglyFoxConfigSynced
		emits   bool
		code    string
	}{
		{"first", nil, cfg, true, ""},
		{"same_hash_is_no_op", []events.Event{cfg}, cfg, false, ""},
		{"changed", []events.Event{cfg}, changed, true, ""},
		{"no_hash", nil, events.UglyFoxConfigSynced{Commit: "aa11"}, false, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := domain.RehydrateUglyFoxConfig(history(domain.UglyFoxStream(), tc.history...))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := u.Sync(tc.in)
			wantCode(t, err, tc.code)
			if !tc.emits {
				wantEvents(t, evs)
				return
			}
			wantEvents(t, evs, tc.in)
			after, err := domain.RehydrateUglyFoxConfig(history(domain.UglyFoxStream(), append(tc.history, evs...)...))
			if err != nil || after.ConfigHash() != tc.in.ConfigHash || len(after.Policies()) != len(tc.in.Policies) {
				t.Fatalf("after sync: %v %q %v", err, after.ConfigHash(), after.Policies())
			}
		})
	}
}
