package server_test

import (
	"context"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server"
)

// TestSeedPathOverAPI drives the seed's whole path between two wallets on
// PostgreSQL, each behind its own server on loopback, through the Go
// client only: A creates, B joins, both deposit on the shared simulated
// chain, the channel runs, takes two updates, closes, and each
// destination is paid its final amount on chain. Every MessageQueued
// notification is delivered to the other server with PushMessage; every
// request, response and notification is checked against
// client-api-schema 0.5.0.
func TestSeedPathOverAPI(t *testing.T) {
	wd := newWorld(t, []string{"A", "B"}, nil)
	A, B := wd.nodes[0], wd.nodes[1]
	ctx, cancel := context.WithCancel(wd.ctx)
	defer cancel()
	wd.relay(ctx)

	info, err := A.c.GetWalletInformation(ctx)
	if err != nil || info.SigningAddress != A.addr || info.WalletVersion == "" {
		t.Fatalf("GetWalletInformation: %+v, %v; want signing address %s", info, err, A.addr)
	}
	eth := wd.dev.Deployment.ETHAssetHolder
	alloc := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: eth, AllocationItems: []app.AllocationItem{
			{Destination: nitro.AddressToDestination(A.dest), Amount: big.NewInt(a)},
			{Destination: nitro.AddressToDestination(B.dest), Amount: big.NewInt(b)},
		}}}
	}
	created, err := A.c.CreateChannel(ctx, app.CreateChannelParams{
		Participants: []app.Participant{
			{ParticipantID: "A", SigningAddress: A.addr, Destination: nitro.AddressToDestination(A.dest)},
			{ParticipantID: "B", SigningAddress: B.addr, Destination: nitro.AddressToDestination(B.dest)},
		},
		Allocations: alloc(5, 3),
	})
	if err != nil {
		t.Fatalf("CreateChannel: %v", err)
	}
	if created.Status != core.StatusOpening || created.TurnNum != 0 {
		t.Fatalf("created: status %s turn %d, want opening turn 0", created.Status, created.TurnNum)
	}
	id := created.ChannelID
	proposed := B.waitNote(t, server.NoteChannelProposed, nil)
	if proposed.Channel.ChannelID != id || proposed.Channel.Status != core.StatusProposed {
		t.Fatalf("B's ChannelProposed: channel %s status %s, want %s proposed", proposed.Channel.ChannelID, proposed.Channel.Status, id)
	}
	if _, err := B.c.JoinChannel(ctx, id); err != nil {
		t.Fatalf("JoinChannel: %v", err)
	}
	running := func(c app.ChannelResult) bool {
		return c.Status == core.StatusRunning && c.FundingStatus == core.FundingFunded
	}
	r := A.waitState(t, id, "running and funded at A", running)
	B.waitState(t, id, "running and funded at B", running)

	// Two updates, each by the participant whose turn it is.
	parties := []*node{A, B}
	for i, split := range [][2]int64{{4, 4}, {6, 2}} {
		mover := parties[(r.TurnNum+1)%2]
		if mover == B { // taking from the other party is refused (401), typed
			_, err := B.c.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(1, 7)})
			wantCode(t, "B takes from A", err, app.CodeInvalidTransition, app.ErrInvalidTransition)
		}
		next, err := mover.c.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(split[0], split[1])})
		if err != nil {
			t.Fatalf("update %d by %s: %v", i+1, mover.name, err)
		}
		if next.TurnNum != r.TurnNum+1 {
			t.Fatalf("update %d: turn %d, want %d", i+1, next.TurnNum, r.TurnNum+1)
		}
		other := parties[next.TurnNum%2]
		if other == mover {
			other = parties[(next.TurnNum+1)%2]
		}
		r = other.waitState(t, id, "at the update's turn", func(c app.ChannelResult) bool { return c.TurnNum == next.TurnNum })
		if got := r.Allocations[0].AllocationItems[1].Amount; got.Int64() != split[1] {
			t.Fatalf("update %d seen by %s: B's amount %v, want %d", i+1, other.name, got, split[1])
		}
	}
	// A wrong-turn update is refused with the client API code, typed.
	notMover := parties[r.TurnNum%2]
	if notMover == parties[(r.TurnNum+1)%2] {
		t.Fatal("turn arithmetic")
	}
	_, err = notMover.c.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(1, 7)})
	wantCode(t, "update out of turn", err, app.CodeNotYourTurnUpdate, app.ErrNotYourTurn)

	closer := parties[(r.TurnNum+1)%2]
	if _, err := closer.c.CloseChannel(ctx, id); err != nil {
		t.Fatalf("CloseChannel by %s: %v", closer.name, err)
	}
	closed := func(c app.ChannelResult) bool { return c.Status == core.StatusClosed }
	A.waitState(t, id, "closed at A", closed)
	B.waitState(t, id, "closed at B", closed)
	for _, p := range []struct {
		n    *node
		want int64
	}{{A, 6}, {B, 2}} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			bal, err := wd.dev.Balance(ctx, p.n.dest)
			if err != nil {
				t.Fatal(err)
			}
			if bal.Int64() == p.want {
				break
			}
			if bal.Sign() != 0 || time.Now().After(deadline) {
				t.Fatalf("%s's destination holds %v on chain, want %d", p.n.name, bal, p.want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, n := range parties {
		n.waitNote(t, server.NoteChannelClosed, func(x client.Notification) bool { return x.Channel.ChannelID == id })
		if n.notes.count(server.NoteChannelClosed) == 0 || n.notes.count(server.NoteChannelUpdated) == 0 {
			t.Fatalf("%s's client: %d ChannelUpdated, %d ChannelClosed notifications; want some of each",
				n.name, n.notes.count(server.NoteChannelUpdated), n.notes.count(server.NoteChannelClosed))
		}
		if n.notes.count(server.NoteMessageReceived) == 0 {
			t.Fatalf("%s's client got no MessageReceived notification", n.name)
		}
		cs, err := n.c.GetChannels(ctx)
		if err != nil || len(cs) != 1 || cs[0].Status != core.StatusClosed {
			t.Fatalf("%s: GetChannels %+v, %v; want the one closed channel", n.name, cs, err)
		}
		// Over POST: closed channels are left out only when asked to.
		for params, want := range map[string]int{`{}`: 1, `{"includeClosed":true}`: 1, `{"includeClosed":false}`: 0} {
			_, body := post(t, n.hs.Client(), n.hs.URL, n.token, []byte(`{"jsonrpc":"2.0","id":7,"method":"GetChannels","params":`+params+`}`))
			var got []json.RawMessage
			if r := reply(t, "GetChannels", body); r.Error != nil || json.Unmarshal(r.Result, &got) != nil || len(got) != want {
				t.Fatalf("%s: POST GetChannels %s: %s, want %d channels", n.name, params, body, want)
			}
		}
		checked, skipped := n.check.counts()
		t.Logf("%s: validated against the schema %v; extensions (envelope only) %v", n.name, checked, skipped)
		for _, k := range []string{"request CreateChannel", "response UpdateChannel", "notification MessageQueued", "notification ChannelUpdated", "request PushMessage", "response PushMessage"} {
			if checked[k] == 0 && (k != "request CreateChannel" || n == A) {
				t.Fatalf("%s: no %s validated", n.name, k)
			}
		}
	}
}
