package nestsync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

// Pool bounds of a VM egg that no runners_condition names, and of every
// serverless egg (which has no pools): no standing runner, one at a time
// on demand, no dormant VM.
const (
	defaultMinApex  = 0
	defaultMaxApex  = 1
	defaultMinNadir = 0
)

// eggName returns the egg named by an egg file path (Eggs/<name>/config.fly).
func eggName(p string) (string, bool) {
	parts := strings.Split(p, "/")
	if len(parts) == 3 && parts[0] == "Eggs" && parts[2] == "config.fly" {
		return parts[1], true
	}
	return "", false
}

// jobName returns the job named by a job file path (Jobs/<name>.fly): the
// parser holds a job's label to its file name.
func jobName(p string) (string, bool) {
	parts := strings.Split(p, "/")
	if len(parts) == 2 && parts[0] == "Jobs" {
		if name, ok := strings.CutSuffix(parts[1], ".fly"); ok && name != "" {
			return name, true
		}
	}
	return "", false
}

// poolBounds returns min apex, max apex and min nadir of every egg or bucket
// named by a runners_condition (the first naming it wins).
func poolBounds(nest *domain.Nest) map[string][3]int {
	out := map[string][3]int{}
	if nest.UglyFox == nil {
		return out
	}
	for _, c := range nest.UglyFox.RunnersConditions {
		for _, name := range c.EggsEntities {
			if _, ok := out[name]; !ok {
				out[name] = [3]int{c.Apex.MinCount, c.Apex.MaxCount, c.Nadir.MinCount}
			}
		}
	}
	return out
}

// eggEvents returns the EggSynced of every egg and bucket of nest. memo holds
// the previous results: an egg whose file blob and pool bounds are the same
// reuses its event (with the new commit) instead of being hashed again.
func eggEvents(nest *domain.Nest, files map[string]string, commit string, memo map[string]eggMemo) map[string]eggMemo {
	bounds := poolBounds(nest)
	out := make(map[string]eggMemo, len(nest.Eggs)+len(nest.Buckets))
	get := func(name string, spec domain.EggSpec) [3]int {
		b, ok := bounds[name]
		if !ok || spec.Type == domain.EggServerless {
			b = [3]int{defaultMinApex, defaultMaxApex, defaultMinNadir}
		}
		return b
	}
	reuse := func(name, path string, b [3]int) bool {
		m, ok := memo[name]
		if ok && m.blob != "" && m.blob == files[path] && m.bounds == b && m.ev.Path == path {
			m.ev.Commit = commit
			out[name] = m
			return true
		}
		return false
	}
	for name, e := range nest.Eggs {
		b := get(name, e.EggSpec)
		if reuse(name, e.Path, b) {
			continue
		}
		ev := specEvent(name, "egg", e.EggSpec, b, commit, e.Path)
		ev.GitLabServer = e.GitLab.Server
		addTarget(&ev, e.GitLab)
		ev.TokenSecretURI, ev.WebhookSecretURI = e.GitLab.TokenSecret, e.GitLab.WebhookSecret
		ev.ConfigHash = hashOf("egg", e, b)
		out[name] = eggMemo{blob: files[e.Path], bounds: b, ev: ev}
	}
	for name, bk := range nest.Buckets {
		b := get(name, bk.EggSpec)
		if reuse(name, bk.Path, b) {
			continue
		}
		ev := specEvent(name, "bucket", bk.EggSpec, b, commit, bk.Path)
		for i, r := range bk.Repositories {
			if i == 0 {
				// The event has one server and one pair of secrets: the first repo's.
				ev.GitLabServer, ev.TokenSecretURI, ev.WebhookSecretURI = r.GitLab.Server, r.GitLab.TokenSecret, r.GitLab.WebhookSecret
			}
			addTarget(&ev, r.GitLab)
		}
		ev.ConfigHash = hashOf("bucket", bk, b)
		out[name] = eggMemo{blob: files[bk.Path], bounds: b, ev: ev}
	}
	return out
}

func addTarget(ev *events.EggSynced, g domain.GitLabConfig) {
	if kind, id := g.Target(); kind == "group" {
		ev.GroupIDs = append(ev.GroupIDs, id)
	} else {
		ev.ProjectIDs = append(ev.ProjectIDs, id)
	}
}

func specEvent(name, kind string, spec domain.EggSpec, b [3]int, commit, path string) events.EggSynced {
	ev := events.EggSynced{
		Name: name, Kind: kind, RunnerType: spec.Type.RunnerType().String(), Provider: spec.Cloud.Provider.String(), Region: spec.Cloud.Region,
		Tags: spec.Runner.Tags, CPU: spec.Resources.CPU, MemoryGB: (spec.Resources.Memory + 1023) / 1024,
		DiskGB: spec.Resources.Disk, Image: spec.Runner.Image,
		MinApex: b[0], MaxApex: b[1], MinNadir: b[2], Concurrent: spec.Runner.Concurrent, Commit: commit, Path: path,
		MaxJobSeconds: int64(spec.Runner.MaxJobDuration.D.Seconds()),
		TofuVersion:   spec.Versions.Tofu, GoslingVersion: spec.Versions.Gosling,
	}
	if spec.Type == domain.EggServerless {
		ev.DiskGB = 0
	}
	return ev
}

// hashOf is the SHA-256 of the canonical JSON of a typed configuration
// (encoding/json: struct fields in declaration order, map keys sorted) with
// its kind and pool bounds.
func hashOf(kind string, config any, bounds [3]int) string {
	b, err := json.Marshal(struct {
		Kind   string `json:"kind"`
		Config any    `json:"config"`
		Bounds [3]int `json:"pool_bounds"`
	}{kind, config, bounds})
	if err != nil {
		panic("nestsync: typed config does not encode: " + err.Error()) // the domain types always encode
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func jobEvent(j domain.JobConfig, commit string) events.JobSynced {
	return events.JobSynced{Name: j.Name, Schedule: domain.CronFields(j.Schedule), Tags: j.Runner.Tags, ConfigHash: hashOf("job", j, [3]int{}), Commit: commit, Path: j.Path}
}

// ufEvent records UF/config.fly with the whole settings UglyFox acts on.
// The hash covers the settings too, so a local a rule reads that changes
// alone is recorded again.
func ufEvent(u domain.UglyFoxSettings, commit string) events.UglyFoxConfigSynced {
	spec := ufSpec(u)
	ev := events.UglyFoxConfigSynced{Commit: commit, Path: u.Path, Settings: &spec}
	ev.ConfigHash = hashOf("uglyfox", struct {
		Config   domain.UglyFoxSettings     `json:"config"`
		Settings events.UglyFoxSettingsSpec `json:"settings"`
	}{u, spec}, [3]int{})
	for _, r := range u.Policies {
		ev.Policies = append(ev.Policies, r.Name)
	}
	return ev
}

func ufSpec(u domain.UglyFoxSettings) events.UglyFoxSettingsSpec {
	spec := events.UglyFoxSettingsSpec{
		FailedThreshold:         u.Pruning.FailedThreshold,
		MaxAgeSeconds:           seconds(u.Pruning.MaxAge),
		CheckIntervalSeconds:    seconds(u.Pruning.CheckInterval),
		HeartbeatTimeoutSeconds: seconds(u.Pruning.HeartbeatTimeout),
	}
	for _, c := range u.RunnersConditions {
		spec.Pools = append(spec.Pools, events.UglyFoxPoolsSpec{
			Name: c.Name, Eggs: slices.Clone(c.EggsEntities),
			ApexMin: c.Apex.MinCount, ApexMax: c.Apex.MaxCount, ApexCPUThreshold: c.Apex.CPUThreshold, ApexMemoryThreshold: c.Apex.MemoryThreshold,
			NadirMin: c.Nadir.MinCount, NadirMax: c.Nadir.MaxCount, NadirIdleTimeoutSeconds: seconds(c.Nadir.IdleTimeout),
		})
	}
	for _, r := range u.Policies {
		rule := events.UglyFoxRuleSpec{Name: r.Name, Action: r.Action}
		if r.When != nil {
			rule.When = r.When.Source()
			if l, ok := r.When.(domain.ConditionLocals); ok {
				// A locals value that does not encode leaves Locals empty:
				// UglyFox then refuses the rule with the undefined local named.
				rule.Locals, _ = l.LocalsJSON()
			}
		}
		spec.Rules = append(spec.Rules, rule)
	}
	return spec
}

func seconds(d domain.Duration) int64 { return int64(d.D / time.Second) }
