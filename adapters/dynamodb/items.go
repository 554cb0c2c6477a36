package dynamodb

import (
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Key attributes and key prefixes of the events table (see README.md).
const (
	attrPK = "pk"
	attrSK = "sk"

	streamKeyPrefix = "s#"
	logKeyPrefix    = "log#"
	idemKeyPrefix   = "idem#"
	idKeyPrefix     = "id#"
	counterKey      = "counter"

	// logBucketSize positions share one log partition key, so a reader
	// queries one bucket after another in order.
	logBucketSize = 1000
)

// Attributes of event records and of the counter and idempotency items.
const (
	attrID            = "id"
	attrType          = "type"
	attrPayload       = "payload"
	attrOccurredAt    = "occurred_at"
	attrActor         = "actor"
	attrCorrelationID = "correlation_id"
	attrCausationID   = "causation_id"
	attrStream        = "stream"
	attrVersion       = "version"
	attrPosition      = "position"
	attrRecordedAt    = "recorded_at"
	attrIdemKey       = "idempotency_key"

	attrCounterPos    = "pos"
	attrFirstVersion  = "first_version"
	attrLastVersion   = "last_version"
	attrFirstPosition = "first_position"
	attrLastPosition  = "last_position"
)

func attrS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func attrN(v uint64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatUint(v, 10)}
}

func key(pk string, sk uint64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: attrS(pk), attrSK: attrN(sk)}
}

func streamPK(stream string) string { return streamKeyPrefix + stream }

func logPK(bucket uint64) string { return logKeyPrefix + strconv.FormatUint(bucket, 10) }

func bucketOf(position uint64) uint64 { return position / logBucketSize }

// recordItem is the full record under the given key; stream items and log
// items carry the same attributes and differ only in their key.
func recordItem(pk string, sk uint64, r events.Record) map[string]types.AttributeValue {
	item := key(pk, sk)
	item[attrID] = attrS(r.ID)
	item[attrType] = attrS(r.Type)
	// Binary keeps the payload byte for byte; a string would have to be UTF-8.
	item[attrPayload] = &types.AttributeValueMemberB{Value: r.Payload}
	item[attrOccurredAt] = attrS(formatTime(r.OccurredAt))
	item[attrStream] = attrS(r.Stream)
	item[attrVersion] = attrN(r.Version)
	item[attrPosition] = attrN(r.GlobalPosition)
	item[attrRecordedAt] = attrS(formatTime(r.RecordedAt))
	optional := map[string]string{
		attrActor:         r.Actor,
		attrCorrelationID: r.CorrelationID,
		attrCausationID:   r.CausationID,
		attrIdemKey:       r.IdempotencyKey,
	}
	for name, v := range optional {
		if v != "" {
			item[name] = attrS(v)
		}
	}
	return item
}

// recordFromItem reverses recordItem.
func recordFromItem(item map[string]types.AttributeValue) (events.Record, error) {
	d := itemReader{item: item}
	r := events.Record{
		Metadata: events.Metadata{
			ID:            d.s(attrID, true),
			OccurredAt:    d.time(attrOccurredAt),
			Actor:         d.s(attrActor, false),
			CorrelationID: d.s(attrCorrelationID, false),
			CausationID:   d.s(attrCausationID, false),
		},
		Position: events.Position{
			Stream:         d.s(attrStream, true),
			Version:        d.n(attrVersion),
			GlobalPosition: d.n(attrPosition),
			RecordedAt:     d.time(attrRecordedAt),
			IdempotencyKey: d.s(attrIdemKey, false),
		},
		Type:    d.s(attrType, true),
		Payload: d.b(attrPayload),
	}
	return r, d.err
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// itemReader reads typed attributes and remembers the first problem, so a
// decoder reads like a struct literal.
type itemReader struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *itemReader) fail(name, want string) {
	if d.err == nil {
		pk, _ := d.item[attrPK].(*types.AttributeValueMemberS)
		where := "?"
		if pk != nil {
			where = pk.Value
		}
		d.err = corrupt("%s: attribute %q is missing or not %s", where, name, want)
	}
}

func (d *itemReader) s(name string, required bool) string {
	v, ok := d.item[name].(*types.AttributeValueMemberS)
	if !ok {
		if required || d.item[name] != nil {
			d.fail(name, "a string")
		}
		return ""
	}
	return v.Value
}

func (d *itemReader) n(name string) uint64 {
	v, ok := d.item[name].(*types.AttributeValueMemberN)
	if !ok {
		d.fail(name, "a number")
		return 0
	}
	u, err := strconv.ParseUint(v.Value, 10, 64)
	if err != nil {
		d.fail(name, "an unsigned integer")
	}
	return u
}

func (d *itemReader) b(name string) []byte {
	v, ok := d.item[name].(*types.AttributeValueMemberB)
	if !ok {
		d.fail(name, "binary")
		return nil
	}
	return v.Value
}

func (d *itemReader) time(name string) time.Time {
	s := d.s(name, true)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail(name, "an RFC 3339 time")
	}
	return t.UTC()
}

// resultItem is the idempotency item: the key's first AppendResult.
func resultItem(idemKey, stream string, res ports.AppendResult) map[string]types.AttributeValue {
	item := key(idemKeyPrefix+idemKey, 0)
	item[attrStream] = attrS(stream)
	item[attrFirstVersion] = attrN(res.FirstVersion)
	item[attrLastVersion] = attrN(res.LastVersion)
	item[attrFirstPosition] = attrN(res.FirstPosition)
	item[attrLastPosition] = attrN(res.LastPosition)
	return item
}

func resultFromItem(item map[string]types.AttributeValue) (ports.AppendResult, error) {
	d := itemReader{item: item}
	res := ports.AppendResult{
		FirstVersion:  d.n(attrFirstVersion),
		LastVersion:   d.n(attrLastVersion),
		FirstPosition: d.n(attrFirstPosition),
		LastPosition:  d.n(attrLastPosition),
	}
	return res, d.err
}

// itemSize estimates an item's stored size the way DynamoDB counts it
// (attribute names plus values; numbers at their 21-byte maximum), so that
// oversized appends are refused as invalid input before they are sent.
func itemSize(item map[string]types.AttributeValue) int {
	size := 0
	for name, v := range item {
		size += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			size += len(v.Value)
		case *types.AttributeValueMemberB:
			size += len(v.Value)
		case *types.AttributeValueMemberN:
			size += 21
		default:
			size += 1
		}
	}
	return size
}
