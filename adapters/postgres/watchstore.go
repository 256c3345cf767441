package postgres

// The watchtower's store (package watchtower) on the tables of migration
// 00006: proofs, alarms and the watcher's own chain cursor, in the schema
// of a Store (which holds the schema's lock: one watcher per schema).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
)

// WatchStore is a watchtower.Store in a Store's schema. Every write is
// one statement, durable when it returns (the session's synchronous
// commit). Safe for concurrent use.
type WatchStore struct{ s *Store }

var _ watchtower.Store = (*WatchStore)(nil)

// NewWatchStore returns the watchtower store in s's schema; s must stay
// open while it is used.
func NewWatchStore(s *Store) *WatchStore { return &WatchStore{s: s} }

// Put implements watchtower.Store: one upsert that replaces only a proof
// on an older turn.
func (w *WatchStore) Put(ctx context.Context, p ports.WatchProof) (bool, error) {
	if err := w.s.writable(); err != nil {
		return false, err
	}
	b, err := watchtower.EncodeProof(p)
	if err != nil {
		return false, err
	}
	if p.Turn() > math.MaxInt64 {
		return false, fmt.Errorf("postgres watch store: turn %d out of range", p.Turn())
	}
	res, err := w.s.db.ExecContext(ctx, `INSERT INTO watch_proofs (channel_id, turn_num, proof) VALUES ($1, $2, $3)
		ON CONFLICT (channel_id) DO UPDATE SET turn_num = EXCLUDED.turn_num, proof = EXCLUDED.proof
		WHERE watch_proofs.turn_num < EXCLUDED.turn_num`, p.ChannelID[:], int64(p.Turn()), b)
	if err != nil {
		return false, callError(ctx, "store watch proof", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, callError(ctx, "store watch proof", err)
	}
	return n == 1, nil
}

// Get implements watchtower.Store.
func (w *WatchStore) Get(ctx context.Context, id nitro.Bytes32) (ports.WatchProof, error) {
	var b []byte
	err := w.s.db.QueryRowContext(ctx, "SELECT proof FROM watch_proofs WHERE channel_id = $1", id[:]).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return ports.WatchProof{}, fmt.Errorf("%w: %s", watchtower.ErrNotFound, id)
	}
	if err != nil {
		return ports.WatchProof{}, callError(ctx, "read watch proof", err)
	}
	p, err := watchtower.DecodeProof(b)
	if err != nil {
		return ports.WatchProof{}, fmt.Errorf("postgres watch store: stored proof of %s: %w", id, err)
	}
	return p, nil
}

// SetAlarm implements watchtower.Store.
func (w *WatchStore) SetAlarm(ctx context.Context, a watchtower.Alarm) error {
	if err := w.s.writable(); err != nil {
		return err
	}
	if a.TurnNumRecord > math.MaxInt64 || a.FinalizesAt > math.MaxInt64 {
		return fmt.Errorf("postgres watch store: alarm %+v out of range", a)
	}
	_, err := w.s.db.ExecContext(ctx, `INSERT INTO watch_alarms (channel_id, turn_num_record, finalizes_at) VALUES ($1, $2, $3)
		ON CONFLICT (channel_id) DO UPDATE SET turn_num_record = EXCLUDED.turn_num_record, finalizes_at = EXCLUDED.finalizes_at`,
		a.ChannelID[:], int64(a.TurnNumRecord), int64(a.FinalizesAt))
	return callError(ctx, "set watch alarm", err)
}

// ClearAlarm implements watchtower.Store.
func (w *WatchStore) ClearAlarm(ctx context.Context, id nitro.Bytes32) error {
	if err := w.s.writable(); err != nil {
		return err
	}
	_, err := w.s.db.ExecContext(ctx, "DELETE FROM watch_alarms WHERE channel_id = $1", id[:])
	return callError(ctx, "clear watch alarm", err)
}

// Alarms implements watchtower.Store.
func (w *WatchStore) Alarms(ctx context.Context) ([]watchtower.Alarm, error) {
	rows, err := w.s.db.QueryContext(ctx, "SELECT channel_id, turn_num_record, finalizes_at FROM watch_alarms")
	if err != nil {
		return nil, callError(ctx, "read watch alarms", err)
	}
	defer rows.Close()
	var out []watchtower.Alarm
	for rows.Next() {
		var id []byte
		var turn, fin int64
		if err := rows.Scan(&id, &turn, &fin); err != nil {
			return nil, callError(ctx, "read watch alarms", err)
		}
		a := watchtower.Alarm{TurnNumRecord: uint64(turn), FinalizesAt: uint64(fin)}
		copy(a.ChannelID[:], id)
		out = append(out, a)
	}
	return out, callError(ctx, "read watch alarms", rows.Err())
}

// Cursor implements watchtower.Store.
func (w *WatchStore) Cursor(ctx context.Context) (ports.Cursor, error) {
	return w.s.readCursor(ctx, "watch_cursor", "read watch cursor")
}

// SetCursor implements watchtower.Store: the row moves only forward in
// (rewinds, block) order.
func (w *WatchStore) SetCursor(ctx context.Context, c ports.Cursor) error {
	if err := w.s.writable(); err != nil {
		return err
	}
	if c.Block > math.MaxInt64 || c.Rewinds > math.MaxInt64 {
		return fmt.Errorf("postgres watch store: cursor %d (rewinds %d) out of range", c.Block, c.Rewinds)
	}
	hash, recent := cursorColumns(c)
	_, err := w.s.db.ExecContext(ctx, `UPDATE watch_cursor SET next_block = $1, block_hash = $2, recent = $3, rewinds = $4
		WHERE id = 1 AND (rewinds, next_block) <= ($4::bigint, $1::bigint)`, int64(c.Block), hash, recent, int64(c.Rewinds))
	return callError(ctx, "save watch cursor", err)
}
