package dynamodb

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// MaxBatch is the most events one Append may carry. TransactWriteItems takes
// at most 100 items and an append writes three per event (stream item, log
// item, event-id item) plus up to three more (counter, expected-version
// check, idempotency item): 3*32 + 3 = 99.
const MaxBatch = 32

const (
	// maxAppendAttempts bounds the retries of an append that lost the race
	// for the global counter to appends on other streams.
	maxAppendAttempts = 50
	// DynamoDB's limits, checked before sending so that an oversized append
	// is the caller's EINVALID and not a service error.
	maxItemBytes        = 400 * 1024
	maxTransactionBytes = 4 * 1024 * 1024
	// maxKeyTextBytes keeps "idem#"+key and "id#"+id under the 2048-byte
	// partition key limit.
	maxKeyTextBytes = 1024
	// itemSizeSlack is added to estimated item sizes (see checkLimits).
	itemSizeSlack = 64
	// maxInProgressResubmits bounds resubmitting the same transaction while
	// DynamoDB reports an earlier attempt with its token as in progress.
	maxInProgressResubmits = 5
)

// Append writes evs at the end of stream if it is at expected; see
// ports.EventStore. It retries by itself only what is not the caller's
// business: losing the global counter to another stream's append, and
// transient transaction conflicts.
func (s *EventStore) Append(ctx context.Context, stream string, expected ports.ExpectedVersion, evs []events.Record, opts ...ports.AppendOption) (ports.AppendResult, error) {
	if err := ports.ValidateAppend(stream, evs, MaxBatch); err != nil {
		return ports.AppendResult{}, err
	}
	o := ports.ResolveAppendOptions(opts)
	req := appendRequest{stream: stream, expected: expected, evs: evs, idemKey: o.IdempotencyKey, keyOnly: o.StreamKey}
	if err := s.checkLimits(req); err != nil {
		return ports.AppendResult{}, err
	}
	var last error
	for attempt := range maxAppendAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return ports.AppendResult{}, unavailable(err, "append to %q", stream)
			}
		}
		res, retry, err := s.tryAppend(ctx, req)
		if !retry {
			if err == nil && !res.Duplicate {
				res.EventIDs = ports.EventIDs(evs)
			}
			return res, err
		}
		last = err
	}
	return ports.AppendResult{}, errs.Wrap(errs.EUNAVAILABLE, last, "dynamodb: append to %q: still contended after %d attempts", stream, maxAppendAttempts)
}

// checkLimits refuses, before any request, what DynamoDB could not store:
// key texts over the key size limit, an event over the item size limit, a
// batch over the transaction size limit (each event is stored twice).
func (s *EventStore) checkLimits(req appendRequest) error {
	if len(req.idemKey) > maxKeyTextBytes {
		return errs.Errorf(errs.EINVALID, "append to %q: idempotency key longer than %d bytes", req.stream, maxKeyTextBytes)
	}
	total := 0
	for _, r := range s.stamp(req, 0, 0) {
		if len(r.ID) > maxKeyTextBytes {
			return errs.Errorf(errs.EINVALID, "append to %q: event id longer than %d bytes", req.stream, maxKeyTextBytes)
		}
		// Numbers are counted at their maximum already; the slack covers the
		// stored times, whose length varies with their fractional seconds.
		size := itemSize(recordItem(streamPK(req.stream), r.Version, r)) + itemSizeSlack
		if size > maxItemBytes {
			return errs.Errorf(errs.EINVALID, "append to %q: event %s takes about %d bytes stored, DynamoDB allows %d", req.stream, r.ID, size, maxItemBytes)
		}
		total += 2 * size
	}
	if total > maxTransactionBytes {
		return errs.Errorf(errs.EINVALID, "append to %q: about %d bytes in one batch, DynamoDB allows %d per transaction; split it", req.stream, total, maxTransactionBytes)
	}
	return nil
}

type appendRequest struct {
	stream   string
	expected ports.ExpectedVersion
	evs      []events.Record
	idemKey  string
	keyOnly  bool // idemKey labels the events and is not claimed (ports.WithStreamKey)
}

// itemRole says what one item of the append transaction is for, so that a
// cancellation reason at index i can be read as a verdict.
type itemRole int

const (
	roleIdempotency itemRole = iota
	roleStreamCheck
	roleStreamItem
	roleEventID
	roleCounter
	roleLog
)

// appendTx is one attempt's transaction and the role of each of its items.
type appendTx struct {
	input  *dynamodb.TransactWriteItemsInput
	roles  []itemRole
	ids    []string // event id of each roleEventID item, "" elsewhere
	result ports.AppendResult
}

func (t *appendTx) add(role itemRole, id string, item types.TransactWriteItem) {
	t.input.TransactItems = append(t.input.TransactItems, item)
	t.roles = append(t.roles, role)
	t.ids = append(t.ids, id)
}

// tryAppend makes one attempt at the current counter. retry reports that the
// attempt lost a race that a fresh attempt may win.
func (s *EventStore) tryAppend(ctx context.Context, req appendRequest) (res ports.AppendResult, retry bool, err error) {
	at := req.expected.Version()
	if req.expected.IsAny() {
		if at, err = s.streamVersion(ctx, req.stream); err != nil {
			return ports.AppendResult{}, false, err
		}
	}
	head, err := s.Head(ctx)
	if err != nil {
		return ports.AppendResult{}, false, err
	}
	tx := s.buildTx(req, at, head)
	err = s.commit(ctx, tx.input)
	if err == nil {
		return tx.result, false, nil
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return ports.AppendResult{}, false, unavailable(err, "append to %q", req.stream)
	}
	return s.resolveCancel(ctx, req, tx, canceled)
}

// buildTx lays out the transaction. The idempotency item comes first so that
// its verdict is known even where a store reports only the first failure.
func (s *EventStore) buildTx(req appendRequest, at, head uint64) *appendTx {
	k := uint64(len(req.evs))
	tx := &appendTx{
		input: &dynamodb.TransactWriteItemsInput{ClientRequestToken: aws.String(requestToken())},
		result: ports.AppendResult{
			FirstVersion: at + 1, LastVersion: at + k,
			FirstPosition: head + 1, LastPosition: head + k,
		},
	}
	if req.idemKey != "" && !req.keyOnly {
		tx.add(roleIdempotency, "", s.putNew(resultItem(req.idemKey, req.stream, tx.result)))
	}
	if at > 0 {
		tx.add(roleStreamCheck, "", types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName:                aws.String(s.table),
			Key:                      key(streamPK(req.stream), at),
			ConditionExpression:      aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		}})
	}
	recs := s.stamp(req, at, head)
	for _, r := range recs {
		tx.add(roleStreamItem, "", s.putNew(recordItem(streamPK(req.stream), r.Version, r)))
	}
	for _, r := range recs {
		id := key(idKeyPrefix+r.ID, 0)
		id[attrStream], id[attrVersion], id[attrPosition] = attrS(r.Stream), attrN(r.Version), attrN(r.GlobalPosition)
		tx.add(roleEventID, r.ID, s.putNew(id))
	}
	tx.add(roleCounter, "", s.moveCounter(head, head+k))
	for _, r := range recs {
		tx.add(roleLog, "", s.putNew(recordItem(logPK(bucketOf(r.GlobalPosition)), r.GlobalPosition, r)))
	}
	return tx
}

// stamp gives the records their stream, versions, positions, commit time and
// idempotency key.
func (s *EventStore) stamp(req appendRequest, at, head uint64) []events.Record {
	now := s.now().UTC()
	out := make([]events.Record, len(req.evs))
	for i, r := range req.evs {
		r.Stream = req.stream
		r.Version = at + uint64(i) + 1
		r.GlobalPosition = head + uint64(i) + 1
		r.RecordedAt = now
		r.IdempotencyKey = req.idemKey
		out[i] = r
	}
	return out
}

// putNew writes item only where nothing is: a stream version, log position,
// event id or idempotency key is written once.
func (s *EventStore) putNew(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	}}
}

// moveCounter sets the counter from head to next only if it still is at
// head: this serialises all appends into one gap-free sequence of positions.
func (s *EventStore) moveCounter(head, next uint64) types.TransactWriteItem {
	u := &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       key(counterKey, 0),
		UpdateExpression:          aws.String("SET #pos = :next"),
		ExpressionAttributeNames:  map[string]string{"#pos": attrCounterPos},
		ExpressionAttributeValues: map[string]types.AttributeValue{":next": attrN(next)},
	}
	if head == 0 {
		u.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		u.ExpressionAttributeNames["#pk"] = attrPK
	} else {
		u.ConditionExpression = aws.String("#pos = :head")
		u.ExpressionAttributeValues[":head"] = attrN(head)
	}
	return types.TransactWriteItem{Update: u}
}

// commit sends the transaction. DynamoDB answers TransactionInProgress when
// an earlier send with the same token (an SDK retry after a lost response)
// is still running; resubmitting the same token then reports that attempt's
// outcome instead of racing it.
func (s *EventStore) commit(ctx context.Context, in *dynamodb.TransactWriteItemsInput) error {
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, in)
		var inProgress *types.TransactionInProgressException
		if !errors.As(err, &inProgress) || attempt == maxInProgressResubmits {
			return err
		}
		if err := sleep(ctx, backoff(attempt+4)); err != nil {
			return err
		}
	}
}

// verdict is what a cancelled transaction means, in order of precedence.
type verdict int

const (
	verdictRetry       verdict = iota // counter moved or a transient conflict
	verdictDuplicateID                // an event id is already in the log
	verdictConflict                   // the stream is not at the expected version
	verdictDuplicate                  // the idempotency key was used
	verdictBroken                     // a reason that no retry can fix
)

// classify reads the cancellation reasons, which are given per item in
// request order, and returns the strongest verdict, and the event id or the
// reason behind it where that helps the message.
func classify(tx *appendTx, reasons []types.CancellationReason) (verdict, string) {
	v, detail := verdictRetry, ""
	raise := func(to verdict, d string) {
		if to > v {
			v, detail = to, d
		}
	}
	for i, r := range reasons {
		if i >= len(tx.roles) {
			break
		}
		switch code := aws.ToString(r.Code); code {
		case "", "None", "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
		case "ConditionalCheckFailed":
			switch tx.roles[i] {
			case roleIdempotency:
				raise(verdictDuplicate, "")
			case roleStreamCheck, roleStreamItem:
				raise(verdictConflict, "")
			case roleEventID:
				raise(verdictDuplicateID, tx.ids[i])
			}
		default:
			raise(verdictBroken, code+": "+aws.ToString(r.Message))
		}
	}
	return v, detail
}

// resolveCancel turns a cancelled transaction into the append's answer.
func (s *EventStore) resolveCancel(ctx context.Context, req appendRequest, tx *appendTx, c *types.TransactionCanceledException) (ports.AppendResult, bool, error) {
	v, detail := classify(tx, c.CancellationReasons)
	switch v {
	case verdictDuplicate:
		return s.duplicateResult(ctx, req)
	case verdictConflict:
		if req.expected.IsAny() {
			return ports.AppendResult{}, true, &ports.ConflictError{Stream: req.stream, Expected: req.expected}
		}
		// Best effort: the conflict stands even if the version cannot be read.
		actual, _ := s.streamVersion(ctx, req.stream)
		return ports.AppendResult{}, false, &ports.ConflictError{Stream: req.stream, Expected: req.expected, Actual: actual}
	case verdictDuplicateID:
		return ports.AppendResult{}, false, errs.Errorf(errs.ECONFLICT, "append to %q: event id %s is already in the log", req.stream, detail)
	case verdictBroken:
		return ports.AppendResult{}, false, errs.Wrap(errs.EINTERNAL, c, "dynamodb: append to %q refused: %s", req.stream, detail)
	default:
		return ports.AppendResult{}, true, unavailable(c, "append to %q lost a race", req.stream)
	}
}

// duplicateResult reads the result stored under a used idempotency key.
func (s *EventStore) duplicateResult(ctx context.Context, req appendRequest) (ports.AppendResult, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(idemKeyPrefix+req.idemKey, 0),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ports.AppendResult{}, false, unavailable(err, "read idempotency key of an append to %q", req.stream)
	}
	if out.Item == nil {
		// The key's item failed its condition, so it exists; not seeing it
		// yet is transient.
		return ports.AppendResult{}, true, errs.Errorf(errs.EUNAVAILABLE, "dynamodb: idempotency key of an append to %q not readable yet", req.stream)
	}
	res, err := resultFromItem(out.Item)
	if err != nil {
		return ports.AppendResult{}, false, err
	}
	res.Duplicate = true
	return res, false, nil
}
