package core_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

// TestGetChannelOnlyForParticipants: a GetChannel request is answered only
// when its sender is the participantId of a participant other than this
// wallet, once however many requests the input repeats, and only to that
// participant; a stranger's request changes nothing and sends nothing.
func TestGetChannelOnlyForParticipants(t *testing.T) {
	w := openTwoParty(t)
	c := w.nodes[1]
	req := core.Request{Type: core.RequestGetChannel, ChannelID: c.ID}
	for _, sender := range []string{"", "mallory", "p1", "P0"} {
		next, effs, err := core.Step(c, core.Receive{Me: w.addr(1), Recipient: "p1", Sender: sender, Requests: []core.Request{req, req}})
		if err != nil {
			t.Fatalf("sender %q: %v", sender, err)
		}
		if len(effs) != 0 {
			t.Fatalf("sender %q: %d effects, want none", sender, len(effs))
		}
		if next.TurnNum() != c.TurnNum() || len(next.States) != len(c.States) {
			t.Fatalf("sender %q: channel changed", sender)
		}
	}
	flood := make([]core.Request, 1024)
	for i := range flood {
		flood[i] = req
	}
	_, effs, err := core.Step(c, core.Receive{Me: w.addr(1), Recipient: "p1", Sender: "p0", Requests: flood})
	if err != nil {
		t.Fatal(err)
	}
	if len(effs) != 1 {
		t.Fatalf("1,024 requests from p0 gave %d effects, want one answer", len(effs))
	}
	s, ok := effs[0].(core.Send)
	if !ok || s.Message.Recipient != "p0" || s.Message.Sender != "p1" || len(s.Message.Payload.SignedStates) == 0 {
		t.Fatalf("answer: %+v", effs[0])
	}
	if got := c.GetChannelReply(); len(got) != len(s.Message.Payload.SignedStates) {
		t.Fatalf("GetChannelReply has %d states, the answer %d", len(got), len(s.Message.Payload.SignedStates))
	}
	if !c.AnswersGetChannel("p0") || c.AnswersGetChannel("p1") || c.AnswersGetChannel("mallory") || c.AnswersGetChannel("") {
		t.Fatal("AnswersGetChannel disagrees with Step")
	}
}

// TestSyncAfterPruningIsAccepted: after many updates both sides have pruned
// their setup states; a Sync from either side is still accepted whole.
func TestSyncAfterPruningIsAccepted(t *testing.T) {
	w := openTwoParty(t)
	for u := 0; u < 20; u++ {
		w.step((4+u)%2, core.Update{Outcome: w.outcome(int64(4+u%2), int64(4-u%2)) /* the mover pays 1 */})
		w.deliverAll()
	}
	// B lost nothing; A syncs anyway, B answers; everything is accepted.
	w.step(0, core.Sync{})
	w.deliverAll()
	// A peer one turn behind catches up from a sync.
	w.step(0, core.Update{Outcome: w.outcome(3, 5)})
	w.net = nil // lost
	w.step(0, core.Sync{})
	w.deliverAll()
	if w.nodes[1].TurnNum() != w.nodes[0].TurnNum() {
		t.Fatalf("B at %d, A at %d", w.nodes[1].TurnNum(), w.nodes[0].TurnNum())
	}
}
