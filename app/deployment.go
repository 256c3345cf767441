package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// deployment is what the wallet's chain carries, read from the chain port
// on each call (an adapter may learn new asset holders).
func (w *Wallet) deployment() core.Deployment {
	return core.Deployment{
		ChainID:              w.cfg.Chain.ChainID(),
		AssetHolders:         w.cfg.Chain.AssetHolders(),
		MinChallengeDuration: wholeSeconds(w.cfg.MinChallengeDuration),
		MaxChallengeDuration: wholeSeconds(w.cfg.MaxChallengeDuration),
		Protocol:             w.cfg.Protocol,
		ChainProtocol:        ports.ProtocolOf(w.cfg.Chain),
	}
}

// wholeSeconds is d in whole seconds (rounded up), 0 for d <= 0.
func wholeSeconds(d time.Duration) uint64 { return uint64(ceilSeconds(d)) }

// checkChallengeBounds refuses negative or crossed challenge-duration bounds.
func checkChallengeBounds(cfg Config) error {
	if cfg.MinChallengeDuration < 0 || cfg.MaxChallengeDuration < 0 {
		return fmt.Errorf("%w: negative challenge duration bound", ErrInvalidParams)
	}
	d := core.Deployment{MinChallengeDuration: wholeSeconds(cfg.MinChallengeDuration), MaxChallengeDuration: wholeSeconds(cfg.MaxChallengeDuration)}
	if lo, hi := d.Bounds(); lo > hi {
		return fmt.Errorf("%w: challenge duration bounds %d..%d s", ErrInvalidParams, lo, hi)
	}
	return nil
}

// pickNonce sets in.ChannelNonce to a nonce no other participant of the
// same list can pick and no channel of this wallet has, and returns the
// channel id. Participant i of an n-party list only ever uses nonces
// k*n + i (k = 1, 2, ... from the store's counter for the list), so two
// wallets creating channels for the same participants at once never
// collide; a nonce whose channel exists already (a peer's proposal, or a
// channel made before this rule) is skipped.
func (w *Wallet) pickNonce(ctx context.Context, in *core.Create, addrs []nitro.Address) (nitro.Bytes32, error) {
	my := -1
	for i, a := range addrs {
		if a == w.me {
			my = i
			break
		}
	}
	if my < 0 {
		return nitro.Bytes32{}, core.ErrNotParticipant
	}
	n := uint64(len(addrs))
	for range maxNonceTries {
		k, err := w.cfg.Store.NextNonce(ctx, addrs)
		if err != nil {
			return nitro.Bytes32{}, storeErr("next nonce", err)
		}
		nonce := ChannelNonce(k, n, uint64(my))
		if k > nitro.MaxUint48 || nonce > nitro.MaxUint48 {
			return nitro.Bytes32{}, fmt.Errorf("%w: channel nonces for these participants are used up", ErrInvalidParams)
		}
		st := nitro.State{ChainID: in.ChainID, Participants: addrs, ChannelNonce: nonce}
		id, err := st.ChannelID()
		if err != nil {
			return nitro.Bytes32{}, fmt.Errorf("%w: %w", ErrInvalidParams, err)
		}
		if _, err := w.cfg.Store.Get(ctx, id); errors.Is(err, ports.ErrNotFound) {
			in.ChannelNonce = nonce
			return id, nil
		} else if err != nil {
			return nitro.Bytes32{}, storeErr("load channel", err)
		}
	}
	return nitro.Bytes32{}, fmt.Errorf("%w: no free channel nonce after %d tries", core.ErrChannelExists, maxNonceTries)
}

// maxNonceTries bounds the nonces CreateChannel skips over.
const maxNonceTries = 64

// ChannelNonce is the k-th channel nonce (k >= 1) of participant i of an
// n-party participant list: k*n + i. Distinct (k, i) give distinct nonces,
// so participants never pick the same one.
func ChannelNonce(k, n, i uint64) uint64 { return k*n + i }
