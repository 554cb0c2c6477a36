package vault

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/vault/api"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// secretRef is a parsed vault:// URI.
type secretRef struct {
	uri, mount, path, key string
}

// dataPath is the KV v2 API path of the secret (without /v1/).
func (r secretRef) dataPath() string { return r.mount + "/data/" + r.path }

// parseURI splits vault://<mount>/<path...>/<key>.
func parseURI(uri string) (secretRef, error) {
	rest, ok := strings.CutPrefix(uri, Scheme+"://")
	if !ok {
		return secretRef{}, errs.Errorf(errs.EINVALID, "secret URI %q is not a %s:// URI", uri, Scheme)
	}
	if _, err := domain.CheckSecretURIShape(uri); err != nil {
		return secretRef{}, err
	}
	segs := strings.Split(rest, "/")
	for _, s := range segs {
		if s == "." || s == ".." {
			return secretRef{}, errs.Errorf(errs.EINVALID, "secret URI %q has a %q segment", uri, s)
		}
	}
	n := len(segs)
	return secretRef{uri: uri, mount: segs[0], path: strings.Join(segs[1:n-1], "/"), key: segs[n-1]}, nil
}

// Resolve returns the value of the URI's key in the latest version of its
// secret: a string as is, other JSON as its JSON text.
func (b *Backend) Resolve(ctx context.Context, uri string) ([]byte, error) {
	ref, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	cur, err := b.read(ctx, ref)
	if err != nil {
		return nil, err
	}
	if cur.data == nil {
		if cur.version > 0 {
			return nil, errs.Errorf(errs.ENOTFOUND, "secret %s: the latest version (%d) of %s is deleted or destroyed", uri, cur.version, ref.dataPath())
		}
		return nil, errs.Errorf(errs.ENOTFOUND, "secret %s: no secret at %s", uri, ref.dataPath())
	}
	v, ok := cur.data[ref.key]
	if !ok {
		return nil, errs.Errorf(errs.ENOTFOUND, "secret %s: the secret has no key %q", uri, ref.key)
	}
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		// Not wrapped: the error could quote the value.
		return nil, errs.Errorf(errs.EINTERNAL, "secret %s: the value of key %q cannot be encoded", uri, ref.key)
	}
	return out, nil
}

// Write sets the URI's key to value in a new version of the secret (created
// when missing), keeping its other keys. The write is a check-and-set on the
// version read; if another writer got in between, it reads and writes once
// more.
func (b *Backend) Write(ctx context.Context, uri string, value []byte) error {
	ref, err := parseURI(uri)
	if err != nil {
		return err
	}
	if !utf8.Valid(value) {
		return errs.Errorf(errs.EINVALID, "secret %s: the value is not UTF-8 text, which a KV v2 secret holds", uri)
	}
	for attempt := 0; ; attempt++ {
		cur, err := b.read(ctx, ref)
		if err != nil {
			return err
		}
		data := maps.Clone(cur.data)
		if data == nil {
			data = map[string]any{}
		}
		data[ref.key] = string(value)
		body := map[string]any{"data": data, "options": map[string]any{"cas": cur.version}}
		err = b.call(ctx, ref, "write "+ref.dataPath(), func(c *api.Client) error {
			_, err := c.Logical().WriteWithContext(ctx, ref.dataPath(), body)
			return err
		})
		if err == nil {
			return nil
		}
		if !isCASMismatch(err) {
			return err
		}
		if attempt == 1 {
			return errs.Errorf(errs.ECONFLICT, "secret %s: another writer changed %s twice during the write", uri, ref.dataPath())
		}
	}
}

// kvState is what a read found: data nil when there is no live version;
// version is the latest version number (0: the secret does not exist),
// the check-and-set value of the next write.
type kvState struct {
	data    map[string]any
	version int
}

// read reads the latest version of the secret; a missing secret or a
// deleted latest version is not an error here.
func (b *Backend) read(ctx context.Context, ref secretRef) (kvState, error) {
	var sec *api.Secret
	err := b.call(ctx, ref, "read "+ref.dataPath(), func(c *api.Client) error {
		var err error
		sec, err = c.Logical().ReadWithContext(ctx, ref.dataPath())
		return err
	})
	if err != nil {
		return kvState{}, err
	}
	if sec == nil {
		return kvState{}, nil // 404 {"errors":[]}
	}
	var st kvState
	if meta, ok := sec.Data["metadata"].(map[string]any); ok {
		if n, ok := meta["version"].(json.Number); ok {
			v, _ := n.Int64()
			st.version = int(v)
		}
	}
	st.data, _ = sec.Data["data"].(map[string]any) // null for a deleted version
	return st, nil
}

// call runs fn with the session's client. A 403 is retried once after a new
// login (AppRole, Kubernetes: the token may have expired or been revoked);
// with a static token it is EUNAUTHORIZED at once.
func (b *Backend) call(ctx context.Context, ref secretRef, op string, fn func(*api.Client) error) error {
	c, gen, err := b.sess.current(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	if statusOf(err) != 403 {
		return b.classify(err, ref, op)
	}
	c, canLogin, lerr := b.sess.relogin(ctx, gen)
	switch {
	case !canLogin:
		return errs.Errorf(errs.EUNAUTHORIZED, "secret %s: the Vault token was refused: expired, revoked or without a policy for %s", ref.uri, ref.dataPath())
	case lerr != nil:
		return lerr
	}
	err = fn(c)
	if statusOf(err) == 403 {
		return errs.Errorf(errs.EUNAUTHORIZED, "secret %s: Vault denied %s to a fresh login: no policy of the role allows it", ref.uri, op)
	}
	return b.classify(err, ref, op)
}

func (b *Backend) classify(err error, ref secretRef, op string) error {
	if err == nil || isCASMismatch(err) {
		return err
	}
	return classify(err, ref.uri, op)
}

// isCASMismatch reports Vault's 400 answer to a write whose cas is not the
// secret's current version (Vault has no error code for it, only the text).
func isCASMismatch(err error) bool {
	return statusOf(err) == 400 && strings.Contains(vaultErrors(err), "check-and-set parameter did not match")
}
