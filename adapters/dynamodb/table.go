package dynamodb

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// rowVersionAttr holds RowVersion() next to the row's own columns, so the
// stale-write check does not depend on how a row type names its version.
const rowVersionAttr = "row_version"

// rowCodec turns rows into items and back through their `db` tags.
//
// Fidelity: a row read back is reflect.DeepEqual to the row written when its
// times are in UTC without a monotonic reading (the projections take times
// from events, which are UTC). Times are stored as RFC 3339 strings in UTC
// and read back in UTC. Nil and empty stay distinct: a nil slice or map is
// stored as NULL and comes back nil, an empty one is stored as an empty list
// or map and comes back empty, as JSON's null and [] do.
type rowCodec struct {
	enc *attributevalue.Encoder
	dec *attributevalue.Decoder
}

func newRowCodec() rowCodec {
	return rowCodec{
		enc: attributevalue.NewEncoder(func(o *attributevalue.EncoderOptions) {
			o.TagKey = "db"
			o.EncodeTime = func(t time.Time) (types.AttributeValue, error) { return attrS(formatTime(t)), nil }
		}),
		dec: attributevalue.NewDecoder(func(o *attributevalue.DecoderOptions) {
			o.TagKey = "db"
			o.DecodeTime.S = func(s string) (time.Time, error) {
				t, err := time.Parse(time.RFC3339Nano, s)
				return t.UTC(), err
			}
		}),
	}
}

// table is one view, stored as one DynamoDB table (the prefix and the
// view's name) keyed by the row key; its rows are of the view's row type.
type table struct {
	db      *dynamodb.Client
	name    string
	view    *ports.ViewDef
	codec   rowCodec
	columns map[string]reflect.Type // the row's fields by db name, for Query.Eq
}

var _ ports.Table[ports.ViewRow] = (*table)(nil)

func newTable(db *dynamodb.Client, prefix string, view *ports.ViewDef, codec rowCodec) *table {
	cols := map[string]reflect.Type{}
	for _, c := range view.Columns() {
		cols[c.Name] = c.Type
	}
	return &table{db: db, name: prefix + view.Name(), view: view, codec: codec, columns: cols}
}

// filterable reports whether v can be compared for equality with a column
// of type col: scalars of the same family, or a time with a time. A value
// of another type could only never match, which hides a caller's mistake.
func filterable(col reflect.Type, v any) bool {
	if v == nil {
		return false
	}
	vt := reflect.TypeOf(v)
	switch {
	case col == reflect.TypeFor[time.Time]():
		return vt == col
	case isInteger(col.Kind()):
		return isInteger(vt.Kind())
	case col.Kind() == reflect.Float32 || col.Kind() == reflect.Float64:
		return isInteger(vt.Kind()) || vt.Kind() == reflect.Float32 || vt.Kind() == reflect.Float64
	case col.Kind() == reflect.String || col.Kind() == reflect.Bool:
		return vt.Kind() == col.Kind()
	default:
		return false // slices, maps and structs are not filterable
	}
}

func isInteger(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Uint64
}

func (t *table) Get(ctx context.Context, key string) (ports.ViewRow, bool, error) {
	var row ports.ViewRow
	if key == "" {
		return row, false, nil
	}
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            rowKey(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return row, false, unavailable(err, "get %s/%s", t.name, key)
	}
	if out.Item == nil {
		return row, false, nil
	}
	row, err = t.decode(out.Item)
	return row, err == nil, err
}

// Put writes row unless the stored row has applied its version or a later
// one; the check is a condition on the item, so it holds between writers.
func (t *table) Put(ctx context.Context, row ports.ViewRow) (bool, error) {
	if row == nil || reflect.TypeOf(row) != t.view.RowType() {
		return false, errs.Errorf(errs.EINVALID, "put into %s: a %T row, want a %s", t.name, row, t.view.RowType())
	}
	key := row.RowKey()
	if key == "" {
		return false, errs.Errorf(errs.EINVALID, "put into %s: row has an empty key", t.name)
	}
	item, err := t.encode(row)
	if err != nil {
		return false, err
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(t.name),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#k) OR #v < :v"),
		ExpressionAttributeNames:  map[string]string{"#k": viewKeyAttr, "#v": rowVersionAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": attrN(row.RowVersion())},
	})
	switch {
	case isConditionFailed(err):
		return false, nil
	case err != nil:
		return false, unavailable(err, "put %s/%s", t.name, key)
	}
	return true, nil
}

// Bounds of one ListPage on DynamoDB. A Query with a filter reads up to its
// Limit items (and at most 1 MB) and returns only those that match, so a
// page may need several round trips; it takes at most pageRounds of them and
// then answers what it has with the key to continue from.
// They are variables only so that a test can make them small.
var (
	pageRounds = 8
	// filteredReadItems is the Limit of each round of a filtered page: the
	// items read, not returned, so a selective filter still progresses.
	filteredReadItems = 1000
)

// viewPartition is the partition key value of every row: a view is one item
// collection ordered by its key, so paging is a consistent Query in key
// order. A control plane's views are small and written at tens of rows a
// second, well under one partition's throughput.
const viewPartition = "row"

// rowKey is the primary key of the row keyed k.
func rowKey(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{viewPartAttr: attrS(viewPartition), viewKeyAttr: attrS(k)}
}

// List reads every row q selects: a consistent Query of the view's
// partition in key order from AfterKey, filtered by DynamoDB, until Limit
// rows (when > 0) or the end.
func (t *table) List(ctx context.Context, q ports.Query) ([]ports.ViewRow, error) {
	if q.Limit < 0 {
		return nil, errs.Errorf(errs.EINVALID, "list %s: negative limit %d", t.name, q.Limit)
	}
	in, err := t.queryInput(q)
	if err != nil {
		return nil, err
	}
	var rows []ports.ViewRow
	for {
		if q.Limit > 0 {
			in.Limit = aws.Int32(int32(q.Limit - len(rows)))
		}
		out, err := t.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable(err, "list %s", t.name)
		}
		if rows, err = t.appendRows(rows, out.Items); err != nil {
			return nil, err
		}
		if out.LastEvaluatedKey == nil || (q.Limit > 0 && len(rows) >= q.Limit) {
			return rows, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ListPage reads at most pageRounds Query pages of the view's partition to
// fill a page of q.Limit rows; it reads one row more to know whether any
// follows.
func (t *table) ListPage(ctx context.Context, q ports.Query) (ports.Page[ports.ViewRow], error) {
	if q.Limit < 1 {
		return ports.Page[ports.ViewRow]{}, errs.Errorf(errs.EINVALID, "list a page of %s: limit %d, want at least 1", t.name, q.Limit)
	}
	in, err := t.queryInput(q)
	if err != nil {
		return ports.Page[ports.ViewRow]{}, err
	}
	var rows []ports.ViewRow
	for round := 0; ; round++ {
		read := q.Limit + 1 - len(rows)
		if in.FilterExpression != nil {
			read = max(read, filteredReadItems)
		}
		in.Limit = aws.Int32(int32(read))
		out, err := t.db.Query(ctx, in)
		if err != nil {
			return ports.Page[ports.ViewRow]{}, unavailable(err, "list %s", t.name)
		}
		if rows, err = t.appendRows(rows, out.Items); err != nil {
			return ports.Page[ports.ViewRow]{}, err
		}
		switch {
		case len(rows) > q.Limit || out.LastEvaluatedKey == nil:
			return ports.PageOf(rows, q.Limit), nil
		case round+1 == pageRounds:
			// Stopped short: continue after the last item read.
			d := itemReader{item: out.LastEvaluatedKey}
			next := d.s(viewKeyAttr, true)
			return ports.Page[ports.ViewRow]{Rows: rows, Next: next}, d.err
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (t *table) appendRows(rows []ports.ViewRow, items []map[string]types.AttributeValue) ([]ports.ViewRow, error) {
	for _, item := range items {
		row, err := t.decode(item)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// queryInput builds a consistent Query of the view's partition in q's key
// order from q.AfterKey, with one equality filter per column of q.Eq.
func (t *table) queryInput(q ports.Query) (*dynamodb.QueryInput, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(t.name),
		ConsistentRead:            aws.Bool(true),
		ScanIndexForward:          aws.Bool(!q.Desc),
		KeyConditionExpression:    aws.String("#p = :p"),
		ExpressionAttributeNames:  map[string]string{"#p": viewPartAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": attrS(viewPartition)},
	}
	if q.AfterKey != "" {
		op := " > "
		if q.Desc {
			op = " < "
		}
		in.KeyConditionExpression = aws.String("#p = :p AND #k" + op + ":after")
		in.ExpressionAttributeNames["#k"] = viewKeyAttr
		in.ExpressionAttributeValues[":after"] = attrS(q.AfterKey)
	}
	cols := make([]string, 0, len(q.Eq))
	for c, v := range q.Eq {
		typ, ok := t.columns[c]
		if !ok {
			return nil, errs.Errorf(errs.EINVALID, "list %s: no column %q", t.name, c)
		}
		if !filterable(typ, v) {
			return nil, errs.Errorf(errs.EINVALID, "list %s: column %q (%s) cannot equal a %T", t.name, c, typ, v)
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return in, nil
	}
	slices.Sort(cols)
	conds := make([]string, len(cols))
	for i, c := range cols {
		v, err := t.codec.enc.Encode(q.Eq[c])
		if err != nil {
			return nil, errs.Wrap(errs.EINVALID, err, "list %s: value for %q", t.name, c)
		}
		n, val := "#c"+strconv.Itoa(i), ":v"+strconv.Itoa(i)
		in.ExpressionAttributeNames[n], in.ExpressionAttributeValues[val] = c, v
		conds[i] = n + " = " + val
	}
	in.FilterExpression = aws.String(strings.Join(conds, " AND "))
	return in, nil
}

func (t *table) encode(row ports.ViewRow) (map[string]types.AttributeValue, error) {
	av, err := t.codec.enc.Encode(row)
	if err != nil {
		return nil, errs.Wrap(errs.EINTERNAL, err, "dynamodb: encode a %s row", t.name)
	}
	m, ok := av.(*types.AttributeValueMemberM)
	if !ok {
		return nil, errs.Errorf(errs.EINTERNAL, "dynamodb: a %s row did not encode as a map", t.name)
	}
	m.Value[viewPartAttr] = attrS(viewPartition)
	m.Value[viewKeyAttr] = attrS(row.RowKey())
	m.Value[rowVersionAttr] = attrN(row.RowVersion())
	return m.Value, nil
}

func (t *table) decode(item map[string]types.AttributeValue) (ports.ViewRow, error) {
	row := t.view.NewRow()
	if err := t.codec.dec.Decode(&types.AttributeValueMemberM{Value: item}, row.Interface()); err != nil {
		return nil, errs.Wrap(errs.EINTERNAL, err, "dynamodb: corrupt item in %s", t.name)
	}
	return row.Elem().Interface().(ports.ViewRow), nil
}
