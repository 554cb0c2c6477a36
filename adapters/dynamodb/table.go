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

// table is one view, stored as one DynamoDB table keyed by the row key.
type table[R ports.ViewRow] struct {
	db      *dynamodb.Client
	name    string
	codec   rowCodec
	columns map[string]reflect.Type // R's fields by db name, for Query.Eq
}

var _ ports.Table[ports.RunnerRow] = (*table[ports.RunnerRow])(nil)

func newTable[R ports.ViewRow](db *dynamodb.Client, name string, codec rowCodec) *table[R] {
	return &table[R]{db: db, name: name, codec: codec, columns: columnsOf(reflect.TypeFor[R]())}
}

// columnsOf maps the db tag names of a row struct's fields to their types.
func columnsOf(t reflect.Type) map[string]reflect.Type {
	cols := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("db"), ",")
		if name != "" && name != "-" && f.IsExported() {
			cols[name] = f.Type
		}
	}
	return cols
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

func (t *table[R]) Get(ctx context.Context, key string) (R, bool, error) {
	var row R
	if key == "" {
		return row, false, nil
	}
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            map[string]types.AttributeValue{viewKeyAttr: attrS(key)},
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
func (t *table[R]) Put(ctx context.Context, row R) (bool, error) {
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

// List scans the view with the equality filters applied by DynamoDB and
// orders, pages and limits on the client: views are small (a control
// plane's runners, eggs and plans), and a scan with ConsistentRead sees
// every write that returned.
func (t *table[R]) List(ctx context.Context, q ports.Query) ([]R, error) {
	if q.Limit < 0 {
		return nil, errs.Errorf(errs.EINVALID, "list %s: negative limit %d", t.name, q.Limit)
	}
	in, err := t.scanInput(q.Eq)
	if err != nil {
		return nil, err
	}
	var rows []R
	p := dynamodb.NewScanPaginator(t.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, unavailable(err, "list %s", t.name)
		}
		for _, item := range page.Items {
			row, err := t.decode(item)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
		}
	}
	return window(rows, q), nil
}

// scanInput builds a consistent scan with one equality condition per column.
func (t *table[R]) scanInput(eq map[string]any) (*dynamodb.ScanInput, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(t.name), ConsistentRead: aws.Bool(true)}
	if len(eq) == 0 {
		return in, nil
	}
	cols := make([]string, 0, len(eq))
	for c, v := range eq {
		typ, ok := t.columns[c]
		if !ok {
			return nil, errs.Errorf(errs.EINVALID, "list %s: no column %q", t.name, c)
		}
		if !filterable(typ, v) {
			return nil, errs.Errorf(errs.EINVALID, "list %s: column %q (%s) cannot equal a %T", t.name, c, typ, v)
		}
		cols = append(cols, c)
	}
	slices.Sort(cols)
	in.ExpressionAttributeNames = map[string]string{}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{}
	conds := make([]string, len(cols))
	for i, c := range cols {
		v, err := t.codec.enc.Encode(eq[c])
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

// window orders rows by key and applies Desc, AfterKey and Limit. AfterKey
// means after in the requested order: smaller keys when descending.
func window[R ports.ViewRow](rows []R, q ports.Query) []R {
	slices.SortFunc(rows, func(a, b R) int { return strings.Compare(a.RowKey(), b.RowKey()) })
	if q.Desc {
		slices.Reverse(rows)
	}
	if q.AfterKey != "" {
		i := 0
		for i < len(rows) && !isAfter(rows[i].RowKey(), q.AfterKey, q.Desc) {
			i++
		}
		rows = rows[i:]
	}
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	if len(rows) == 0 {
		return nil
	}
	return rows
}

func isAfter(key, after string, desc bool) bool {
	if desc {
		return key < after
	}
	return key > after
}

func (t *table[R]) encode(row R) (map[string]types.AttributeValue, error) {
	av, err := t.codec.enc.Encode(row)
	if err != nil {
		return nil, errs.Wrap(errs.EINTERNAL, err, "dynamodb: encode a %s row", t.name)
	}
	m, ok := av.(*types.AttributeValueMemberM)
	if !ok {
		return nil, errs.Errorf(errs.EINTERNAL, "dynamodb: a %s row did not encode as a map", t.name)
	}
	m.Value[viewKeyAttr] = attrS(row.RowKey())
	m.Value[rowVersionAttr] = attrN(row.RowVersion())
	return m.Value, nil
}

func (t *table[R]) decode(item map[string]types.AttributeValue) (R, error) {
	var row R
	if err := t.codec.dec.Decode(&types.AttributeValueMemberM{Value: item}, &row); err != nil {
		return row, errs.Wrap(errs.EINTERNAL, err, "dynamodb: corrupt item in %s", t.name)
	}
	return row, nil
}
