package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/cmd/internal/cliconf"
	"github.com/polar-gosling/polar-gosling/cmd/internal/store"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Config is everything uglyfox reads from flags and UGLYFOX_* env, read in
// one place (bindFlags) and validated once (Validate).
type Config struct {
	Store     string        // as mothergoose's --store; empty: sqlite://<DataDir>/gosling.db
	DataDir   string        // where the default store's file is
	LogLevel  string        // debug, info, warn, error
	LogFormat string        // text, json
	LeaseTTL  time.Duration // 0: uglyfox.DefaultTTL (30s)
	Holder    string        // this process in the lease; "": host-pid-random
}

func defaultConfig() Config {
	return Config{DataDir: ".data", LogLevel: "info", LogFormat: "text"}
}

func bindFlags(root, serve *cobra.Command, c *Config) {
	f := root.PersistentFlags()
	f.StringVar(&c.Store, "store", cliconf.Env("UGLYFOX_STORE", c.Store), "the store MotherGoose uses: sqlite:///path.db, a file path, or dynamodb://prefix?region=R[&endpoint=URL] (default sqlite://<data-dir>/gosling.db; env UGLYFOX_STORE)")
	f.StringVar(&c.DataDir, "data-dir", cliconf.Env("UGLYFOX_DATA_DIR", c.DataDir), "the folder of the default store's file, MotherGoose's --data-dir (env UGLYFOX_DATA_DIR)")
	f.StringVar(&c.LogLevel, "log-level", cliconf.Env("UGLYFOX_LOG_LEVEL", c.LogLevel), "debug, info, warn or error (env UGLYFOX_LOG_LEVEL)")
	f.StringVar(&c.LogFormat, "log-format", cliconf.Env("UGLYFOX_LOG_FORMAT", c.LogFormat), "text or json (env UGLYFOX_LOG_FORMAT)")
	s := serve.Flags()
	s.DurationVar(&c.LeaseTTL, "lease-ttl", cliconf.EnvDuration("UGLYFOX_LEASE_TTL", c.LeaseTTL), "how long the sweep's lease holds without renewal: another uglyfox takes over at most this long after the holder dies (0: 30s; the holder renews every third of it; env UGLYFOX_LEASE_TTL)")
	s.StringVar(&c.Holder, "holder", cliconf.Env("UGLYFOX_HOLDER", c.Holder), "this process's name in the lease and the log; must differ between processes (default host-pid-random; env UGLYFOX_HOLDER)")
}

// StoreURL is --store, or the SQLite file gosling.db in --data-dir.
func (c Config) StoreURL() string { return store.URL(c.Store, c.DataDir) }

// Validate reports every problem at once.
func (c Config) Validate() error {
	problems := store.Problems(c.Store, c.DataDir)
	if _, err := cliconf.ParseLevel(c.LogLevel); err != nil {
		problems = append(problems, err.Error())
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.LeaseTTL < 0 {
		problems = append(problems, "--lease-ttl (or UGLYFOX_LEASE_TTL) must be a positive duration such as 30s, or 0 for the default")
	}
	if len(c.Holder) > 200 {
		problems = append(problems, "--holder is longer than 200 bytes")
	}
	if len(problems) > 0 {
		return errs.Errorf(errs.EINVALID, "invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (c Config) logger() *slog.Logger { return cliconf.Logger(c.LogLevel, c.LogFormat) }
