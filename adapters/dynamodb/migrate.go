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

// viewKeyAttr is the hash key of the checkpoints table and the range key of
// every view table, whose hash key is viewPartAttr (one value: viewPartition).
const (
	viewKeyAttr  = "key"
	viewPartAttr = "pk"
)

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
	for _, in := range tableDefinitions(prefix) {
		if err := checkKeySchema(ctx, client, in); err != nil {
			return err
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
		defs = append(defs, viewTableDefinition(prefix+v))
	}
	return defs
}

// viewTableDefinition is a view: one partition (viewPartAttr) ordered by the
// row key, so that a page is a consistent Query in key order.
func viewTableDefinition(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(viewPartAttr), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(viewKeyAttr), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(viewPartAttr), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(viewKeyAttr), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

// checkKeySchema refuses a table created with another key schema than in
// (a view table of a release that keyed views by their key alone): views
// are rebuilt from the log, so the way out is to drop it and replay.
func checkKeySchema(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return unavailable(err, "describe table %s", aws.ToString(in.TableName))
	}
	same := len(out.Table.KeySchema) == len(in.KeySchema)
	for i := 0; same && i < len(in.KeySchema); i++ {
		got, want := out.Table.KeySchema[i], in.KeySchema[i]
		same = aws.ToString(got.AttributeName) == aws.ToString(want.AttributeName) && got.KeyType == want.KeyType
	}
	if !same {
		return errs.Errorf(errs.EINVALID, "dynamodb migrate: table %s has an older key schema; delete it, run mothergoose migrate again and rebuild the view with mothergoose replay", aws.ToString(in.TableName))
	}
	return nil
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
