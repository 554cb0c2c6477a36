package projections

import (
	"context"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

var eggRows = streamKeyed[ports.EggConfigRow]{
	view:       ports.ViewEggConfigs,
	prefix:     "egg-",
	table:      ports.EggConfigs.In,
	newRow:     func(name string) ports.EggConfigRow { return ports.EggConfigRow{Name: name} },
	setVersion: func(r *ports.EggConfigRow, v uint64) { r.Version = v },
}

// EggConfigs projects the "egg-<name>" streams into the egg_configs view:
// the last synced configuration of each egg or bucket, kept (removed=true)
// after its file is gone.
type EggConfigs struct{}

func (EggConfigs) Name() string { return ports.ViewEggConfigs }

func (EggConfigs) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	return eggRows.apply(ctx, tx, env, func(r *ports.EggConfigRow) {
		switch e := payload(env).(type) {
		case events.EggSynced:
			*r = ports.EggConfigRow{
				Name: r.Name, Kind: e.Kind, RunnerType: e.RunnerType, Provider: e.Provider, Region: e.Region,
				GitLabServer: e.GitLabServer, ProjectIDs: nilIfEmpty(e.ProjectIDs), GroupIDs: nilIfEmpty(e.GroupIDs),
				Tags: nilIfEmpty(e.Tags), CPU: e.CPU, MemoryGB: e.MemoryGB, DiskGB: e.DiskGB, Image: e.Image,
				MinApex: e.MinApex, MaxApex: e.MaxApex, MinNadir: e.MinNadir, MaxJobSeconds: e.MaxJobSeconds,
				TokenSecretURI: e.TokenSecretURI, WebhookSecretURI: e.WebhookSecretURI,
				ConfigHash: e.ConfigHash, Commit: e.Commit, Path: e.Path,
				TofuVersion: e.TofuVersion, GoslingVersion: e.GoslingVersion,
				SyncedAt: utc(env.OccurredAt),
			}
		case events.EggRemoved:
			r.Removed, r.Commit, r.SyncedAt = true, e.Commit, utc(env.OccurredAt)
		}
	})
}
