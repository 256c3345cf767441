package core_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TestProposalMustFitDeployment: a proposal (a Receive that starts a
// channel), a Create and a Join are refused, with the refinement of
// ErrUnusableChannel that says why, unless the channel's chain id, asset
// holders and challenge duration fit the wallet's deployment.
func TestProposalMustFitDeployment(t *testing.T) {
	w := newWorld(t, 2)
	w.step(0, w.createInput(5, 3))
	proposal := w.net[0]
	narrow := w.deployment()
	narrow.MinChallengeDuration, narrow.MaxChallengeDuration = 3600, 86400
	cases := []struct {
		name string
		dep  func(d *core.Deployment)
		want error
	}{
		{"no deployment", func(d *core.Deployment) { *d = core.Deployment{} }, core.ErrWrongChain},
		{"other chain", func(d *core.Deployment) { d.ChainID = big.NewInt(999) }, core.ErrWrongChain},
		{"unknown asset holder", func(d *core.Deployment) { d.AssetHolders = []nitro.Address{testToken} }, core.ErrUnknownAssetHolder},
		{"challenge too short", func(d *core.Deployment) { *d = narrow }, core.ErrChallengeDuration},
		{"challenge too long", func(d *core.Deployment) { d.MaxChallengeDuration = 99 }, core.ErrChallengeDuration},
		{"default bounds (1 h .. 30 d) refuse 100 s", func(d *core.Deployment) { d.MinChallengeDuration, d.MaxChallengeDuration = 0, 0 }, core.ErrChallengeDuration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dep := w.deployment()
			tc.dep(&dep)
			in := w.receive(1, proposal)
			in.Deployment = dep
			c, effs, err := core.Step(core.Channel{}, in)
			if !errors.Is(err, tc.want) || !errors.Is(err, core.ErrUnusableChannel) {
				t.Fatalf("proposal: got %v, want %v", err, tc.want)
			}
			if c.ID != (nitro.Bytes32{}) || effs != nil {
				t.Fatalf("a refused proposal left a channel or effects: %v %v", c.ID, effs)
			}
			create := w.createInput(5, 3)
			create.Deployment = dep
			if _, _, err := core.Step(core.Channel{}, create); !errors.Is(err, tc.want) {
				t.Fatalf("create: got %v, want %v", err, tc.want)
			}
		})
	}
	// A proposal held under wide bounds is refused at Join under narrow ones.
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	before := w.nodes[1]
	next, effs, err := core.Step(before, core.Join{Deployment: narrow})
	if !errors.Is(err, core.ErrChallengeDuration) || effs != nil || !reflect.DeepEqual(next, before) {
		t.Fatalf("join under narrow bounds: %v, %d effects", err, len(effs))
	}
	w.step(1, core.Join{Deployment: w.deployment()})
	w.wantStatus(1, core.StatusOpening)
}

// TestWrongRecipientRefused: a message addressed to another participant id
// than this wallet's in the channel is refused whole, proposal or update.
func TestWrongRecipientRefused(t *testing.T) {
	w := newWorld(t, 2)
	w.step(0, w.createInput(5, 3))
	for _, to := range []string{"p0", "", "P1", "stranger"} {
		in := w.receive(1, w.net[0])
		in.Recipient = to
		if c, _, err := core.Step(core.Channel{}, in); !errors.Is(err, core.ErrWrongRecipient) || c.ID != (nitro.Bytes32{}) {
			t.Fatalf("proposal to %q: %v", to, err)
		}
	}
	w = openTwoParty(t)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	in := w.receive(1, w.net[0])
	in.Recipient = "p0"
	before := w.nodes[1]
	if next, effs, err := core.Step(before, in); !errors.Is(err, core.ErrWrongRecipient) || effs != nil || !reflect.DeepEqual(next, before) {
		t.Fatalf("update to p0 delivered to p1: %v", err)
	}
	if err := w.deliver(0); err != nil {
		t.Fatalf("the same update to p1: %v", err)
	}
}

// wantEquivocation checks err is an equivocation by participant signer at
// turn with evidence first then second, and that c is unchanged.
func wantEquivocation(t *testing.T, w *world, err error, signer int, turn uint64, first, second core.SignedState) {
	t.Helper()
	var ev *core.EquivocationError
	if !errors.As(err, &ev) || !errors.Is(err, core.ErrEquivocation) || !errors.Is(err, core.ErrConflictingState) {
		t.Fatalf("want an equivocation, got %v", err)
	}
	if ev.Signer != w.addr(signer) || ev.TurnNum != turn || ev.ChannelID != w.nodes[1].ID {
		t.Fatalf("evidence names %s turn %d channel %s", ev.Signer, ev.TurnNum, ev.ChannelID)
	}
	for k, want := range []core.SignedState{first, second} {
		gh, _ := ev.States[k].State.Hash()
		wh, _ := want.State.Hash()
		if gh != wh {
			t.Fatalf("evidence state %d is not the expected one", k)
		}
		found := false
		for _, sig := range ev.States[k].Signatures {
			if who, err := nitro.RecoverSigner(gh, sig); err == nil && who == w.addr(signer) {
				found = true
			}
		}
		if !found {
			t.Fatalf("evidence state %d lacks the equivocator's signature", k)
		}
	}
}

// TestEquivocationRefusedWithEvidence: a second, different state signed by
// the mover of a turn is refused, whether the first is kept, held for a
// future turn, or held and then made reachable by my own move; the error
// carries both states.
func TestEquivocationRefusedWithEvidence(t *testing.T) {
	push := func(w *world, ss core.SignedState) error {
		return w.try(1, core.Receive{Me: w.addr(1), Deployment: w.deployment(), Recipient: "p1", Sender: "p0", States: []core.SignedState{ss}})
	}
	t.Run("kept turn", func(t *testing.T) {
		w := openTwoParty(t)
		s4a := w.forge(4, false, w.outcome(4, 4), 0)
		if err := push(w, s4a); err != nil {
			t.Fatal(err)
		}
		before := w.nodes[1]
		s4b := w.forge(4, false, w.outcome(6, 2), 0)
		err := push(w, s4b)
		wantEquivocation(t, w, err, 0, 4, s4a, s4b)
		if !reflect.DeepEqual(w.nodes[1], before) {
			t.Fatal("the refused state changed the channel")
		}
	})
	t.Run("held future turn", func(t *testing.T) {
		w := openTwoParty(t)
		s6a := w.forge(6, false, w.outcome(4, 4), 0)
		if err := push(w, s6a); err != nil {
			t.Fatal(err)
		}
		s6b := w.forge(6, false, w.outcome(7, 1), 0)
		wantEquivocation(t, w, push(w, s6b), 0, 6, s6a, s6b)
	})
	t.Run("held turn made reachable by my move", func(t *testing.T) {
		// The case: B holds A's S6a, makes turn 5, then gets S6b.
		w := openTwoParty(t)
		w.step(0, core.Update{Outcome: w.outcome(4, 4)}) // turn 4 by p0
		w.deliverAll()
		s6a := w.forge(6, false, w.outcome(2, 6), 0)
		if err := push(w, s6a); err != nil {
			t.Fatal(err)
		}
		w.step(1, core.Update{Outcome: w.outcome(5, 3)}) // turn 5 by p1, who pays
		w.net = nil
		s6b := w.forge(6, false, w.outcome(1, 7), 0)
		before := w.nodes[1]
		err := push(w, s6b)
		wantEquivocation(t, w, err, 0, 6, s6a, s6b)
		if !reflect.DeepEqual(w.nodes[1], before) {
			t.Fatal("the refused state changed the channel")
		}
		if l, _ := w.nodes[1].Latest(); l.State.TurnNum != 6 || l.State.Outcome.Equal(s6b.State.Outcome) {
			t.Fatalf("latest is turn %d; want the held S6a applied once reachable", l.State.TurnNum)
		}
	})
}

// TestDirectFundingNeedsTheChainsProtocol: a channel signed under another
// generation than the chain's adjudicator checks is never funded on chain
// (its deposit could be neither concluded nor disputed): Create and Join
// with Direct funding fail with ErrUnsupportedFunding and change nothing;
// Fake funding, and Direct on a chain of the channel's generation, pass.
func TestDirectFundingNeedsTheChainsProtocol(t *testing.T) {
	w := newWorld(t, 2)
	off := w.deployment()
	off.Protocol = nitro.Protocol0101 // signs 0.10.1, the chain checks 0.17.0
	create := w.createInput(5, 3)
	create.Deployment = off
	if c, effs, err := core.Step(core.Channel{}, create); !errors.Is(err, core.ErrUnsupportedFunding) || c.ID != (nitro.Bytes32{}) || effs != nil {
		t.Fatalf("Direct create under 0.10.1 on a 0.17.0 chain: %v (channel %v, %d effects)", err, c.ID, len(effs))
	}
	create.FundingStrategy = core.FundingFake
	if _, _, err := core.Step(core.Channel{}, create); err != nil {
		t.Fatalf("Fake create under 0.10.1 on a 0.17.0 chain: %v", err)
	}
	on := off
	on.ChainProtocol = nitro.Protocol0101
	create.FundingStrategy, create.Deployment = core.FundingDirect, on
	if _, _, err := core.Step(core.Channel{}, create); err != nil {
		t.Fatalf("Direct create under 0.10.1 on a 0.10.1 chain: %v", err)
	}
	// A Direct proposal B holds under 0.10.1 is joined only where the
	// chain checks 0.10.1.
	w.step(0, create)
	in := w.receive(1, w.net[0])
	in.Deployment = on
	held, _, err := core.Step(core.Channel{}, in)
	if err != nil {
		t.Fatal(err)
	}
	next, effs, err := core.Step(held, core.Join{Deployment: off})
	if !errors.Is(err, core.ErrUnsupportedFunding) || effs != nil || !reflect.DeepEqual(next, held) {
		t.Fatalf("join on a 0.17.0 chain: %v, %d effects", err, len(effs))
	}
	if _, _, err := core.Step(held, core.Join{Deployment: on}); err != nil {
		t.Fatalf("join on a 0.10.1 chain: %v", err)
	}
}
