package core_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

func TestDuplicateMessagesAreNoOps(t *testing.T) {
	w := openTwoParty(t)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	msg := w.net[0]
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	before := w.nodes[1].Clone()
	next, effs, err := core.Step(w.nodes[1], w.receive(1, msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(effs) != 0 {
		t.Fatalf("duplicate produced effects: %+v", effs)
	}
	if !reflect.DeepEqual(before, next) {
		t.Fatal("duplicate changed the channel")
	}
}

func TestReorderedStatesAreHeldThenApplied(t *testing.T) {
	w := runOpen(t, 3)
	// Turn 6 by p0, then 7 by p1 reach p2 in reverse order.
	w.step(0, core.Update{Outcome: w.outcome(10, 20, 30)})
	var toP1, toP2first []int
	for k, m := range w.net {
		if m.Recipient == "p1" {
			toP1 = append(toP1, k)
		} else {
			toP2first = append(toP2first, k)
		}
	}
	if err := w.deliver(toP1[0]); err != nil {
		t.Fatal(err)
	}
	w.step(1, core.Update{Outcome: w.outcome(11, 19, 30)})
	// w.net now: [turn6->p2, turn7->p0, turn7->p2]
	last := len(w.net) - 1
	if w.net[last].Recipient != "p2" || w.net[last].Payload.SignedStates[0].State.TurnNum != 7 {
		t.Fatalf("unexpected net %+v", w.net)
	}
	if err := w.deliver(last); err != nil {
		t.Fatal(err)
	}
	if w.nodes[2].TurnNum() != 5 || len(w.nodes[2].Held) != 1 {
		t.Fatalf("future state not held: turn %d held %d", w.nodes[2].TurnNum(), len(w.nodes[2].Held))
	}
	w.deliverAll()
	for i := 0; i < 3; i++ {
		if w.nodes[i].TurnNum() != 7 || len(w.nodes[i].Held) != 0 {
			t.Fatalf("node %d turn %d held %d", i, w.nodes[i].TurnNum(), len(w.nodes[i].Held))
		}
	}
	_ = toP2first
}

func TestReceiveBadStates(t *testing.T) {
	w := openTwoParty(t) // latest turn 3; next mover is p0
	stranger := newWorld(t, 3).keys[2]
	wrongKey := w.forge(4, false, w.outcome(4, 4))
	h, _ := wrongKey.State.Hash()
	wrongKey.Signatures = []nitro.Signature{sign(t, stranger, h)}
	otherChain := w.forge(4, false, w.outcome(4, 4), 0)
	otherChain.State.ChainID = big.NewInt(1)
	cases := []struct {
		name string
		ss   core.SignedState
		want error
	}{
		{"not the mover", w.forge(4, false, w.outcome(4, 4), 1), core.ErrWrongSigner},
		{"non-participant signer", wrongKey, core.ErrWrongSigner},
		{"unsigned", w.forge(4, false, w.outcome(4, 4)), core.ErrWrongSigner},
		{"totals changed", w.forge(4, false, w.outcome(4, 5), 0), core.ErrTotalsChanged},
		{"final changes outcome", w.forge(4, true, w.outcome(4, 4), 0), core.ErrFinalOutcome},
		{"setup state changed", w.forge(2, false, w.outcome(4, 4), 0), core.ErrConflictingState},
		{"fixed part", otherChain, core.ErrFixedPartMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, effs, err := core.Step(w.nodes[1], core.Receive{Me: w.addr(1), Deployment: w.deployment(), Recipient: "p1", Sender: "p0", States: []core.SignedState{tc.ss}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if effs != nil {
				t.Fatal("effects on error")
			}
		})
	}
	// A well-signed state below the kept window is ignored: old news, not
	// an error (see TestLaggingPeerSyncIsAnswered).
	for u := 0; u < 12; u++ {
		mover := (4 + u) % 2
		w.step(mover, core.Update{Outcome: w.outcome(int64(4+u%2), int64(4-u%2)) /* the mover pays 1 */})
		w.deliverAll()
	}
	stale := w.forge(5, false, w.outcome(1, 7), 1)
	next, effs, err := core.Step(w.nodes[0], core.Receive{Me: w.addr(0), Deployment: w.deployment(), Recipient: "p0", States: []core.SignedState{stale}})
	if err != nil || len(effs) != 0 || !reflect.DeepEqual(next, w.nodes[0]) {
		t.Fatalf("stale: err %v, effects %v, changed %t", err, effs, !reflect.DeepEqual(next, w.nodes[0]))
	}
}

func TestFutureStatesBounded(t *testing.T) {
	w := openTwoParty(t)
	c := w.nodes[1]
	var err error
	for k := 0; k <= core.MaxHeldStates; k++ {
		turn := uint64(6 + 2*k) // p0's turns, all beyond the next one
		c, _, err = core.Step(c, core.Receive{Me: w.addr(1), Deployment: w.deployment(), Recipient: "p1", States: []core.SignedState{w.forge(turn, false, w.outcome(4, 4), 0)}})
		if err != nil {
			break
		}
	}
	if !errors.Is(err, core.ErrFutureState) {
		t.Fatalf("err %v, want ErrFutureState", err)
	}
	if len(c.Held) != core.MaxHeldStates {
		t.Fatalf("held %d", len(c.Held))
	}
}
