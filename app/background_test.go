package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/ports"
)

// stuckChain's deposits never get a receipt: they wait until their
// context ends, as a call to a frozen node would.
type stuckChain struct {
	ports.Chain
	started chan struct{}
}

func (c *stuckChain) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	select {
	case c.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ports.TxHash{}, ctx.Err()
}

// TestCloseStopsStuckEffects (issue 19, defect 6): a call whose deposit
// never returns does not hold Close beyond CloseTimeout; the deposit stays
// pending and the next start carries it out. Before, Close waited for the
// call, which waited for the deposit, forever.
func TestCloseStopsStuckEffects(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		stuck := &stuckChain{started: make(chan struct{}, 1)}
		e := newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
			if name == "A" {
				stuck.Chain = c.Chain
				c.Chain = stuck
				c.CloseTimeout = 100 * time.Millisecond
			}
		}))
		A, B := e.parties[0], e.parties[1]
		r, err := A.w.CreateChannel(e.ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
		if err != nil {
			t.Fatal(err)
		}
		id := r.ChannelResults[0].ChannelID
		e.push(r.Outbox[0])
		r, err = B.w.JoinChannel(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		pushed := make(chan error, 1)
		go func() { _, err := A.w.PushMessage(e.ctx, r.Outbox[0].Data); pushed <- err }()
		select {
		case <-stuck.started:
		case <-time.After(10 * time.Second):
			t.Fatal("A never deposited")
		}
		closed := make(chan error, 1)
		start := time.Now()
		go func() { closed <- A.w.Close() }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("Close still waits for the stuck deposit after 5 s (CloseTimeout 100 ms)")
		}
		t.Logf("Close returned after %v", time.Since(start))
		select {
		case <-pushed:
		case <-time.After(5 * time.Second):
			t.Fatal("the call whose deposit was stuck never returned")
		}
		// The next start carries the deposit out.
		w, err := app.New(e.ctx, app.Config{Signer: A.signer, Store: A.store, Chain: stuck.Chain, TickInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		deadline := time.Now().Add(10 * time.Second)
		for e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id).Int64() < 5 {
			if time.Now().After(deadline) {
				t.Fatalf("after the restart the channel holds %v, want at least A's 5", e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id))
			}
			if err := w.Tick(e.ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
