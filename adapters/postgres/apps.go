package postgres

import (
	"bytes"
	"context"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// registerAppSQL inserts an app unless its address is registered, only if
// this store still owns the schema ($1, as in commitSQL), and returns the
// owner and the code registered at the address after the statement (NULL
// if the store does not own the schema). The no-op DO UPDATE locks an
// existing row so RETURNING gives its code even when another statement
// inserted it after this one began (DO NOTHING would return no row, and
// this statement's snapshot would not show it).
const registerAppSQL = `WITH ` + ownedSQL + `
up AS (INSERT INTO apps (address, code) SELECT $2, $3 WHERE EXISTS (SELECT FROM ok)
	ON CONFLICT (address) DO UPDATE SET code = apps.code RETURNING code)
SELECT (SELECT owner FROM owner), (SELECT code FROM up)`

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
		owner string
		have  []byte
	)
	if err := s.db.QueryRowContext(ctx, registerAppSQL, s.token, addr[:], code).Scan(&owner, &have); err != nil {
		return callError(ctx, "register app", err)
	}
	if err := s.owns(owner); err != nil {
		return err
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
