package main

import (
	"log/slog"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/cmd/internal/secretsetup"
)

// newSecretRouter returns the router over the local schemes and the cloud
// backends, each configured from its cloud's standard environment.
func newSecretRouter(c Config, log *slog.Logger) (*secrets.Router, error) {
	return secretsetup.Router(secretsetup.Options{AWSRegion: c.AWSRegion, Log: log}), nil
}
