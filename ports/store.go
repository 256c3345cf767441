package ports

import (
	"context"
	"errors"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// ErrNotFound is returned by a Store for an unknown channel.
var ErrNotFound = errors.New("store: not found")

// ErrNotProposal is returned by DeleteProposal for a channel this wallet
// created or joined: such a channel may hold funds and is never deleted.
var ErrNotProposal = errors.New("store: channel is not a proposal")

// Change is one Step's result: the channel's new state and the effects it
// asked for, committed together ("persist before send").
type Change struct {
	Channel core.Channel
	Effects []core.Effect
}

// OutboxEntry is a committed effect not yet marked done.
type OutboxEntry struct {
	ID        uint64
	ChannelID nitro.Bytes32
	Effect    core.Effect
}

// Store persists channels and the outbox of their pending effects.
type Store interface {
	// Get returns a channel, or ErrNotFound.
	Get(ctx context.Context, id nitro.Bytes32) (core.Channel, error)
	// List returns every channel.
	List(ctx context.Context) ([]core.Channel, error)
	// Commit atomically saves the channels and appends their effects to the
	// outbox, returning the entries in order.
	Commit(ctx context.Context, changes []Change) ([]OutboxEntry, error)
	// Pending returns the outbox entries not yet done, in commit order.
	Pending(ctx context.Context) ([]OutboxEntry, error)
	// Done marks outbox entries as carried out.
	Done(ctx context.Context, ids []uint64) error
	// NextNonce reserves a fresh channel nonce for a participant list.
	NextNonce(ctx context.Context, participants []nitro.Address) (uint64, error)
	// ChainCursor returns the next block the wallet has to read events from.
	ChainCursor(ctx context.Context) (uint64, error)
	// SetChainCursor records that events before block have been handled.
	SetChainCursor(ctx context.Context, block uint64) error
	// RecordEquivocation durably keeps the evidence that a participant
	// signed two different states for one turn of a channel. One record
	// is kept per channel and signer, the first: a later one for the same
	// pair is dropped (it proves nothing new), so a hostile peer cannot
	// grow the store with it.
	RecordEquivocation(ctx context.Context, ev core.EquivocationError) error
	// Equivocations returns every record, ordered by channel id then signer.
	Equivocations(ctx context.Context) ([]core.EquivocationError, error)
	// DeleteProposal removes a channel this wallet never joined (status
	// proposed) with its outbox entries and the states and signatures kept
	// of it, in one durable step; equivocation records stay. It returns
	// ErrNotFound for an unknown channel and ErrNotProposal, deleting
	// nothing, for one the wallet created or joined.
	DeleteProposal(ctx context.Context, id nitro.Bytes32) error
}
