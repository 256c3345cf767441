package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// clusterStore opens a wallet store in schema on a throwaway cluster.
func clusterStore(t *testing.T, c *pgtest.Cluster, schema string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), c.URL(), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatalf("open store on the cluster: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestUpdateHonoursDeadlineUnderTableLock (issue 18, defect 1): with A's
// channels table locked by another session, an update with a 500 ms
// deadline returns by about then with context.DeadlineExceeded, and once
// the lock is gone the same update, retried, takes effect exactly once.
// Before, the call waited for the lock (the app committed without the
// caller's deadline, the store under its own minute).
func TestUpdateHonoursDeadlineUnderTableLock(t *testing.T) {
	c := pgtest.StartCluster(t)
	e, id := openRunningWith(t, func(name string, cfg *app.Config) {
		if name == "A" {
			cfg.Store = clusterStore(t, c, "wallet_a")
		}
	})
	A, B := e.parties[0], e.parties[1]
	release := c.LockTable("wallet_a", "channels")
	ctx, cancel := context.WithTimeout(e.ctx, 500*time.Millisecond)
	start := time.Now()
	_, err := A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
	took := time.Since(start)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("update under the lock: %v (after %v), want context.DeadlineExceeded", err, took)
	}
	if took > 2*time.Second {
		t.Fatalf("update under the lock returned after %v, its deadline was 500 ms", took)
	}
	release()
	r, err := A.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
	if err != nil {
		t.Fatalf("retried update: %v", err)
	}
	wantStatus(t, "A", one(t, r, id), core.StatusRunning, 4)
	var got app.Result
	for _, m := range r.Outbox {
		if m.Recipient == "B" {
			got = e.push(m)
		}
	}
	wantStatus(t, "B", one(t, got, id), core.StatusRunning, 4)
	if evs, err := B.w.Equivocations(e.ctx); err != nil || len(evs) != 0 {
		t.Fatalf("B saw %d equivocations (%v)", len(evs), err)
	}
}

// TestChainEventsSurviveServerStop (issue 18, defect 2, on a real server):
// B's database is stopped while A's conclude pays out; when it is back, B
// reaches Defunded without a restart.
func TestChainEventsSurviveServerStop(t *testing.T) {
	c := pgtest.StartCluster(t)
	e, id := openRunningWith(t, func(name string, cfg *app.Config) {
		if name == "B" {
			cfg.Store = clusterStore(t, c, "wallet_b")
		}
	})
	A, B := e.parties[0], e.parties[1]
	r, err := A.w.CloseChannel(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r = e.push(r.Outbox[0]) // B: closed
	c.Stop()
	e.push(r.Outbox[0]) // A concludes; the events reach B's wallet while its database is down
	waitNote(t, A, "A defunded", func(n app.Notification) bool {
		return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingDefunded
	})
	time.Sleep(500 * time.Millisecond)
	c.Start()
	waitDefunded(t, e, B, id, 20*time.Second)
}
