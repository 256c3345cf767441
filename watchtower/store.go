package watchtower

import (
	"context"
	"errors"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ErrNotFound: the store holds no proof for the channel.
var ErrNotFound = errors.New("watchtower: no proof for the channel")

// Alarm is a challenge the watcher must answer: registered on chain on
// TurnNumRecord, older than the proof it holds, timing out at FinalizesAt
// (block time, seconds).
type Alarm struct {
	ChannelID     nitro.Bytes32
	TurnNumRecord uint64
	FinalizesAt   uint64
}

// Store is where a Watcher keeps its proofs, its alarms and its event
// cursor, durably. Implementations: MemoryStore here, and
// adapters/postgres.WatchStore; both pass watchtest.Run. Safe for
// concurrent use.
type Store interface {
	// Put stores p unless the store holds a proof of the channel on the
	// same or a later turn; it reports whether p was stored. Check p first:
	// the store does not.
	Put(ctx context.Context, p ports.WatchProof) (bool, error)
	// Get returns the channel's proof, or ErrNotFound.
	Get(ctx context.Context, id nitro.Bytes32) (ports.WatchProof, error)
	// SetAlarm records a (replacing the channel's alarm, if any).
	SetAlarm(ctx context.Context, a Alarm) error
	// ClearAlarm removes the channel's alarm, if any.
	ClearAlarm(ctx context.Context, id nitro.Bytes32) error
	// Alarms lists every alarm, in no set order.
	Alarms(ctx context.Context) ([]Alarm, error)
	// Cursor returns where to read chain events from (the zero cursor at
	// first).
	Cursor(ctx context.Context) (ports.Cursor, error)
	// SetCursor records c unless the stored cursor is ordered after it
	// (ports.Cursor.Before).
	SetCursor(ctx context.Context, c ports.Cursor) error
}
