package core

import (
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Rewound tells a channel that the chain dropped blocks whose events it may
// have applied: a reorg deeper than the confirmation depth, or a node that
// came back lower (or empty). Holdings is what each asset holder holds for
// the channel now, read from the chain after the rewind; an asset missing
// from it keeps what the channel knows. Events of the blocks after the
// common ancestor come again afterwards, and are applied as usual.
type Rewound struct {
	Holdings map[nitro.Address]*big.Int
	// Record is the adjudicator's record of the channel read after the
	// rewind, when the channel has a dispute (nil: not read).
	Record *Record
}

// Record is what the adjudicator records for a channel: its turn number
// record and, while a challenge runs or once it finalized, finalizesAt.
type Record struct {
	TurnNumRecord uint64
	FinalizesAt   uint64
}

func (Rewound) isInput() {}

// rewound re-derives what the channel knows of the chain from the exact
// holdings, in this order:
//
//  1. a payout the chain no longer shows (an asset paid out holds more than
//     the payout left) is undone with its conclude: Concluded, PaidOut and
//     Payouts are cleared and Conclude goes back to TxNone, so the conclude
//     is submitted again once the channel is funded;
//  2. the holdings of every asset not paid out are replaced, downward too,
//     except on a channel with a final state, whose holdings only grow
//     here: its conclude may be mined and not seen yet, and a deposit must
//     never follow a payout;
//  3. my deposits that the holdings no longer cover go back to TxNone, so
//     crank deposits them again when their turn comes (expectedHeld makes a
//     late original or a repeat harmless);
//  4. the wait for unseen transactions starts again;
//  5. a recorded challenge the adjudicator no longer shows is dropped (see
//     rewoundDispute).
//
// A running channel whose holdings fell below the funding total is
// re-funded: see depositsOpen. A channel closed after its funding vanished
// concludes with what is held (Nitro pays the items in order), once no
// deposit of mine is on its way (see depositUnseen).
func (s *stepper) rewound(in Rewound) error {
	c := &s.c
	for a, h := range in.Holdings {
		if h == nil || h.Sign() < 0 {
			return fmt.Errorf("%w: holdings at %s: %v", ErrInvalidParams, a, h)
		}
	}
	vanished := false
	for _, f := range c.Funding {
		if h, ok := in.Holdings[f.Asset]; ok && f.PaidOut && h.Cmp(f.Holdings) > 0 {
			vanished = true
		}
	}
	if vanished {
		for i := range c.Funding {
			c.Funding[i].PaidOut, c.Funding[i].Payouts = false, nil
		}
		c.Concluded, c.Conclude = false, TxNone
	}
	outcome := c.fundingOutcome()
	_, final := c.Final()
	for i := range c.Funding {
		f := &c.Funding[i]
		h, ok := in.Holdings[f.Asset]
		if !ok || f.PaidOut || final && h.Cmp(f.Holdings) < 0 {
			continue
		}
		f.Holdings = new(big.Int).Set(h)
		if i >= len(outcome) {
			continue
		}
		for k, st := range f.Deposits {
			if st != TxNone && k < len(outcome[i].Allocation) && h.Cmp(prefix(outcome[i].Allocation, k+1)) < 0 {
				setDeposit(f, k, TxNone)
			}
		}
	}
	c.TxWaitSince = 0
	s.rewoundDispute(in.Record) // dispute.go
	return nil
}

// depositsOpen reports whether deposits of mine may be due: while the
// channel is being funded, and again on a running channel whose holdings a
// rewind took below the funding total (re-funding: every participant
// deposits its items again in queue order) until a final state exists.
func (c *Channel) depositsOpen() bool {
	if c.FundingStrategy != FundingDirect {
		return false
	}
	if !c.PostfundComplete() {
		return true
	}
	_, final := c.Final()
	return !final && c.refunding()
}

// depositsWatched reports whether my deposits are followed until the chain
// shows them (a tick then requests again one it does not show after the
// retry delay): while they may be due, and while one is on its way. So a
// closed channel whose conclude waits on a deposit that vanished for good
// stops waiting after the delay (crank does not deposit it again).
func (c *Channel) depositsWatched() bool {
	return c.depositsOpen() || c.depositUnseen()
}

// depositUnseen reports whether a deposit of mine was submitted and the
// holdings do not show it yet: the conclude waits for it, so that it does
// not land in a channel already paid out.
func (c *Channel) depositUnseen() bool {
	outcome := c.fundingOutcome()
	for i, f := range c.Funding {
		for k, st := range f.Deposits {
			if st == TxRequested && i < len(outcome) && k < len(outcome[i].Allocation) && f.Holdings.Cmp(prefix(outcome[i].Allocation, k+1)) < 0 {
				return true
			}
		}
	}
	return false
}

// refunding reports whether a channel past funding lacks funds it had: only
// a rewind takes holdings down before the payout.
func (c *Channel) refunding() bool {
	if c.Concluded {
		return false
	}
	for _, f := range c.Funding {
		if f.PaidOut {
			return false
		}
	}
	return !c.Funded()
}

// FundingVanished reports whether a channel that was funded (its postfund
// states are signed) lacks funds at its asset holders and is not paid out:
// a rewind took its deposits away, and it is being funded again.
func (c *Channel) FundingVanished() bool {
	return c.FundingStrategy == FundingDirect && c.PostfundComplete() && c.depositsOpen()
}
