package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TestDroppedCheckpointSubmittedAgain: a checkpoint whose transaction a
// reorg dropped (no ChallengeCleared after TxRetryDelay of Ticks) is
// submitted again while the stale challenge runs, not before the delay.
func TestDroppedCheckpointSubmittedAgain(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	w.deliverAll()
	w.step(1, core.Update{Outcome: w.outcome(5, 3)})
	w.deliverAll() // A countersigned turn 5
	stale := w.forge(3, false, w.outcome(5, 3), 0, 1)
	w.step(0, core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 3, FinalizesAt: 5000,
		Challenger: w.addr(1), Challenge: &core.SupportProof{States: []nitro.State{stale.State}}})
	takeDispute[core.SubmitCheckpoint](t, w, 0)
	w.step(0, core.Tick{Now: 100})
	w.step(0, core.Tick{Now: 100 + core.TxRetryDelay - 1})
	if len(w.disputes) != 0 {
		t.Fatalf("checkpoint sent again before TxRetryDelay: %+v", w.disputes)
	}
	w.step(0, core.Tick{Now: 100 + core.TxRetryDelay})
	checkProof(t, w, takeDispute[core.SubmitCheckpoint](t, w, 0).Proof, 5, 1)
}

// TestDroppedChallengeSubmittedAgain: my challenge whose transaction
// vanished (no ChallengeRegistered after TxRetryDelay of Ticks) is
// submitted again.
func TestDroppedChallengeSubmittedAgain(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	w.deliverAll()
	w.step(1, core.Challenge{})
	takeDispute[core.SubmitChallenge](t, w, 1)
	w.step(1, core.Tick{Now: 100})
	w.step(1, core.Tick{Now: 100 + core.TxRetryDelay})
	w.step(1, core.Tick{Now: 101 + core.TxRetryDelay})
	takeDispute[core.SubmitChallenge](t, w, 1)
	if got := w.status(1); got != core.StatusChallenging {
		t.Fatalf("B is %s while its challenge is submitted again", got)
	}
}
