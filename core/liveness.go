// Liveness: the wallet's own challenge when a peer stops answering
// (Tick.AutoChallengeAfter; app.Config.AutoChallengeAfter, off at 0).
//
// The wallet awaits a peer (AwaitingPeer) when the protocol cannot go on
// without a peer's signature or deposit and the wallet holds a supported
// state to challenge with; the phases in protocol order:
//  1. funding: the prefund states are all signed, the channel holds
//     something (else there is nothing to get back) but is not fully
//     funded, and no deposit of mine is due (the queue waits on a peer's);
//  2. postfund: funded and a peer's postfund state missing (mine is
//     signed, or waits for one before it);
//  3. running, on a channel with an app: I moved the latest state, so the
//     next turn is a peer's (an app-less channel's running states call for
//     no reply to their mover: receivers countersign to the others, and a
//     payee need never move);
//  4. closing: a final state I signed lacks a peer's signature.
//
// Never while a signature of mine is pending, a challenge of mine is
// requested or a dispute is registered, nor on a Fake-funded channel
// (nothing on chain: ErrNotOnChain). A Tick with AutoChallengeAfter > 0
// keeps in ReplyWaitSince the first Tick time at which the wallet was seen
// awaiting a peer; any progress (a Receive or chain event that changes the
// latest turn, its signatures or the holdings) or a Tick that finds it not
// waiting resets it. Once a Tick finds Now - ReplyWaitSince >=
// AutoChallengeAfter the wallet challenges as Challenge does, with its
// supported state (dispute.go).

package core

import "math/big"

// AwaitingPeer reports whether the channel waits on a peer's signature or
// deposit and this wallet could challenge (see the file comment).
func (c *Channel) AwaitingPeer() bool {
	if !c.Joined || c.Pending != nil || c.Dispute != nil || c.Challenge != TxNone || !c.PrefundComplete() || c.fake() {
		return false
	}
	if _, ok := c.Supported(); !ok {
		return false
	}
	if f, ok := c.Final(); ok {
		return !f.SignedByAll() && f.SignedBy(c.MyIndex)
	}
	if !c.Funded() {
		held, mine := false, false
		for _, f := range c.Funding {
			held = held || f.Holdings.Sign() > 0
		}
		c.dueDeposits(func(int, int, *big.Int, *big.Int) { mine = true })
		return held && !mine
	}
	if !c.PostfundComplete() {
		// Funded, no signature pending: the crank has signed mine or
		// waits for a predecessor's.
		return true
	}
	n := uint64(c.N())
	l, ok := c.Latest()
	return ok && !c.appless() && l.State.TurnNum >= 2*n && c.mover(l.State.TurnNum) == c.MyIndex
}

// liveness runs on a Tick: see the file comment.
func (s *stepper) liveness(after int64) {
	c := &s.c
	if after <= 0 || !c.AwaitingPeer() {
		c.ReplyWaitSince = 0
		return
	}
	switch {
	case c.ReplyWaitSince == 0:
		c.ReplyWaitSince = c.Now
	case c.Now-c.ReplyWaitSince >= after:
		c.ReplyWaitSince = 0
		// AwaitingPeer checked challenge's guards but the proof's: without
		// one (ErrNoSupport) the wallet waits another period.
		_ = s.challenge()
	}
}

// progressed reports whether a peer's input moved the channel on from
// before: the latest turn, its signatures or the holdings changed.
func progressed(before, after *Channel) bool {
	lb, okb := before.Latest()
	la, oka := after.Latest()
	if okb != oka || la.State.TurnNum != lb.State.TurnNum || len(la.Sigs) != len(lb.Sigs) || signedCount(la) != signedCount(lb) {
		return true
	}
	if len(before.Funding) != len(after.Funding) {
		return true
	}
	for i := range after.Funding {
		if after.Funding[i].Holdings.Cmp(before.Funding[i].Holdings) != 0 {
			return true
		}
	}
	return false
}

// isPeerInput reports whether in comes from a peer or the chain.
func isPeerInput(in Input) bool {
	switch in.(type) {
	case Receive, ChainEvent:
		return true
	}
	return false
}

// signedCount is how many participants signed s.
func signedCount(s StoredState) int {
	k := 0
	for i := range s.Sigs {
		if s.SignedBy(i) {
			k++
		}
	}
	return k
}
