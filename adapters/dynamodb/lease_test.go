package dynamodb_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func TestLeasesContractIntegration(t *testing.T) {
	client := mustLocalClient(t)
	prefix := mustMigrated(t, client)
	s, err := dynamodb.NewLeases(dynamodb.Config{Client: client, TablePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	porttest.Leases(t, func(t *testing.T) ports.Leases { return s })
}
