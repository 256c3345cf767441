package app

import (
	"fmt"
	"testing"
	"time"
)

type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }

func testGate(t *testing.T, clk *stepClock, lim RequestLimits) *requestGate {
	t.Helper()
	cfg := Config{Requests: lim, Clock: clk}
	if err := cfg.applyBounds(); err != nil {
		t.Fatal(err)
	}
	return newRequestGate(cfg)
}

// TestReplyBudgetsBoundedMemory: senders inventing names never grow the
// budget table past Peers, and together they get at most Peers+1 budgets
// (the shared one for the rest); budgets that refilled are forgotten.
func TestReplyBudgetsBoundedMemory(t *testing.T) {
	clk := &stepClock{now: time.Unix(1_700_000_000, 0)}
	g := testGate(t, clk, RequestLimits{PeerBurst: 1000, PeerRate: 100, Peers: 8})
	admitted := 0
	for i := 0; i < 10_000; i++ {
		if g.take(fmt.Sprintf("invented-%d", i), 400) {
			admitted += 400
		}
	}
	if len(g.peers) > 8 {
		t.Fatalf("%d budgets kept, bound 8", len(g.peers))
	}
	if admitted > 9*1000 {
		t.Fatalf("invented names got %d bytes, more than 9 budgets of 1000", admitted)
	}
	// Once they have refilled, the budgets are forgotten and new senders
	// get their own again.
	clk.now = clk.now.Add(11 * time.Second)
	if !g.take("newcomer", 1000) {
		t.Fatal("a newcomer got nothing after the budgets refilled")
	}
	if len(g.peers) != 1 {
		t.Fatalf("%d budgets kept after the sweep, want the newcomer's", len(g.peers))
	}
	// A reply larger than the burst goes out once the budget is full, and
	// then only after the debt is repaid.
	if !g.take("big", 5000) || g.take("big", 1) {
		t.Fatal("a reply larger than the burst: want one, then none")
	}
	clk.now = clk.now.Add(40 * time.Second) // repays 4000 of the 4000 owed, not more
	if g.take("big", 1) {
		t.Fatal("answered while the budget is empty")
	}
	clk.now = clk.now.Add(time.Second)
	if !g.take("big", 1) {
		t.Fatal("not answered once the budget regained")
	}
}

// TestApplyBounds: defaults fill zero bounds and negative ones are refused.
func TestApplyBounds(t *testing.T) {
	var c Config
	if err := c.applyBounds(); err != nil {
		t.Fatal(err)
	}
	want := RequestLimits{PerMessage: DefaultRequestsPerMessage, PeerBurst: DefaultPeerReplyBurst, PeerRate: DefaultPeerReplyRate, Peers: DefaultRequestPeers}
	if c.Requests != want || c.NotificationQueue != DefaultNotificationQueue {
		t.Fatalf("defaults: %+v %d", c.Requests, c.NotificationQueue)
	}
	for _, bad := range []Config{{NotificationQueue: -1}, {Requests: RequestLimits{PeerRate: -1}}} {
		if err := bad.applyBounds(); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}
