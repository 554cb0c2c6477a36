package provisioner

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
)

// PlanDeploy answers what bringing egg's runners to the configuration
// target would do, from the model alone: per runner keep, replace or
// destroy, the runners the pool would create, and, per configuration its
// runners have now, the fields that change. It changes nothing. The egg
// must be in the model.
func PlanDeploy(m *Model, name, target string) commands.DeployPlan {
	egg := m.Eggs[name]
	out := commands.DeployPlan{Egg: name, FromConfigHash: egg.ConfigHash, PinnedToPlanID: m.PinnedTo(name), ToConfigHash: target,
		Runners: []commands.RunnerChange{}, Diffs: []commands.ConfigDiff{}}
	if dep := m.ActiveDeploy(name); dep != nil {
		out.ActiveDeployID = dep.ID
	}
	want, known := m.Config(name, target)
	var rs []*Runner
	for _, r := range m.Runners {
		if r.Egg == name && r.State != StateTerminated && r.State != StateFailed && !r.waiting() && r.ServedBy == "" {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b *Runner) int { return cmp.Compare(a.Seq, b.Seq) })
	stale := map[string][]string{} // config hash -> runners
	stays := 0
	for _, r := range rs {
		c := commands.RunnerChange{RunnerID: r.ID, State: r.State, ConfigHash: r.EggHash}
		switch {
		case egg.Removed:
			c.Change, c.Reason = commands.ChangeDestroy, "egg "+name+" was removed from the Nest"
		case r.TerminationAsked != "":
			c.Change, c.Reason = commands.ChangeDestroy, "its termination was asked: "+r.TerminationAsked
		case r.EggHash == target || (r.EggHash == "" && r.provisioning() && egg.ConfigHash == target):
			c.Change, c.Reason = commands.ChangeKeep, "runs configuration "+target
			if r.EggHash == "" {
				c.Reason = "being provisioned with configuration " + target
			}
			stays++
		default:
			from := r.EggHash
			if from == "" {
				from = "(none yet)"
			}
			c.Change, c.Reason = commands.ChangeReplace, fmt.Sprintf("configuration %s -> %s", from, target)
			if r.State == StateBusy || len(r.Jobs) > 0 {
				c.Reason += fmt.Sprintf("; waits until its %d jobs end (a BUSY runner is never replaced)", len(r.Jobs))
			}
			stale[r.EggHash] = append(stale[r.EggHash], r.ID)
			stays++ // a replaced runner is followed by a new one
		}
		out.Runners = append(out.Runners, c)
	}
	if known && !egg.Removed && want.RunnerType != "serverless" {
		floor := min(want.MinApex, maxRunners(&Egg{MinApex: want.MinApex, MaxApex: want.MaxApex}))
		for n := stays; n < floor; n++ {
			out.Runners = append(out.Runners, commands.RunnerChange{ConfigHash: target, Change: commands.ChangeCreate,
				Reason: fmt.Sprintf("egg %s keeps at least %d apex runners", name, want.MinApex)})
		}
	}
	for _, c := range out.Runners {
		if c.Change != commands.ChangeKeep {
			out.Changes++
		}
	}
	if egg.ConfigHash != target {
		if _, ok := stale[egg.ConfigHash]; !ok {
			stale[egg.ConfigHash] = []string{}
		}
	}
	for _, from := range slices.Sorted(maps.Keys(stale)) {
		d := commands.ConfigDiff{FromConfigHash: from, ToConfigHash: target, Runners: stale[from], Fields: []commands.FieldChange{}}
		have, ok := m.Config(name, from)
		if !ok || !known {
			d.Unknown = true
		} else {
			d.Fields = DiffConfigs(have, want)
		}
		out.Diffs = append(out.Diffs, d)
	}
	return out
}

// configFields are the fields of an egg configuration a diff compares, in
// the order it lists them (not the hash, commit or path: they name it).
var configFields = []struct {
	name string
	get  func(events.EggSynced) string
}{
	{"kind", func(c events.EggSynced) string { return c.Kind }},
	{"runner_type", func(c events.EggSynced) string { return c.RunnerType }},
	{"provider", func(c events.EggSynced) string { return c.Provider }},
	{"region", func(c events.EggSynced) string { return c.Region }},
	{"cpu", func(c events.EggSynced) string { return strconv.Itoa(c.CPU) }},
	{"memory_gb", func(c events.EggSynced) string { return strconv.Itoa(c.MemoryGB) }},
	{"disk_gb", func(c events.EggSynced) string { return strconv.Itoa(c.DiskGB) }},
	{"image", func(c events.EggSynced) string { return c.Image }},
	{"tags", func(c events.EggSynced) string { return strings.Join(c.Tags, ",") }},
	{"min_apex", func(c events.EggSynced) string { return strconv.Itoa(c.MinApex) }},
	{"max_apex", func(c events.EggSynced) string { return strconv.Itoa(c.MaxApex) }},
	{"min_nadir", func(c events.EggSynced) string { return strconv.Itoa(c.MinNadir) }},
	{"concurrent", func(c events.EggSynced) string { return strconv.Itoa(max(1, c.Concurrent)) }},
	{"gitlab_server", func(c events.EggSynced) string { return c.GitLabServer }},
	{"project_ids", func(c events.EggSynced) string { return joinIDs(c.ProjectIDs) }},
	{"group_ids", func(c events.EggSynced) string { return joinIDs(c.GroupIDs) }},
	{"token_secret_uri", func(c events.EggSynced) string { return c.TokenSecretURI }},
	{"webhook_secret_uri", func(c events.EggSynced) string { return c.WebhookSecretURI }},
	{"commit", func(c events.EggSynced) string { return c.Commit }},
}

// DiffConfigs lists the fields of from that to changes, field by field
// (secrets appear as their URIs only, as in the configuration).
func DiffConfigs(from, to events.EggSynced) []commands.FieldChange {
	out := []commands.FieldChange{}
	for _, f := range configFields {
		if a, b := f.get(from), f.get(to); a != b {
			out = append(out, commands.FieldChange{Field: f.name, From: a, To: b})
		}
	}
	return out
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
