package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// deleteProposalSQL deletes a channel whose row says proposed (the wallet
// never joined it), with its states, signatures and outbox entries, in one
// statement (one transaction), only if this store still owns the schema
// ($1, as in commitSQL). It returns the owner, whether the channel was
// deleted, and the channel's status before the statement (NULL if there is
// no such channel: every part of the statement sees the same snapshot).
const deleteProposalSQL = `WITH ` + ownedSQL + `
ch AS (DELETE FROM channels WHERE id = $2 AND status = $3 AND EXISTS (SELECT FROM ok) RETURNING id),
st AS (DELETE FROM states WHERE channel_id = $2 AND EXISTS (SELECT FROM ch)),
sg AS (DELETE FROM signatures WHERE channel_id = $2 AND EXISTS (SELECT FROM ch)),
ob AS (DELETE FROM outbox WHERE channel_id = $2 AND EXISTS (SELECT FROM ch))
SELECT (SELECT owner FROM owner), EXISTS (SELECT FROM ch), (SELECT status FROM channels WHERE id = $2)`

// DeleteProposal removes a channel the wallet never joined (status
// proposed) with everything stored of it: its row, its states and
// signatures (a proposal's evidence is only the proposer's own signature,
// which proves nothing against us) and its outbox entries, in one durable
// transaction. A channel the wallet created or joined may hold funds: it
// is refused with ports.ErrNotProposal and nothing is deleted. The caller
// must not commit the same channel concurrently (the app holds its lock).
func (s *Store) DeleteProposal(ctx context.Context, id nitro.Bytes32) error {
	if err := s.writable(); err != nil {
		return err
	}
	var (
		owner   string
		deleted bool
		status  sql.NullString
	)
	if err := s.db.QueryRowContext(ctx, deleteProposalSQL, s.token, id[:], string(core.StatusProposed)).Scan(&owner, &deleted, &status); err != nil {
		return callError(ctx, "delete proposal", err)
	}
	if err := s.owns(owner); err != nil {
		return err
	}
	if !deleted {
		if !status.Valid {
			return ports.ErrNotFound
		}
		return fmt.Errorf("%w: %s is %s", ports.ErrNotProposal, id, status.String)
	}
	s.mu.Lock()
	delete(s.recorded, id)
	s.mu.Unlock()
	return nil
}
