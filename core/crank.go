// The crank: after every input, the guards of every phase in protocol
// order, each either waiting or emitting effects (signing requests,
// deposits, a conclude):
//  1. open (open.go): my prefund state; all prefund states; my deposits
//     whose turn has come; my postfund state once funded;
//  2. close (close.go): countersign a final state; conclude it.
// Updates (run.go) and sync (sync.go) are inputs only: no guard waits on
// them.

package core

import (
	"math/big"
	"slices"
)

// crank takes every protocol action the channel's state now calls for, in
// protocol order; each guard either waits or emits effects.
func (s *stepper) crank() {
	c := &s.c
	if !c.Joined || c.Pending != nil {
		return
	}
	n := uint64(c.N())
	me := uint64(c.MyIndex)
	// Open: my prefund state.
	if !c.signedAt(me, c.MyIndex) && c.MyLastTurn < int64(me) {
		st := c.Setup.Clone()
		st.TurnNum = me
		_ = s.requestSign(st)
		return
	}
	if !c.PrefundComplete() {
		return
	}
	// Fund: deposit my items whose turn has come.
	if c.FundingStrategy == FundingDirect && !c.PostfundComplete() {
		c.dueDeposits(func(asset, item int, expectedHeld, amount *big.Int) {
			f := &c.Funding[asset]
			if f.Deposits[item] != TxNone {
				return
			}
			setDeposit(f, item, TxRequested)
			s.emit(Deposit{ChannelID: c.ID, Asset: f.Asset, Item: item, ExpectedHeld: expectedHeld, Amount: new(big.Int).Set(amount)})
		})
	}
	// Postfund: once funded, in turn order.
	if c.Funded() && !c.signedAt(n+me, c.MyIndex) && c.MyLastTurn < int64(n+me) {
		for t := n; t < n+me; t++ {
			if !c.signedAt(t, int(t%n)) {
				return
			}
		}
		st := c.Setup.Clone()
		st.TurnNum = n + me
		_ = s.requestSign(st)
		return
	}
	final, ok := c.Final()
	if !ok {
		return
	}
	// Close: countersign a final state.
	if !final.SignedBy(c.MyIndex) {
		if c.MyLastTurn < int64(final.State.TurnNum) {
			_ = s.requestSign(final.State.Clone())
		}
		return
	}
	// Conclude: the final state's mover at once, the others as a backup.
	if final.SignedByAll() && !c.Concluded && c.Conclude == TxNone {
		mover := c.mover(final.State.TurnNum) == c.MyIndex
		if mover || s.backupDue {
			c.Conclude = TxRequested
			s.emit(Conclude{ChannelID: c.ID, State: final.State.Clone(), Signatures: slices.Clone(final.Sigs)})
		}
	}
}
