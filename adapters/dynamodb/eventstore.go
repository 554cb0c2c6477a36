package dynamodb

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// EventStore is the event log in one DynamoDB table. Appends are single
// TransactWriteItems calls; the whole log is read through a gap-free global
// position kept in a counter item that every append moves in the same
// transaction. README.md has the design.
type EventStore struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time
}

var _ ports.EventStore = (*EventStore)(nil)

// NewEventStore returns the store over cfg's events table (see Migrate).
func NewEventStore(cfg Config) (*EventStore, error) {
	if err := cfg.validate("event store"); err != nil {
		return nil, err
	}
	return &EventStore{db: cfg.Client, table: cfg.TablePrefix + eventsTable, now: cfg.clock()}, nil
}

// Load returns the stream's events after version after, in order.
func (s *EventStore) Load(ctx context.Context, stream string, after uint64) ([]events.Record, error) {
	items, err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk > :after"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": attrS(streamPK(stream)), ":after": attrN(after),
		},
	})
	if err != nil {
		return nil, unavailable(err, "load stream %q", stream)
	}
	return recordsFromItems(items)
}

// LoadPage returns at most limit of the stream's events after version
// after: one Query with that Limit (followed only if DynamoDB's 1 MB page
// ends first).
func (s *EventStore) LoadPage(ctx context.Context, stream string, after uint64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		return nil, errs.Errorf(errs.EINVALID, "load a page of %q: limit %d, want at least 1", stream, limit)
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		ConsistentRead:           aws.Bool(true),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk > :after"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": attrS(streamPK(stream)), ":after": attrN(after),
		},
	}
	var recs []events.Record
	for len(recs) < limit {
		in.Limit = aws.Int32(int32(limit - len(recs)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable(err, "load a page of stream %q", stream)
		}
		page, err := recordsFromItems(out.Items)
		if err != nil {
			return nil, err
		}
		recs = append(recs, page...)
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return recs, nil
}

// Head returns the last assigned global position. Because the counter moves
// in the same transaction that writes the log items, every position up to
// Head is committed.
func (s *EventStore) Head(ctx context.Context) (uint64, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(counterKey, 0),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, unavailable(err, "read the log head")
	}
	if out.Item == nil {
		return 0, nil
	}
	d := itemReader{item: out.Item}
	pos := d.n(attrCounterPos)
	return pos, d.err
}

// readAllAttempts bounds how often ReadAll rereads a range in which a
// counted position was not visible yet (see README.md: it should not happen;
// if it does, the reader waits rather than skipping the position).
const readAllAttempts = 10

// ReadAll returns at most limit events after global position after. It reads
// the head first and then only positions up to it, all of which are
// committed, and it checks that the result has no hole: a position that is
// counted but not visible is waited for, never skipped.
func (s *EventStore) ReadAll(ctx context.Context, after uint64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		return nil, errs.Errorf(errs.EINVALID, "read all: limit %d, want at least 1", limit)
	}
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err, "read all after %d", after)
	}
	head, err := s.Head(ctx)
	if err != nil || head <= after {
		return nil, err
	}
	last := head
	if uint64(limit) < head-after {
		last = after + uint64(limit)
	}
	var missing uint64
	for attempt := range readAllAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt+3)); err != nil {
				return nil, unavailable(err, "read all after %d", after)
			}
		}
		recs, err := s.readLog(ctx, after+1, last)
		if err != nil {
			return nil, err
		}
		if missing = firstMissing(recs, after+1, last); missing == 0 {
			return recs, nil
		}
	}
	return nil, errs.Errorf(errs.EUNAVAILABLE, "dynamodb: read all: position %d is counted but not readable after %d attempts", missing, readAllAttempts)
}

// readLog reads positions from..to, bucket after bucket.
func (s *EventStore) readLog(ctx context.Context, from, to uint64) ([]events.Record, error) {
	out := make([]events.Record, 0, to-from+1)
	for b := bucketOf(from); b <= bucketOf(to); b++ {
		lo, hi := max(from, b*logBucketSize), min(to, b*logBucketSize+logBucketSize-1)
		items, err := s.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": attrS(logPK(b)), ":lo": attrN(lo), ":hi": attrN(hi),
			},
		})
		if err != nil {
			return nil, unavailable(err, "read log positions %d..%d", lo, hi)
		}
		recs, err := recordsFromItems(items)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// firstMissing returns the first position of from..to that recs (sorted)
// lacks, or 0 when recs is exactly from..to.
func firstMissing(recs []events.Record, from, to uint64) uint64 {
	want := from
	for _, r := range recs {
		if r.GlobalPosition != want {
			return want
		}
		want++
	}
	if want <= to {
		return want
	}
	return 0
}

// streamVersion returns the stream's last version (0 when it has none).
func (s *EventStore) streamVersion(ctx context.Context, stream string) (uint64, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": attrS(streamPK(stream)),
		},
		ProjectionExpression: aws.String("#pk, #sk"),
		ScanIndexForward:     aws.Bool(false),
		Limit:                aws.Int32(1),
		ConsistentRead:       aws.Bool(true),
	})
	if err != nil {
		return 0, unavailable(err, "read the version of stream %q", stream)
	}
	if len(out.Items) == 0 {
		return 0, nil
	}
	d := itemReader{item: out.Items[0]}
	v := d.n(attrSK)
	return v, d.err
}

// query runs a strongly consistent query on the events table and follows
// its pages.
func (s *EventStore) query(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	in.TableName = aws.String(s.table)
	in.ConsistentRead = aws.Bool(true)
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

func recordsFromItems(items []map[string]types.AttributeValue) ([]events.Record, error) {
	recs := make([]events.Record, 0, len(items))
	for _, item := range items {
		r, err := recordFromItem(item)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}
