package domain_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
)

var eggSynced = events.EggSynced{
	Name: "web", Kind: "egg", RunnerType: "apex", Provider: "yandex", Region: "ru-central1-a",
	GitLabServer: "https://gitlab.example.com", ProjectIDs: []int64{15}, Tags: []string{"docker"},
	CPU: 2, MemoryGB: 4, DiskGB: 20, MinApex: 1, MaxApex: 3, MinNadir: 1,
	TokenSecretURI: "yc-lockbox://e6q/token", WebhookSecretURI: "yc-lockbox://e6q/webhook",
	ConfigHash: "sha256:1f2e", Commit: "da15608", Path: "Eggs/web/config.fly",
}

func mustEgg(t *testing.T, evs ...events.Event) *domain.Egg {
	t.Helper()
	name, err := domain.NewEggName("web")
	if err != nil {
		t.Fatal(err)
	}
	e, err := domain.RehydrateEgg(name, history(domain.EggStream("web"), evs...))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEgg_Sync(t *testing.T) {
	with := func(f func(*events.EggSynced)) events.EggSynced {
		c := eggSynced
		f(&c)
		return c
	}
	rehashed := with(func(c *events.EggSynced) { c.CPU, c.ConfigHash = 4, "sha256:2222" })
	removed := events.EggRemoved{Name: "web", Commit: "aa11"}
	tests := []struct {
		name    string
		history []events.Event
		in      events.EggSynced
		emits   bool
		code    string
	}{
		{"new_egg", nil, eggSynced, true, ""},
		{"same_hash_is_no_op", []events.Event{eggSynced}, with(func(c *events.EggSynced) { c.Commit = "bb22" }), false, ""},
		{"hash_changed", []events.Event{eggSynced}, rehashed, true, ""},
		{"back_after_removal", []events.Event{eggSynced, removed}, eggSynced, true, ""},
		{"bucket_with_groups", nil, with(func(c *events.EggSynced) { c.Kind, c.ProjectIDs, c.GroupIDs = "bucket", nil, []int64{7} }), true, ""},
		{"serverless_without_secrets", nil, with(func(c *events.EggSynced) {
			c.RunnerType, c.MinApex, c.MaxApex, c.TokenSecretURI, c.WebhookSecretURI = "serverless", 0, 0, "", ""
		}), true, ""},
		{"other_name", nil, with(func(c *events.EggSynced) { c.Name = "api" }), false, errs.EINVALID},
		{"bad_kind", nil, with(func(c *events.EggSynced) { c.Kind = "nest" }), false, errs.EINVALID},
		{"nadir_type", nil, with(func(c *events.EggSynced) { c.RunnerType = "nadir" }), false, errs.EINVALID},
		{"bad_type", nil, with(func(c *events.EggSynced) { c.RunnerType = "vm" }), false, errs.EINVALID},
		{"bad_provider", nil, with(func(c *events.EggSynced) { c.Provider = "" }), false, errs.EINVALID},
		{"no_region", nil, with(func(c *events.EggSynced) { c.Region = "" }), false, errs.EINVALID},
		{"no_project_or_group", nil, with(func(c *events.EggSynced) { c.ProjectIDs = nil }), false, errs.EINVALID},
		{"zero_project_id", nil, with(func(c *events.EggSynced) { c.ProjectIDs = []int64{0} }), false, errs.EINVALID},
		{"no_cpu", nil, with(func(c *events.EggSynced) { c.CPU = 0 }), false, errs.EINVALID},
		{"no_memory", nil, with(func(c *events.EggSynced) { c.MemoryGB = 0 }), false, errs.EINVALID},
		{"min_over_max", nil, with(func(c *events.EggSynced) { c.MinApex, c.MaxApex = 4, 3 }), false, errs.EINVALID},
		{"negative_min", nil, with(func(c *events.EggSynced) { c.MinApex = -1 }), false, errs.EINVALID},
		{"bad_token_uri", nil, with(func(c *events.EggSynced) { c.TokenSecretURI = "glrt-plaintext" }), false, errs.EINVALID},
		{"bad_webhook_uri", nil, with(func(c *events.EggSynced) { c.WebhookSecretURI = "s3://bucket/key" }), false, errs.EINVALID},
		{"no_config_hash", nil, with(func(c *events.EggSynced) { c.ConfigHash = "" }), false, errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEgg(t, tc.history...)
			evs, err := e.Sync(tc.in)
			wantCode(t, err, tc.code)
			if !tc.emits {
				wantEvents(t, evs)
				return
			}
			wantEvents(t, evs, tc.in)
			after := mustEgg(t, append(tc.history, evs...)...)
			if !after.Exists() || after.ConfigHash() != tc.in.ConfigHash {
				t.Fatalf("after sync: exists=%v hash %q", after.Exists(), after.ConfigHash())
			}
		})
	}
	t.Run("pure", func(t *testing.T) {
		e := mustEgg(t, eggSynced)
		assertPure(t, e.Version, func() ([]events.Event, error) { return e.Sync(rehashed) })
		if e.ConfigHash() != eggSynced.ConfigHash {
			t.Fatal("sync decision changed the egg")
		}
	})
}

func TestEgg_Remove(t *testing.T) {
	removed := events.EggRemoved{Name: "web", Commit: "aa11", Reason: "file removed"}
	tests := []struct {
		name    string
		history []events.Event
		code    string
	}{
		{"synced", []events.Event{eggSynced}, ""},
		{"resynced_after_removal", []events.Event{eggSynced, removed, eggSynced}, ""},
		{"never_synced", nil, errs.ENOTFOUND},
		{"already_removed", []events.Event{eggSynced, removed}, errs.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustEgg(t, tc.history...).Remove("aa11", "file removed")
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			wantEvents(t, evs, removed)
			if after := mustEgg(t, append(tc.history, evs...)...); after.Exists() || !after.Removed() {
				t.Fatal("egg still exists after removal")
			}
		})
	}
}

func TestEgg_AskRetry(t *testing.T) {
	removed := events.EggRemoved{Name: "web", Commit: "aa11", Reason: "file removed"}
	asked := events.EggRetryAsked{Egg: "web", Reason: "operator: retry"}
	tests := []struct {
		name    string
		history []events.Event
		reason  string
		code    string
	}{
		{"synced", []events.Event{eggSynced}, "operator: retry", ""},
		{"asked_again", []events.Event{eggSynced, asked}, "operator: retry", ""},
		{"resynced_after_removal", []events.Event{eggSynced, removed, eggSynced}, "operator: retry", ""},
		{"never_synced", nil, "operator: retry", errs.ENOTFOUND},
		{"removed", []events.Event{eggSynced, removed}, "operator: retry", errs.ECONFLICT},
		{"no_reason", []events.Event{eggSynced}, "", errs.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := mustEgg(t, tc.history...).AskRetry(tc.reason)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			wantEvents(t, evs, asked)
			after := mustEgg(t, append(tc.history, evs...)...)
			if !after.Exists() || after.ConfigHash() != eggSynced.ConfigHash {
				t.Fatal("a retry changed the egg")
			}
		})
	}
}
