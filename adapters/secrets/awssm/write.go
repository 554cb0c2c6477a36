package awssm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// What a secret created by Write says of itself.
const (
	managedDescription = "managed by polar-gosling"
	managedTagKey      = "managed-by"
	managedTagValue    = "polar-gosling"
)

// Write sets the URI's key to value in the secret's JSON object, keeping
// its other keys, as a new AWSCURRENT version; a missing secret is created.
func (b *Backend) Write(ctx context.Context, uri string, value []byte) error {
	loc, err := parse(uri)
	if err != nil {
		return err
	}
	if !utf8.Valid(value) {
		return errs.Errorf(errs.EINVALID, "secret %s: the value is not UTF-8 text, which a JSON string member cannot hold", uri)
	}
	str, err := encode(string(value))
	if err != nil {
		return err
	}
	obj, err := b.read(ctx, loc)
	switch {
	case errs.Code(err) == errs.ENOTFOUND:
		err = b.create(ctx, loc, map[string]json.RawMessage{loc.key: json.RawMessage(str)})
		if !errors.As(err, new(*types.ResourceExistsException)) {
			return classifyWrite(ctx, err, loc, "create")
		}
		// Another writer created it meanwhile, or it exists without a
		// current value (created empty): merge into what is there now.
		if obj, err = b.read(ctx, loc); errs.Code(err) == errs.ENOTFOUND {
			obj, err = map[string]json.RawMessage{}, nil
		}
		if err != nil {
			return err
		}
	case err != nil:
		return err
	}
	obj[loc.key] = json.RawMessage(str)
	return classifyWrite(ctx, b.put(ctx, loc, obj), loc, "write")
}

func classifyWrite(ctx context.Context, err error, loc location, action string) error {
	if err == nil {
		return nil
	}
	return classify(ctx, err, loc, action)
}

func (b *Backend) create(ctx context.Context, loc location, obj map[string]json.RawMessage) error {
	s, err := encode(obj)
	if err != nil {
		return err
	}
	_, err = call(ctx, b, loc, func(ctx context.Context, c *secretsmanager.Client) (*secretsmanager.CreateSecretOutput, error) {
		return c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name:         &loc.name,
			SecretString: &s,
			Description:  new(managedDescription),
			Tags:         []types.Tag{{Key: new(managedTagKey), Value: new(managedTagValue)}},
		})
	})
	return err
}

func (b *Backend) put(ctx context.Context, loc location, obj map[string]json.RawMessage) error {
	s, err := encode(obj)
	if err != nil {
		return err
	}
	_, err = call(ctx, b, loc, func(ctx context.Context, c *secretsmanager.Client) (*secretsmanager.PutSecretValueOutput, error) {
		return c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &loc.name, SecretString: &s})
	})
	return err
}

// encode writes v (a value, a secret's JSON object) as compact JSON, an
// object's keys sorted, leaving '<', '>' and '&' as they are (a token is
// stored as it was given).
func encode(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a member read from the service could be invalid, and the
		// decoder checked them; the encoder's text is not kept.
		return "", errs.Errorf(errs.EINTERNAL, "aws-sm: encode a secret's JSON")
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}
