package core_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// fakeWorld is proposeAndJoin with the Fake strategy.
func fakeWorld(t *testing.T, amounts ...int64) *world {
	t.Helper()
	w := newWorld(t, len(amounts))
	in := w.createInput(amounts...)
	in.FundingStrategy = core.FundingFake
	w.step(0, in)
	w.wantStatus(0, core.StatusOpening)
	w.deliverAll()
	w.wantStatus(1, core.StatusProposed)
	for i := 1; i < len(amounts); i++ {
		w.step(i, core.Join{Deployment: w.deployment()})
	}
	w.deliverAll()
	return w
}

// TestFakeFundingRunsWithoutDeposits: a Fake channel counts as funded at
// once, so it runs after the postfund round with no deposit asked for,
// and it closes with no conclude and nothing left to tick for.
func TestFakeFundingRunsWithoutDeposits(t *testing.T) {
	w := fakeWorld(t, 5, 3)
	for i := range w.nodes {
		w.wantStatus(i, core.StatusRunning)
		if c := w.nodes[i]; c.FundingStrategy != core.FundingFake || !c.Funded() || c.FundingStatus() != core.FundingUncategorized || c.TurnNum() != 3 {
			t.Fatalf("node %d: strategy %q funded %v fundingStatus %s turn %d", i, c.FundingStrategy, c.Funded(), c.FundingStatus(), c.TurnNum())
		}
	}
	if len(w.deposits) != 0 {
		t.Fatalf("deposits asked for on a Fake channel: %+v", w.deposits)
	}
	w.step(0, core.Update{Outcome: w.pays(0, 1, 2)})
	w.deliverAll()
	w.step(1, core.Close{})
	w.deliverAll()
	for i := range w.nodes {
		w.wantStatus(i, core.StatusClosed)
		if w.nodes[i].NeedsTick() {
			t.Fatalf("node %d: a closed Fake channel still needs ticks", i)
		}
	}
	if len(w.concl) != 0 {
		t.Fatalf("a Fake channel was concluded on chain: %d conclude(s)", len(w.concl))
	}
}

// TestFakeChannelNotChallenged: a Fake-funded channel is never watched on
// chain, so a challenge of it would never be seen registered and would be
// submitted again and again: ChallengeChannel is refused with
// ErrNotOnChain and changes nothing, and a silent peer never triggers the
// wallet's own challenge.
func TestFakeChannelNotChallenged(t *testing.T) {
	w := fakeWorld(t, 5, 3)
	w.step(0, core.Update{Outcome: w.pays(0, 1, 2)}) // B never countersigns
	before := w.nodes[0].Clone()
	if err := w.try(0, core.Challenge{}); !errors.Is(err, core.ErrNotOnChain) {
		t.Fatalf("Challenge of a Fake channel: %v, want ErrNotOnChain", err)
	}
	if len(w.disputes) != 0 || w.nodes[0].Challenge != core.TxNone || !reflect.DeepEqual(w.nodes[0], before) {
		t.Fatalf("a refused challenge changed the channel or emitted %+v", w.disputes)
	}
	if w.nodes[0].AwaitingPeer() {
		t.Fatal("a Fake channel awaits a peer: the wallet would challenge it by itself")
	}
}

// TestUnsupportedFundingRefused: a strategy other than Direct and Fake is
// refused on Create and on a peer's proposal, with nothing kept.
func TestUnsupportedFundingRefused(t *testing.T) {
	for _, strategy := range []string{core.FundingLedger, core.FundingVirtual, core.FundingUnknown, "Bogus"} {
		w := newWorld(t, 2)
		in := w.createInput(5, 3)
		in.FundingStrategy = strategy
		if err := w.try(0, in); !errors.Is(err, core.ErrUnsupportedFunding) {
			t.Fatalf("create %q: err %v, want ErrUnsupportedFunding", strategy, err)
		}
		// The proposal as a peer would send it: a Fake one, relabelled.
		w2 := newWorld(t, 2)
		in = w2.createInput(5, 3)
		in.FundingStrategy = core.FundingFake
		w2.step(0, in)
		m := w2.net[0]
		for k := range m.Payload.Objectives {
			m.Payload.Objectives[k].FundingStrategy = strategy
		}
		next, effs, err := core.Step(core.Channel{}, w2.receive(1, m))
		if !errors.Is(err, core.ErrUnsupportedFunding) || next.ID != (nitro.Bytes32{}) || effs != nil {
			t.Fatalf("proposal %q: err %v, channel %s, %d effects; want ErrUnsupportedFunding and nothing", strategy, err, next.ID, len(effs))
		}
	}
}

// TestReportHoldingsFundsInOrder: holdings reported from outside the
// wallet drive the deposits in allocation order, as Deposited events do;
// bad reports are refused with typed errors and change nothing; a lower
// report changes nothing.
func TestReportHoldingsFundsInOrder(t *testing.T) {
	w := proposeAndJoin(t, 5, 3)
	if len(w.deposits) != 1 || w.deposits[0].Item != 0 || w.deposits[0].ExpectedHeld.Sign() != 0 {
		t.Fatalf("deposits %+v, want p0's item 0 at holdings 0", w.deposits)
	}
	w.deposits = nil // carried out by someone else; no event comes
	report := func(amount int64) core.ReportHoldings {
		return core.ReportHoldings{Holdings: []core.AssetHoldings{{Asset: w.asset, Amount: big.NewInt(amount)}}}
	}
	for _, tc := range []struct {
		name string
		in   core.ReportHoldings
		want error
	}{
		{"unknown asset", core.ReportHoldings{Holdings: []core.AssetHoldings{{Asset: w.asset, Amount: big.NewInt(5)}, {Asset: nitro.Address{0x99}, Amount: big.NewInt(1)}}}, core.ErrUnknownAsset},
		{"negative", core.ReportHoldings{Holdings: []core.AssetHoldings{{Asset: w.asset, Amount: big.NewInt(-1)}}}, core.ErrInvalidHoldings},
		{"nil", core.ReportHoldings{Holdings: []core.AssetHoldings{{Asset: w.asset}}}, core.ErrInvalidParams},
		{"above 2^256-1", core.ReportHoldings{Holdings: []core.AssetHoldings{{Asset: w.asset, Amount: new(big.Int).Lsh(big.NewInt(1), 256)}}}, core.ErrInvalidHoldings},
	} {
		before := w.nodes[1]
		next, effs, err := core.Step(before, tc.in)
		if !errors.Is(err, tc.want) || effs != nil || next.Funding[0].Holdings.Sign() != 0 {
			t.Fatalf("%s: err %v, %d effects, holdings %v; want %v and nothing changed", tc.name, err, len(effs), next.Funding[0].Holdings, tc.want)
		}
	}
	if err := w.try(0, core.ReportHoldings{}); err != nil {
		t.Fatalf("an empty report: %v", err)
	}
	for i := range w.nodes {
		w.step(i, report(5))
	}
	if len(w.deposits) != 1 || w.deposits[0].Item != 1 || w.deposits[0].ExpectedHeld.Int64() != 5 || w.deposits[0].Amount.Int64() != 3 {
		t.Fatalf("deposits after holdings 5: %+v, want p1's item 1 at expectedHeld 5", w.deposits)
	}
	w.deposits = nil
	w.step(1, report(4)) // lower: ignored
	if h := w.nodes[1].Funding[0].Holdings.Int64(); h != 5 {
		t.Fatalf("holdings %d after a lower report, want 5", h)
	}
	for i := range w.nodes {
		w.step(i, report(8))
	}
	w.deliverAll()
	for i := range w.nodes {
		w.wantStatus(i, core.StatusRunning)
		if fs := w.nodes[i].FundingStatus(); fs != core.FundingFunded {
			t.Fatalf("node %d fundingStatus %s, want Funded", i, fs)
		}
	}
	if len(w.deposits) != 0 {
		t.Fatalf("more deposits once funded: %+v", w.deposits)
	}
}
