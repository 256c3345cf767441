package propertytests

import (
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
)

// The explorer's chain model: deposits, mining, chain events.

// submitDeposit checks a deposit as a gas estimate would, then queues it.
func (x *explorer) submitDeposit(s *xstate, i int, d core.Deposit) error {
	target := new(big.Int).Add(d.ExpectedHeld, d.Amount)
	switch {
	case s.Holdings.Cmp(d.ExpectedHeld) < 0:
		return x.step(s, i, core.TxFailed{Kind: core.TxDeposit, Asset: d.Asset, Item: d.Item, Err: "holdings < expectedHeld"})
	case s.Holdings.Cmp(target) >= 0:
		return x.step(s, i, core.TxFailed{Kind: core.TxDeposit, Asset: d.Asset, Item: d.Item, Done: true, Err: "holdings already sufficient"})
	}
	s.Pending = append(s.Pending, xtx{Dep: &d})
	return nil
}

// mine executes the pending transactions in a block, with Nitro's rules;
// their events queue for both wallets.
func (x *explorer) mine(s *xstate) error {
	s.Block++
	var evs []core.ChainEvent
	var fails []*xfail
	for _, tx := range s.Pending {
		switch {
		case tx.Chal != nil || tx.Check != nil || tx.Push != nil:
			e, f := x.mineDispute(s, tx)
			evs = append(evs, e...)
			if f != nil {
				fails = append(fails, f)
			}
		case tx.Dep != nil:
			d := tx.Dep
			target := new(big.Int).Add(d.ExpectedHeld, d.Amount)
			if s.Holdings.Cmp(d.ExpectedHeld) < 0 || s.Holdings.Cmp(target) >= 0 {
				continue // fails when mined: no effect, no event
			}
			amt := new(big.Int).Sub(target, s.Holdings)
			s.Deposited.Add(s.Deposited, amt)
			s.Holdings = target
			evs = append(evs, core.ChainEvent{Kind: core.EventDeposited, ChannelID: d.ChannelID, Asset: d.Asset, Block: s.Block,
				AmountDeposited: amt, Holdings: new(big.Int).Set(target)})
		case tx.Concl != nil:
			if s.Concluded || s.finalized() {
				continue
			}
			s.Concluded = true
			initial := new(big.Int).Set(s.Holdings)
			for k, it := range tx.Concl.State.Outcome[0].Allocation {
				pay := new(big.Int).Set(it.Amount)
				if pay.Cmp(s.Holdings) > 0 {
					pay.Set(s.Holdings)
				}
				s.Holdings.Sub(s.Holdings, pay)
				s.Paid[k].Add(s.Paid[k], pay)
			}
			evs = append(evs,
				core.ChainEvent{Kind: core.EventConcluded, ChannelID: tx.Concl.ChannelID, Block: s.Block},
				core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: tx.Concl.ChannelID, Asset: x.asset, Block: s.Block, InitialHoldings: initial})
		}
	}
	s.Pending = nil
	for i := range s.Events {
		s.Events[i] = append(s.Events[i], evs...)
	}
	for _, f := range fails {
		if err := x.step(s, f.by, f.in); err != nil {
			return fmt.Errorf("mine: %w", err)
		}
	}
	return nil
}

// deliverEvent gives node i its next chain event (skipped, as the app does,
// if it does not know the channel yet).
func (x *explorer) deliverEvent(s *xstate, i int) error {
	ev := s.Events[i][0]
	s.Events[i] = s.Events[i][1:]
	if s.Nodes[i].ID != ev.ChannelID {
		return nil
	}
	return x.step(s, i, ev)
}
