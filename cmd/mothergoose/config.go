package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Config is everything mothergoose reads from flags and MOTHERGOOSE_* env,
// read in one place (bindFlags) and validated once (Validate).
type Config struct {
	Store        string        // sqlite:///path.db, a plain path, or dynamodb://prefix?region=..&endpoint=..
	LogLevel     string        // debug, info, warn, error
	LogFormat    string        // text, json
	PollInterval time.Duration // how often projectors look for new events when not woken
}

func defaultConfig() Config {
	return Config{
		Store:        "sqlite://.data/gosling.db",
		LogLevel:     "info",
		LogFormat:    "text",
		PollInterval: time.Second,
	}
}

// bindFlags registers the shared flags with env-var defaults.
func bindFlags(cmd *cobra.Command, c *Config) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.Store, "store", env("MOTHERGOOSE_STORE", c.Store), "event store and views: sqlite:///path.db or dynamodb://prefix?region=R[&endpoint=URL] (env MOTHERGOOSE_STORE)")
	f.StringVar(&c.LogLevel, "log-level", env("MOTHERGOOSE_LOG_LEVEL", c.LogLevel), "debug, info, warn or error (env MOTHERGOOSE_LOG_LEVEL)")
	f.StringVar(&c.LogFormat, "log-format", env("MOTHERGOOSE_LOG_FORMAT", c.LogFormat), "text or json (env MOTHERGOOSE_LOG_FORMAT)")
	poll := c.PollInterval
	if v := os.Getenv("MOTHERGOOSE_POLL_INTERVAL"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			poll = d
		} else {
			c.PollInterval = -1 // reported by Validate
		}
	}
	f.DurationVar(&c.PollInterval, "poll-interval", poll, "projector poll interval when the store cannot wake them (env MOTHERGOOSE_POLL_INTERVAL)")
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var problems []string
	switch {
	case c.Store == "":
		problems = append(problems, "--store is empty")
	case strings.Contains(c.Store, "://") && !strings.HasPrefix(c.Store, "sqlite://") && !strings.HasPrefix(c.Store, "dynamodb://"):
		// a plain path is a SQLite file; the adapters check the rest
		problems = append(problems, fmt.Sprintf("--store %q: want sqlite://PATH, a file path, or dynamodb://PREFIX?region=R", c.Store))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		problems = append(problems, err.Error())
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.PollInterval <= 0 {
		problems = append(problems, "--poll-interval (or MOTHERGOOSE_POLL_INTERVAL) must be a positive duration such as 500ms")
	}
	if len(problems) > 0 {
		return errs.Errorf(errs.EINVALID, "invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func (c Config) logger() *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// exitCode: 2 for usage and configuration errors, 1 for everything else.
func exitCode(err error) int {
	if errs.Code(err) == errs.EINVALID {
		return 2
	}
	return 1
}
