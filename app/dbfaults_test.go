package app_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
)

// TestLostDoneIsNotAFailure (issue 18, defect 4): when marking effects
// done fails after a call's commit and effects went through, the call
// reports success, and what it did reached the peer. Before, every call
// returned "mark effect done" errors although it had taken effect.
func TestLostDoneIsNotAFailure(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, func(name string, c *app.Config) {
			if name == "A" {
				c.Store = crashingStore{c.Store}
			}
		}))
		A, B := e.parties[0], e.parties[1]
		r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		if err != nil {
			t.Fatalf("update whose Done failed: %v", err)
		}
		wantStatus(t, "A", one(t, r, id), "running", 4)
		var toB app.Message
		for _, m := range r.Outbox {
			if m.Recipient == "B" {
				toB = m
			}
		}
		if toB.Data == nil {
			t.Fatal("no message to B")
		}
		wantStatus(t, "B", one(t, e.push(toB), id), "running", 4)
		if r, err := B.w.CloseChannel(e.ctx, id); err != nil || len(r.Outbox) != 1 {
			t.Fatalf("B's close on its turn: %v", err)
		}
	})
}
