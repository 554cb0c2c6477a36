// Package cliconf holds what the servers' configurations (mothergoose,
// uglyfox) read the same way: env fallbacks of flags and the log.
package cliconf

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Env is the value of key, or def when it is not set.
func Env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// EnvDuration reads a duration from env; an unparsable value becomes -1,
// which the configuration's validation reports.
func EnvDuration(key string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}

// ParseLevel reads --log-level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Logger is the log on stderr at level (ParseLevel; a bad one is info) in
// format text or json.
func Logger(level, format string) *slog.Logger {
	l, _ := ParseLevel(level)
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
