package awssm

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Resolve returns the value of the URI's key in the secret's JSON object.
func (b *Backend) Resolve(ctx context.Context, uri string) ([]byte, error) {
	loc, err := parse(uri)
	if err != nil {
		return nil, err
	}
	obj, err := b.read(ctx, loc)
	if err != nil {
		return nil, err
	}
	raw, ok := obj[loc.key]
	if !ok {
		return nil, errs.Errorf(errs.ENOTFOUND, "secret %s: the secret has no key %q", uri, loc.key)
	}
	return member(loc, raw)
}

// read returns the JSON object of the secret's AWSCURRENT version.
func (b *Backend) read(ctx context.Context, loc location) (map[string]json.RawMessage, error) {
	out, err := call(ctx, b, loc, func(ctx context.Context, c *secretsmanager.Client) (*secretsmanager.GetSecretValueOutput, error) {
		return c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &loc.name})
	})
	if err != nil {
		return nil, classify(ctx, err, loc, "read")
	}
	if out.SecretString == nil {
		return nil, errs.Errorf(errs.EINVALID, "secret %s: the secret holds binary data (SecretBinary), not a JSON object of keys", loc.uri)
	}
	var obj map[string]json.RawMessage
	// The decoder's error quotes the input: it is not kept.
	if json.Unmarshal([]byte(*out.SecretString), &obj) != nil || obj == nil {
		return nil, errs.Errorf(errs.EINVALID, "secret %s: the secret's value is not a JSON object", loc.uri)
	}
	return obj, nil
}

// member returns a key's value: a JSON string unquoted, a number or boolean
// as its JSON text.
func member(loc location, raw json.RawMessage) ([]byte, error) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil, errs.Errorf(errs.EINVALID, "secret %s: key %q holds invalid JSON", loc.uri, loc.key)
	}
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case float64, bool:
		return bytes.TrimSpace(raw), nil
	case nil:
		return nil, errs.Errorf(errs.EINVALID, "secret %s: key %q is null, not a string", loc.uri, loc.key)
	default:
		return nil, errs.Errorf(errs.EINVALID, "secret %s: key %q holds a JSON object or array, not a string", loc.uri, loc.key)
	}
}
