package postgres

import (
	"bytes"
	"context"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// registerAppSQL inserts an app unless its address is registered, only if
// this store still owns the schema ($1, as in commitSQL). It returns the
// owner, whether the row was inserted, and the code registered before the
// statement (NULL if none was, or if a concurrent statement inserted it
// after this one's snapshot was taken).
const registerAppSQL = `WITH ` + ownedSQL + `
ins AS (INSERT INTO apps (address, code) SELECT $2, $3 WHERE EXISTS (SELECT FROM ok)
	ON CONFLICT (address) DO NOTHING RETURNING address)
SELECT (SELECT owner FROM owner), EXISTS (SELECT FROM ins), (SELECT code FROM apps WHERE address = $2)`

// RegisterApp keeps code as the app at addr, durable when it returns (see
// ports.Store.RegisterApp): one statement of its own, like SetChainCursor,
// but waiting for the WAL flush.
func (s *Store) RegisterApp(ctx context.Context, addr nitro.Address, code []byte) error {
	if err := ports.CheckAppCode(code); err != nil {
		return fmt.Errorf("postgres store: app %s: %w", addr, err)
	}
	if err := s.writable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return callError(ctx, "register app", err)
	}
	var (
		owner    string
		inserted bool
		have     []byte
	)
	if err := s.db.QueryRowContext(ctx, registerAppSQL, s.token, addr[:], code).Scan(&owner, &inserted, &have); err != nil {
		return callError(ctx, "register app", err)
	}
	if err := s.owns(owner); err != nil || inserted {
		return err
	}
	if have == nil { // registered concurrently, after this statement's snapshot
		if err := s.db.QueryRowContext(ctx, "SELECT code FROM apps WHERE address = $1", addr[:]).Scan(&have); err != nil {
			return callError(ctx, "read app", err)
		}
	}
	if !bytes.Equal(have, code) {
		return fmt.Errorf("postgres store: app %s: %w", addr, ports.ErrAppCodeConflict)
	}
	return nil
}

// Apps returns every registered app, ordered by address.
func (s *Store) Apps(ctx context.Context) ([]ports.App, error) {
	var rows []struct {
		Address []byte `db:"address"`
		Code    []byte `db:"code"`
	}
	if err := s.db.SelectContext(ctx, &rows, "SELECT address, code FROM apps ORDER BY address"); err != nil {
		return nil, callError(ctx, "list apps", err)
	}
	out := make([]ports.App, 0, len(rows))
	for _, r := range rows {
		if len(r.Address) != len(nitro.Address{}) {
			return nil, fmt.Errorf("postgres store: app row with a %d-byte address unreadable", len(r.Address))
		}
		out = append(out, ports.App{Address: nitro.Address(r.Address), Code: r.Code})
	}
	return out, nil
}
