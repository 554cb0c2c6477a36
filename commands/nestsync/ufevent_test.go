package nestsync

import (
	"context"
	"reflect"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

// uglyfox.config_synced carries the whole settings UglyFox acts on, the
// rules' locals included, and a changed local alone changes the hash.
func TestUFEvent_records_the_settings(t *testing.T) {
	src := func(old string) []byte {
		return []byte(`locals { old = "` + old + `" }
uglyfox {
  pruning {
    failed_threshold  = 3
    max_age           = "24h"
    check_interval    = "1m"
    heartbeat_timeout = "2m"
  }
  runners_condition "default" {
    eggs_entities = ["alpha"]
    apex {
      min_count = 1
      max_count = 4
      cpu_threshold = 75
    }
    nadir {
      max_count    = 2
      idle_timeout = "30m"
    }
  }
  policies {
    rule "old" {
      when   = runner.age > duration(local.old)
      action = "terminate"
    }
    rule "idle" {
      when   = runner.pool == "apex" && runner.idle_for > duration("30m")
      action = "demote_to_nadir"
    }
  }
}
`)
	}
	parse := func(old string) domain.UglyFoxSettings {
		v, diags := fly.NewParser().ParseKind(context.Background(), fly.KindUglyFox, "UF/config.fly", src(old))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		u := v.(domain.UglyFoxSettings)
		u.Path = "UF/config.fly"
		return u
	}
	ev := ufEvent(parse("72h"), "c1")
	want := &events.UglyFoxSettingsSpec{FailedThreshold: 3, MaxAgeSeconds: 86400, CheckIntervalSeconds: 60, HeartbeatTimeoutSeconds: 120,
		Pools: []events.UglyFoxPoolsSpec{{Name: "default", Eggs: []string{"alpha"}, ApexMin: 1, ApexMax: 4, ApexCPUThreshold: 75, ApexMemoryThreshold: 80,
			NadirMax: 2, NadirIdleTimeoutSeconds: 1800}},
		Rules: []events.UglyFoxRuleSpec{{Name: "old", When: `runner.age > duration(local.old)`, Action: "terminate", Locals: `{"old":"72h"}`},
			{Name: "idle", When: `runner.pool == "apex" && runner.idle_for > duration("30m")`, Action: "demote_to_nadir"}}}
	if !reflect.DeepEqual(ev.Settings, want) {
		t.Fatalf("settings\n got %+v\nwant %+v", ev.Settings, want)
	}
	if !reflect.DeepEqual(ev.Policies, []string{"old", "idle"}) || ev.Path != "UF/config.fly" || ev.Commit != "c1" {
		t.Fatalf("event %+v", ev)
	}
	if again := ufEvent(parse("48h"), "c2"); again.ConfigHash == ev.ConfigHash {
		t.Fatal("a changed local kept the config hash: the new value would never be recorded")
	}
	if same := ufEvent(parse("72h"), "c2"); same.ConfigHash != ev.ConfigHash {
		t.Fatal("the same file at another commit changed the hash")
	}
}
