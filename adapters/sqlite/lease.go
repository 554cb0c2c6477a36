package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Leases is the lease store (ports.Leases) in the file's leases table. Each
// call is one statement, atomic under SQLite's write lock, so processes
// sharing the file (several UglyFox on one host) agree on the holder.
type Leases struct{ db *DB }

var _ ports.Leases = (*Leases)(nil)

// Leases returns the lease store of the file.
func (db *DB) Leases() *Leases { return &Leases{db: db} }

// Acquire takes, renews or is refused the lease (ports.Leases).
func (s *Leases) Acquire(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (ports.Lease, error) {
	if err := ports.CheckLeaseArgs(name, holder, ttl); err != nil {
		return ports.Lease{}, err
	}
	// One upsert: a free name is inserted with token 1; a lapsed lease, or
	// one the holder holds, is updated (a new token unless it is the
	// holder's own unexpired lease); any other row is left alone and
	// nothing is returned. SET reads the row as it was.
	row := s.db.views.QueryRowContext(ctx, `INSERT INTO leases (name, holder, token, expires_at) VALUES (?1, ?2, 1, ?3)
		ON CONFLICT (name) DO UPDATE SET
			token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > ?4 THEN leases.token ELSE leases.token + 1 END,
			holder = excluded.holder,
			expires_at = excluded.expires_at
		WHERE leases.expires_at <= ?4 OR leases.holder = excluded.holder
		RETURNING holder, token, expires_at`,
		name, holder, now.Add(ttl).UnixNano(), now.UnixNano())
	l, err := scanLease(name, row)
	if errors.Is(err, sql.ErrNoRows) {
		cur, _, gerr := s.Get(ctx, name)
		if gerr != nil {
			return ports.Lease{}, gerr
		}
		return cur, errs.Errorf(errs.ECONFLICT, "lease %s is held by %s until %s", name, cur.Holder, cur.ExpiresAt.Format(time.RFC3339Nano))
	}
	if err != nil {
		return ports.Lease{}, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: lease %s: acquire", name)
	}
	return l, nil
}

// Release ends holder's lease if token is still its token.
func (s *Leases) Release(ctx context.Context, name, holder string, token uint64) error {
	if _, err := s.db.views.ExecContext(ctx, `UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND token = ?`,
		name, holder, int64(token)); err != nil {
		return errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: lease %s: release", name)
	}
	return nil
}

// Check fences token against the stored lease.
func (s *Leases) Check(ctx context.Context, name string, token uint64, now time.Time) error {
	l, ok, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	return ports.Fence(name, l, ok, token, now)
}

// Get reads the lease through the writer connection, so that a Check made
// right after another process's Acquire sees it (the read pool may hold an
// older snapshot for a moment).
func (s *Leases) Get(ctx context.Context, name string) (ports.Lease, bool, error) {
	l, err := scanLease(name, s.db.views.QueryRowContext(ctx, `SELECT holder, token, expires_at FROM leases WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return ports.Lease{}, false, nil
	}
	if err != nil {
		return ports.Lease{}, false, errs.Wrap(errs.EUNAVAILABLE, err, "sqlite: lease %s: read", name)
	}
	return l, true, nil
}

func scanLease(name string, row *sql.Row) (ports.Lease, error) {
	var (
		l       = ports.Lease{Name: name}
		token   int64
		expires int64
	)
	if err := row.Scan(&l.Holder, &token, &expires); err != nil {
		return ports.Lease{}, err
	}
	l.Token, l.ExpiresAt = uint64(token), time.Unix(0, expires).UTC()
	return l, nil
}
