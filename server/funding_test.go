package server_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// TestUpdateFundingForChannelsOverAPI: the extension method sets a
// channel's holdings through the client, and refuses an unknown channel
// (400), an unknown asset holder and a negative amount (-32602) with
// nothing changed.
func TestUpdateFundingForChannelsOverAPI(t *testing.T) {
	n := newLight(t, false, nil)
	ctx := context.Background()
	c := client.DialHTTP(n.hs.URL+"/api", "secret-token", client.Options{HTTPClient: n.hs.Client()})
	me, peer := n.w.Address(), memory.SignerFromSeed("server-funding-peer").Address()
	eth := n.chain.ETHAssetHolder()
	created, err := c.CreateChannel(ctx, app.CreateChannelParams{
		Participants: []app.Participant{
			{ParticipantID: "A", SigningAddress: me, Destination: nitro.AddressToDestination(me)},
			{ParticipantID: "B", SigningAddress: peer, Destination: nitro.AddressToDestination(peer)},
		},
		Allocations: []app.Allocation{{AssetHolderAddress: eth, AllocationItems: []app.AllocationItem{
			{Destination: nitro.AddressToDestination(me), Amount: big.NewInt(5)},
			{Destination: nitro.AddressToDestination(peer), Amount: big.NewInt(3)},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ChannelID
	// fundingStatus tells the holdings apart: ReadyToFund at 0 (A's item
	// is due), Funded at 8.
	fundingStatus := func() core.FundingStatus {
		t.Helper()
		r, err := c.GetState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r.FundingStatus
	}
	if fs := fundingStatus(); fs != core.FundingReadyToFund {
		t.Fatalf("fundingStatus %s after create, want ReadyToFund", fs)
	}
	for _, tc := range []struct {
		name string
		up   app.FundingUpdate
		code int
		want error
	}{
		{"unknown channel", app.FundingUpdate{ChannelID: nitro.Bytes32{7}, AssetHolder: eth, Amount: big.NewInt(5)}, app.CodeChannelNotFoundUpdate, app.ErrChannelNotFound},
		{"unknown asset", app.FundingUpdate{ChannelID: id, AssetHolder: nitro.Address{0x99}, Amount: big.NewInt(5)}, -32602, app.ErrInvalidParams},
		{"negative", app.FundingUpdate{ChannelID: id, AssetHolder: eth, Amount: big.NewInt(-5)}, -32602, app.ErrInvalidParams},
		{"no amount", app.FundingUpdate{ChannelID: id, AssetHolder: eth}, -32602, app.ErrInvalidParams},
	} {
		ok := app.FundingUpdate{ChannelID: id, AssetHolder: eth, Amount: big.NewInt(8)}
		_, err := c.UpdateFundingForChannels(ctx, []app.FundingUpdate{ok, tc.up})
		wantCode(t, tc.name, err, tc.code, tc.want)
		if fs := fundingStatus(); fs != core.FundingReadyToFund {
			t.Fatalf("%s: fundingStatus %s after a refused call, want ReadyToFund (nothing stored)", tc.name, fs)
		}
	}
	rs, err := c.UpdateFundingForChannels(ctx, []app.FundingUpdate{{ChannelID: id, AssetHolder: eth, Amount: big.NewInt(8)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ChannelID != id || rs[0].Status != core.StatusOpening || rs[0].FundingStatus != core.FundingFunded {
		t.Fatalf("results %+v, want channel %s opening and Funded", rs, id)
	}
	if fs := fundingStatus(); fs != core.FundingFunded {
		t.Fatalf("fundingStatus %s, want Funded", fs)
	}
}
