package lockbox

import (
	"context"
	"sync"

	lockboxpb "github.com/yandex-cloud/go-genproto/yandex/cloud/lockbox/v1"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// listPageSize is the page size of SecretService/List: its documented
// maximum, so that a folder takes as few calls as possible.
const listPageSize = 1000

// maxListPages bounds the pages one lookup reads (a million secrets).
const maxListPages = 1000

// nameCache maps a folder and secret name to the secret's ID. IDs never
// change; a secret deleted and re-created under the same name is noticed
// by AddVersion answering NOT_FOUND (writeNamed forgets the entry).
type nameCache struct {
	mu  sync.Mutex
	ids map[nameKey]string
}

type nameKey struct{ folderID, name string }

func (c *nameCache) get(k nameKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[k]
	return id, ok
}

func (c *nameCache) put(k nameKey, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[nameKey]string{}
	}
	c.ids[k] = id
}

func (c *nameCache) forget(k nameKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ids, k)
}

// parse is parseURI with the backend's folder for a named secret; a named
// secret without a folder configured is EINVALID.
func (b *Backend) parse(uri string) (secretRef, error) {
	ref, err := parseURI(uri)
	if err != nil || !ref.byName() {
		return ref, err
	}
	if b.folderID == "" {
		return secretRef{}, errs.Errorf(errs.EINVALID,
			"secret %s: the secret is named (Lockbox secret %q), not an ID: set %s (the folder holding it)", uri, ref.name, EnvFolderID)
	}
	ref.folderID = b.folderID
	return ref, nil
}

// resolveNamed reads the key of a named secret with PayloadService/GetEx
// (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Payload/getEx): one
// call, no lookup of the ID.
func (b *Backend) resolveNamed(ctx context.Context, ref secretRef) ([]byte, error) {
	req := &lockboxpb.GetExRequest{Identifier: &lockboxpb.GetExRequest_FolderAndName{
		FolderAndName: &lockboxpb.FolderAndName{FolderId: ref.folderID, SecretName: ref.name},
	}}
	var resp *lockboxpb.GetExResponse
	err := b.call(ctx, ref, "read the secret", func(ctx context.Context) (err error) {
		resp, err = b.payload.GetEx(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	// GetEx answers text and binary values alike as bytes.
	if v, ok := resp.GetEntries()[ref.key]; ok {
		return v, nil
	}
	return nil, noKey(ref)
}

// writeNamed adds a version to a named secret, found by its ID. A cached
// ID the secret no longer has (deleted, maybe re-created) is looked up
// again once.
func (b *Backend) writeNamed(ctx context.Context, ref secretRef, value []byte) error {
	k := nameKey{ref.folderID, ref.name}
	id, cached := b.names.get(k)
	for {
		if !cached {
			var err error
			if id, err = b.lookupID(ctx, ref); err != nil {
				return err
			}
			b.names.put(k, id)
		}
		idRef := ref
		idRef.secretID = id
		err := b.addVersion(ctx, idRef, value)
		if cached && errs.Is(err, errs.ENOTFOUND) {
			b.names.forget(k)
			cached = false
			continue
		}
		return err
	}
}

// lookupID finds the ID of the secret named ref.name in ref.folderID with
// SecretService/List (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/list),
// page by page. GetEx would answer the ID too, but it needs the right to
// read the payload and would fetch every value of the secret to write one.
func (b *Backend) lookupID(ctx context.Context, ref secretRef) (string, error) {
	token := ""
	for range maxListPages {
		req := &lockboxpb.ListSecretsRequest{FolderId: ref.folderID, PageSize: listPageSize, PageToken: token}
		var resp *lockboxpb.ListSecretsResponse
		err := b.call(ctx, ref, "list the secrets of the folder", func(ctx context.Context) (err error) {
			resp, err = b.secrets.List(ctx, req)
			return err
		})
		if err != nil {
			return "", err
		}
		for _, s := range resp.GetSecrets() {
			if s.GetName() == ref.name {
				return s.GetId(), nil
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return "", errs.Errorf(errs.ENOTFOUND,
				"secret %s: Lockbox has no secret named %q in folder %q; create it (MotherGoose does not: its KMS key and access bindings are yours to choose)",
				ref.uri, ref.name, ref.folderID)
		}
	}
	return "", errs.Errorf(errs.EINTERNAL, "secret %s: folder %q lists more than %d pages of secrets; gave up looking for %q", ref.uri, ref.folderID, maxListPages, ref.name)
}

// noKey is the error of a secret without ref's key.
func noKey(ref secretRef) error {
	return errs.Errorf(errs.ENOTFOUND, "secret %s: the secret has no key %q", ref.subject(), ref.key)
}
