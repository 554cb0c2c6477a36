package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/domain/errs"

	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func TestViewStoreContract(t *testing.T) {
	porttest.ViewStore(t, func(t *testing.T) ports.ViewStore {
		return mustOpenWith(t, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{Views: porttest.ContractViews()}).Views()
	}, porttest.ViewFeatures{Transactional: true})
}

func TestViewStoreContract_shared_store(t *testing.T) {
	db := mustOpenWith(t, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{Views: porttest.ContractViews()})
	views := db.Views()
	porttest.ViewStore(t, func(t *testing.T) ports.ViewStore { return views }, porttest.ViewFeatures{Transactional: true})
}

func TestViews_read_handle_is_read_only(t *testing.T) {
	ctx := context.Background()
	views := mustOpen(t, filepath.Join(t.TempDir(), "gosling.db")).Views()
	if _, err := ports.Runners.In(views.Read()).Put(ctx, ports.RunnerRow{ID: "r1", Version: 1}); errs.Code(err) != errs.EINVALID {
		t.Fatalf("put through Read: %v, want EINVALID", err)
	}
	if err := views.Read().SaveCheckpoint(ctx, "runners", 1); errs.Code(err) != errs.EINVALID {
		t.Fatalf("save checkpoint through Read: %v, want EINVALID", err)
	}
}

// Operators query the file with sqlite3: the views are real columns, times
// are RFC 3339 text in UTC, booleans 0/1, slices JSON or NULL.
func TestViews_are_plain_columns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gosling.db")
	views := mustOpen(t, path).Views()
	moscow := time.FixedZone("MSK", 3*3600)
	err := views.Batch(ctx, func(tx ports.ViewTx) error {
		if _, err := ports.Runners.In(tx).Put(ctx, ports.RunnerRow{ID: "r1", State: "ACTIVE", Tags: []string{"docker"}, JobID: 7,
			CreatedAt: time.Date(2026, 11, 29, 15, 0, 0, 5, moscow), Version: 3}); err != nil {
			return err
		}
		_, err := ports.EggConfigs.In(tx).Put(ctx, ports.EggConfigRow{Name: "web", Removed: true, ProjectIDs: []int64{}, Version: 1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var state, tags, created, terminated string
	var jobID, version int64
	if err := raw.QueryRowContext(ctx, `SELECT state, tags, job_id, created_at, terminated_at, version FROM runners WHERE id = 'r1'`).
		Scan(&state, &tags, &jobID, &created, &terminated, &version); err != nil {
		t.Fatal(err)
	}
	if state != "ACTIVE" || tags != `["docker"]` || jobID != 7 || created != "2026-11-29T12:00:00.000000005Z" || terminated != "" || version != 3 {
		t.Fatalf("runner columns: %q %q %d %q %q %d", state, tags, jobID, created, terminated, version)
	}
	var removed int64
	var projectIDs sql.NullString
	if err := raw.QueryRowContext(ctx, `SELECT removed, project_ids FROM egg_configs WHERE name = 'web'`).Scan(&removed, &projectIDs); err != nil {
		t.Fatal(err)
	}
	if removed != 1 || projectIDs.Valid {
		t.Fatalf("egg columns: removed %d, project_ids %+v (an empty slice is NULL)", removed, projectIDs)
	}
	got, _, err := ports.Runners.In(views.Read()).Get(ctx, "r1")
	if err != nil || got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(time.Date(2026, 11, 29, 15, 0, 0, 5, moscow)) {
		t.Fatalf("created_at read back as %v (%v)", got.CreatedAt, err)
	}
	var plan string
	if err := raw.QueryRowContext(ctx, `EXPLAIN QUERY PLAN SELECT id FROM runners WHERE state = 'ACTIVE' ORDER BY id`).Scan(new(int), new(int), new(int), &plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "runners_by_state") {
		t.Fatalf("listing runners by state does not use the index: %s", plan)
	}
}

// A view added by registration alone (porttest.Probes) is created,
// projected, paged and replayed on SQLite.
func TestAddedView(t *testing.T) {
	porttest.AddedView(t, func(t *testing.T, views *ports.ViewSet) (ports.EventStore, ports.ViewStore) {
		db := mustOpenWith(t, filepath.Join(t.TempDir(), "gosling.db"), sqlite.Options{Views: views})
		return db.Events(), db.Views()
	})
}
