package server_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TestQuietSessionGetsNoNotifications: a session opened with
// client.Options.Quiet (?notifications=off) makes calls but is pushed no
// notification, while a normal session beside it gets the call's.
func TestQuietSessionGetsNoNotifications(t *testing.T) {
	ctx := context.Background()
	n := newLight(t, false, nil)
	loud, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer loud.Close()
	quiet, err := client.DialWith(ctx, n.wsURL(), "secret-token", client.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	me := app.Participant{ParticipantID: "a", SigningAddress: n.w.Address(), Destination: nitro.AddressToDestination(n.w.Address())}
	peer := memory.SignerFromSeed("quiet-peer")
	them := app.Participant{ParticipantID: "b", SigningAddress: peer.Address(), Destination: nitro.AddressToDestination(peer.Address())}
	r, err := quiet.CreateChannel(ctx, app.CreateChannelParams{Participants: []app.Participant{me, them}, Allocations: []app.Allocation{{
		AssetHolderAddress: n.chain.ETHAssetHolder(),
		AllocationItems:    []app.AllocationItem{{Destination: me.Destination, Amount: big.NewInt(5)}, {Destination: them.Destination, Amount: big.NewInt(3)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-loud.Notifications():
		if got.Method != "MessageQueued" && got.Channel.ChannelID != r.ChannelID {
			t.Fatalf("the normal session got %s, want the call's notifications", got.Method)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the normal session got no notification of the call")
	}
	// The normal session has its notification: the quiet one would have
	// been pushed the same at the same time.
	select {
	case got := <-quiet.Notifications():
		t.Fatalf("the quiet session was pushed %s", got.Method)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := quiet.GetChannels(ctx); err != nil {
		t.Fatalf("a call on the quiet session: %v", err)
	}
	if err := quiet.Close(); err != nil {
		t.Fatal(err)
	}
}
