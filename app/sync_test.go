package app_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
)

// TestSyncAfterLostMessage: an update's message is lost; SyncChannel resends
// it and asks the peer for its states, and both agree again.
func TestSyncAfterLostMessage(t *testing.T) {
	e, id := openRunning(t)
	A, B := e.parties[0], e.parties[1]
	r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(2, 6)})
	if err != nil {
		t.Fatal(err)
	}
	_ = r // lost
	if c, _ := B.w.GetState(e.ctx, id); c.TurnNum != 3 {
		t.Fatalf("B at turn %d before sync", c.TurnNum)
	}
	r, err = A.w.SyncChannel(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantOutbox(t, "A sync", r, "B")
	r = e.push(r.Outbox[0])
	if c := one(t, r, id); c.TurnNum != 4 || c.Status != core.StatusRunning {
		t.Fatalf("B after sync: %+v", c)
	}
	// B answers the GetChannel request with its states; A takes them as no-ops.
	wantOutbox(t, "B answers", r, "A")
	r = e.push(r.Outbox[0])
	if c := one(t, r, id); c.TurnNum != 4 {
		t.Fatalf("A after B's answer: turn %d", c.TurnNum)
	}
	// B can move now.
	if _, err := B.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(3, 5)}); err != nil {
		t.Fatal(err)
	}
	cs, err := A.w.GetChannels(e.ctx)
	if err != nil || len(cs) != 1 || cs[0].ChannelID != id {
		t.Fatalf("GetChannels: %+v %v", cs, err)
	}
}
