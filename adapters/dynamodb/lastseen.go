package dynamodb

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// lastSeenTable holds one item per runner: its last heartbeat. It is state,
// not a view: no shape is recorded for it and no replay touches it.
const lastSeenTable = "last_seen"

// Attributes of a last_seen item (besides the key, viewKeyAttr).
const (
	attrSeenAt   = "at" // N: unix nanoseconds
	attrSeenSt   = "state"
	attrSeenJobs = "running_jobs" // S: a JSON array
	attrSeenVer  = "version"
	// N: the machine's load in percent; absent in items written before
	// (read as 0, like an agent that does not measure).
	attrSeenCPU = "cpu_percent"
	attrSeenMem = "memory_percent"
)

// batchGetMax is the most keys one BatchGetItem takes.
const batchGetMax = 100

// LastSeen is the last-seen store (ports.LastSeen) in the <prefix>last_seen
// table (created by Migrate): a conditional PutItem per heartbeat (an older
// heartbeat never replaces a newer one) and BatchGetItem for lists.
type LastSeen struct {
	client *dynamodb.Client
	table  string
}

var _ ports.LastSeen = (*LastSeen)(nil)

// NewLastSeen returns the last-seen store of c's tables.
func NewLastSeen(c Config) (*LastSeen, error) {
	if err := c.validate("last seen"); err != nil {
		return nil, err
	}
	return &LastSeen{client: c.Client, table: c.TablePrefix + lastSeenTable}, nil
}

// Touch records hb unless a later heartbeat of the runner is recorded.
func (s *LastSeen) Touch(ctx context.Context, hb ports.Heartbeat) error {
	if hb.RunnerID == "" {
		return errs.Errorf(errs.EINVALID, "dynamodb: last seen: empty runner id")
	}
	jobs := hb.RunningJobs
	if jobs == nil {
		jobs = []int64{}
	}
	raw, err := json.Marshal(jobs)
	if err != nil {
		return errs.Wrap(errs.EINTERNAL, err, "dynamodb: last seen: encode running jobs")
	}
	at := strconv.FormatInt(hb.At.UnixNano(), 10)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			viewKeyAttr:  &types.AttributeValueMemberS{Value: hb.RunnerID},
			attrSeenAt:   &types.AttributeValueMemberN{Value: at},
			attrSeenSt:   &types.AttributeValueMemberS{Value: hb.State},
			attrSeenJobs: &types.AttributeValueMemberS{Value: string(raw)},
			attrSeenVer:  &types.AttributeValueMemberS{Value: hb.Version},
			attrSeenCPU:  percentValue(hb.CPUPercent),
			attrSeenMem:  percentValue(hb.MemoryPercent),
		},
		ConditionExpression:       aws.String("attribute_not_exists(#k) OR #at <= :at"),
		ExpressionAttributeNames:  map[string]string{"#k": viewKeyAttr, "#at": attrSeenAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberN{Value: at}},
	})
	if err != nil && !isConditionFailed(err) { // failed condition: a later heartbeat is recorded
		return unavailable(err, "last seen: record runner %s", hb.RunnerID)
	}
	return nil
}

// Get returns the last heartbeat of one runner.
func (s *LastSeen) Get(ctx context.Context, runnerID string) (ports.Heartbeat, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{viewKeyAttr: &types.AttributeValueMemberS{Value: runnerID}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ports.Heartbeat{}, false, unavailable(err, "last seen: read runner %s", runnerID)
	}
	if out.Item == nil {
		return ports.Heartbeat{}, false, nil
	}
	hb, err := heartbeatOf(out.Item)
	return hb, err == nil, err
}

// List returns the last heartbeats of the runners named: one BatchGetItem
// per 100 ids (plus bounded retries of the keys it leaves unread).
func (s *LastSeen) List(ctx context.Context, runnerIDs []string) (map[string]ports.Heartbeat, error) {
	if len(runnerIDs) > ports.MaxLastSeenBatch {
		return nil, errs.Errorf(errs.EINVALID, "dynamodb: last seen: %d runner ids in one read; at most %d", len(runnerIDs), ports.MaxLastSeenBatch)
	}
	out := make(map[string]ports.Heartbeat, len(runnerIDs))
	seen := make(map[string]bool, len(runnerIDs))
	var keys []map[string]types.AttributeValue
	flush := func() error {
		pending := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for round := 0; len(pending) > 0; round++ {
			if round >= maxUnprocessedRounds {
				return errs.Errorf(errs.EUNAVAILABLE, "dynamodb: last seen: keys still unprocessed after %d rounds", round)
			}
			if round > 0 {
				if err := sleep(ctx, backoff(round)); err != nil {
					return err
				}
			}
			res, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return unavailable(err, "last seen: read %d runners", len(keys))
			}
			for _, item := range res.Responses[s.table] {
				hb, err := heartbeatOf(item)
				if err != nil {
					return err
				}
				out[hb.RunnerID] = hb
			}
			pending = res.UnprocessedKeys
		}
		keys = keys[:0]
		return nil
	}
	for _, id := range runnerIDs {
		if seen[id] {
			continue // BatchGetItem refuses duplicate keys
		}
		seen[id] = true
		keys = append(keys, map[string]types.AttributeValue{viewKeyAttr: &types.AttributeValueMemberS{Value: id}})
		if len(keys) == batchGetMax {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(keys) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func heartbeatOf(item map[string]types.AttributeValue) (ports.Heartbeat, error) {
	str := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	var hb ports.Heartbeat
	hb.RunnerID, hb.State, hb.Version = str(viewKeyAttr), str(attrSeenSt), str(attrSeenVer)
	n, ok := item[attrSeenAt].(*types.AttributeValueMemberN)
	if !ok || hb.RunnerID == "" {
		return hb, corrupt("last seen item without a key or a time")
	}
	ns, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return hb, corrupt("last seen item %s: time %q", hb.RunnerID, n.Value)
	}
	hb.At = time.Unix(0, ns).UTC()
	for name, dst := range map[string]*float64{attrSeenCPU: &hb.CPUPercent, attrSeenMem: &hb.MemoryPercent} {
		if v, ok := item[name].(*types.AttributeValueMemberN); ok {
			if *dst, err = strconv.ParseFloat(v.Value, 64); err != nil {
				return hb, corrupt("last seen item %s: %s %q", hb.RunnerID, name, v.Value)
			}
		}
	}
	if j := str(attrSeenJobs); j != "" {
		if err := json.Unmarshal([]byte(j), &hb.RunningJobs); err != nil {
			return hb, corrupt("last seen item %s: running jobs", hb.RunnerID)
		}
	}
	if len(hb.RunningJobs) == 0 {
		hb.RunningJobs = nil
	}
	return hb, nil
}

// percentValue is a load percentage as a DynamoDB number.
func percentValue(p float64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(p, 'f', -1, 64)}
}
