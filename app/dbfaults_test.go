package app_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
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

// downStore fails every call while down is set, as a database that went
// away would; calls made while it is up pass through.
type downStore struct {
	ports.Store
	down atomic.Bool
}

var errDown = errors.New("test: database down")

func (s *downStore) gate() error {
	if s.down.Load() {
		return errDown
	}
	return nil
}

func (s *downStore) Get(ctx context.Context, id nitro.Bytes32) (core.Channel, error) {
	if err := s.gate(); err != nil {
		return core.Channel{}, err
	}
	return s.Store.Get(ctx, id)
}

func (s *downStore) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	if err := s.gate(); err != nil {
		return nil, err
	}
	return s.Store.Commit(ctx, changes)
}

func (s *downStore) SetChainCursor(ctx context.Context, cur ports.Cursor) error {
	if err := s.gate(); err != nil {
		return err
	}
	return s.Store.SetChainCursor(ctx, cur)
}

// TestChainEventsSurviveStoreOutage (issue 18, defect 2): the close's
// AllocationUpdated reaches B while B's database is down; once it is back,
// B is Defunded without a restart. Before, the event was skipped (a failed
// Get skipped it, the cursor moved on) and B stayed Funded for good.
func TestChainEventsSurviveStoreOutage(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var bStore *downStore
		e, id := openRunningWith(t, withStore(t, k, func(name string, c *app.Config) {
			if name == "B" {
				bStore = &downStore{Store: c.Store}
				c.Store = bStore
			}
		}))
		A, B := e.parties[0], e.parties[1]
		r, err := A.w.CloseChannel(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r = e.push(r.Outbox[0]) // B countersigns: closed
		bStore.down.Store(true)
		wantStatus(t, "A on isFinalB", one(t, e.push(r.Outbox[0]), id), core.StatusClosed, 4) // A concludes
		waitNote(t, A, "A defunded", func(n app.Notification) bool {
			return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingDefunded
		})
		time.Sleep(200 * time.Millisecond) // B's follower meets the outage
		bStore.down.Store(false)
		waitDefunded(t, e, B, id, 10*time.Second)
	})
}

// waitDefunded polls p's channel until it is Defunded, failing t after
// within.
func waitDefunded(t *testing.T, e *env, p *party, id nitro.Bytes32, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := p.w.GetState(e.ctx, id)
		if err == nil && c.FundingStatus == core.FundingDefunded {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s %s (%v), want Defunded", p.name, c.Status, c.FundingStatus, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
