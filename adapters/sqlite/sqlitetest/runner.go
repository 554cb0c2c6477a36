package sqlitetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// DeployLocalRunner records a local apex runner of egg as requested and
// deployed, with the SHA-256 of credential in runner.deployed (as the
// provisioner records it), and projects the views.
func (c *Core) DeployLocalRunner(tb testing.TB, runnerID, egg, credential string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := c.Handlers.RequestRunner(ctx, commands.RequestRunner{
		RunnerID: runnerID, Egg: egg, RunnerType: domain.RunnerApex.String(), Provider: domain.ProviderLocal.String(), Region: "local",
	}); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256([]byte(credential))
	rec, err := c.Codec.Encode(events.Envelope{
		Metadata: events.Metadata{ID: uuid.Must(uuid.NewV7()).String(), OccurredAt: time.Now().UTC(), Actor: "test"},
		Payload: events.RunnerDeployed{
			RunnerID: runnerID, Egg: egg, RunnerType: domain.RunnerApex.String(), Provider: domain.ProviderLocal.String(), Region: "local",
			PlanID: "p-" + runnerID, InstanceID: "i-" + runnerID, Address: "127.0.0.1", CredentialSHA256: hex.EncodeToString(sum[:]),
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.DB.Events().Append(ctx, domain.RunnerStream(runnerID), ports.At(1), []events.Record{rec}); err != nil {
		tb.Fatal(err)
	}
	if err := c.Projections.CatchUp(ctx); err != nil {
		tb.Fatal(err)
	}
}
