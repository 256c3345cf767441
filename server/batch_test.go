package server_test

import (
	"context"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server"
)

// serverBatchN is the batch size over the API (the app's tests run 50 on
// both stores; here each channel's deposits go through the simulated
// chain).
const serverBatchN = 8

// TestBatchCallsOverAPI drives the batch extensions between two servers on
// PostgreSQL through the Go client: CreateChannels, JoinChannels,
// SyncChannels and CloseChannels each return every channel in order, the
// messages they queue reach the peer, and bad params are refused with
// -32602 or the single call's code. A bare payload is taken by PushMessage.
func TestBatchCallsOverAPI(t *testing.T) {
	wd := newWorld(t, []string{"A", "B"}, nil)
	A, B := wd.nodes[0], wd.nodes[1]
	ctx, cancel := context.WithCancel(wd.ctx)
	defer cancel()
	wd.relay(ctx)
	eth := wd.dev.Deployment.ETHAssetHolder
	p := app.CreateChannelParams{
		Participants: []app.Participant{
			{ParticipantID: "A", SigningAddress: A.addr, Destination: nitro.AddressToDestination(A.dest)},
			{ParticipantID: "B", SigningAddress: B.addr, Destination: nitro.AddressToDestination(B.dest)},
		},
		Allocations: []app.Allocation{{AssetHolderAddress: eth, AllocationItems: []app.AllocationItem{
			{Destination: nitro.AddressToDestination(A.dest), Amount: big.NewInt(5)},
			{Destination: nitro.AddressToDestination(B.dest), Amount: big.NewInt(3)},
		}}},
	}
	wantAll := func(what string, rs []app.ChannelResult, ids []nitro.Bytes32, s core.Status, turn uint64) {
		t.Helper()
		if len(rs) != len(ids) {
			t.Fatalf("%s: %d results, want %d", what, len(rs), len(ids))
		}
		for i, r := range rs {
			if r.ChannelID != ids[i] || r.Status != s || r.TurnNum != turn {
				t.Fatalf("%s: result %d is %s %s turn %d, want %s %s turn %d", what, i, r.ChannelID, r.Status, r.TurnNum, ids[i], s, turn)
			}
		}
	}

	created, err := A.c.CreateChannels(ctx, p, serverBatchN)
	if err != nil {
		t.Fatalf("CreateChannels: %v", err)
	}
	ids := make([]nitro.Bytes32, len(created))
	for i, c := range created {
		ids[i] = c.ChannelID
	}
	wantAll("CreateChannels", created, ids, core.StatusOpening, 0)
	for _, id := range ids {
		B.waitState(t, id, "proposed at B", func(c app.ChannelResult) bool { return c.Status == core.StatusProposed })
	}

	// Bad params change nothing and are typed.
	_, err = A.c.CreateChannels(ctx, p, 0)
	wantCode(t, "CreateChannels n=0", err, -32602, app.ErrInvalidParams)
	_, err = A.c.CreateChannels(ctx, p, app.MaxBatchChannels+1)
	wantCode(t, "CreateChannels over the bound", err, -32602, app.ErrInvalidParams)
	_, err = B.c.JoinChannels(ctx, nil)
	wantCode(t, "JoinChannels of none", err, -32602, app.ErrInvalidParams)
	_, err = B.c.JoinChannels(ctx, []nitro.Bytes32{ids[0], ids[0]})
	wantCode(t, "JoinChannels of a repeated id", err, -32602, app.ErrInvalidParams)
	_, err = B.c.JoinChannels(ctx, []nitro.Bytes32{ids[0], {0xde, 0xad}})
	wantCode(t, "JoinChannels of an unknown id", err, app.CodeChannelNotFoundJoin, app.ErrChannelNotFound)
	_, body := post(t, A.hs.Client(), A.hs.URL, A.token, []byte(`{"jsonrpc":"2.0","id":1,"method":"CloseChannels","params":{"channelIds":[],"nope":1}}`))
	if r := reply(t, "CloseChannels", body); r.Error == nil || r.Error.Code != -32602 {
		t.Fatalf("CloseChannels with an unknown param: %s", body)
	}
	if cs, err := A.c.GetChannels(ctx); err != nil || len(cs) != serverBatchN {
		t.Fatalf("A after the refused calls: %d channels, %v; want %d", len(cs), err, serverBatchN)
	}

	joined, err := B.c.JoinChannels(ctx, ids)
	if err != nil {
		t.Fatalf("JoinChannels: %v", err)
	}
	wantAll("JoinChannels", joined, ids, core.StatusOpening, 1)
	for _, n := range []*node{A, B} {
		for _, id := range ids {
			n.waitState(t, id, "running", func(c app.ChannelResult) bool { return c.Status == core.StatusRunning })
		}
	}
	synced, err := A.c.SyncChannels(ctx, ids)
	if err != nil {
		t.Fatalf("SyncChannels: %v", err)
	}
	wantAll("SyncChannels", synced, ids, core.StatusRunning, 3)
	closing, err := A.c.CloseChannels(ctx, ids)
	if err != nil {
		t.Fatalf("CloseChannels: %v", err)
	}
	wantAll("CloseChannels", closing, ids, core.StatusClosing, 4)
	for _, n := range []*node{A, B} {
		for _, id := range ids {
			n.waitState(t, id, "closed", func(c app.ChannelResult) bool { return c.Status == core.StatusClosed })
		}
	}

	// The bare payload of a message A queued (already delivered as an
	// envelope) is taken too: a duplicate, it succeeds and changes nothing.
	note := A.waitNote(t, server.NoteMessageQueued, nil)
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(note.Message.Data, &env); err != nil || len(env.Data) == 0 {
		t.Fatalf("MessageQueued data %s: %v", note.Message.Data, err)
	}
	if err := B.c.PushMessage(ctx, app.Message{Recipient: "B", Data: env.Data}); err != nil {
		t.Fatalf("PushMessage of a bare payload: %v", err)
	}
	err = B.c.PushMessage(ctx, app.Message{Recipient: "B", Data: json.RawMessage(`{"walletVersion":"x","recipient":"B"}`)})
	wantCode(t, "PushMessage mixing payload and envelope keys", err, app.CodeWalletError, nil)
}
