package core_test

import (
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

// TestChallengeWithFinalStateConcludes: B holds the final state signed by
// all but is not its mover, so it would conclude only as a backup; A,
// whom B's countersignature never reached, challenges with turn 3. B
// concludes at once. The Concluded event ends the dispute everywhere, and
// A, holding the final state with its own signature only, is closed once
// the channel is concluded and paid out by the final outcome.
func TestChallengeWithFinalStateConcludes(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Close{}) // A moves turn 4, final
	if len(w.net) != 1 {
		t.Fatalf("A's close sent %d messages", len(w.net))
	}
	if err := w.deliver(0); err != nil { // B countersigns
		t.Fatal(err)
	}
	w.net = nil // B's countersignature never reaches A
	w.wantStatus(0, core.StatusClosing)
	w.wantStatus(1, core.StatusClosed)
	w.step(1, core.Tick{Now: 10})
	w.step(1, core.Tick{Now: 11})
	if len(w.concl) != 0 {
		t.Fatalf("B concluded before the backup delay without a challenge: %+v", w.concl)
	}
	w.step(0, core.Challenge{})
	p := takeDispute[core.SubmitChallenge](t, w, 0).Proof
	w.broadcastEvent(core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 3, FinalizesAt: 5000, Challenger: w.addr(0), Challenge: &p})
	if len(w.concl) != 1 || !w.concl[0].State.IsFinal || w.concl[0].State.TurnNum != 4 {
		t.Fatalf("B's conclude under A's challenge: %+v", w.concl)
	}
	if w.nodes[0].Dispute == nil || w.status(0) != core.StatusClosing {
		t.Fatalf("A: %s, dispute %+v under its own challenge", w.status(0), w.nodes[0].Dispute)
	}
	w.broadcastEvent(core.ChainEvent{Kind: core.EventConcluded, ChannelID: w.nodes[0].ID})
	w.broadcastEvent(core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: w.nodes[0].ID, Asset: w.asset, InitialHoldings: big.NewInt(8)})
	for i := range w.nodes {
		c := w.nodes[i]
		if c.Dispute != nil || c.Challenge != core.TxNone {
			t.Fatalf("node %d: dispute %+v, challenge %v after the conclude", i, c.Dispute, c.Challenge)
		}
		if c.Status() != core.StatusClosed || c.FundingStatus() != core.FundingDefunded {
			t.Fatalf("node %d: %s, %s after the conclude", i, c.Status(), c.FundingStatus())
		}
		if got := c.Funding[0].Payouts; got[0].Int64() != 5 || got[1].Int64() != 3 {
			t.Fatalf("node %d payouts %v, want the final 5/3", i, got)
		}
	}
}

// TestConcludedWithoutFinalKeepsDispute: a Concluded event on a channel
// whose final state I do not hold leaves the dispute as it is (the
// payout then follows the challenged state).
func TestConcludedWithoutFinalKeepsDispute(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(1, core.Challenge{})
	p := takeDispute[core.SubmitChallenge](t, w, 1).Proof
	w.broadcastEvent(core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 3, FinalizesAt: 5000, Challenger: w.addr(1), Challenge: &p})
	w.broadcastEvent(core.ChainEvent{Kind: core.EventConcluded, ChannelID: w.nodes[0].ID})
	for i := range w.nodes {
		if d := w.nodes[i].Dispute; d == nil || d.Challenger != w.addr(1) || d.Challenged.Outcome == nil {
			t.Fatalf("node %d: dispute %+v after a Concluded without a final state", i, d)
		}
	}
}
