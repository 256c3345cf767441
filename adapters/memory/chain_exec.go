package memory

// Executing one transaction: chainExec journals every change so that a
// revert or a later reorg can undo it. Also the revert reasons of the
// contracts whose rules chain_assetholder.go and chain_adjudicator.go model.

import (
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Revert reasons of the Nitro 0.17.0 contracts (and of the OpenZeppelin ERC20
// behind ERC20AssetHolder) that Chain reproduces, beyond those named in
// ports. They are the exact strings the real contracts revert with.
const (
	ChainReasonExternalDestination = "Deposit to external destination"
	ChainReasonAdditionOverflow    = "SafeMath: addition overflow"
	ChainReasonIncorrectChainID    = "Incorrect chainId"
	ChainReasonStateCount          = "Insufficient or excess states"
	ChainReasonInputLengths        = "Bad |signatures|v|whoSignedWhat|"
	ChainReasonTooManyParticipants = "Too many participants!"
	ChainReasonTurnNumTooLow       = "largestTurnNum too low"
	ChainReasonInvalidSignatures   = "Invalid signatures / !isFinal"
	ChainReasonNotAllocation       = "AssetOutcome not an allocation"
	ChainReasonETHTransfer         = "Could not transfer ETH"
	ChainReasonERC20Balance        = "ERC20: transfer amount exceeds balance"
	ChainReasonERC20ZeroAddress    = "ERC20: transfer to the zero address"
	// ChainReasonNoCode is the empty reason of a call to an address that is
	// not one of this chain's asset holders (Solidity reverts without a
	// reason when the callee has no code).
	ChainReasonNoCode = ""
)

// chainExec executes one transaction against the chain's state, journaling
// every change so that a revert (or a later reorg) can undo it.
type chainExec struct {
	c    *Chain
	from nitro.Address
	time uint64
	undo []func()
	logs []core.ChainEvent
	held []chainHeld
}

func (x *chainExec) run(tx *chainTx) error {
	switch {
	case tx.deposit != nil:
		return x.deposit(*tx.deposit)
	case tx.challenge != nil:
		return x.challenge(*tx.challenge)
	case tx.respond != nil:
		return x.respond(*tx.respond)
	case tx.checkpoint != nil:
		return x.checkpoint(*tx.checkpoint)
	case tx.push != nil:
		return x.pushOutcome(*tx.push)
	}
	return x.conclude(*tx.conclude)
}

func (x *chainExec) rollback() {
	for i := len(x.undo) - 1; i >= 0; i-- {
		x.undo[i]()
	}
	x.undo, x.logs, x.held = nil, nil, nil
}

// setHoldings sets what asset holder ah holds for id, journaling the old
// value for undo and for confirmed reads.
func (x *chainExec) setHoldings(ah *chainAssetHolder, id nitro.Bytes32, v *big.Int) {
	x.held = append(x.held, chainHeld{asset: ah.addr, id: id, old: chainGet(ah.holdings, id)})
	chainSet(x, ah.holdings, id, v)
}

func (x *chainExec) emit(ev core.ChainEvent) { x.logs = append(x.logs, ev) }

// chainSet sets m[k] = v, journaling the old entry.
func chainSet[K comparable, V any](x *chainExec, m map[K]V, k K, v V) {
	old, ok := m[k]
	x.undo = append(x.undo, func() {
		if ok {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
	m[k] = v
}

// chainGet returns m[k] or zero. Stored values are never modified in place.
func chainGet[K comparable](m map[K]*big.Int, k K) *big.Int {
	if v, ok := m[k]; ok {
		return v
	}
	return new(big.Int)
}

// move transfers amt (which from is known to have) in ledger m.
func (x *chainExec) move(m map[nitro.Address]*big.Int, from, to nitro.Address, amt *big.Int) {
	chainSet(x, m, from, new(big.Int).Sub(chainGet(m, from), amt))
	chainSet(x, m, to, new(big.Int).Add(chainGet(m, to), amt))
}

// setStatus sets the adjudicator's status of channel id, journaling the old
// one.
func (x *chainExec) setStatus(id nitro.Bytes32, st chainChannelStatus) {
	chainSet(x, x.c.status, id, st)
}

func chainRevert(reason string) error { return &ports.RevertError{Reason: reason} }
