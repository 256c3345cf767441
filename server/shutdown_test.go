package server_test

import (
	"context"
	"errors"
	"math/big"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/server"
)

// gateStore holds every Commit, while armed, until the gate opens.
type gateStore struct {
	ports.Store
	armed   atomic.Bool
	blocked chan struct{} // a commit is waiting
	gate    chan struct{}
}

func (g *gateStore) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	if g.armed.CompareAndSwap(true, false) {
		close(g.blocked)
		<-g.gate
	}
	return g.Store.Commit(ctx, changes)
}

// TestShutdownFinishesCallsInFlight: a WebSocket call in flight when
// Shutdown begins finishes with its result and its MessageQueued
// notification; calls and sessions begun after are refused with
// CodeShuttingDown; Shutdown returns once the call is done.
func TestShutdownFinishesCallsInFlight(t *testing.T) {
	ctx := context.Background()
	signer, peer := memory.SignerFromSeed("shutdown-a"), memory.SignerFromSeed("shutdown-b")
	chain := memory.NewChain(big.NewInt(1337))
	chain.Fund(signer.Address(), big.NewInt(1_000_000))
	store := &gateStore{Store: memory.NewStore(), blocked: make(chan struct{}), gate: make(chan struct{})}
	w, err := app.New(ctx, app.Config{Signer: signer, Store: store, Chain: chain.Account(signer.Address()), TickInterval: -1, Logger: testLogger(t, "wallet")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	srv, err := server.New(w, server.Config{Token: "secret-token", Logger: testLogger(t, "server")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	url := "ws" + hs.URL[len("http"):] + "/api"
	c, err := client.Dial(ctx, url, "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other, err := client.Dial(ctx, url, "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	me := app.Participant{ParticipantID: "a", SigningAddress: signer.Address(), Destination: nitro.AddressToDestination(signer.Address())}
	them := app.Participant{ParticipantID: "b", SigningAddress: peer.Address(), Destination: nitro.AddressToDestination(peer.Address())}
	params := app.CreateChannelParams{Participants: []app.Participant{me, them}, Allocations: []app.Allocation{{
		AssetHolderAddress: chain.ETHAssetHolder(),
		AllocationItems:    []app.AllocationItem{{Destination: me.Destination, Amount: big.NewInt(5)}, {Destination: them.Destination, Amount: big.NewInt(3)}},
	}}}
	store.armed.Store(true)
	type created struct {
		r   app.ChannelResult
		err error
	}
	done := make(chan created, 1)
	go func() {
		r, err := c.CreateChannel(ctx, params)
		done <- created{r, err}
	}()
	<-store.blocked // the call is in flight, inside its commit

	shut := make(chan error, 1)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() { shut <- srv.Shutdown(sctx) }()
	// Shutdown has begun once a new call is refused.
	var refused error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, refused = other.GetChannels(ctx); refused != nil {
			break
		}
	}
	var ce *client.Error
	if !errors.As(refused, &ce) || ce.Code != server.CodeShuttingDown {
		t.Fatalf("a call after Shutdown began: %v, want code %d", refused, server.CodeShuttingDown)
	}
	if _, err := client.Dial(ctx, url, "secret-token"); err == nil {
		t.Fatal("a new session was accepted during Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a call in flight", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(store.gate)
	got := <-done
	if got.err != nil || got.r.Status != core.StatusOpening || got.r.TurnNum != 0 {
		t.Fatalf("the call in flight: %+v, %v; want its result (opening, turn 0)", got.r, got.err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// The proposal the call queued was written out before the session ended.
	for n := range c.Notifications() {
		if n.Method == "MessageQueued" && n.Message.Recipient == "b" {
			return
		}
	}
	t.Fatal("the session ended without the call's MessageQueued notification")
}
