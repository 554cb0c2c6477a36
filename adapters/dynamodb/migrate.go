package dynamodb

import (
	"context"
	"errors"
	"fmt"
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

// tableWaitTimeout bounds how long Migrate waits for a table to be ACTIVE (or gone).
const tableWaitTimeout = 5 * time.Minute

// The log's tables are made by numbered migrations, recorded as items of
// the events table (pk "migration", sk the step) with their name and time.
// Migrate runs the steps above the highest recorded one, in order, and
// refuses tables that record a step this code does not know (a newer
// release migrated them). Every step is idempotent, so tables made before
// steps were recorded run them all harmlessly.
//
// The views are projections, not migrated: each view's shape (its
// ports.ViewDef's Shape and this store's layoutRev) is recorded in the
// checkpoints table (key "shape#<view>"). A view whose recorded shape
// differs, or is missing, is emptied and its projector's checkpoint
// deleted, so the projector rebuilds it from the log; a view table with an
// older key schema is deleted and created again first.
type migration struct {
	step int
	name string
	run  func(ctx context.Context, c Config) error
}

// migrations are the steps, in order; a released step is never changed.
var migrations = []migration{
	{1, "log tables: events (stream, log, counter, idempotency and id items) and checkpoints", func(ctx context.Context, c Config) error {
		return createTables(ctx, c.Client, logTableDefinitions(c.TablePrefix))
	}},
	{2, "last_seen: each runner's last heartbeat (state, not a view)", func(ctx context.Context, c Config) error {
		return createTables(ctx, c.Client, []*dynamodb.CreateTableInput{stringKeyTable(c.TablePrefix + lastSeenTable)})
	}},
	{3, "leases: named leases with expiry and fencing tokens (state, not a view)", func(ctx context.Context, c Config) error {
		return createTables(ctx, c.Client, []*dynamodb.CreateTableInput{stringKeyTable(c.TablePrefix + leasesTable)})
	}},
}

// layoutRev is the revision of how this package lays out a view's table:
// 2 keys every row by (viewPartition, row key), so pages are Queries in key
// order (1 keyed rows by the row key alone). It is part of every recorded
// shape.
const layoutRev = "dynamodb.2"

// ErrNewerSchema is matched with errors.Is by Migrate's error on tables that
// a newer release has migrated.
var ErrNewerSchema = errors.New("dynamodb: the tables' schema is newer than this release")

const (
	migrationPK     = "migration"
	attrStepName    = "name"
	attrAppliedAt   = "applied_at"
	shapeKeyPrefix  = "shape#"
	attrShape       = "shape"
	attrShapeSetAt  = "updated_at"
	notRecordedText = "none recorded"
)

// Migrate creates the tables of the log and of the default views for
// prefix; see Config.Migrate.
func Migrate(ctx context.Context, client *dynamodb.Client, prefix string) error {
	return Config{Client: client, TablePrefix: prefix}.Migrate(ctx)
}

// Migrate runs the log's schema steps the tables lack, creates the tables of
// c.Views that are missing, waits until all are ACTIVE, and empties every
// view whose recorded shape is not its own (resetting its projector's
// checkpoint, so that the projector rebuilds it from the log), logging each
// to c.Logger. Running it again changes nothing. Tables are on-demand
// (PAY_PER_REQUEST): the control plane's load is spiky and small.
//
// Two Migrates racing over a changed view both empty it, which is harmless;
// a projector already running against the view while another process
// empties it may leave its checkpoint past deleted rows, so run migrate (or
// one serve) before starting the others after an upgrade.
func (c Config) Migrate(ctx context.Context) error {
	if c.Client == nil {
		return errs.Errorf(errs.EINVALID, "dynamodb migrate: nil client")
	}
	if err := validatePrefix(c.TablePrefix); err != nil {
		return err
	}
	ran, err := migrateLog(ctx, c, migrations)
	if err != nil {
		return err
	}
	if len(ran) > 0 {
		c.logger().Info("dynamodb: schema steps applied", "prefix", c.TablePrefix, "steps", ran)
	}
	return prepareViews(ctx, c)
}

// migrateLog runs the steps above the highest recorded one and returns their names.
func migrateLog(ctx context.Context, c Config, steps []migration) ([]string, error) {
	top, topName, err := topStep(ctx, c)
	if err != nil {
		return nil, err
	}
	known := 0
	if len(steps) > 0 {
		known = steps[len(steps)-1].step
	}
	if top > known {
		return nil, errs.Wrap(errs.EINVALID, ErrNewerSchema,
			"dynamodb migrate: the tables of prefix %q are at schema step %d (%q), made by a newer release; this release knows steps up to %d: run a release at least as new as the one that last migrated them",
			c.TablePrefix, top, topName, known)
	}
	var ran []string
	for _, m := range steps {
		if m.step <= top {
			continue
		}
		if err := m.run(ctx, c); err != nil {
			return nil, fmt.Errorf("schema step %d (%s): %w", m.step, m.name, err)
		}
		item := key(migrationPK, uint64(m.step))
		item[attrStepName] = attrS(m.name)
		item[attrAppliedAt] = attrS(formatTime(c.clock()()))
		_, err := c.Client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(c.TablePrefix + eventsTable), Item: item,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		})
		if err != nil && !isConditionFailed(err) { // a concurrent Migrate recorded it: fine
			return nil, unavailable(err, "record schema step %d", m.step)
		}
		ran = append(ran, fmt.Sprintf("%d (%s)", m.step, m.name))
	}
	return ran, nil
}

// topStep reads the highest recorded step; 0 when there is none or no
// events table yet.
func topStep(ctx context.Context, c Config) (int, string, error) {
	out, err := c.Client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(c.TablePrefix + eventsTable),
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": attrS(migrationPK)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
	})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		return 0, "", nil
	case err != nil:
		return 0, "", unavailable(err, "read the schema steps")
	case len(out.Items) == 0:
		return 0, "", nil
	}
	d := itemReader{item: out.Items[0]}
	step, name := d.n(attrSK), d.s(attrStepName, false)
	return int(step), name, d.err
}

// prepareViews creates the missing view tables and rebuilds the views whose
// shape changed.
func prepareViews(ctx context.Context, c Config) error {
	defs := c.views().All()
	created := map[string]bool{}
	for _, v := range defs {
		ok, err := createTable(ctx, c.Client, viewTableDefinition(c.TablePrefix+v.Name()))
		if err != nil {
			return err
		}
		created[v.Name()] = ok
	}
	for _, v := range defs {
		if err := waitActive(ctx, c.Client, c.TablePrefix+v.Name()); err != nil {
			return err
		}
	}
	for _, v := range defs {
		if err := prepareView(ctx, c, v, created[v.Name()]); err != nil {
			return err
		}
	}
	return nil
}

// prepareView checks one view's key schema and shape. A view table this
// Migrate created has its shape recorded and its checkpoint deleted.
func prepareView(ctx context.Context, c Config, v *ports.ViewDef, created bool) error {
	name := c.TablePrefix + v.Name()
	want := v.Shape() + "+" + layoutRev
	if created {
		// A checkpoint left by a table deleted by hand would skip its rows.
		if err := deleteCheckpoint(ctx, c, v.Name()); err != nil {
			return err
		}
		return recordShape(ctx, c, v.Name(), want)
	}
	old, err := recordedShape(ctx, c, v.Name())
	if err != nil {
		return err
	}
	sameKeys, err := hasKeySchema(ctx, c.Client, viewTableDefinition(name))
	if err != nil {
		return err
	}
	if sameKeys && old == want {
		return nil
	}
	if old == "" {
		old = notRecordedText
	}
	if !sameKeys {
		// Rows cannot move to another key schema: the table goes, with them.
		if err := deleteCheckpoint(ctx, c, v.Name()); err != nil {
			return err
		}
		if err := recreateTable(ctx, c.Client, viewTableDefinition(name)); err != nil {
			return err
		}
		old += " (older key schema)"
	} else if err := truncateView(ctx, c.Client, c.TablePrefix, v.Name()); err != nil {
		return err
	}
	if err := recordShape(ctx, c, v.Name(), want); err != nil {
		return err
	}
	c.logger().Warn("dynamodb: view shape changed; view emptied and its checkpoint reset, the projector rebuilds it from the log",
		"prefix", c.TablePrefix, "view", v.Name(), "old_shape", old, "new_shape", want)
	return nil
}

func deleteCheckpoint(ctx context.Context, c Config, view string) error {
	return deleteKeys(ctx, c.Client, c.TablePrefix+checkpointsTable, []string{view}, checkpointKey)
}

func recordedShape(ctx context.Context, c Config, view string) (string, error) {
	out, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(c.TablePrefix + checkpointsTable),
		Key:            checkpointKey(shapeKeyPrefix + view),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", unavailable(err, "read the shape of view %s", view)
	}
	if out.Item == nil {
		return "", nil
	}
	d := itemReader{item: out.Item}
	s := d.s(attrShape, true)
	return s, d.err
}

func recordShape(ctx context.Context, c Config, view, shape string) error {
	_, err := c.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(c.TablePrefix + checkpointsTable),
		Item: map[string]types.AttributeValue{
			viewKeyAttr:    attrS(shapeKeyPrefix + view),
			attrShape:      attrS(shape),
			attrShapeSetAt: attrS(formatTime(c.clock()())),
		},
	})
	if err != nil {
		return unavailable(err, "record the shape of view %s", view)
	}
	return nil
}

func logTableDefinitions(prefix string) []*dynamodb.CreateTableInput {
	return []*dynamodb.CreateTableInput{
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

// hasKeySchema reports whether the existing table has in's key schema.
func hasKeySchema(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) (bool, error) {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return false, unavailable(err, "describe table %s", aws.ToString(in.TableName))
	}
	same := len(out.Table.KeySchema) == len(in.KeySchema)
	for i := 0; same && i < len(in.KeySchema); i++ {
		got, want := out.Table.KeySchema[i], in.KeySchema[i]
		same = aws.ToString(got.AttributeName) == aws.ToString(want.AttributeName) && got.KeyType == want.KeyType
	}
	return same, nil
}

// recreateTable deletes the table and creates it as in.
func recreateTable(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	name := aws.ToString(in.TableName)
	_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: in.TableName})
	var missing *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return unavailable(err, "delete table %s", name)
	}
	gone := dynamodb.NewTableNotExistsWaiter(client, func(o *dynamodb.TableNotExistsWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := gone.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, tableWaitTimeout); err != nil {
		return unavailable(err, "wait for table %s to be deleted", name)
	}
	if _, err := createTable(ctx, client, in); err != nil {
		return err
	}
	return waitActive(ctx, client, name)
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

// createTables creates every table of ins that is missing and waits until
// all are ACTIVE.
func createTables(ctx context.Context, client *dynamodb.Client, ins []*dynamodb.CreateTableInput) error {
	for _, in := range ins {
		if _, err := createTable(ctx, client, in); err != nil {
			return err
		}
	}
	for _, in := range ins {
		if err := waitActive(ctx, client, aws.ToString(in.TableName)); err != nil {
			return err
		}
	}
	return nil
}

// createTable creates one table and reports whether it did; a table that
// exists already (or is being created by a concurrent Migrate) is fine.
func createTable(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) (bool, error) {
	_, err := client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &inUse):
		return false, nil
	}
	return false, unavailable(err, "create table %s", aws.ToString(in.TableName))
}

func waitActive(ctx context.Context, client *dynamodb.Client, name string) error {
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWaitTimeout); err != nil {
		return unavailable(err, "wait for table %s to become active", name)
	}
	return nil
}
