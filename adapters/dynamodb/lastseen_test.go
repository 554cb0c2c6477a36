package dynamodb_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func TestLastSeenContractIntegration(t *testing.T) {
	client := mustLocalClient(t)
	prefix := mustMigrated(t, client)
	s, err := dynamodb.NewLastSeen(dynamodb.Config{Client: client, TablePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	porttest.LastSeen(t, func(t *testing.T) ports.LastSeen { return s })
}
