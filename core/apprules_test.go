package core_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// errNoZero is the fake app's verdict: no participant may end at 0.
var errNoZero = errors.New("fake app: an allocation went to 0")

// noZero is a transition rule refusing any state that leaves an
// allocation item at 0 (final states too).
func noZero(from, to nitro.State) error {
	for _, a := range to.Outcome {
		for _, it := range a.Allocation {
			if it.Amount.Sign() == 0 {
				return errNoZero
			}
		}
	}
	return nil
}

// refuseFinal is a transition rule refusing every final state.
func refuseFinal(from, to nitro.State) error {
	if to.IsFinal {
		return errNoZero
	}
	return nil
}

// wantRuleRefusal checks a refusal by the rule: ErrAppRule (an
// ErrInvalidTransition) carrying the rule's error, the channel unchanged
// and no effects.
func wantRuleRefusal(t *testing.T, what string, before, after core.Channel, effs []core.Effect, err error) {
	t.Helper()
	if !errors.Is(err, core.ErrAppRule) || !errors.Is(err, core.ErrInvalidTransition) || !errors.Is(err, errNoZero) {
		t.Fatalf("%s: err %v, want ErrAppRule with the rule's error", what, err)
	}
	if effs != nil || !reflect.DeepEqual(before, after) {
		t.Fatalf("%s: refused, yet effects %v or a changed channel", what, effs)
	}
}

// TestRuleJudgesMyUpdateAndClose: the rule runs on what this wallet is
// about to sign; nil checks only the protocol.
func TestRuleJudgesMyUpdateAndClose(t *testing.T) {
	w := openTwoParty(t) // turn 3; p0 moves next
	c := w.nodes[0]
	up := core.Update{Outcome: w.outcome(0, 8)}
	next, effs, err := core.StepWith(c, up, noZero)
	wantRuleRefusal(t, "update to 0/8", c, next, effs, err)
	if _, _, err := core.StepWith(c, core.Update{Outcome: w.outcome(4, 4)}, noZero); err != nil {
		t.Fatalf("an update the rule allows: %v", err)
	}
	if _, _, err := core.StepWith(c, up, nil); err != nil {
		t.Fatalf("without a rule the protocol takes 0/8: %v", err)
	}
	next, effs, err = core.StepWith(c, core.Close{}, refuseFinal)
	wantRuleRefusal(t, "close", c, next, effs, err)
}

// TestRuleJudgesReceivedStates: a peer's state the rule refuses is refused
// whole, and nothing changes.
func TestRuleJudgesReceivedStates(t *testing.T) {
	w := openTwoParty(t)
	w.step(0, core.Update{Outcome: w.outcome(0, 8)}) // p0 signs turn 4 (no rule on its side)
	if len(w.net) != 1 {
		t.Fatalf("%d messages in flight, want p0's update", len(w.net))
	}
	m := w.net[0]
	c := w.nodes[1]
	next, effs, err := core.StepWith(c, w.receive(1, m), noZero)
	wantRuleRefusal(t, "receive turn 4 at 0/8", c, next, effs, err)
	if _, _, err := core.StepWith(c, w.receive(1, m), nil); err != nil {
		t.Fatalf("without a rule the state is taken: %v", err)
	}
}

// TestRuleJudgesHeldStates: a state held for a future turn passes the
// rule when it becomes reachable; one the rule refuses is dropped then,
// and the channel stays at the turn before it.
func TestRuleJudgesHeldStates(t *testing.T) {
	w := newWorld(t, 2)
	w.app, w.rule = nitro.Address{0xa9}, noZero
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)}) // turn 4 by p0
	w.deliverAll()
	bad := w.forge(6, false, w.outcome(0, 8), 0) // turn 6 by p0, leaving p0 at 0
	if err := w.try(1, core.Receive{Me: w.addr(1), Deployment: w.deployment(), Recipient: "p1", Sender: "p0", States: []core.SignedState{bad}}); err != nil {
		t.Fatalf("a future state is held, not judged yet: %v", err)
	}
	if len(w.nodes[1].Held) != 1 {
		t.Fatalf("%d states held, want turn 6", len(w.nodes[1].Held))
	}
	w.step(1, core.Update{Outcome: w.outcome(5, 3)}) // turn 5 by p1 makes turn 6 reachable
	if got := w.nodes[1].TurnNum(); got != 5 || len(w.nodes[1].Held) != 0 {
		t.Fatalf("p1 at turn %d holding %d states; the refused turn 6 must be dropped", got, len(w.nodes[1].Held))
	}
}
