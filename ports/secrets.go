package ports

import "context"

// Secrets resolves a secret URI ("env://VAR", "file:///path", later
// "yc-lockbox://...", "aws-sm://...", "vault://...") to its value. Values
// are never logged or put into events; callers hold them only as long as
// they need them. A malformed or unsupported URI is an EINVALID error, a
// secret that does not exist ENOTFOUND.
type Secrets interface {
	Resolve(ctx context.Context, uri string) ([]byte, error)
}
