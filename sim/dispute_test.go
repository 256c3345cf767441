package sim_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/sim"
)

// disputeWorld opens one channel between two wallets (with a second asset
// when token) and makes updates updates.
func disputeWorld(t *testing.T, updates int, token bool) *sim.World {
	t.Helper()
	spec := sim.ChannelSpec{Participants: []int{0, 1}, ETH: []int64{5, 3}}
	if token {
		spec.Token = []int64{2, 4}
	}
	w, err := sim.New(sim.Config{Wallets: 2, Open: true, Warmup: updates, Trace: true, Channels: []sim.ChannelSpec{spec}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// TestStaleChallengeClearedInWorld: a participant registers, behind its
// wallet's back, a challenge with a support proof it held turns ago; the
// wallets checkpoint their newer support before the chain's time runs
// out, the challenge is cleared, and the channel closes normally with the
// latest outcome.
func TestStaleChallengeClearedInWorld(t *testing.T) {
	w := disputeWorld(t, 4, true)
	id, _ := w.ChannelID(0)
	w.StaleChallenge(0, 1, 2)
	if s := w.DisputeStats(); s.StaleChallenges != 1 || s.Reverted != 0 {
		t.Fatalf("stale challenge not registered: %+v", s)
	}
	w.Mine() // on chain: AdvanceChainTime waits for the answers, then jumps
	w.AdvanceChainTime(0)
	if err := w.Check(); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	if w.Chain.Finalized(id) || w.DisputeStats().Cleared != 1 {
		t.Fatalf("the stale challenge was not cleared in its window (%+v)\n%s", w.DisputeStats(), w.Diagram())
	}
	for i := 0; i < 2; i++ {
		c, _ := w.View(i, id)
		if c.Dispute != nil || c.Status() != core.StatusRunning {
			t.Fatalf("wallet %d: %s with dispute %+v after the clearing", i, c.Status(), c.Dispute)
		}
	}
	if err := w.Stabilize(true); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
}

// TestChallengeForceClosesInWorld: a wallet challenges with its supported
// state; once the chain's time passes finalizesAt the outcome is pushed,
// the supported state's outcome paid exactly and nothing stays locked.
func TestChallengeForceClosesInWorld(t *testing.T) {
	w := disputeWorld(t, 3, false)
	id, _ := w.ChannelID(0)
	// The challenger is the wallet with the newest support (B countersigned
	// A's last update; A's challenge would be cleared by B's checkpoint).
	best := 0
	for i := 1; i < 2; i++ {
		a, _ := w.View(best, id)
		b, _ := w.View(i, id)
		sa, _ := a.Supported()
		sb, _ := b.Supported()
		if sb.State.TurnNum > sa.State.TurnNum {
			best = i
		}
	}
	w.Challenge(0, best)
	w.Calm()
	c, _ := w.View(best, id)
	if c.Dispute == nil {
		t.Fatalf("no dispute after the challenge: %s\n%s", c.Status(), w.Diagram())
	}
	sup, _ := c.Supported()
	w.AdvanceChainTime(0)
	if err := w.Stabilize(false); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	if !w.Chain.Finalized(id) || w.Chain.ChannelHoldings(w.ETH, id).Sign() != 0 {
		t.Fatalf("not force-closed: finalized %t, holdings %v", w.Chain.Finalized(id), w.Chain.ChannelHoldings(w.ETH, id))
	}
	for i, it := range sup.State.Outcome[0].Allocation {
		if got := w.Chain.Balance(w.Wallets[i].Destination()); got.Cmp(it.Amount) != 0 {
			t.Fatalf("wallet %d paid %v, want %v", i, got, it.Amount)
		}
		if c, _ := w.View(i, id); c.Status() != core.StatusClosed {
			t.Fatalf("wallet %d is %s", i, c.Status())
		}
	}
	if s := w.DisputeStats(); s.Finalized == 0 || s.TimeJumps == 0 {
		t.Fatalf("stats %+v", s)
	}
}
