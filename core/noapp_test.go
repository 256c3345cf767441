package core_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// open runs w's channel from create to running: participant 0 proposes
// amounts, the others join, deposits are mined and every message is
// delivered.
func open(w *world, amounts ...int64) {
	w.t.Helper()
	w.step(0, w.createInput(amounts...))
	w.deliverAll()
	for i := 1; i < len(amounts); i++ {
		w.step(i, core.Join{Deployment: w.deployment()})
	}
	w.deliverAll()
	for len(w.deposits) > 0 || len(w.net) > 0 {
		if len(w.deposits) > 0 {
			w.mineDeposit()
		}
		w.deliverAll()
	}
	for i := range w.nodes {
		w.wantStatus(i, core.StatusRunning)
	}
}

// wantTakesFromOther checks a refusal by the app-less rule: ErrTakesFromOther
// (an ErrAppRule, an ErrInvalidTransition), no effects, nothing changed.
func wantTakesFromOther(t *testing.T, what string, before, after core.Channel, effs []core.Effect, err error) {
	t.Helper()
	if !errors.Is(err, core.ErrTakesFromOther) || !errors.Is(err, core.ErrAppRule) || !errors.Is(err, core.ErrInvalidTransition) {
		t.Fatalf("%s: err %v, want ErrTakesFromOther", what, err)
	}
	if effs != nil || !reflect.DeepEqual(before, after) {
		t.Fatalf("%s: refused, yet effects %v or a changed channel", what, effs)
	}
}

// TestNoAppMoverPaysOnly: without an app a running state may lower only
// its mover's items, on what I sign and on what I receive; final states
// keep the outcome as before.
func TestNoAppMoverPaysOnly(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	c := w.nodes[0] // turn 3: p0 moves next
	for _, tc := range []struct {
		name string
		out  nitro.Outcome
	}{
		{"takes from p1", w.outcome(6, 2)},
		{"takes all of p1", w.outcome(8, 0)},
	} {
		next, effs, err := core.Step(c, core.Update{Outcome: tc.out})
		wantTakesFromOther(t, "update "+tc.name, c, next, effs, err)
	}
	swapped := w.outcome(5, 3)
	swapped[0].Allocation[0], swapped[0].Allocation[1] = swapped[0].Allocation[1], swapped[0].Allocation[0]
	next, effs, err := core.Step(c, core.Update{Outcome: swapped})
	wantTakesFromOther(t, "update with destinations swapped", c, next, effs, err)
	if _, _, err := core.Step(c, core.Update{Outcome: w.outcome(5, 3)}); err != nil {
		t.Fatalf("no payment at all is allowed: %v", err)
	}

	// A peer's state that takes from me is refused whole: p1 at turn 5
	// lowering p0, forged with p1's key as a hostile wallet would sign it.
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	w.deliverAll()
	b := w.nodes[0]
	bad := w.forge(5, false, w.outcome(2, 6), 1)
	next, effs, err = core.Step(b, core.Receive{Me: w.addr(0), Deployment: w.deployment(), Recipient: "p0", Sender: "p1", States: []core.SignedState{bad}})
	wantTakesFromOther(t, "receive turn 5 lowering p0", b, next, effs, err)
	good := w.forge(5, false, w.outcome(6, 2), 1)
	if _, _, err := core.Step(b, core.Receive{Me: w.addr(0), Deployment: w.deployment(), Recipient: "p0", Sender: "p1", States: []core.SignedState{good}}); err != nil {
		t.Fatalf("p1 paying p0: %v", err)
	}
}

// TestNoAppCountersign: without an app a receiver countersigns each running
// state of another mover, so it holds the state signed by all (Supported);
// with two participants the countersignature goes to no one.
func TestNoAppCountersign(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)}) // turn 4, p0 pays 1
	if s, _ := w.nodes[0].Supported(); s.State.TurnNum != 3 {
		t.Fatalf("p0's own turn 4 counts as supported before p1 signs it (supported turn %d)", s.State.TurnNum)
	}
	w.deliverAll()
	if len(w.net) != 0 {
		t.Fatalf("p1 sent %d messages after countersigning; the mover gains nothing from it", len(w.net))
	}
	l, _ := w.nodes[1].Latest()
	if l.State.TurnNum != 4 || !l.SignedByAll() {
		t.Fatalf("p1 holds turn %d signed by all: %v", l.State.TurnNum, l.SignedByAll())
	}
	if s, _ := w.nodes[1].Supported(); s.Hash != l.Hash {
		t.Fatal("p1's supported state is not turn 4")
	}
	if w.nodes[1].MyLastTurn != 4 || !w.nodes[1].MyTurn() {
		t.Fatalf("p1 after countersigning: last turn %d, my turn %v", w.nodes[1].MyLastTurn, w.nodes[1].MyTurn())
	}
	// p1 moves on from the state it countersigned; p0 countersigns that.
	w.step(1, core.Update{Outcome: w.outcome(5, 3)})
	w.deliverAll()
	if s, _ := w.nodes[0].Supported(); s.State.TurnNum != 5 || !s.SignedByAll() {
		t.Fatalf("p0's supported turn %d", s.State.TurnNum)
	}
	// Close and conclude are unchanged.
	w.step(0, core.Close{})
	w.deliverAll()
	w.wantStatus(0, core.StatusClosed)
	w.wantStatus(1, core.StatusClosed)
	if len(w.concl) != 1 {
		t.Fatalf("%d concludes, want 1", len(w.concl))
	}
}

// TestNoAppCountersignThreeParties: with three participants the
// countersignatures go to the participants other than the mover, and every
// one of them ends holding the latest state signed by all.
func TestNoAppCountersignThreeParties(t *testing.T) {
	w := newWorld(t, 3)
	open(w, 10, 20, 30)
	for u := 0; u < 6; u++ {
		l, _ := w.nodes[0].Latest()
		mover := int((l.State.TurnNum + 1) % 3)
		w.step(mover, core.Update{Outcome: w.pays(mover, (mover+1)%3, 2)})
		for _, m := range w.net {
			if m.Recipient == w.parts[mover].ParticipantID && m.Sender != w.parts[mover].ParticipantID {
				if st := m.Payload.SignedStates; len(st) == 1 && st[0].State.TurnNum == l.State.TurnNum+1 && len(st[0].Signatures) > 1 {
					t.Fatalf("a countersignature of turn %d went back to its mover", st[0].State.TurnNum)
				}
			}
		}
		w.deliverAll()
		for i := range w.nodes {
			s, _ := w.nodes[i].Supported()
			if i != mover && (s.State.TurnNum != l.State.TurnNum+1 || !s.SignedByAll()) {
				t.Fatalf("turn %d: node %d supports turn %d", l.State.TurnNum+1, i, s.State.TurnNum)
			}
		}
	}
}

// TestAppChannelNoCountersign: a channel with an app proves running states
// by the movers' signatures alone: nobody countersigns, every latest state
// is supported, and the app-less rule does not apply (the app's does).
func TestAppChannelNoCountersign(t *testing.T) {
	w := newWorld(t, 2)
	w.app = nitro.Address{0xa9}
	w.rule = func(from, to nitro.State) error { return nil }
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(6, 2)}) // p0 takes from p1: the app allows it
	w.deliverAll()
	l, _ := w.nodes[1].Latest()
	if l.State.TurnNum != 4 || l.SignedBy(1) || w.nodes[1].MyLastTurn >= 4 {
		t.Fatalf("p1 signed turn %d of an app channel (signed by p1: %v)", l.State.TurnNum, l.SignedBy(1))
	}
	if s, _ := w.nodes[1].Supported(); s.Hash != l.Hash {
		t.Fatal("an app channel's latest state is not its supported state")
	}
}
