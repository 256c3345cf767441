package app_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// crashingStore loses every Done, as a process killed right after its
// commits would.
type crashingStore struct{ ports.Store }

func (crashingStore) Done(context.Context, []uint64) error { return errors.New("killed") }

// TestResumeResendsMessages: the messages of effects left pending by a
// crash are driven again by New and reach the first subscriber, even though
// New resumes them before anyone could subscribe.
func TestResumeResendsMessages(t *testing.T) {
	ctx := context.Background()
	chain := memory.NewChain(big.NewInt(1337))
	a, b := memory.SignerFromSeed("resume-A"), memory.SignerFromSeed("resume-B")
	store := memory.NewStore()
	w1, err := app.New(ctx, app.Config{Signer: a, Store: crashingStore{store}, Chain: chain.Account(a.Address()), TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ps := []app.Participant{
		{ParticipantID: "A", SigningAddress: a.Address(), Destination: nitro.AddressToDestination(a.Address())},
		{ParticipantID: "B", SigningAddress: b.Address(), Destination: nitro.AddressToDestination(b.Address())},
	}
	alloc := []app.Allocation{{AssetHolderAddress: chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
		{Destination: ps[0].Destination, Amount: big.NewInt(5)}, {Destination: ps[1].Destination, Amount: big.NewInt(3)},
	}}}
	// The create took effect: a lost Done is bookkeeping, not a failure
	// (issue 18, defect 4).
	if _, err := w1.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: alloc}); err != nil {
		t.Fatalf("CreateChannel failed although only Done failed: %v", err)
	}
	_ = w1.Close()
	if p, _ := store.Pending(ctx); len(p) == 0 {
		t.Fatal("nothing left pending")
	}

	w2, err := app.New(ctx, app.Config{Signer: a, Store: store, Chain: chain.Account(a.Address()), TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	notes, stop := w2.Subscribe()
	defer stop()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case n := <-notes:
			if n.Type != app.MessageQueued {
				continue
			}
			if n.Message.Recipient != "B" {
				t.Fatalf("message to %s", n.Message.Recipient)
			}
			if p, _ := store.Pending(ctx); len(p) != 0 {
				t.Fatalf("%d entries still pending after resume", len(p))
			}
			return
		case <-timeout:
			t.Fatal("the resent proposal never reached the subscriber")
		}
	}
}
