package core_test

import (
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TestZeroAllocationNeverDeposits: a participant with nothing to deposit
// waits for the others, then signs its postfund in turn.
func TestZeroAllocationNeverDeposits(t *testing.T) {
	w := proposeAndJoin(t, 10, 0, 30)
	if len(w.deposits) != 1 || w.deposits[0].Amount.Int64() != 10 {
		t.Fatalf("first deposit: %+v", w.deposits)
	}
	w.mineDeposit()
	// Participant 1 has nothing to deposit; participant 2 is next at 10.
	if len(w.deposits) != 1 || w.deposits[0].ExpectedHeld.Int64() != 10 || w.deposits[0].Amount.Int64() != 30 {
		t.Fatalf("second deposit: %+v", w.deposits)
	}
	w.wantStatus(1, core.StatusFunding) // the queue reached its (empty) item
	w.mineDeposit()
	w.deliverAll()
	for i := 0; i < 3; i++ {
		w.wantStatus(i, core.StatusRunning)
	}
}

// TestPostfundWaitsForEarlierParticipants: participant i signs postfund
// n+i only after n..n+i-1, so statuses follow the founding document.
func TestPostfundWaitsForEarlierParticipants(t *testing.T) {
	w := proposeAndJoin(t, 1, 1, 1)
	for len(w.deposits) > 0 {
		w.mineDeposit()
	}
	// Funded: only participant 0 has signed a postfund (turn 3).
	for i, want := range []int64{3, 1, 2} {
		if got := w.nodes[i].MyLastTurn; got != want {
			t.Fatalf("node %d last signed turn %d, want %d", i, got, want)
		}
	}
	w.deliverAll()
	for i, want := range []int64{3, 4, 5} {
		if got := w.nodes[i].MyLastTurn; got != want {
			t.Fatalf("node %d last signed turn %d, want %d", i, got, want)
		}
	}
}

// TestMultiAssetDeposits: each asset is deposited in its own order.
func TestMultiAssetDeposits(t *testing.T) {
	w := newWorld(t, 2)
	in := w.createInput(5, 3)
	token := testToken
	in.Outcome = append(in.Outcome, nitro.AssetOutcome{AssetHolder: token, Allocation: []nitro.AllocationItem{
		{Destination: w.parts[1].Destination, Amount: big.NewInt(7)},
		{Destination: w.parts[0].Destination, Amount: big.NewInt(2)},
	}})
	w.step(0, in)
	w.deliverAll()
	w.step(1, core.Join{Deployment: w.deployment()})
	w.deliverAll()
	// ETH: A first. Token: B first. Both are due at once.
	if len(w.deposits) != 2 {
		t.Fatalf("deposits: %+v", w.deposits)
	}
	byAsset := map[nitro.Address]core.Deposit{}
	for _, d := range w.deposits {
		byAsset[d.Asset] = d
	}
	if d := byAsset[w.asset]; d.Amount.Int64() != 5 || d.ExpectedHeld.Sign() != 0 {
		t.Fatalf("eth deposit %+v", d)
	}
	if d := byAsset[token]; d.Amount.Int64() != 7 || d.ExpectedHeld.Sign() != 0 {
		t.Fatalf("token deposit %+v", d)
	}
	id := w.nodes[0].ID
	w.deposits = nil
	w.broadcastEvent(core.ChainEvent{Kind: core.EventDeposited, ChannelID: id, Asset: w.asset, Holdings: big.NewInt(5)})
	w.broadcastEvent(core.ChainEvent{Kind: core.EventDeposited, ChannelID: id, Asset: token, Holdings: big.NewInt(7)})
	if len(w.deposits) != 2 {
		t.Fatalf("second round: %+v", w.deposits)
	}
	w.broadcastEvent(core.ChainEvent{Kind: core.EventDeposited, ChannelID: id, Asset: w.asset, Holdings: big.NewInt(8)})
	if w.nodes[0].Funded() {
		t.Fatal("funded with one asset short")
	}
	w.broadcastEvent(core.ChainEvent{Kind: core.EventDeposited, ChannelID: id, Asset: token, Holdings: big.NewInt(9)})
	w.deliverAll()
	w.wantStatus(0, core.StatusRunning)
	w.wantStatus(1, core.StatusRunning)
}

// TestProposalFromAnyPrefundState: a channel can be learned from any
// prefund state, and not from a later one.
func TestProposalFromAnyPrefundState(t *testing.T) {
	w := runOpen(t, 3)
	st := w.forge(1, false, w.nodes[0].Setup.Outcome, 1)
	fresh, effs, err := core.Step(core.Channel{}, core.Receive{Me: w.addr(2), Deployment: w.deployment(), Recipient: "p2", States: []core.SignedState{st}})
	if err != nil || fresh.Status() != core.StatusProposed || fresh.MyIndex != 2 {
		t.Fatalf("proposal from turn 1: %v %s", err, fresh.Status())
	}
	if len(effs) != 1 {
		t.Fatalf("want one Watch effect, got %+v", effs)
	}
	if _, ok := effs[0].(core.Watch); !ok {
		t.Fatalf("want Watch, got %T", effs[0])
	}
	late := w.forge(3, false, w.nodes[0].Setup.Outcome, 0)
	if _, _, err := core.Step(core.Channel{}, core.Receive{Me: w.addr(2), Deployment: w.deployment(), Recipient: "p2", States: []core.SignedState{late}}); err == nil {
		t.Fatal("a postfund state must not start a channel")
	}
}
