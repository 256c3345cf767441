package ethereum

import (
	"context"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

// fillKind is the TxInfo.Kind of a gap filler: a 0-value transfer to the
// account itself that takes a nonce nobody else will send.
const fillKind = "fill"

// fillAttempts bounds how often a filler is sent again at doubled fees
// when the pool holds a dearer transaction at its nonce.
const fillAttempts = 4

// fillGaps gives every nonce from mined (the node's nonce at its latest
// block) up to below that no tracker owns to a filler, followed by a
// tracker of its own, so the transactions above the gap can be mined.
//
// Such a nonce was handed out earlier and nobody will send it again: its
// transaction was mined and its receipt found, then the node lost the
// block and the transaction with it (a node killed without its pool
// journal, a reorg that dropped it); or an earlier process sent it and
// ended, and it sits stuck in the pool (a filler at current fees replaces
// it). A mined transaction's effect is the core's to redo (it learns of
// the rewind from the chain's events), not the sender's. Nonces a tracker
// owns are left to it: it resubmits its own transaction.
func (s *sender) fillGaps(ctx context.Context, mined, below uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := mined; n < below; n++ {
		if _, ok := s.owned[n]; ok {
			continue
		}
		tx, err := s.sendFill(ctx, n)
		if err != nil && strings.Contains(err.Error(), "nonce too low") {
			continue // mined meanwhile: no gap there
		}
		if err != nil {
			return // the node did not take it: the next stuck round looks again
		}
		s.own(n)
		s.wg.Add(1)
		self := s.signer.Address()
		go s.track(call{kind: fillKind, to: &self, value: new(big.Int)}, tx, make(chan txResult, 1))
	}
}

// sendFill signs and sends a filler at nonce n, at the suggested fees, or
// at doubled ones while the pool holds a dearer transaction at n.
func (s *sender) sendFill(ctx context.Context, n uint64) (*types.Transaction, error) {
	tip, feeCap, err := s.fees(ctx)
	if err != nil {
		return nil, err
	}
	self := s.signer.Address()
	for attempt := 1; ; attempt++ {
		tx, err := s.signer.SignTx(types.NewTx(&types.DynamicFeeTx{
			ChainID: s.chainID, Nonce: n, GasTipCap: tip, GasFeeCap: feeCap,
			Gas: params.TxGas, To: &self, Value: new(big.Int),
		}), s.chainID)
		if err != nil {
			return nil, err
		}
		err = s.client.SendTransaction(ctx, tx)
		switch {
		case err == nil, isAlreadyKnown(err):
			return tx, nil
		case isUnderpricedReplacement(err) && attempt < fillAttempts:
			tip = new(big.Int).Mul(tip, big.NewInt(2))
			feeCap = new(big.Int).Mul(feeCap, big.NewInt(2))
		default:
			return nil, classify("send "+fillKind, err)
		}
	}
}

// own records that a tracker follows nonce n (s.mu held); release ends it.
func (s *sender) own(n uint64) {
	if s.owned == nil {
		s.owned = map[uint64]struct{}{}
	}
	s.owned[n] = struct{}{}
}
