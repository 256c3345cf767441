package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// closeObjective is the message a TypeScript peer sends when its app calls
// closeChannel: the CloseChannel objective alone.
func (w *world) closeObjective(from, to int) core.Message {
	c := w.nodes[from]
	return core.Message{Recipient: w.parts[to].ParticipantID, Sender: w.parts[from].ParticipantID, Payload: core.Payload{
		Objectives: []core.Objective{{Type: core.ObjectiveCloseChannel, TargetChannelID: c.ID, FundingStrategy: c.FundingStrategy}},
	}}
}

// TestCloseObjectiveOnMyTurn: a peer asks to close on my turn; I sign the
// final state at once, the peer countersigns, and both are closed.
func TestCloseObjectiveOnMyTurn(t *testing.T) {
	w := fakeWorld(t, 5, 3) // latest turn 3: p0 moves next
	w.step(0, w.receive(0, w.closeObjective(1, 0)))
	l, _ := w.nodes[0].Latest()
	if !l.State.IsFinal || l.State.TurnNum != 4 || !w.nodes[0].CloseRequested || w.nodes[0].CloseInitiator {
		t.Fatalf("p0 after the objective: latest turn %d final %v, requested %v initiator %v; want a final turn 4 it did not initiate",
			l.State.TurnNum, l.State.IsFinal, w.nodes[0].CloseRequested, w.nodes[0].CloseInitiator)
	}
	w.wantStatus(0, core.StatusClosing)
	w.deliverAll()
	for i := range w.nodes {
		w.wantStatus(i, core.StatusClosed)
	}
}

// TestCloseObjectiveWaitsForMyTurn: a peer asks to close on its own turn
// (its wallet refuses Close there, the TypeScript wallet sends the
// objective); I sign the final state once my turn comes, not before.
func TestCloseObjectiveWaitsForMyTurn(t *testing.T) {
	w := fakeWorld(t, 5, 3)
	w.step(1, w.receive(1, w.closeObjective(0, 1)))
	if !w.nodes[1].CloseRequested || len(w.net) != 0 {
		t.Fatalf("p1: requested %v, %d messages; want the request noted and nothing sent", w.nodes[1].CloseRequested, len(w.net))
	}
	w.wantStatus(1, core.StatusRunning)
	if err := w.try(1, core.Close{}); err == nil {
		t.Fatal("p1 closed on p0's turn")
	}
	w.step(0, core.Update{Outcome: w.pays(0, 1, 1)}) // turn 4
	w.deliverAll()                                   // p1 gets turn 4: its turn, it signs final turn 5
	for i := range w.nodes {
		l, _ := w.nodes[i].Latest()
		if l.State.TurnNum != 5 || !l.State.IsFinal {
			t.Fatalf("node %d latest turn %d final %v, want final turn 5", i, l.State.TurnNum, l.State.IsFinal)
		}
		w.wantStatus(i, core.StatusClosed)
	}
}

// TestCloseObjectiveIgnored: an objective on a proposal not joined, or
// about another channel, requests nothing.
func TestCloseObjectiveIgnored(t *testing.T) {
	w := newWorld(t, 2)
	in := w.createInput(5, 3)
	in.FundingStrategy = core.FundingFake
	w.step(0, in)
	w.deliverAll()
	w.step(1, w.receive(1, w.closeObjective(0, 1)))
	if w.nodes[1].CloseRequested {
		t.Fatal("a proposal not joined noted a close request")
	}
	w = fakeWorld(t, 5, 3)
	m := w.closeObjective(1, 0)
	m.Payload.Objectives[0].TargetChannelID[0] ^= 1
	w.step(0, w.receive(0, m))
	if w.nodes[0].CloseRequested {
		t.Fatal("an objective about another channel noted a close request")
	}
	for _, sender := range []string{"", "p0", "stranger"} {
		m = w.closeObjective(1, 0)
		m.Sender = sender
		w.step(0, w.receive(0, m))
		if w.nodes[0].CloseRequested || len(w.net) != 0 {
			t.Fatalf("an objective from sender %q noted a close request", sender)
		}
	}
}

// TestCloseObjectiveInBarePayload: a CloseChannel objective pushed as a
// bare Payload (the TypeScript wallet's form: no envelope, no sender) is a
// close request; I sign the final state on my turn.
func TestCloseObjectiveInBarePayload(t *testing.T) {
	w := fakeWorld(t, 5, 3) // latest turn 3: p0 moves next
	in := w.receive(0, w.closeObjective(1, 0))
	in.Recipient, in.Sender, in.Bare = "", "", true
	w.step(0, in)
	l, _ := w.nodes[0].Latest()
	if !w.nodes[0].CloseRequested || !l.State.IsFinal || l.State.TurnNum != 4 {
		t.Fatalf("p0 after a bare objective: requested %v, latest turn %d final %v; want a final turn 4", w.nodes[0].CloseRequested, l.State.TurnNum, l.State.IsFinal)
	}
}

// TestCountersignatureAlone: a countersigned state may come with only the
// countersigner's signature (the TypeScript wallet sends each state with
// its sender's signature alone); the mover's signature of that very
// state, already held, completes it.
func TestCountersignatureAlone(t *testing.T) {
	w := fakeWorld(t, 5, 3) // latest turn 3: p0 moves next
	w.step(0, core.Close{}) // p0 signs the final turn 4
	if err := w.deliver(0); err != nil {
		t.Fatal(err) // p1 countersigns and sends it back
	}
	if len(w.net) != 1 {
		t.Fatalf("%d messages in flight, want p1's countersignature", len(w.net))
	}
	m := w.net[0]
	states := make([]core.SignedState, len(m.Payload.SignedStates))
	for i, ss := range m.Payload.SignedStates {
		ss.Signatures = append([]nitro.Signature(nil), ss.Signatures[1:]...) // the mover's (p0's) left out
		states[i] = ss
	}
	m.Payload.SignedStates = states
	w.net[0] = m
	w.deliverAll()
	w.wantStatus(0, core.StatusClosed)
}
