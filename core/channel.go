package core

import (
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Status is a channel's status as the client API reports it.
type Status string

// Channel statuses of the client API.
const (
	StatusProposed    Status = "proposed"
	StatusOpening     Status = "opening"
	StatusFunding     Status = "funding"
	StatusRunning     Status = "running"
	StatusChallenging Status = "challenging"
	StatusResponding  Status = "responding"
	StatusClosing     Status = "closing"
	StatusClosed      Status = "closed"
)

// FundingStatus is the client API's fundingStatus.
type FundingStatus string

// Funding statuses of the client API.
const (
	FundingUncategorized FundingStatus = "Uncategorized"
	FundingReadyToFund   FundingStatus = "ReadyToFund"
	FundingFunded        FundingStatus = "Funded"
	FundingDefunded      FundingStatus = "Defunded"
)

// TxStatus tracks one transaction the core asked for.
type TxStatus uint8

// Transaction statuses.
const (
	TxNone TxStatus = iota
	TxRequested
	TxRetry
	TxDone
)

// StoredState is a state the channel holds, with its hash and the signatures
// collected so far, indexed by participant (a zero V means not signed).
type StoredState struct {
	State nitro.State
	Hash  nitro.Bytes32
	Sigs  []nitro.Signature
}

// SignedBy reports whether participant i has signed the state.
func (s StoredState) SignedBy(i int) bool { return i < len(s.Sigs) && s.Sigs[i].V != 0 }

// SignedByAll reports whether every participant has signed the state.
func (s StoredState) SignedByAll() bool {
	for i := range s.Sigs {
		if s.Sigs[i].V == 0 {
			return false
		}
	}
	return len(s.Sigs) > 0
}

// AssetFunding is what the channel knows of one asset holder's account.
type AssetFunding struct {
	Asset nitro.Address
	// Holdings is the channel's balance at the asset holder.
	Holdings *big.Int
	// Deposits is the status of my deposit for each allocation item index.
	Deposits map[int]TxStatus
	// PaidOut is set once AllocationUpdated has been applied.
	PaidOut bool
	// Payouts is what each final allocation item received.
	Payouts []*big.Int
}

// Pending is a state the core asked the signer to sign.
type Pending struct {
	State nitro.State
	Hash  nitro.Bytes32
}

// BackupConcludeDelay is how long (Tick seconds) participants other than the
// final state's mover wait before backing up the conclude transaction.
const BackupConcludeDelay = 60

// TxRetryDelay is how long (Tick seconds) the wallet waits on a transaction
// of its own whose effect it has not seen on chain before it submits it
// again: a deposit whose item the holdings do not cover yet, or a conclude
// without a Concluded event. A transaction a reorg dropped for good is thus
// resubmitted; a repeat is harmless (expectedHeld refunds or reverts a
// second deposit, a second conclude reverts on the finalized channel). It
// must exceed the time a transaction takes to reach the confirmation depth.
const TxRetryDelay = 600

// MaxHeldStates bounds the states held for future turns.
const MaxHeldStates = 64

// Channel is one channel's protocol state: everything Step needs, nothing it
// must look up elsewhere. It is a value; Step never mutates its argument.
type Channel struct {
	ID              nitro.Bytes32
	Participants    []Participant
	MyIndex         int
	FundingStrategy string
	// Protocol is the nitro-protocol generation whose state hash the
	// channel's states are signed under, taken from the Deployment when
	// the channel starts (Create, or the Receive that proposes it).
	Protocol nitro.Protocol
	// Setup is the prefund state of turn 0: the fixed part, the funding
	// outcome and the appData every setup state carries.
	Setup nitro.State
	// Joined is true once this wallet created or joined the channel.
	Joined bool
	// Creator is true on the wallet that created the channel.
	Creator bool
	// States holds the recent states by ascending turn.
	States []StoredState
	// Held holds well-signed states for turns not yet reachable.
	Held []SignedState
	// MyLastTurn is the highest turn this wallet signed or asked to sign; -1
	// before any. The wallet only ever signs above it.
	MyLastTurn int64
	// Pending is the state the signer is signing, if any.
	Pending *Pending
	// Funding holds one entry per asset of the funding outcome.
	Funding []AssetFunding
	// Conclude tracks concludePushOutcomeAndTransferAll.
	Conclude TxStatus
	// Concluded is set by the Concluded event.
	Concluded bool
	// CloseInitiator is true on the wallet whose CloseChannel made the final state.
	CloseInitiator bool
	// CloseRequested is set once a peer's CloseChannel objective arrived:
	// the wallet signs the final state when its turn comes (close.go).
	CloseRequested bool
	// Now is the latest Tick time; ClosedAt the first Tick time seen closed.
	Now      int64
	ClosedAt int64
	// TxWaitSince is the first Tick time seen while a transaction of mine
	// waits for its effect on chain (see TxRetryDelay); 0 when none waits.
	TxWaitSince int64
	// ReplyWaitSince is the first Tick time seen while the wallet awaits a
	// peer (AwaitingPeer, liveness.go), kept only when the Tick asks for
	// AutoChallengeAfter; 0 otherwise.
	ReplyWaitSince int64
	// Challenge tracks my challenge transaction (ChallengeChannel).
	Challenge TxStatus
	// Dispute is the challenge registered on chain, if any (dispute.go).
	Dispute *Dispute
}

// N is the number of participants.
func (c *Channel) N() int { return len(c.Participants) }

// Me returns this wallet's participant.
func (c *Channel) Me() Participant { return c.Participants[c.MyIndex] }

// Latest returns the highest-turn state held, if any.
func (c *Channel) Latest() (StoredState, bool) {
	if len(c.States) == 0 {
		return StoredState{}, false
	}
	return c.States[len(c.States)-1], true
}

// stateAt finds the index of the state of turn t in States.
func (c *Channel) stateAt(turn uint64) (int, bool) {
	i, ok := slices.BinarySearchFunc(c.States, turn, func(s StoredState, t uint64) int {
		switch {
		case s.State.TurnNum < t:
			return -1
		case s.State.TurnNum > t:
			return 1
		}
		return 0
	})
	return i, ok
}

// signedAt reports whether the state of turn t is held and signed by participant i.
func (c *Channel) signedAt(t uint64, i int) bool {
	k, ok := c.stateAt(t)
	return ok && c.States[k].SignedBy(i)
}

func (c *Channel) phaseComplete(from uint64) bool {
	n := uint64(c.N())
	for t := from; t < from+n; t++ {
		if !c.signedAt(t, int(t%n)) {
			// A later running state implies the phase completed earlier.
			if l, ok := c.Latest(); ok && l.State.TurnNum >= 2*n {
				return true
			}
			return false
		}
	}
	return true
}

// PrefundComplete reports whether every prefund state 0..n-1 is signed.
func (c *Channel) PrefundComplete() bool { return c.phaseComplete(0) }

// PostfundComplete reports whether every postfund state n..2n-1 is signed.
func (c *Channel) PostfundComplete() bool { return c.phaseComplete(uint64(c.N())) }

// Final returns the final state, if one is held.
func (c *Channel) Final() (StoredState, bool) {
	l, ok := c.Latest()
	if ok && l.State.IsFinal {
		return l, true
	}
	return StoredState{}, false
}

// mover returns the participant index that moves at turn t.
func (c *Channel) mover(t uint64) int { return int(t % uint64(c.N())) }

// fundingOutcome is the outcome the channel is funded for.
func (c *Channel) fundingOutcome() nitro.Outcome { return c.Setup.Outcome }

// prefix returns the sum of the allocation amounts before item k.
func prefix(items []nitro.AllocationItem, k int) *big.Int {
	s := new(big.Int)
	for _, it := range items[:k] {
		s.Add(s, it.Amount)
	}
	return s
}

// sum64 returns the sum of the items' amounts if every amount and the sum
// fit in 64 bits.
func sum64(items []nitro.AllocationItem) (uint64, bool) {
	var sum uint64
	for _, it := range items {
		if it.Amount == nil || !it.Amount.IsUint64() {
			return 0, false
		}
		a := it.Amount.Uint64()
		if sum+a < sum {
			return 0, false
		}
		sum += a
	}
	return sum, true
}

// cmpTotal compares x with the sum of the items' amounts, as
// x.Cmp(total) would, without allocating when the sum fits in 64 bits.
func cmpTotal(x *big.Int, items []nitro.AllocationItem) int {
	sum, ok := sum64(items)
	if !ok {
		return x.Cmp(nitro.AssetOutcome{Allocation: items}.Total())
	}
	switch {
	case x.Sign() < 0:
		return -1
	case !x.IsUint64():
		return 1
	case x.Uint64() < sum:
		return -1
	case x.Uint64() > sum:
		return 1
	}
	return 0
}

// sameTotal reports whether two lists of items (with non-negative
// amounts) have the same total.
func sameTotal(a, b []nitro.AllocationItem) bool {
	sa, oka := sum64(a)
	sb, okb := sum64(b)
	if oka && okb {
		return sa == sb
	}
	if oka != okb {
		return false // one total is below 2^64, the other is not
	}
	return nitro.AssetOutcome{Allocation: a}.Total().Cmp(nitro.AssetOutcome{Allocation: b}.Total()) == 0
}

// myQueuePosition returns the sum of the items before my first item of the
// asset outcome (the whole total when I have none).
func (c *Channel) myQueuePosition(a nitro.AssetOutcome) *big.Int {
	me := c.Me().Destination
	for k, it := range a.Allocation {
		if it.Destination == me {
			return prefix(a.Allocation, k)
		}
	}
	return a.Total()
}

// Funded reports whether every asset holds at least the funding outcome's total.
func (c *Channel) Funded() bool {
	if c.fake() {
		return true // Fake: funded without deposits (funding.go)
	}
	for i, a := range c.fundingOutcome() {
		if i >= len(c.Funding) || cmpTotal(c.Funding[i].Holdings, a.Allocation) < 0 {
			return false
		}
	}
	return true
}

func (c *Channel) queueReachedMe() bool {
	if c.fake() {
		return false // no deposit queue: opening until running, as the TypeScript wallet shows
	}
	for i, a := range c.fundingOutcome() {
		if i >= len(c.Funding) || c.Funding[i].Holdings.Cmp(c.myQueuePosition(a)) < 0 {
			return false
		}
	}
	return true
}

// dueDeposits returns, per asset index, my allocation items whose turn to be
// deposited has come: holdings in [prefix(k), prefix(k+1)).
func (c *Channel) dueDeposits(visit func(asset, item int, expectedHeld, amount *big.Int)) {
	me := c.Me().Destination
	for i, a := range c.fundingOutcome() {
		if i >= len(c.Funding) {
			return
		}
		h := c.Funding[i].Holdings
		for k, it := range a.Allocation {
			if it.Destination != me || it.Amount.Sign() == 0 {
				continue
			}
			before := prefix(a.Allocation, k)
			through := new(big.Int).Add(before, it.Amount)
			if h.Cmp(before) >= 0 && h.Cmp(through) < 0 {
				visit(i, k, before, it.Amount)
			}
		}
	}
}

// waitingOnTx reports whether a transaction of mine was submitted and its
// effect is not seen yet: a deposit of an item the holdings do not cover, a
// conclude without a Concluded event, or a dispute transaction without its
// event (disputeWaiting).
func (c *Channel) waitingOnTx() bool {
	if c.Conclude == TxRequested && !c.Concluded || c.disputeWaiting() {
		return true
	}
	waiting := false
	if c.depositsWatched() {
		c.dueDeposits(func(asset, item int, _, _ *big.Int) {
			waiting = waiting || c.Funding[asset].Deposits[item] == TxRequested
		})
	}
	return waiting
}

// Status returns the channel's status by the rule in the package doc.
func (c *Channel) Status() Status {
	if c.Dispute != nil && c.disputePaid() {
		// Paid out by a finalized challenge: a final state not signed by
		// all that arrives later changes nothing (dispute.go).
		return StatusClosed
	}
	if f, ok := c.Final(); ok {
		// Concluded on chain: someone proved the final state signed by
		// all, even if a countersignature never reached me.
		if f.SignedByAll() || c.Concluded {
			return StatusClosed
		}
		return StatusClosing
	}
	if d := c.Dispute; d != nil {
		switch {
		case c.disputePaid():
			return StatusClosed
		case d.Challenger == c.me():
			return StatusChallenging
		}
		if s, ok := c.Supported(); ok && s.State.TurnNum > d.TurnNumRecord && !c.finalized() {
			return StatusResponding
		}
		return StatusChallenging
	}
	if c.Challenge == TxRequested || c.Challenge == TxRetry {
		return StatusChallenging
	}
	if !c.Joined {
		return StatusProposed
	}
	if l, ok := c.Latest(); ok && l.State.TurnNum >= uint64(2*c.N()) || c.PostfundComplete() {
		return StatusRunning
	}
	if c.PrefundComplete() && c.queueReachedMe() {
		return StatusFunding
	}
	return StatusOpening
}

// FundingStatus returns the client API's fundingStatus.
func (c *Channel) FundingStatus() FundingStatus {
	if c.FundingStrategy != FundingDirect {
		return FundingUncategorized
	}
	if len(c.Funding) > 0 {
		all := true
		for _, f := range c.Funding {
			all = all && f.PaidOut
		}
		if all {
			return FundingDefunded
		}
	} else if c.Concluded {
		return FundingDefunded
	}
	if c.Funded() {
		return FundingFunded
	}
	due := false
	c.dueDeposits(func(int, int, *big.Int, *big.Int) { due = true })
	if due {
		return FundingReadyToFund
	}
	return FundingUncategorized
}

// TurnNum is the turn of the latest state held (0 before any).
func (c *Channel) TurnNum() uint64 {
	if l, ok := c.Latest(); ok {
		return l.State.TurnNum
	}
	return 0
}

// MyTurn reports whether this wallet moves next (turn latest+1).
func (c *Channel) MyTurn() bool {
	l, ok := c.Latest()
	return ok && c.mover(l.State.TurnNum+1) == c.MyIndex
}

// NeedsTick reports whether time matters to the channel now: a failed
// transaction waits for a retry, a transaction of mine waits for its effect
// on chain, or a closed channel waits for its conclude.
// Other channels can skip Tick inputs.
func (c *Channel) NeedsTick() bool {
	if c.Conclude == TxRetry || c.waitingOnTx() || c.Challenge == TxRetry || c.Dispute != nil && !c.disputePaid() {
		return true
	}
	for _, f := range c.Funding {
		for _, st := range f.Deposits {
			if st == TxRetry {
				return true
			}
		}
	}
	if f, ok := c.Final(); ok && f.SignedByAll() && !c.Concluded && !c.fake() {
		return true
	}
	return false
}
