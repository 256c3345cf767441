package sim_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

// TestOfflineWalletMissesMessagesUntilBack: a message to an offline wallet
// stays queued (Deliver skips it), the wallet gets no chain events, and
// coming back it restarts on its store, syncs and agrees again.
func TestOfflineWalletMissesMessagesUntilBack(t *testing.T) {
	w := disputeWorld(t, 2, false)
	id, _ := w.ChannelID(0)
	w.GoOffline(0, 1)
	if !w.Offline(1) || w.Offline(0) {
		t.Fatalf("offline: A %t B %t, want B only", w.Offline(0), w.Offline(1))
	}
	before, _ := w.View(1, id)
	w.UpdateChannel(0, 0, 0)
	w.UpdateChannel(0, 1, 0) // B's turn maybe: B is offline and makes no call
	w.Calm()
	if w.InFlight() == 0 {
		t.Fatalf("A's update to offline B was not kept in flight\n%s", w.Diagram())
	}
	if after, _ := w.View(1, id); after.TurnNum() != before.TurnNum() {
		t.Fatalf("offline B moved from turn %d to %d", before.TurnNum(), after.TurnNum())
	}
	w.ComeBack(0, 0)
	if w.Offline(1) {
		t.Fatal("B still offline after ComeBack")
	}
	w.Calm()
	a, _ := w.View(0, id)
	b, _ := w.View(1, id)
	if a.TurnNum() != b.TurnNum() {
		t.Fatalf("after coming back A has turn %d, B %d\n%s", a.TurnNum(), b.TurnNum(), w.Diagram())
	}
	if err := w.Stabilize(true); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
}

// TestOnlineWalletDefendsWhileChallengerOffline: B's wallet is offline
// while B, Byzantine, registers a challenge with a proof it held turns ago;
// A, online, checkpoints and the challenge is cleared.
func TestOnlineWalletDefendsWhileChallengerOffline(t *testing.T) {
	w := disputeWorld(t, 4, false)
	id, _ := w.ChannelID(0)
	w.GoOffline(0, 1)
	w.StaleChallenge(0, 1, 2)
	if s := w.DisputeStats(); s.StaleChallenges != 1 || s.Reverted != 0 {
		t.Fatalf("stale challenge not registered: %+v", s)
	}
	w.Mine() // the challenge is on chain; AdvanceChainTime waits for answers
	w.AdvanceChainTime(0)
	if err := w.Check(); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	if w.Chain.Finalized(id) || w.DisputeStats().Cleared != 1 {
		t.Fatalf("stale challenge not cleared by online A: finalized %t, %+v\n%s", w.Chain.Finalized(id), w.DisputeStats(), w.Diagram())
	}
	w.ComeBack(0, 0)
	if err := w.Stabilize(true); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
}

// TestOfflineWalletsLoseStaleChallenge: with both wallets offline nobody
// answers B's stale challenge and it finalizes; the property holds (only
// online wallets must be defended), and once both are back Stabilize
// pays the challenged state's outcome and leaves nothing locked.
func TestOfflineWalletsLoseStaleChallenge(t *testing.T) {
	w := disputeWorld(t, 4, false)
	id, _ := w.ChannelID(0)
	w.GoOffline(0, 0)
	w.GoOffline(0, 0)
	if !w.Offline(0) || !w.Offline(1) {
		t.Fatal("both wallets should be offline")
	}
	w.StaleChallenge(0, 1, 2)
	w.Mine() // the challenge is on chain; AdvanceChainTime waits for answers
	w.AdvanceChainTime(0)
	if err := w.Check(); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	if s := w.DisputeStats(); !w.Chain.Finalized(id) || s.Finalized != 1 || s.LostOffline != 1 {
		t.Fatalf("stale challenge did not finalize with nobody online: %+v\n%s", s, w.Diagram())
	}
	if err := w.Stabilize(false); err != nil {
		t.Fatalf("%v\n%s", err, w.Diagram())
	}
	if w.Offline(0) || w.Offline(1) {
		t.Fatal("Stabilize left a wallet offline")
	}
	if h := w.Chain.ChannelHoldings(w.ETH, id); h.Sign() != 0 {
		t.Fatalf("channel still holds %v", h)
	}
	for i := 0; i < 2; i++ {
		if c, _ := w.View(i, id); c.Status() != core.StatusClosed {
			t.Fatalf("wallet %d is %s\n%s", i, c.Status(), w.Diagram())
		}
	}
}
