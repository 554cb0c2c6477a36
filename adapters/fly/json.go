package fly

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/polar-gosling/polar-gosling/domain"
)

// MarshalParseJSON encodes a value returned by Parser.ParseKind as the
// `gosling parse` document: the configuration with defaults applied, keys
// in snake_case, durations as {"text":"10m","seconds":600}, policy
// conditions as {"source", "variables"}, plus "kind" and "schema_version"
// first. The shape is pinned by testdata/golden. v may be a value or a
// pointer of the kind's type.
func MarshalParseJSON(kind Kind, v any) ([]byte, error) {
	head := parseHead{Kind: kind, SchemaVersion: SchemaVersion}
	var doc any
	var ok bool
	switch kind {
	case KindEgg:
		var c domain.EggConfig
		c, ok = valueOf[domain.EggConfig](v)
		doc = struct {
			parseHead
			domain.EggConfig
		}{head, c}
	case KindEggsBucket:
		var c domain.EggsBucketConfig
		c, ok = valueOf[domain.EggsBucketConfig](v)
		doc = struct {
			parseHead
			domain.EggsBucketConfig
		}{head, c}
	case KindJob:
		var c domain.JobConfig
		c, ok = valueOf[domain.JobConfig](v)
		doc = struct {
			parseHead
			domain.JobConfig
		}{head, c}
	case KindUglyFox:
		var c domain.UglyFoxSettings
		c, ok = valueOf[domain.UglyFoxSettings](v)
		doc = struct {
			parseHead
			domain.UglyFoxSettings
		}{head, c}
	case KindMotherGoose:
		var c domain.ControlPlaneConfig
		c, ok = valueOf[domain.ControlPlaneConfig](v)
		doc = struct {
			parseHead
			domain.ControlPlaneConfig
		}{head, c}
	default:
		return nil, fmt.Errorf("fly: unknown kind %q", kind)
	}
	if !ok {
		return nil, fmt.Errorf("fly: a %s document needs the value ParseKind returns for it, not %T", kind, v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

type parseHead struct {
	Kind          Kind `json:"kind"`
	SchemaVersion int  `json:"schema_version"`
}

func valueOf[T any](v any) (T, bool) {
	switch x := v.(type) {
	case T:
		return x, true
	case *T:
		if x != nil {
			return *x, true
		}
	}
	var zero T
	return zero, false
}
