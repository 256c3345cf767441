package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ownedSQL starts a statement that writes only if this store still owns
// the schema ($1, its token): owner reads the owner under a share lock (a
// takeover waits for the statement), and ok has a row only if it is ours.
const ownedSQL = `owner AS (SELECT owner FROM wallet WHERE id = 1 FOR SHARE),
ok AS (SELECT FROM owner WHERE owner = $1),`

// setCursorSQL moves the chain cursor unless the stored one is ordered
// after it ((rewinds, next_block), see ports.Cursor.Before), only if this
// store still owns the schema ($1, as in commitSQL), without waiting for
// the WAL flush (a cursor lost in a server crash only replays events). It
// returns the owner.
const setCursorSQL = `WITH ` + ownedSQL + `
cu AS (UPDATE chain_cursor SET next_block = $2, block_hash = $3, recent = $4, rewinds = $5
	WHERE id = 1 AND (rewinds, next_block) <= ($5::bigint, $2::bigint) AND EXISTS (SELECT FROM ok)),
sc AS (SELECT set_config('synchronous_commit', 'off', true) AS v)
SELECT (SELECT owner FROM owner), (SELECT v FROM sc)`

// ChainCursor returns where to read chain events from. A cursor stored
// before hashes were kept has a zero hash (trusted once by the chain).
func (s *Store) ChainCursor(ctx context.Context) (ports.Cursor, error) {
	return s.readCursor(ctx, "chain_cursor", "read chain cursor")
}

// readCursor reads the one cursor row of table (chain_cursor, or the
// watchtower's watch_cursor).
func (s *Store) readCursor(ctx context.Context, table, what string) (ports.Cursor, error) {
	var (
		block, rewinds int64
		hash, recent   []byte
	)
	if err := s.db.QueryRowContext(ctx, "SELECT next_block, block_hash, recent, rewinds FROM "+table+" WHERE id = 1").Scan(&block, &hash, &recent, &rewinds); err != nil {
		return ports.Cursor{}, callError(ctx, what, err)
	}
	c := ports.Cursor{Block: uint64(block), Rewinds: uint64(rewinds)}
	copy(c.Hash[:], hash)
	for ; len(recent) >= 40; recent = recent[40:] {
		p := ports.Checkpoint{Block: binary.BigEndian.Uint64(recent)}
		copy(p.Hash[:], recent[8:40])
		c.Recent = append(c.Recent, p)
	}
	return c, nil
}

// cursorColumns is c as stored: its block hash (empty for none) and its
// checkpoints, 40 bytes each (block, hash), at most ports.MaxCheckpoints.
func cursorColumns(c ports.Cursor) (hash, recent []byte) {
	hash = []byte{}
	if c.Hash != (nitro.Bytes32{}) {
		hash = c.Hash[:]
	}
	recent = make([]byte, 0, 40*len(c.Recent))
	for _, p := range c.Recent[:min(len(c.Recent), ports.MaxCheckpoints)] {
		recent = binary.BigEndian.AppendUint64(recent, p.Block)
		recent = append(recent, p.Hash[:]...)
	}
	return hash, recent
}

// SetChainCursor records the cursor unless the stored one is ordered after
// it. It is one statement of its own (the cursor is one row; the follower
// writes it after each event, one at a time), not part of the group
// commit, and like Done it does not wait for the WAL flush: losing it only
// replays events, which are idempotent.
func (s *Store) SetChainCursor(ctx context.Context, c ports.Cursor) error {
	if err := s.writable(); err != nil {
		return err
	}
	if c.Block > math.MaxInt64 || c.Rewinds > math.MaxInt64 {
		return fmt.Errorf("postgres store: chain cursor %d (rewinds %d) out of range", c.Block, c.Rewinds)
	}
	if err := ctx.Err(); err != nil {
		return callError(ctx, "save chain cursor", err)
	}
	hash, recent := cursorColumns(c)
	var owner, sync string
	if err := s.db.QueryRowContext(ctx, setCursorSQL, s.token, int64(c.Block), hash, recent, int64(c.Rewinds)).Scan(&owner, &sync); err != nil {
		return callError(ctx, "save chain cursor", err)
	}
	return s.owns(owner)
}

// writable refuses a write after Close (ErrClosed) or once another process
// took the schema (ErrLocked).
func (s *Store) writable() error {
	s.closeMu.RLock()
	closed := s.closed
	s.closeMu.RUnlock()
	if closed {
		return ErrClosed
	}
	return s.fenced()
}

// owns returns ErrLocked unless owner, as a statement read it, is this
// store's token (the statement then wrote nothing).
func (s *Store) owns(owner string) error {
	if owner != s.token {
		return fmt.Errorf("%w: another process opened schema %s after this one", ErrLocked, s.schema)
	}
	return nil
}
