package nestsync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo"
	"github.com/polar-gosling/polar-gosling/adapters/gitrepo/gitrepotest"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// env is a Nest origin on disk, a clone, a SQLite store, real handlers and
// a projections runner for egg_configs and sync_history.
type env struct {
	origin *gitrepotest.Origin
	db     *sqlite.DB
	codec  *events.Codec
	h      *commands.Handlers
	repo   *gitrepo.Repo
	runner *projections.Loop
	s      *Syncer
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustEnv(tb testing.TB, first map[string]string) *env {
	tb.Helper()
	ctx := context.Background()
	e := &env{origin: gitrepotest.NewOrigin(tb, "main"), codec: events.NewCodec(events.NewRegistry())}
	e.origin.Commit(tb, first)
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "gosling.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e.db = db
	e.h, err = commands.NewHandlers(db.Events(), e.codec, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() })
	if err != nil {
		tb.Fatal(err)
	}
	e.repo, err = gitrepo.Open(ctx, gitrepo.Config{URL: e.origin.URL, Dir: filepath.Join(tb.TempDir(), "clone"), Branch: "main"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.repo.Close() })
	e.runner, err = projections.NewLoop(projections.Config{Store: db.Events(), Views: db.Views(), Codec: e.codec,
		Projectors: []projections.Projector{projections.EggConfigs{}, projections.SyncHistory{}}, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	e.s = e.newSyncer(tb)
	return e
}

// newSyncer returns a Syncer with an empty cache and no memory, as after a restart.
func (e *env) newSyncer(tb testing.TB) *Syncer {
	tb.Helper()
	s, err := New(Config{Repo: e.repo, Loader: fly.NewSyncLoader(), Handlers: e.h, LastSync: StoreLastSync(e.db.Events(), e.codec),
		Branch: "main", Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

func (e *env) mustSync(tb testing.TB, trigger string) Result {
	tb.Helper()
	r, err := e.s.Sync(context.Background(), trigger)
	if err != nil {
		tb.Fatalf("Sync: %v", err)
	}
	return r
}

func (e *env) head(tb testing.TB) uint64 {
	tb.Helper()
	h, err := e.db.Events().Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func (e *env) eggRows(tb testing.TB) map[string]ports.EggConfigRow {
	tb.Helper()
	if err := e.runner.CatchUp(context.Background()); err != nil {
		tb.Fatal(err)
	}
	rows, err := ports.EggConfigs.In(e.db.Views().Read()).List(context.Background(), ports.Query{})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]ports.EggConfigRow{}
	for _, r := range rows {
		out[r.Name] = r
	}
	return out
}

func (e *env) history(tb testing.TB) []ports.SyncHistoryRow {
	tb.Helper()
	if err := e.runner.CatchUp(context.Background()); err != nil {
		tb.Fatal(err)
	}
	rows, err := ports.SyncHistory.In(e.db.Views().Read()).List(context.Background(), ports.Query{})
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

func (e *env) streamLen(tb testing.TB, stream string) int {
	tb.Helper()
	recs, err := e.db.Events().Load(context.Background(), stream, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return len(recs)
}

// eggFile is a vm egg on Yandex for GitLab project id.
func eggFile(name string, id, cpu int) string {
	return fmt.Sprintf(`egg %q {
  type = "vm"
  cloud {
    provider = "yandex"
    region   = "ru-central1-a"
  }
  resources {
    cpu    = %d
    memory = 4096
  }
  runner { tags = ["docker", "linux"] }
  gitlab {
    server     = "gitlab.com"
    project_id = %d
  }
}
`, name, cpu, id)
}

func serverlessEggFile(name string, id int) string {
	return fmt.Sprintf(`egg %q {
  type = "serverless"
  cloud {
    provider = "aws"
    region   = "eu-central-1"
  }
  runner { tags = ["docker"] }
  gitlab {
    server     = "gitlab.com"
    project_id = %d
    token_secret = "env://RUNNER_TOKEN"
  }
}
`, name, id)
}

func bucketFile(name string, ids ...int) string {
	repos := ""
	for i, id := range ids {
		repos += fmt.Sprintf("    repo \"r%d\" {\n      gitlab {\n        server     = \"gitlab.internal.net\"\n        group_id   = %d\n      }\n    }\n", i, id)
	}
	return fmt.Sprintf(`eggsbucket %q {
  type = "vm"
  cloud {
    provider = "aws"
    region   = "eu-central-1"
  }
  runner { tags = ["docker"] }
  repositories {
%s  }
}
`, name, repos)
}

const jobFile = `job "rotate" {
  schedule = "@daily"
  script   = "gosling secrets rotate --all"
  runner {
    type = "vm"
    tags = ["nest-admin"]
  }
}
`

func ufFile(entities string, minApex, maxApex, minNadir int) string {
	return fmt.Sprintf(`uglyfox {
  runners_condition "default" {
    eggs_entities = [%s]
    apex {
      min_count = %d
      max_count = %d
    }
    nadir {
      min_count = %d
      max_count = 5
    }
  }
}
`, entities, minApex, maxApex, minNadir)
}

func removeAll(dir string) error { return os.RemoveAll(dir) }
