package projections

import (
	"context"
	"slices"
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
	kind, ok := binaryKind(env.Stream)
	if !ok {
		return nil
	}
	t := ports.BinaryVersions.In(tx)
	// A kind has a handful of versions, each on a few platforms.
	rows, err := t.List(ctx, ports.Query{Eq: map[string]any{"kind": kind}})
	if err != nil {
		return err
	}
	var applied uint64
	for _, r := range rows {
		applied = max(applied, r.Version)
	}
	switch {
	case env.Version <= applied:
		return nil
	case env.Version > applied+1:
		return &GapError{View: ports.ViewBinaryVersions, Stream: env.Stream, Applied: applied, Got: env.Version}
	}
	for _, r := range evolveBinaryRows(kind, rows, env) {
		if _, err := t.Put(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func binaryKind(stream string) (string, bool) {
	kind, ok := strings.CutPrefix(stream, "binary-")
	return kind, ok && kind != ""
}

// evolveBinaryRows returns the rows of kind that env adds or changes,
// given the kind's rows before it.
func evolveBinaryRows(kind string, rows []ports.BinaryVersionRow, env events.Envelope) []ports.BinaryVersionRow {
	active := ""
	for _, r := range rows {
		if r.Active {
			active = r.BinaryVersion
		}
	}
	switch e := payload(env).(type) {
	case events.BinaryVersionRegistered:
		return []ports.BinaryVersionRow{{
			Key: ports.BinaryVersionKey(kind, e.Version, e.Platform), Kind: kind, BinaryVersion: e.Version, Platform: e.Platform,
			SHA256: e.SHA256, Size: e.Size, Source: e.Source, Actor: e.Actor, Reason: e.Reason,
			Active: e.Version == active, RegisteredAt: utc(env.OccurredAt), Version: env.Version,
		}}
	case events.BinaryVersionActivated:
		out := make([]ports.BinaryVersionRow, len(rows))
		for i, r := range rows {
			r.Active, r.Version = r.BinaryVersion == e.Version, env.Version
			out[i] = r
		}
		return out
	}
	return nil
}

// FoldBinaryVersions returns the binary_versions rows of one binary
// stream's history, in key order: what the view holds once it has caught
// up, for a reader of the log itself (the binaries CLI).
func FoldBinaryVersions(history []events.Envelope) []ports.BinaryVersionRow {
	byKey := map[string]ports.BinaryVersionRow{}
	for _, env := range history {
		kind, ok := binaryKind(env.Stream)
		if !ok {
			continue
		}
		var rows []ports.BinaryVersionRow
		for _, r := range byKey {
			if r.Kind == kind {
				rows = append(rows, r)
			}
		}
		for _, r := range evolveBinaryRows(kind, rows, env) {
			byKey[r.Key] = r
		}
	}
	out := make([]ports.BinaryVersionRow, 0, len(byKey))
	for _, r := range byKey {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b ports.BinaryVersionRow) int { return strings.Compare(a.Key, b.Key) })
	return out
}
