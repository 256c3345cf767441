package core_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// openTwoParty runs the seed's opening phase and returns the world with both
// nodes running.
func openTwoParty(t *testing.T) *world {
	w := newWorld(t, 2)
	w.step(0, w.createInput(5, 3))
	w.wantStatus(0, core.StatusOpening)
	if len(w.net) != 1 || w.net[0].Payload.SignedStates[0].State.TurnNum != 0 || len(w.net[0].Payload.Objectives) != 1 {
		t.Fatalf("msg0: %+v", w.net)
	}
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	w.wantStatus(1, core.StatusProposed)
	w.step(1, core.Join{Deployment: w.deployment()})
	w.wantStatus(1, core.StatusOpening)
	if len(w.net) != 1 || w.net[0].Payload.SignedStates[0].State.TurnNum != 1 {
		t.Fatalf("msg1: %+v", w.net)
	}
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	w.wantStatus(0, core.StatusFunding)
	if len(w.deposits) != 1 || w.deposits[0].ExpectedHeld.Sign() != 0 || w.deposits[0].Amount.Int64() != 5 {
		t.Fatalf("A's deposit: %+v", w.deposits)
	}
	w.mineDeposit()
	w.wantStatus(1, core.StatusFunding)
	if len(w.deposits) != 1 || w.deposits[0].ExpectedHeld.Int64() != 5 || w.deposits[0].Amount.Int64() != 3 {
		t.Fatalf("B's deposit: %+v", w.deposits)
	}
	if len(w.net) != 0 {
		t.Fatalf("no message before funded, got %d", len(w.net))
	}
	w.mineDeposit()
	// A signs its postfund (msg2); B waits for it.
	if len(w.net) != 1 || w.net[0].Recipient != "p1" || w.net[0].Payload.SignedStates[0].State.TurnNum != 2 {
		t.Fatalf("msg2: %+v", w.net)
	}
	w.wantStatus(0, core.StatusFunding)
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	w.wantStatus(1, core.StatusRunning)
	if len(w.net) != 1 || w.net[0].Payload.SignedStates[0].State.TurnNum != 3 {
		t.Fatalf("msg3: %+v", w.net)
	}
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	w.wantStatus(0, core.StatusRunning)
	for i := range w.nodes {
		if got := w.nodes[i].FundingStatus(); got != core.FundingFunded {
			t.Fatalf("node %d funding status %s", i, got)
		}
	}
	return w
}

func TestSeedHappyPath(t *testing.T) {
	w := openTwoParty(t)
	const m = 5
	for i := 0; i < m; i++ {
		for mover := 0; mover < 2; mover++ {
			turn := uint64(4 + 2*i + mover)
			a := int64(4 + mover) // the mover pays 1: A 5/3 → 4/4 → 5/3
			w.step(mover, core.Update{Outcome: w.outcome(a, 8-a)})
			if got := w.nodes[mover].TurnNum(); got != turn {
				t.Fatalf("mover %d turn %d, want %d", mover, got, turn)
			}
			if err := w.deliver(0); err != nil {
				t.Fatal(err)
			}
			if got := w.nodes[1-mover].TurnNum(); got != turn {
				t.Fatalf("receiver turn %d, want %d", got, turn)
			}
		}
	}
	w.step(0, core.Close{})
	w.wantStatus(0, core.StatusClosing)
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	w.wantStatus(1, core.StatusClosed)
	if len(w.concl) != 0 {
		t.Fatal("B must not conclude on the happy path")
	}
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	w.wantStatus(0, core.StatusClosed)
	if len(w.concl) != 1 {
		t.Fatalf("A concludes once, got %d", len(w.concl))
	}
	c := w.concl[0]
	if !c.State.IsFinal || c.State.TurnNum != 4+2*m {
		t.Fatalf("conclude state turn %d final %v", c.State.TurnNum, c.State.IsFinal)
	}
	for i, s := range c.Signatures {
		h, _ := c.State.Hash()
		who, err := nitro.RecoverSigner(h, s)
		if err != nil || who != w.addr(i) {
			t.Fatalf("signature %d from %s: %v", i, who, err)
		}
	}
	w.broadcastEvent(core.ChainEvent{Kind: core.EventConcluded, ChannelID: c.ChannelID, Block: 10})
	w.broadcastEvent(core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: c.ChannelID, Asset: w.asset, Block: 10, InitialHoldings: big.NewInt(8)})
	for i := range w.nodes {
		if got := w.nodes[i].FundingStatus(); got != core.FundingDefunded {
			t.Fatalf("node %d funding %s", i, got)
		}
		w.wantStatus(i, core.StatusClosed)
		f := w.nodes[i].Funding[0]
		final := c.State.Outcome[0].Allocation
		for k, p := range f.Payouts {
			if p.Cmp(final[k].Amount) != 0 {
				t.Fatalf("payout %d = %v, want %v", k, p, final[k].Amount)
			}
		}
	}
}

func TestUpdateErrors(t *testing.T) {
	w := openTwoParty(t)
	cases := []struct {
		name string
		node int
		in   core.Input
		want error
	}{
		{"not my turn", 1, core.Update{Outcome: w.outcome(4, 4)}, core.ErrNotYourTurn},
		{"totals changed", 0, core.Update{Outcome: w.outcome(4, 5)}, core.ErrTotalsChanged},
		{"asset dropped", 0, core.Update{Outcome: nitro.Outcome{}}, core.ErrInvalidTransition},
		{"amount too large", 0, core.Update{Outcome: w.outcome(-1, 9)}, core.ErrInvalidTransition},
		{"close not my turn", 1, core.Close{}, core.ErrNotYourTurn},
		{"join twice", 1, core.Join{}, core.ErrAlreadyJoined},
		{"unexpected signature", 0, core.Signed{Hash: nitro.Bytes32{1}}, core.ErrUnexpectedSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := w.nodes[tc.node].Clone()
			_, effs, err := core.Step(w.nodes[tc.node], tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if effs != nil {
				t.Fatalf("effects on error: %v", effs)
			}
			if before.TurnNum() != w.nodes[tc.node].TurnNum() || before.MyLastTurn != w.nodes[tc.node].MyLastTurn {
				t.Fatal("state changed")
			}
		})
	}
}

func TestStepUnknownChannel(t *testing.T) {
	for _, in := range []core.Input{core.Join{}, core.Update{}, core.Close{}, core.Sync{}, core.Tick{Now: 1}} {
		if _, _, err := core.Step(core.Channel{}, in); !errors.Is(err, core.ErrChannelNotFound) {
			t.Fatalf("%T: %v", in, err)
		}
	}
}

func TestStepIsDeterministic(t *testing.T) {
	w := openTwoParty(t)
	in := core.Update{Outcome: w.outcome(1, 7), AppData: []byte{1, 2, 3}}
	a, ea, err1 := core.Step(w.nodes[0], in)
	b, eb, err2 := core.Step(w.nodes[0], in)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ea, eb) {
		t.Fatalf("two steps differ: %v %v", err1, err2)
	}
	// The input channel itself is untouched.
	if w.nodes[0].Pending != nil || w.nodes[0].MyLastTurn != 2 {
		t.Fatal("Step mutated its argument")
	}
}
