package dynamodb

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// viewKeyAttr is the hash key of every view table and of the checkpoints table.
const viewKeyAttr = "key"

// tableWaitTimeout bounds how long Migrate waits for a new table to be ACTIVE.
const tableWaitTimeout = 5 * time.Minute

// Migrate creates every table both stores use, if absent, and waits until
// all are ACTIVE. It is idempotent: running it on a migrated prefix changes
// nothing. Tables are on-demand (PAY_PER_REQUEST): the control plane's load
// is spiky and small.
func Migrate(ctx context.Context, client *dynamodb.Client, prefix string) error {
	if client == nil {
		return errs.Errorf(errs.EINVALID, "dynamodb migrate: nil client")
	}
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	for _, in := range tableDefinitions(prefix) {
		if err := createTable(ctx, client, in); err != nil {
			return err
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	for _, name := range TableNames(prefix) {
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWaitTimeout); err != nil {
			return unavailable(err, "wait for table %s to become active", name)
		}
	}
	return nil
}

func tableDefinitions(prefix string) []*dynamodb.CreateTableInput {
	defs := []*dynamodb.CreateTableInput{
		{
			TableName: aws.String(prefix + eventsTable),
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeN},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
			},
			BillingMode: types.BillingModePayPerRequest,
		},
		stringKeyTable(prefix + checkpointsTable),
	}
	for _, v := range ports.AllViews {
		defs = append(defs, stringKeyTable(prefix+v))
	}
	return defs
}

func stringKeyTable(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(viewKeyAttr), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(viewKeyAttr), KeyType: types.KeyTypeHash},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

// createTable creates one table; a table that exists already (or is being
// created by a concurrent Migrate) is fine.
func createTable(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	_, err := client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err == nil || errors.As(err, &inUse) {
		return nil
	}
	return unavailable(err, "create table %s", aws.ToString(in.TableName))
}
