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
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// MaxBatch is the most events one Append may carry, and the most events one
// AppendStreams may carry over all its streams. TransactWriteItems takes at
// most 100 items and an append writes three per event (stream item, log
// item, event-id item) plus up to three more (counter, expected-version
// check, idempotency item): 3*32 + 3 = 99.
//
// AppendStreams claims no idempotency key but checks the expected version of
// every stream whose batch does not expect NoStream (for Any, counted as if
// the stream existed). Its transaction holds 3 items per event, 1 per such
// stream and the counter, at most 100 in all:
//
//	3*events + streams not expecting NoStream <= 99, and events <= MaxBatch
//
// So 32 events fit in any number of new streams (NoStream) and in up to 3
// existing ones; one event per stream fits 24 existing streams (or 32 new
// ones). Whatever exceeds that, or DynamoDB's 4 MB per transaction, is
// refused with EINVALID before any request: split it, or append the streams
// one by one where atomicity across them is not needed.
const MaxBatch = 32

const (
	// maxAppendAttempts bounds the retries of an append that lost the race
	// for the global counter to appends on other streams.
	maxAppendAttempts = 50
	// DynamoDB's limits, checked before sending so that an oversized append
	// is the caller's EINVALID and not a service error.
	maxTransactItems    = 100
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
	req := appendRequest{batches: []streamRequest{{stream: stream, expected: expected, evs: evs, label: o.IdempotencyKey}}}
	if !o.StreamKey {
		req.claim = o.IdempotencyKey
	}
	res, err := s.append(ctx, req)
	if err != nil {
		return ports.AppendResult{}, err
	}
	return res[0], nil
}

// AppendStreams writes every batch at the end of its stream in one
// transaction, if every stream is at its batch's expected version; see
// ports.EventStore and MaxBatch for how much one call may carry. A batch's
// Key labels its events only: no key is claimed.
func (s *EventStore) AppendStreams(ctx context.Context, batches []ports.StreamBatch) ([]ports.AppendResult, error) {
	if err := ports.ValidateAppendStreams(batches, MaxBatch); err != nil {
		return nil, err
	}
	req := appendRequest{batches: make([]streamRequest, len(batches))}
	for i, b := range batches {
		req.batches[i] = streamRequest{stream: b.Stream, expected: b.Expected, evs: b.Events, label: b.Key}
	}
	return s.append(ctx, req)
}

// append checks req against DynamoDB's limits and commits it, retrying
// what a fresh attempt may win.
func (s *EventStore) append(ctx context.Context, req appendRequest) ([]ports.AppendResult, error) {
	if err := s.checkLimits(req); err != nil {
		return nil, err
	}
	var last error
	for attempt := range maxAppendAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, unavailable(err, "%s", req.what())
			}
		}
		res, retry, err := s.tryAppend(ctx, req)
		if !retry {
			if err != nil {
				return nil, err
			}
			for i := range res {
				if !res[i].Duplicate {
					res[i].EventIDs = ports.EventIDs(req.batches[i].evs)
				}
			}
			return res, nil
		}
		last = err
	}
	return nil, errs.Wrap(errs.EUNAVAILABLE, last, "dynamodb: %s: still contended after %d attempts", req.what(), maxAppendAttempts)
}

// checkLimits refuses, before any request, what DynamoDB could not store:
// key texts over the key size limit, an event over the item size limit, an
// append over the transaction's item count or size limit (each event is
// stored twice, plus its id item).
func (s *EventStore) checkLimits(req appendRequest) error {
	if len(req.claim) > maxKeyTextBytes {
		return errs.Errorf(errs.EINVALID, "%s: idempotency key longer than %d bytes", req.what(), maxKeyTextBytes)
	}
	items, total := 1, 0 // the counter
	if req.claim != "" {
		items++
		total += itemSize(resultItem(req.claim, req.batches[0].stream, ports.AppendResult{})) + itemSizeSlack
	}
	now := s.now().UTC()
	for _, b := range req.batches {
		if len(b.label) > maxKeyTextBytes {
			return errs.Errorf(errs.EINVALID, "append to %q: idempotency key longer than %d bytes", b.stream, maxKeyTextBytes)
		}
		if b.expected.IsAny() || b.expected.Version() > 0 {
			items++ // the stream check; for Any, if the stream exists
		}
		items += 3 * len(b.evs)
		for _, r := range s.stamp(b, 0, 0, now) {
			if len(r.ID) > maxKeyTextBytes {
				return errs.Errorf(errs.EINVALID, "append to %q: event id longer than %d bytes", b.stream, maxKeyTextBytes)
			}
			// Numbers are counted at their maximum already; the slack covers
			// the stored times, whose length varies with their fractional
			// seconds.
			size := itemSize(recordItem(streamPK(b.stream), r.Version, r)) + itemSizeSlack
			if size > maxItemBytes {
				return errs.Errorf(errs.EINVALID, "append to %q: event %s takes about %d bytes stored, DynamoDB allows %d", b.stream, r.ID, size, maxItemBytes)
			}
			total += 2*size + itemSize(eventIDItem(r)) + itemSizeSlack
		}
	}
	if items > maxTransactItems {
		return errs.Errorf(errs.EINVALID, "%s: %d events need %d transaction items, DynamoDB allows %d; split it (see MaxBatch)", req.what(), req.events(), items, maxTransactItems)
	}
	if total > maxTransactionBytes {
		return errs.Errorf(errs.EINVALID, "%s: about %d bytes in one append, DynamoDB allows %d per transaction; split it", req.what(), total, maxTransactionBytes)
	}
	return nil
}

// appendRequest is one Append (one batch, maybe claiming a key) or one
// AppendStreams (any number of batches, claiming nothing).
type appendRequest struct {
	batches []streamRequest
	// claim is the idempotency key claimed store-wide (Append with
	// ports.WithIdempotencyKey); its item records the first batch's result.
	claim string
}

// streamRequest is one stream's share of an append.
type streamRequest struct {
	stream   string
	expected ports.ExpectedVersion
	evs      []events.Record
	label    string // the records' IdempotencyKey; claimed only as appendRequest.claim
}

// what names the append in messages.
func (r appendRequest) what() string {
	if len(r.batches) == 1 {
		return fmt.Sprintf("append to %q", r.batches[0].stream)
	}
	return fmt.Sprintf("append to %d streams (%q, ...)", len(r.batches), r.batches[0].stream)
}

func (r appendRequest) events() int {
	n := 0
	for _, b := range r.batches {
		n += len(b.evs)
	}
	return n
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

// txItem is what one item of the transaction is for: its role, the batch
// it belongs to (-1 for the counter and the idempotency item) and, for an
// event-id item, the event id.
type txItem struct {
	role  itemRole
	batch int
	id    string
}

// appendTx is one attempt's transaction and the role of each of its items.
type appendTx struct {
	input *dynamodb.TransactWriteItemsInput
	items []txItem
	// anyBatch[i] is true when batch i expects Any: a conflict on it calls
	// for a fresh attempt, not for the caller's decision.
	anyBatch []bool
	results  []ports.AppendResult
}

func (t *appendTx) add(it txItem, item types.TransactWriteItem) {
	t.input.TransactItems = append(t.input.TransactItems, item)
	t.items = append(t.items, it)
}

func (t *appendTx) isAny(batch int) bool {
	return batch >= 0 && batch < len(t.anyBatch) && t.anyBatch[batch]
}

// tryAppend makes one attempt at the current counter. retry reports that the
// attempt lost a race that a fresh attempt may win.
func (s *EventStore) tryAppend(ctx context.Context, req appendRequest) (res []ports.AppendResult, retry bool, err error) {
	ats := make([]uint64, len(req.batches))
	for i, b := range req.batches {
		ats[i] = b.expected.Version()
		if b.expected.IsAny() {
			if ats[i], err = s.streamVersion(ctx, b.stream); err != nil {
				return nil, false, err
			}
		}
	}
	head, err := s.Head(ctx)
	if err != nil {
		return nil, false, err
	}
	tx := s.buildTx(req, ats, head)
	err = s.commit(ctx, tx.input)
	if err == nil {
		return tx.results, false, nil
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return nil, false, unavailable(err, "%s", req.what())
	}
	return s.resolveCancel(ctx, req, tx, canceled)
}

// buildTx lays out the transaction: batch i goes on from version ats[i],
// the batches take the positions after head in the order given. The
// idempotency item comes first so that its verdict is known even where a
// store reports only the first failure; the stream checks and stream items
// come before the event-id items for the same reason.
func (s *EventStore) buildTx(req appendRequest, ats []uint64, head uint64) *appendTx {
	tx := &appendTx{
		input:    &dynamodb.TransactWriteItemsInput{ClientRequestToken: aws.String(requestToken())},
		anyBatch: make([]bool, len(req.batches)),
		results:  make([]ports.AppendResult, len(req.batches)),
	}
	now := s.now().UTC()
	recs := make([][]events.Record, len(req.batches))
	pos := head
	for i, b := range req.batches {
		k := uint64(len(b.evs))
		tx.anyBatch[i] = b.expected.IsAny()
		tx.results[i] = ports.AppendResult{
			FirstVersion: ats[i] + 1, LastVersion: ats[i] + k,
			FirstPosition: pos + 1, LastPosition: pos + k,
		}
		recs[i] = s.stamp(b, ats[i], pos, now)
		pos += k
	}
	if req.claim != "" {
		tx.add(txItem{role: roleIdempotency, batch: -1}, s.putNew(resultItem(req.claim, req.batches[0].stream, tx.results[0])))
	}
	for i, b := range req.batches {
		if ats[i] > 0 {
			tx.add(txItem{role: roleStreamCheck, batch: i}, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName:                aws.String(s.table),
				Key:                      key(streamPK(b.stream), ats[i]),
				ConditionExpression:      aws.String("attribute_exists(#pk)"),
				ExpressionAttributeNames: map[string]string{"#pk": attrPK},
			}})
		}
		for _, r := range recs[i] {
			tx.add(txItem{role: roleStreamItem, batch: i}, s.putNew(recordItem(streamPK(b.stream), r.Version, r)))
		}
	}
	for i := range req.batches {
		for _, r := range recs[i] {
			tx.add(txItem{role: roleEventID, batch: i, id: r.ID}, s.putNew(eventIDItem(r)))
		}
	}
	tx.add(txItem{role: roleCounter, batch: -1}, s.moveCounter(head, pos))
	for i := range req.batches {
		for _, r := range recs[i] {
			tx.add(txItem{role: roleLog, batch: i}, s.putNew(recordItem(logPK(bucketOf(r.GlobalPosition)), r.GlobalPosition, r)))
		}
	}
	return tx
}

// eventIDItem makes r's id unique in the log and says where it is.
func eventIDItem(r events.Record) map[string]types.AttributeValue {
	id := key(idKeyPrefix+r.ID, 0)
	id[attrStream], id[attrVersion], id[attrPosition] = attrS(r.Stream), attrN(r.Version), attrN(r.GlobalPosition)
	return id
}

// stamp gives the records of one batch their stream, versions, positions,
// commit time and idempotency key (the batch's label).
func (s *EventStore) stamp(b streamRequest, at, head uint64, now time.Time) []events.Record {
	out := make([]events.Record, len(b.evs))
	for i, r := range b.evs {
		r.Stream = b.stream
		r.Version = at + uint64(i) + 1
		r.GlobalPosition = head + uint64(i) + 1
		r.RecordedAt = now
		r.IdempotencyKey = b.label
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
	verdictConflict                   // a stream is not at the expected version
	verdictDuplicate                  // the idempotency key was used
	verdictBroken                     // a reason that no retry can fix
)

// classify reads the cancellation reasons, which are given per item in
// request order, and returns the strongest verdict, the batch it concerns
// (-1 when none) and the event id or the reason behind it where that helps
// the message. Of several streams in conflict it names the first one in
// request order whose batch does not expect Any, since only such a
// conflict is the caller's to decide.
func classify(tx *appendTx, reasons []types.CancellationReason) (v verdict, batch int, detail string) {
	v, batch = verdictRetry, -1
	raise := func(to verdict, b int, d string) {
		if to > v || (to == verdictConflict && v == verdictConflict && tx.isAny(batch) && !tx.isAny(b)) {
			v, batch, detail = to, b, d
		}
	}
	for i, r := range reasons {
		if i >= len(tx.items) {
			break
		}
		it := tx.items[i]
		switch code := aws.ToString(r.Code); code {
		case "", "None", "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
		case "ConditionalCheckFailed":
			switch it.role {
			case roleIdempotency:
				raise(verdictDuplicate, it.batch, "")
			case roleStreamCheck, roleStreamItem:
				raise(verdictConflict, it.batch, "")
			case roleEventID:
				raise(verdictDuplicateID, it.batch, it.id)
			}
		default:
			raise(verdictBroken, -1, code+": "+aws.ToString(r.Message))
		}
	}
	return v, batch, detail
}

// resolveCancel turns a cancelled transaction into the append's answer.
func (s *EventStore) resolveCancel(ctx context.Context, req appendRequest, tx *appendTx, c *types.TransactionCanceledException) ([]ports.AppendResult, bool, error) {
	v, batch, detail := classify(tx, c.CancellationReasons)
	switch v {
	case verdictDuplicate:
		return s.duplicateResult(ctx, req)
	case verdictConflict:
		b := req.batches[batch]
		if b.expected.IsAny() {
			return nil, true, &ports.ConflictError{Stream: b.stream, Expected: b.expected}
		}
		// Best effort: the conflict stands even if the version cannot be read.
		actual, _ := s.streamVersion(ctx, b.stream)
		return nil, false, &ports.ConflictError{Stream: b.stream, Expected: b.expected, Actual: actual}
	case verdictDuplicateID:
		return nil, false, errs.Errorf(errs.ECONFLICT, "append to %q: event id %s is already in the log", req.batches[batch].stream, detail)
	case verdictBroken:
		return nil, false, errs.Wrap(errs.EINTERNAL, c, "dynamodb: %s refused: %s", req.what(), detail)
	default:
		return nil, true, unavailable(c, "%s lost a race", req.what())
	}
}

// duplicateResult reads the result stored under a used idempotency key
// (only an Append, with its one batch, claims a key).
func (s *EventStore) duplicateResult(ctx context.Context, req appendRequest) ([]ports.AppendResult, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(idemKeyPrefix+req.claim, 0),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, unavailable(err, "read idempotency key of an %s", req.what())
	}
	if out.Item == nil {
		// The key's item failed its condition, so it exists; not seeing it
		// yet is transient.
		return nil, true, errs.Errorf(errs.EUNAVAILABLE, "dynamodb: idempotency key of an %s not readable yet", req.what())
	}
	res, err := resultFromItem(out.Item)
	if err != nil {
		return nil, false, err
	}
	res.Duplicate = true
	return []ports.AppendResult{res}, false, nil
}
