package projections

import (
	"context"
	"slices"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

var eggHookRows = streamKeyed[ports.EggWebhooksRow]{
	view:       ports.ViewEggWebhooks,
	prefix:     "egghooks-",
	table:      ports.EggWebhooks.In,
	newRow:     func(egg string) ports.EggWebhooksRow { return ports.EggWebhooksRow{Egg: egg} },
	setVersion: func(r *ports.EggWebhooksRow, v uint64) { r.Version = v },
}

// EggWebhooks projects the "egghooks-<egg>" streams (the webhook
// installer's outcomes) into the egg_webhooks view: per egg, the state of
// its hook on each project and group, folded as the domain folds it.
type EggWebhooks struct{}

func (EggWebhooks) Name() string { return ports.ViewEggWebhooks }

func (EggWebhooks) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	return eggHookRows.apply(ctx, tx, env, func(r *ports.EggWebhooksRow) {
		ev := payload(env)
		var o events.WebhookOwner
		retry := int64(0)
		switch e := ev.(type) {
		case events.EggWebhookInstalled:
			o = e.WebhookOwner
		case events.EggWebhookInstallFailed:
			o, retry = e.WebhookOwner, e.RetryAfterS
		case events.EggWebhookSkipped:
			o = e.WebhookOwner
		case events.EggWebhookRemoved:
			o = e.WebhookOwner
		default:
			return
		}
		at := utc(env.OccurredAt)
		r.UpdatedAt = at
		key := domain.HookOwnerKey(o)
		i := slices.IndexFunc(r.Hooks, func(h ports.EggWebhookStatus) bool {
			return domain.HookOwnerKey(events.WebhookOwner{GitLabServer: h.GitLabServer, Kind: h.OwnerKind, ID: h.OwnerID}) == key
		})
		var s domain.HookState
		if i >= 0 {
			h := r.Hooks[i]
			s = domain.HookState{Status: h.Status, HookID: h.HookID, URL: h.URL, ConfigHash: h.ConfigHash, Code: h.Code, Reason: h.Reason}
		}
		domain.ApplyHookEvent(&s, ev)
		row := ports.EggWebhookStatus{GitLabServer: o.GitLabServer, OwnerKind: o.Kind, OwnerID: o.ID, Status: s.Status, HookID: s.HookID,
			URL: s.URL, ConfigHash: s.ConfigHash, Code: s.Code, Reason: s.Reason, RetryAfterS: retry, UpdatedAt: at}
		if i >= 0 {
			r.Hooks = slices.Clone(r.Hooks)
			r.Hooks[i] = row
			return
		}
		r.Hooks = append(slices.Clone(r.Hooks), row)
		slices.SortFunc(r.Hooks, func(a, b ports.EggWebhookStatus) int {
			ka := domain.HookOwnerKey(events.WebhookOwner{GitLabServer: a.GitLabServer, Kind: a.OwnerKind, ID: a.OwnerID})
			kb := domain.HookOwnerKey(events.WebhookOwner{GitLabServer: b.GitLabServer, Kind: b.OwnerKind, ID: b.OwnerID})
			if ka < kb {
				return -1
			}
			if ka > kb {
				return 1
			}
			return 0
		})
	})
}
