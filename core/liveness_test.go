package core_test

import (
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// fundHalf opens a 2-party channel whose prefund is complete and where
// only A's deposit is mined: B's is queued and never mined.
func fundHalf(t *testing.T) *world {
	w := newWorld(t, 2)
	w.step(0, w.createInput(5, 3))
	w.deliverAll()
	w.step(1, core.Join{Deployment: w.deployment()})
	w.deliverAll()
	if w.nodes[0].AwaitingPeer() || w.nodes[1].AwaitingPeer() {
		t.Fatal("awaiting a peer with nothing deposited yet")
	}
	w.mineDeposit() // A's
	if !w.nodes[0].AwaitingPeer() {
		t.Fatal("A does not await B's deposit")
	}
	return w
}

// TestAutoChallengeAfterSilence: A awaits B's deposit; with
// AutoChallengeAfter 100 it challenges on the first Tick 100 s after the
// first Tick that saw it waiting, with the prefund states; without the
// option it never does.
func TestAutoChallengeAfterSilence(t *testing.T) {
	w := fundHalf(t)
	for _, now := range []int64{1000, 1099, 5000} {
		w.step(0, core.Tick{Now: now})
	}
	if len(w.disputes) != 0 || w.nodes[0].ReplyWaitSince != 0 {
		t.Fatalf("challenged with the option off: %+v (since %d)", w.disputes, w.nodes[0].ReplyWaitSince)
	}
	for _, now := range []int64{6000, 6099} {
		w.step(0, core.Tick{Now: now, AutoChallengeAfter: 100})
	}
	if len(w.disputes) != 0 || w.nodes[0].ReplyWaitSince != 6000 {
		t.Fatalf("challenged before 100 s: %+v (since %d)", w.disputes, w.nodes[0].ReplyWaitSince)
	}
	w.step(0, core.Tick{Now: 6100, AutoChallengeAfter: 100})
	checkProof(t, w, takeDispute[core.SubmitChallenge](t, w, 0).Proof, 1, 2)
	if w.status(0) != core.StatusChallenging || w.nodes[0].AwaitingPeer() {
		t.Fatalf("A: %s, awaiting %v after its own challenge", w.status(0), w.nodes[0].AwaitingPeer())
	}
	w.step(0, core.Tick{Now: 7000, AutoChallengeAfter: 100})
	if len(w.disputes) != 0 {
		t.Fatalf("challenged twice: %+v", w.disputes)
	}
}

// TestAutoChallengeWaitRestartsOnProgress: B's deposit (progress) resets
// the wait; A then awaits B's postfund, timed from the next Tick.
func TestAutoChallengeWaitRestartsOnProgress(t *testing.T) {
	w := fundHalf(t)
	w.step(0, core.Tick{Now: 1000, AutoChallengeAfter: 100})
	w.mineDeposit() // B's: A signs its postfund, which never reaches B
	w.net = nil
	if w.nodes[0].ReplyWaitSince != 0 || !w.nodes[0].AwaitingPeer() {
		t.Fatalf("after B's deposit: since %d, awaiting %v", w.nodes[0].ReplyWaitSince, w.nodes[0].AwaitingPeer())
	}
	if !w.nodes[1].AwaitingPeer() {
		t.Fatal("B, funded, does not await A's postfund")
	}
	w.step(0, core.Tick{Now: 1100, AutoChallengeAfter: 100})
	if len(w.disputes) != 0 {
		t.Fatalf("challenged on a wait timed before the progress: %+v", w.disputes)
	}
	w.step(0, core.Tick{Now: 1200, AutoChallengeAfter: 100})
	takeDispute[core.SubmitChallenge](t, w, 0)
}

// TestAwaitingPeerByPhase: an app-less running channel never awaits a
// reply; a final state I signed that lacks a peer's signature does; so
// does an app channel whose latest state I moved.
func TestAwaitingPeerByPhase(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	w.deliverAll()
	if w.nodes[0].AwaitingPeer() || w.nodes[1].AwaitingPeer() {
		t.Fatal("an app-less running channel awaits a reply")
	}
	w.step(1, core.Close{})
	if !w.nodes[1].AwaitingPeer() || w.nodes[0].AwaitingPeer() {
		t.Fatal("B's unanswered final state: B should await A, A nothing")
	}
	w.deliverAll()
	if w.nodes[0].AwaitingPeer() || w.nodes[1].AwaitingPeer() {
		t.Fatal("a final state signed by all awaits a reply")
	}

	a := newWorld(t, 2)
	a.app, a.rule = nitro.Address{0xa9}, func(from, to nitro.State) error { return nil }
	open(a, 5, 3)
	a.step(0, core.Update{Outcome: a.outcome(4, 4)})
	a.deliverAll()
	if !a.nodes[0].AwaitingPeer() || a.nodes[1].AwaitingPeer() {
		t.Fatal("app channel: A moved last and should await B's move, B nothing")
	}
}

// TestFinalizedChallengePaysChallengedState: B's close never reached A; A
// challenged with an older state and it finalized while B was away. B's
// payout follows the challenged state, not the final state B signed alone.
func TestFinalizedChallengePaysChallengedState(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	w.deliverAll() // B holds turn 4 signed by both, A turn 3
	w.step(0, core.Challenge{})
	p := takeDispute[core.SubmitChallenge](t, w, 0).Proof
	w.step(1, core.Close{}) // B's final turn 5, 4/4, never delivered
	w.net = nil
	w.broadcastEvent(core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 3, FinalizesAt: 1000, Challenger: w.addr(0), Challenge: &p})
	w.disputes, w.from = nil, nil // B's checkpoint did not make it in time
	w.broadcastEvent(core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: w.nodes[0].ID, Asset: w.asset, InitialHoldings: big.NewInt(8)})
	for i := range w.nodes {
		if got := w.nodes[i].Funding[0].Payouts; got[0].Int64() != 5 || got[1].Int64() != 3 {
			t.Fatalf("node %d payouts %v, want the challenged 5/3", i, got)
		}
		if s := w.status(i); s != core.StatusClosed {
			t.Fatalf("node %d: %s after the payout", i, s)
		}
	}
}
