package ports

import (
	"context"
	"errors"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// ErrNotFound is returned by a Store for an unknown channel.
var ErrNotFound = errors.New("store: not found")

// ErrNotProposal is returned by DeleteProposal for a channel this wallet
// created or joined: such a channel may hold funds and is never deleted.
var ErrNotProposal = errors.New("store: channel is not a proposal")

// Errors of a store call that did not get an answer; the cause (the
// context's error, the driver's error) stays wrapped for errors.Is and logs.
var (
	// ErrStoreUnavailable: the store could not be reached or dropped the
	// connection (server down, starting up or shutting down, the session
	// killed). Retry later.
	ErrStoreUnavailable = errors.New("store: unavailable")
	// ErrStoreTimeout: the call's context ended (its deadline passed, or it
	// was cancelled) before the store answered, or the store's own time
	// limit for a statement passed. The context's error is wrapped too, so
	// errors.Is(err, context.DeadlineExceeded) holds for a deadline.
	ErrStoreTimeout = errors.New("store: call timed out")
	// ErrOutcomeUnknown: a write's outcome is unknown: the store was
	// already writing it when the call gave up (or the connection broke),
	// so it may have been, or may still be, committed. It comes with
	// ErrStoreTimeout or ErrStoreUnavailable. See Store.Commit.
	ErrOutcomeUnknown = errors.New("store: outcome of the write unknown, it may be durable")
)

// Change is one Step's result: the channel's new state and the effects it
// asked for, committed together ("persist before send").
type Change struct {
	Channel core.Channel
	Effects []core.Effect
	// Done lists outbox entries (of any channel) already carried out, to be
	// marked done in the same commit, as Done would: the wallet hands its
	// done marks to its next commit instead of writing them on their own.
	Done []uint64
}

// OutboxEntry is a committed effect not yet marked done.
type OutboxEntry struct {
	ID        uint64
	ChannelID nitro.Bytes32
	Effect    core.Effect
}

// Store persists channels and the outbox of their pending effects. Every
// method returns by its context's deadline: a call whose context ended
// returns ErrStoreTimeout (wrapping the context's error), writing nothing
// if the context had ended before the call; one that cannot reach its
// storage returns ErrStoreUnavailable. A failed Commit wrote nothing unless
// its error matches ErrOutcomeUnknown; the other writes (Done,
// SetChainCursor, NextNonce, RecordEquivocation, DeleteProposal,
// RegisterApp) are harmless to repeat or to lose, so the caller may simply
// retry them.
type Store interface {
	// Get returns a channel, or ErrNotFound.
	Get(ctx context.Context, id nitro.Bytes32) (core.Channel, error)
	// List returns every channel.
	List(ctx context.Context) ([]core.Channel, error)
	// Commit atomically saves the channels and appends their effects to the
	// outbox, returning the entries in order. An error without
	// ErrOutcomeUnknown means nothing was written. An error with it (the
	// call timed out, or the connection broke, while its write was under
	// way) must be treated as possibly durable: the channels and effects
	// may be committed, now or a little later. The app must then not tell
	// its client the change failed as if nothing happened (report the
	// outcome as unknown), must forget any cached copy of those channels and
	// read them again with Get, which returns only once the abandoned write
	// has finished one way or the other, before stepping them again (never
	// step the old copy: that could sign a second state for the same turn),
	// and must leave the effects to Pending, which lists them if they
	// committed, on the next tick or restart.
	Commit(ctx context.Context, changes []Change) ([]OutboxEntry, error)
	// Pending returns the outbox entries not yet done, in commit order.
	Pending(ctx context.Context) ([]OutboxEntry, error)
	// Done marks outbox entries as carried out.
	Done(ctx context.Context, ids []uint64) error
	// NextNonce reserves a fresh channel nonce for a participant list.
	NextNonce(ctx context.Context, participants []nitro.Address) (uint64, error)
	// ChainCursor returns where the wallet reads chain events from (the
	// zero Cursor before any was set).
	ChainCursor(ctx context.Context) (Cursor, error)
	// SetChainCursor records the cursor if it is not ordered before the
	// stored one (Cursor.Before); an older one is ignored.
	SetChainCursor(ctx context.Context, c Cursor) error
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
	// RegisterApp durably keeps code as the runtime code of the app at
	// addr (see App), durable when it returns. Registering the same code
	// again does nothing; different code for a registered address is
	// ErrAppCodeConflict, and code CheckAppCode refuses is
	// ErrInvalidAppCode, both storing nothing.
	RegisterApp(ctx context.Context, addr nitro.Address, code []byte) error
	// Apps returns every registered app, ordered by address: the wallet
	// loads them all when it starts (there are few, each at most
	// MaxAppCodeSize bytes).
	Apps(ctx context.Context) ([]App, error)
}

// NonceRanger is implemented by stores that reserve many channel nonces
// in one write (both adapters): NextNonces reserves n >= 1 consecutive
// counter values for a participant list, as n NextNonce calls would, and
// returns the last of them. The wallet's CreateChannels uses it when the
// store has it, else NextNonce n times.
type NonceRanger interface {
	NextNonces(ctx context.Context, participants []nitro.Address, n int) (uint64, error)
}

// ChannelFinder is implemented by stores that look many channels up in
// one read (both adapters): Missing returns those of ids the store does not
// hold, in the order given (a repeated id as often as given). The wallet's
// CreateChannels checks the channels of the nonces it reserved with it, in
// one read instead of a Get each, when the store has it.
type ChannelFinder interface {
	Missing(ctx context.Context, ids []nitro.Bytes32) ([]nitro.Bytes32, error)
}

// CommitBatch describes one transaction of a store that groups concurrent
// commits into one (group commit).
type CommitBatch struct {
	// Requests is the number of Commit and Done calls the transaction
	// carried.
	Requests int
	// Changes is the number of channel changes among them.
	Changes int
	// Duration is how long the transaction's statement took.
	Duration time.Duration
}

// BatchObserver is implemented by stores that group commits (the
// PostgreSQL store), for metrics: ObserveBatches has f called after each
// transaction that succeeded, until it is called again (nil stops it). f
// runs on the store's own goroutine: it must be quick and must not call
// the store.
type BatchObserver interface {
	ObserveBatches(f func(CommitBatch))
}

// Counts is what a store holds, counted.
type Counts struct {
	// Channels counts the channels by their client API status.
	Channels map[core.Status]int
	// PendingEffects counts the outbox entries not yet done.
	PendingEffects int
}

// Counter is implemented by stores that count their channels and pending
// effects without reading them whole (the PostgreSQL store: two aggregate
// queries), for metrics; the wallet's Snapshot uses it when the store has
// it, else List and Pending.
type Counter interface {
	Counts(ctx context.Context) (Counts, error)
}
