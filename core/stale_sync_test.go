package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

// TestLaggingPeerSyncIsAnswered is the regression test of a liveness bug the
// property tests found (property_tests/testdata/regressions): once states
// were pruned, a wallet that had lost its peer's latest update and called
// Sync got no answer, because its sync message also carried its older
// states, which the peer had pruned, and one stale state failed the whole
// message, GetChannel request included. Only the peer's own sync could
// repair the channel.
func TestLaggingPeerSyncIsAnswered(t *testing.T) {
	w := openTwoParty(t)
	for u := 0; u < 8; u++ { // turns 4..11: both prune their oldest states
		w.step((4+u)%2, core.Update{Outcome: w.outcome(int64(4+u%2), int64(4-u%2)) /* the mover pays 1 */})
		w.deliverAll()
	}
	w.step(0, core.Update{Outcome: w.outcome(2, 6)}) // turn 12 by p0 ...
	w.net = nil                                      // ... never reaches p1
	if a, b := w.nodes[0].TurnNum(), w.nodes[1].TurnNum(); a != 12 || b != 11 {
		t.Fatalf("turns %d, %d", a, b)
	}
	if w.nodes[1].States[0].State.TurnNum >= w.nodes[0].States[0].State.TurnNum {
		t.Fatal("p1 holds no state p0 has pruned: the test does not test the bug")
	}
	w.step(1, core.Sync{}) // the lagging wallet asks
	w.deliverAll()
	if got := w.nodes[1].TurnNum(); got != 12 {
		t.Fatalf("p1 at turn %d after its sync, want 12", got)
	}
}
