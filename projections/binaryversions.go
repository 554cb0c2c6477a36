package projections

import (
	"context"
	"strings"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// BinaryVersions projects the "binary-<kind>" streams into the
// binary_versions view: one row per registered build (kind, version,
// platform), Active on the rows of the kind's active version.
//
// One stream feeds several rows, so idempotency is by the stream, not the
// row: every event of the stream writes at least one of its rows with the
// event's version (a registration its new row, an activation every row of
// the kind, and an activation needs a registered version), so the highest
// row version of the kind is the last event applied. An event at or below
// it was applied; one more than a version ahead is a gap.
type BinaryVersions struct{}

func (BinaryVersions) Name() string { return ports.ViewBinaryVersions }

func (BinaryVersions) Apply(ctx context.Context, tx ports.ViewTx, env events.Envelope) error {
	kind, ok := strings.CutPrefix(env.Stream, "binary-")
	if !ok || kind == "" {
		return nil
	}
	t := ports.BinaryVersions.In(tx)
	// A kind has a handful of versions, each on a few platforms.
	rows, err := t.List(ctx, ports.Query{Eq: map[string]any{"kind": kind}})
	if err != nil {
		return err
	}
	var applied uint64
	active := ""
	for _, r := range rows {
		applied = max(applied, r.Version)
		if r.Active {
			active = r.BinaryVersion
		}
	}
	switch {
	case env.Version <= applied:
		return nil
	case env.Version > applied+1:
		return &GapError{View: ports.ViewBinaryVersions, Stream: env.Stream, Applied: applied, Got: env.Version}
	}
	switch e := payload(env).(type) {
	case events.BinaryVersionRegistered:
		_, err := t.Put(ctx, ports.BinaryVersionRow{
			Key: ports.BinaryVersionKey(kind, e.Version, e.Platform), Kind: kind, BinaryVersion: e.Version, Platform: e.Platform,
			SHA256: e.SHA256, Size: e.Size, Source: e.Source, Actor: e.Actor, Reason: e.Reason,
			Active: e.Version == active, RegisteredAt: utc(env.OccurredAt), Version: env.Version,
		})
		return err
	case events.BinaryVersionActivated:
		for _, r := range rows {
			r.Active, r.Version = r.BinaryVersion == e.Version, env.Version
			if _, err := t.Put(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}
