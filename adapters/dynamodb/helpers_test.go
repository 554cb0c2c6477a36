package dynamodb_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/polar-gosling/polar-gosling/adapters/dynamodb"
)

// runID keeps table prefixes unique per test run, so runs against a shared
// DynamoDB Local never see each other's tables.
var (
	runID     = time.Now().UnixNano()
	prefixSeq atomic.Uint64
)

// mustLocalClient returns a client for the DynamoDB at DYNAMODB_ENDPOINT, or
// skips the test (fails it on CI, which must run it).
func mustLocalClient(t *testing.T) *awsdynamodb.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("DYNAMODB_ENDPOINT not set on CI; the DynamoDB tests must run there (make test starts DynamoDB Local)")
		}
		t.Skip("DYNAMODB_ENDPOINT not set; run make test, which starts DynamoDB Local")
	}
	client, _, err := dynamodb.NewClient(context.Background(), "dynamodb://?endpoint="+endpoint)
	if err != nil {
		t.Fatalf("client for %s: %v", endpoint, err)
	}
	return client
}

// mustMigrated creates a fresh set of tables and drops them after the test.
func mustMigrated(t *testing.T, client *awsdynamodb.Client) string {
	t.Helper()
	return mustMigratedWith(t, dynamodb.Config{Client: client})
}

// mustMigratedWith migrates cfg (its views, its logger) under a fresh prefix,
// which it returns, and drops the tables after the test.
func mustMigratedWith(t *testing.T, cfg dynamodb.Config) string {
	t.Helper()
	cfg.TablePrefix = fmt.Sprintf("it%d_%d_", runID, prefixSeq.Add(1))
	prefix, client := cfg.TablePrefix, cfg.Client
	ctx := context.Background()
	if err := cfg.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", prefix, err)
	}
	t.Cleanup(func() {
		for _, name := range cfg.TableNames() {
			if _, err := client.DeleteTable(ctx, &awsdynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
				t.Logf("drop %s: %v", name, err)
			}
		}
	})
	return prefix
}

func mustEventStore(t *testing.T) *dynamodb.EventStore {
	t.Helper()
	client := mustLocalClient(t)
	s, err := dynamodb.NewEventStore(dynamodb.Config{Client: client, TablePrefix: mustMigrated(t, client)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustViewStore(t *testing.T) *dynamodb.ViewStore {
	t.Helper()
	client := mustLocalClient(t)
	s, err := dynamodb.NewViewStore(dynamodb.Config{Client: client, TablePrefix: mustMigrated(t, client)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
