package dynamodb

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// ViewStore keeps each read view in its own table (prefix + view name) and
// the projector checkpoints in prefix + "checkpoints". DynamoDB has no
// transaction that spans a projector's batch of reads and writes, so writes
// land one by one; every row carries the version it applied and Put refuses
// a stale one, which makes redoing a half-applied batch harmless.
type ViewStore struct {
	db     *dynamodb.Client
	prefix string
	views  *views
}

var _ ports.ViewStore = (*ViewStore)(nil)

// NewViewStore returns the store over cfg's view tables (see Migrate):
// one per view of cfg.Views.
func NewViewStore(cfg Config) (*ViewStore, error) {
	if err := cfg.validate("view store"); err != nil {
		return nil, err
	}
	codec := newRowCodec()
	p := cfg.TablePrefix
	v := &views{db: cfg.Client, checkpoints: p + checkpointsTable, tables: map[string]*table{}}
	for _, def := range cfg.views().All() {
		v.tables[def.Name()] = newTable(cfg.Client, p, def, codec)
	}
	return &ViewStore{db: cfg.Client, prefix: p, views: v}, nil
}

// Batch runs fn with writes that go straight to DynamoDB. If fn fails after
// some writes, they stay: a redo of the same events skips them by version.
func (s *ViewStore) Batch(ctx context.Context, fn func(ports.ViewTx) error) error {
	if err := ctx.Err(); err != nil {
		return unavailable(err, "view batch")
	}
	return fn(s.views)
}

// Read returns the views for queries.
func (s *ViewStore) Read() ports.ViewTx { return s.views }

// Truncate empties view and deletes the checkpoint of its projector, which
// is named after the view. The checkpoint goes first: if Truncate stops
// halfway, the projector replays from the start over the rows that are
// left, which versions make harmless; the other order could leave a
// checkpoint pointing past deleted rows.
func (s *ViewStore) Truncate(ctx context.Context, view string) error {
	if _, ok := s.views.tables[view]; !ok {
		return errs.Errorf(errs.EINVALID, "truncate: no view %q", view)
	}
	return truncateView(ctx, s.db, s.prefix, view)
}

// truncateView deletes the checkpoint of view's projector, then its rows.
func truncateView(ctx context.Context, db *dynamodb.Client, prefix, view string) error {
	if err := deleteKeys(ctx, db, prefix+checkpointsTable, []string{view}, checkpointKey); err != nil {
		return err
	}
	rows, err := scanKeys(ctx, db, &dynamodb.ScanInput{TableName: aws.String(prefix + view)})
	if err != nil {
		return err
	}
	return deleteKeys(ctx, db, prefix+view, rows, rowKey)
}

// views is the ports.ViewTx of a ViewStore, inside or outside a batch alike.
type views struct {
	db          *dynamodb.Client
	checkpoints string
	tables      map[string]*table // by view name
}

// Table implements ports.ViewTx.
func (v *views) Table(view *ports.ViewDef) ports.Table[ports.ViewRow] {
	t, ok := v.tables[view.Name()]
	if !ok || t.view != view {
		return ports.FailingTable{Err: errs.Errorf(errs.EINVALID, "dynamodb views: view %q is not one the store was made with (Config.Views)", view.Name())}
	}
	return t
}

// checkpointPosAttr is the checkpoint item's position attribute.
const checkpointPosAttr = "position"

// Checkpoint returns the last position the projector finished, 0 if none.
func (v *views) Checkpoint(ctx context.Context, projector string) (uint64, error) {
	if projector == "" {
		return 0, errs.Errorf(errs.EINVALID, "checkpoint: empty projector name")
	}
	out, err := v.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(v.checkpoints),
		Key:            checkpointKey(projector),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, unavailable(err, "read the checkpoint of %s", projector)
	}
	if out.Item == nil {
		return 0, nil
	}
	d := itemReader{item: out.Item}
	pos := d.n(checkpointPosAttr)
	return pos, d.err
}

// SaveCheckpoint records position unconditionally: a checkpoint that moves
// back (two workers finishing out of order) only costs a harmless redo.
func (v *views) SaveCheckpoint(ctx context.Context, projector string, position uint64) error {
	if projector == "" {
		return errs.Errorf(errs.EINVALID, "save checkpoint: empty projector name")
	}
	_, err := v.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(v.checkpoints),
		Item: map[string]types.AttributeValue{
			viewKeyAttr:       attrS(projector),
			checkpointPosAttr: attrN(position),
		},
	})
	if err != nil {
		return unavailable(err, "save the checkpoint of %s", projector)
	}
	return nil
}

// scanKeys returns the key of every item a consistent scan finds.
func scanKeys(ctx context.Context, db *dynamodb.Client, in *dynamodb.ScanInput) ([]string, error) {
	in.ConsistentRead = aws.Bool(true)
	in.ProjectionExpression = aws.String("#k")
	in.ExpressionAttributeNames = map[string]string{"#k": viewKeyAttr}
	var keys []string
	p := dynamodb.NewScanPaginator(db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, unavailable(err, "scan %s", aws.ToString(in.TableName))
		}
		for _, item := range page.Items {
			d := itemReader{item: item}
			k := d.s(viewKeyAttr, true)
			if d.err != nil {
				return nil, d.err
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

const (
	// batchWriteMax is BatchWriteItem's limit of requests per call.
	batchWriteMax = 25
	// maxUnprocessedRounds bounds resending what DynamoDB throttled.
	maxUnprocessedRounds = 20
)

// checkpointKey is the primary key of a projector's checkpoint.
func checkpointKey(projector string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{viewKeyAttr: attrS(projector)}
}

// deleteKeys deletes the items keyed keys (primary keys made by key) in
// chunks, resending unprocessed deletes with backoff as the BatchWriteItem
// documentation asks.
func deleteKeys(ctx context.Context, db *dynamodb.Client, tableName string, keys []string, key func(string) map[string]types.AttributeValue) error {
	for chunk := range slices.Chunk(keys, batchWriteMax) {
		reqs := make([]types.WriteRequest, len(chunk))
		for i, k := range chunk {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(k)}}
		}
		if err := batchWrite(ctx, db, map[string][]types.WriteRequest{tableName: reqs}); err != nil {
			return err
		}
	}
	return nil
}

func batchWrite(ctx context.Context, db *dynamodb.Client, pending map[string][]types.WriteRequest) error {
	for round := 0; len(pending) > 0; round++ {
		if round == maxUnprocessedRounds {
			return errs.Errorf(errs.EUNAVAILABLE, "dynamodb: batch write still throttled after %d rounds", round)
		}
		if round > 0 {
			if err := sleep(ctx, backoff(round+3)); err != nil {
				return unavailable(err, "batch write")
			}
		}
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return unavailable(err, "batch write")
		}
		pending = out.UnprocessedItems
	}
	return nil
}
