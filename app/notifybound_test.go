package app_test

import (
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
)

// TestUnreadSubscriberIsToldWhatItMissed: a subscriber that does not read
// while many notifications are published keeps at most its queue's bound;
// when it reads it gets a NotificationsDropped notice, then the newest
// notifications, and Stats counts the drops.
func TestUnreadSubscriberIsToldWhatItMissed(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		const queue = 4
		e, id := openRunningWith(t, withStore(t, k, func(_ string, c *app.Config) { c.NotificationQueue = queue }))
		A, B := e.parties[0], e.parties[1]
		const updates = 40
		for i := 0; i < updates; i++ {
			p := []*party{A, B}[i%2]
			r, err := p.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(int64(4+i%2), int64(4-i%2))})
			if err != nil {
				t.Fatal(err)
			}
			e.push(r.Outbox[0])
		}
		// B's subscription (made in newEnvWith) was never read.
		var got []app.Notification
		for done := false; !done; {
			select {
			case n := <-B.notes:
				got = append(got, n)
			case <-time.After(300 * time.Millisecond):
				done = true
			}
		}
		var dropped uint64
		for _, n := range got {
			if n.Type == app.NotificationsDropped {
				dropped += n.Dropped
			}
		}
		if dropped == 0 {
			t.Fatalf("got %d notifications and no NotificationsDropped notice", len(got))
		}
		if len(got) > 3*queue+2 { // queue, the batch in hand, the channel buffer, two notices
			t.Fatalf("%d notifications kept for an unread subscriber (queue %d)", len(got), queue)
		}
		last := got[len(got)-1]
		if last.Type != app.ChannelUpdated || last.Channel.TurnNum != 3+updates {
			t.Fatalf("last notification %s turn %d, want the newest (turn %d)", last.Type, last.Channel.TurnNum, 3+updates)
		}
		if s := B.w.Stats(); s.NotificationsDropped < dropped {
			t.Fatalf("Stats counts %d dropped, the notices %d", s.NotificationsDropped, dropped)
		}
		// The documented recovery: read the channels again.
		if c, err := B.w.GetState(e.ctx, id); err != nil || c.TurnNum != 3+updates {
			t.Fatalf("GetState after lagging: %+v %v", c, err)
		}
	})
}
