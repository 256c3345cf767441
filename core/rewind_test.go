package core_test

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

func (w *world) rewind(held int64) {
	w.t.Helper()
	w.holdings[w.asset] = big.NewInt(held)
	for i := range w.nodes {
		w.step(i, core.Rewound{Holdings: map[nitro.Address]*big.Int{w.asset: big.NewInt(held)}})
	}
}

// TestRewoundRefundsARunningChannel: deposits a rewind took away are made
// again in queue order.
func TestRewoundRefundsARunningChannel(t *testing.T) {
	w := openTwoParty(t) // running, A 5 and B 3 deposited
	w.rewind(0)
	if len(w.deposits) != 1 || w.deposits[0].ExpectedHeld.Sign() != 0 || w.deposits[0].Amount.Int64() != 5 {
		t.Fatalf("after the rewind: deposits %+v, want A's 5 at 0", w.deposits)
	}
	if !w.nodes[0].FundingVanished() || !w.nodes[0].NeedsTick() {
		t.Fatal("a channel whose funding vanished must say so and wait on time for its deposit")
	}
	w.mineDeposit()
	if len(w.deposits) != 1 || w.deposits[0].ExpectedHeld.Int64() != 5 || w.deposits[0].Amount.Int64() != 3 {
		t.Fatalf("B's deposit: %+v", w.deposits)
	}
	w.mineDeposit()
	if w.nodes[0].FundingVanished() || w.nodes[1].FundingVanished() || w.nodes[0].FundingStatus() != core.FundingFunded {
		t.Fatal("funded again, but the channel says otherwise")
	}
	w.step(0, core.Close{})
	w.deliverAll()
	if len(w.concl) != 1 {
		t.Fatalf("conclude after re-funding: %d, want 1", len(w.concl))
	}
}

// TestRewoundClosedChannel: a closed channel's holdings are not lowered (a
// conclude not seen yet may explain them, and no deposit may follow a
// payout), and a channel closed while my re-deposit is on its way
// concludes only once the deposit shows.
func TestRewoundClosedChannel(t *testing.T) {
	w := openTwoParty(t) // running, A 5 and B 3 deposited
	w.rewind(0)
	w.step(0, core.Close{})
	w.deliverAll()
	w.wantStatus(0, core.StatusClosed)
	if len(w.concl) != 0 {
		t.Fatalf("conclude submitted while my deposit is unseen: %+v", w.concl)
	}
	// Had the deposit vanished for good, a tick after the retry delay
	// would stop the conclude waiting for it, and not deposit again.
	lost := w.nodes[0]
	for _, now := range []int64{1000, 1000 + core.TxRetryDelay} {
		next, effs, err := core.Step(lost, core.Tick{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		lost = next
		for _, e := range effs {
			if _, ok := e.(core.Deposit); ok {
				t.Fatal("a closed channel deposited again")
			}
		}
		if now > 1000 && (len(effs) != 1 || fmt.Sprintf("%T", effs[0]) != "core.Conclude") {
			t.Fatalf("after the retry delay: effects %+v, want the conclude", effs)
		}
	}
	w.mineDeposit() // A's 5: the deposit shows; B does not deposit after the final state
	if len(w.deposits) != 0 || len(w.concl) != 1 {
		t.Fatalf("after A's deposit: %d deposits, %d concludes; want 0 and 1", len(w.deposits), len(w.concl))
	}
	w.rewind(0) // say the conclude is mined and not seen yet
	if h := w.nodes[0].Funding[0].Holdings.Int64(); h != 5 || len(w.deposits) != 0 {
		t.Fatalf("closed channel after a rewind: holdings %d, %d deposits; want 5 and none", h, len(w.deposits))
	}
}

// TestRewoundUndoesAVanishedPayout: a payout the chain no longer shows is
// undone and the conclude submitted again; one it still shows stays.
func TestRewoundUndoesAVanishedPayout(t *testing.T) {
	w := openTwoParty(t) // running, A 5 and B 3 deposited
	w.step(0, core.Close{})
	w.deliverAll()
	if len(w.concl) != 1 {
		t.Fatalf("conclude: %d", len(w.concl))
	}
	id := w.nodes[0].ID
	w.broadcastEvent(core.ChainEvent{Kind: core.EventConcluded, ChannelID: id, Block: 9})
	w.broadcastEvent(core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: id, Asset: w.asset, Block: 9, InitialHoldings: big.NewInt(8)})
	if w.nodes[0].FundingStatus() != core.FundingDefunded {
		t.Fatalf("funding status %s after the payout", w.nodes[0].FundingStatus())
	}
	w.rewind(0) // the payout is still there
	if w.nodes[0].FundingStatus() != core.FundingDefunded || !w.nodes[0].Concluded || len(w.concl) != 1 {
		t.Fatal("a rewind that kept the payout changed the channel")
	}
	w.rewind(8) // the payout vanished, the deposits did not
	for i := range w.nodes {
		if c := w.nodes[i]; c.Concluded || c.Funding[0].PaidOut || c.FundingStatus() != core.FundingFunded {
			t.Fatalf("node %d after the payout vanished: concluded %v paid out %v funding %s", i, c.Concluded, c.Funding[0].PaidOut, c.FundingStatus())
		}
	}
	if len(w.concl) != 2 {
		t.Fatalf("conclude submitted again: %d concludes, want 2", len(w.concl))
	}
}

// TestRewoundRefusesBadHoldings: negative or missing amounts are a typed
// error and change nothing.
func TestRewoundRefusesBadHoldings(t *testing.T) {
	w := openTwoParty(t) // running, A 5 and B 3 deposited
	before := w.nodes[0]
	for _, h := range []*big.Int{nil, big.NewInt(-1)} {
		next, effs, err := core.Step(before, core.Rewound{Holdings: map[nitro.Address]*big.Int{w.asset: h}})
		if !errors.Is(err, core.ErrInvalidParams) || len(effs) != 0 || next.Funding[0].Holdings.Int64() != 8 {
			t.Fatalf("holdings %v: err %v, effects %d, held %v", h, err, len(effs), next.Funding[0].Holdings)
		}
	}
}
