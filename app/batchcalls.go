package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// MaxBatchChannels bounds the channels of one batch call (CreateChannels'
// n, the ids of JoinChannels, CloseChannels and SyncChannels). It keeps a
// batch's merged message to a peer within what a peer takes by default
// (wire.DefaultLimits: 1024 states, 1024 objectives, 4 MiB): a sync sends
// at most a few states per channel.
const MaxBatchChannels = 256

// The batch calls are the server wallet's createChannels, joinChannels,
// closeChannels and syncChannels. Each is all or nothing, which is
// stricter than the server wallet (whose batch calls run channel by
// channel and may leave some done when one fails): the parameters are
// checked first (n or the ids out of 1..MaxBatchChannels, or a repeated
// id, is ErrInvalidParams), then every channel is stepped, and if any
// channel's step fails (an unknown id is core.ErrChannelNotFound, with the
// single call's code) the call returns that error, naming the channel, and
// nothing is stored. Otherwise every channel's new state and effects are
// committed in one store commit, and the effects that follow (signatures,
// then the states they complete) are committed together as well, one
// commit per round rather than one per channel. The result has every
// channel's ChannelResult, in the order given, and one merged,
// deduplicated message per peer. As with the single calls, once the
// commit is made the intent is durable: an effect that fails then returns
// ErrIncomplete, and it is carried out on the next Tick or restart.

// CreateChannels proposes n channels with the same parameters, each with
// its own nonce, as CreateChannel does for one (same checks and codes).
func (w *Wallet) CreateChannels(ctx context.Context, p CreateChannelParams, n int) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	if n < 1 || n > MaxBatchChannels {
		return Result{}, apiError(fmt.Errorf("%w: %d channels, want 1..%d", ErrInvalidParams, n, MaxBatchChannels))
	}
	in, addrs, err := w.createInput(p)
	if err != nil {
		return Result{}, apiError(err, createRules...)
	}
	ins, ids, err := w.pickNonces(ctx, in, addrs, n)
	if err != nil {
		return Result{}, apiError(err, createRules...)
	}
	jobs := make([]job, n)
	for i := range jobs {
		c := ins[i]
		if i > 0 { // each channel its own outcome: the core keeps what it is given
			c.Outcome = c.Outcome.Clone()
		}
		jobs[i] = job{id: ids[i], in: c, create: true}
	}
	res, err := w.apply(ctx, jobs)
	return res, apiError(err, createRules...)
}

// pickNonces returns n inputs, each with a nonce picked as pickNonce
// does, and their channel ids, reserving the nonces in one store write
// when the store is a ports.NonceRanger.
func (w *Wallet) pickNonces(ctx context.Context, in core.Create, addrs []nitro.Address, n int) ([]core.Create, []nitro.Bytes32, error) {
	ins := make([]core.Create, 0, n)
	ids := make([]nitro.Bytes32, 0, n)
	if r, ok := w.cfg.Store.(ports.NonceRanger); ok {
		my := myIndex(addrs, w.me)
		last, err := r.NextNonces(ctx, addrs, n)
		if err != nil {
			return nil, nil, storeErr("next nonces", err)
		}
		var nonces []uint64
		var cands []nitro.Bytes32
		for k := last - uint64(n) + 1; k <= last; k++ {
			nonce := ChannelNonce(k, uint64(len(addrs)), uint64(my))
			if k > nitro.MaxUint48 || nonce > nitro.MaxUint48 {
				return nil, nil, fmt.Errorf("%w: channel nonces for these participants are used up", ErrInvalidParams)
			}
			st := nitro.State{ChainID: in.ChainID, Participants: addrs, ChannelNonce: nonce}
			id, err := st.ChannelID()
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
			}
			nonces, cands = append(nonces, nonce), append(cands, id)
		}
		free, err := w.missing(ctx, cands)
		if err != nil {
			return nil, nil, err
		}
		for i, id := range cands {
			if !free[id] {
				continue // taken: pickNonce finds another below
			}
			c := in
			c.ChannelNonce = nonces[i]
			ins, ids = append(ins, c), append(ids, id)
		}
	}
	for len(ins) < n {
		c := in
		id, err := w.pickNonce(ctx, &c, addrs)
		if err != nil {
			return nil, nil, err
		}
		ins, ids = append(ins, c), append(ids, id)
	}
	return ins, ids, nil
}

// missing returns which of ids the store does not hold: in one read when
// the store is a ports.ChannelFinder, else a Get each.
func (w *Wallet) missing(ctx context.Context, ids []nitro.Bytes32) (map[nitro.Bytes32]bool, error) {
	free := make(map[nitro.Bytes32]bool, len(ids))
	if f, ok := w.cfg.Store.(ports.ChannelFinder); ok {
		m, err := f.Missing(ctx, ids)
		if err != nil {
			return nil, storeErr("find channels", err)
		}
		for _, id := range m {
			free[id] = true
		}
		return free, nil
	}
	for _, id := range ids {
		if _, err := w.cfg.Store.Get(ctx, id); !errors.Is(err, ports.ErrNotFound) {
			if err != nil {
				return nil, storeErr("load channel", err)
			}
			continue
		}
		free[id] = true
	}
	return free, nil
}

func myIndex(addrs []nitro.Address, me nitro.Address) int {
	for i, a := range addrs {
		if a == me {
			return i
		}
	}
	return -1
}

// JoinChannels joins proposed channels, as JoinChannel does for one (same
// codes), all or nothing.
func (w *Wallet) JoinChannels(ctx context.Context, ids []nitro.Bytes32) (Result, error) {
	return w.onChannels(ctx, ids, func(nitro.Bytes32) core.Input { return core.Join{Deployment: w.deployment()} }, joinRules...)
}

// CloseChannels signs a final state of each channel on this wallet's
// turn, as CloseChannel does for one (same codes), all or nothing: a
// channel not at this wallet's turn fails the whole call. Unlike
// CloseChannel, a repeated CloseChannels is not answered as a retry: use
// CloseChannel on a channel the first call committed.
func (w *Wallet) CloseChannels(ctx context.Context, ids []nitro.Bytes32) (Result, error) {
	return w.onChannels(ctx, ids, func(nitro.Bytes32) core.Input { return core.Close{} }, closeRules...)
}

// SyncChannels resends this wallet's states of each channel to its peers
// and asks for theirs, as SyncChannel does for one, all or nothing.
func (w *Wallet) SyncChannels(ctx context.Context, ids []nitro.Bytes32) (Result, error) {
	return w.onChannels(ctx, ids, func(nitro.Bytes32) core.Input { return core.Sync{} }, syncRules...)
}

// onChannels checks a batch's ids and applies one input to each channel in
// one call.
func (w *Wallet) onChannels(ctx context.Context, ids []nitro.Bytes32, in func(nitro.Bytes32) core.Input, rules ...codeRule) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	if err := checkBatchIDs(ids); err != nil {
		return Result{}, apiError(err)
	}
	jobs := make([]job, len(ids))
	for i, id := range ids {
		jobs[i] = job{id: id, in: in(id)}
	}
	res, err := w.apply(ctx, jobs)
	return res, apiError(err, rules...)
}

// checkBatchIDs refuses an empty, oversized or repeating list of ids.
func checkBatchIDs(ids []nitro.Bytes32) error {
	if len(ids) < 1 || len(ids) > MaxBatchChannels {
		return fmt.Errorf("%w: %d channel ids, want 1..%d", ErrInvalidParams, len(ids), MaxBatchChannels)
	}
	seen := make(map[nitro.Bytes32]struct{}, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; dup {
			return fmt.Errorf("%w: channel %s given twice", ErrInvalidParams, id)
		}
		seen[id] = struct{}{}
	}
	return nil
}
