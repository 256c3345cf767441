package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/server"
)

// TestBadRequestsChangeNothing: malformed JSON, unknown methods, wrong
// params (unknown, missing, mistyped), oversized bodies and messages, calls
// the wallet refuses, and a batch mixing good and bad calls, over POST and
// over WebSocket, each get their JSON-RPC error, and change nothing: the
// channels (GetChannels) and every row of the store are the same after.
func TestBadRequestsChangeNothing(t *testing.T) {
	const limit = 16 << 10
	wd := newWorld(t, []string{"A"}, func(c *server.Config) { c.MaxRequestBytes = limit })
	A := wd.nodes[0]
	ctx := wd.ctx
	peer := mustKey(t, "bad-requests-peer")
	created, err := A.c.CreateChannel(ctx, app.CreateChannelParams{
		Participants: []app.Participant{
			{ParticipantID: "A", SigningAddress: A.addr, Destination: nitro.AddressToDestination(A.dest)},
			{ParticipantID: "B", SigningAddress: addrOf(peer), Destination: nitro.AddressToDestination(addrOf(peer))},
		},
		Allocations: []app.Allocation{{AssetHolderAddress: wd.dev.Deployment.ETHAssetHolder, AllocationItems: []app.AllocationItem{
			{Destination: nitro.AddressToDestination(A.dest), Amount: big.NewInt(1)},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ChannelID.Hex()
	unknown := "0x" + strings.Repeat("ab", 32)
	channelsBefore := channelsJSON(t, A)
	// The create's done marks are written first (they ride on the next
	// commit or follow within milliseconds): the dump is then settled.
	if err := A.w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rowsBefore := pgtest.Dump(t, A.store.DB().DB, A.store.Schema())

	cases := []struct {
		what, method, body string
		status, code       int
	}{
		{"malformed JSON", "", `{"jsonrpc":"2.0","id":1,"method":`, http.StatusBadRequest, -32700},
		{"not JSON at all", "", `hello`, http.StatusBadRequest, -32700},
		{"empty batch", "", `[]`, http.StatusOK, -32600},
		{"unknown method", "Nope", `{"jsonrpc":"2.0","id":1,"method":"Nope","params":{}}`, http.StatusOK, -32601},
		{"unknown field", "GetState", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"GetState","params":{"channelId":%q,"extra":1}}`, id), http.StatusOK, -32602},
		{"missing field", "GetState", `{"jsonrpc":"2.0","id":1,"method":"GetState","params":{}}`, http.StatusOK, -32602},
		{"null field", "JoinChannel", `{"jsonrpc":"2.0","id":1,"method":"JoinChannel","params":{"channelId":null}}`, http.StatusOK, -32602},
		{"mistyped field", "CloseChannel", `{"jsonrpc":"2.0","id":1,"method":"CloseChannel","params":{"channelId":7}}`, http.StatusOK, -32602},
		{"short channel id", "CloseChannel", `{"jsonrpc":"2.0","id":1,"method":"CloseChannel","params":{"channelId":"0x12"}}`, http.StatusOK, -32602},
		{"params an array", "GetState", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"GetState","params":[%q]}`, id), http.StatusOK, -32602},
		{"update without appData", "UpdateChannel", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"UpdateChannel","params":{"channelId":%q,"allocations":[]}}`, id), http.StatusOK, -32602},
		{"bad amount", "UpdateChannel", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"UpdateChannel","params":{"channelId":%q,"appData":"0x","allocations":[{"assetHolderAddress":%q,"allocationItems":[{"destination":%q,"amount":"lots"}]}]}}`, id, wd.dev.Deployment.ETHAssetHolder.Hex(), A.dest.Hex()), http.StatusOK, -32602},
		{"create with an unknown field", "CreateChannel", `{"jsonrpc":"2.0","id":1,"method":"CreateChannel","params":{"participants":[],"allocations":[],"appDefinition":"0x0000000000000000000000000000000000000000","appData":"0x","fundingStrategy":"Direct","colour":"red"}}`, http.StatusOK, -32602},
		{"create with an unregistered app", "CreateChannel", createWithApp(A, wd.dev.Deployment.ETHAssetHolder.Hex()), http.StatusOK, app.CodeInvalidAppDefinition},
		{"update an unknown channel", "UpdateChannel", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"UpdateChannel","params":{"channelId":%q,"allocations":[],"appData":"0x"}}`, unknown), http.StatusOK, app.CodeChannelNotFoundUpdate},
		{"close an unknown channel", "CloseChannel", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"CloseChannel","params":{"channelId":%q}}`, unknown), http.StatusOK, app.CodeChannelNotFoundClose},
		{"join an unknown channel", "JoinChannel", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"JoinChannel","params":{"channelId":%q}}`, unknown), http.StatusOK, app.CodeChannelNotFoundJoin},
		{"get an unknown channel", "GetState", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"GetState","params":{"channelId":%q}}`, unknown), http.StatusOK, app.CodeChannelNotFoundGetState},
		{"push garbage", "PushMessage", `{"jsonrpc":"2.0","id":1,"method":"PushMessage","params":{"recipient":"A","sender":"B","data":{"walletVersion":"x","signedStates":[{"nope":1}]}}}`, http.StatusOK, app.CodeWalletError},
		{"push without data", "PushMessage", `{"jsonrpc":"2.0","id":1,"method":"PushMessage","params":{"recipient":"A"}}`, http.StatusOK, -32602},
		{"oversized body", "", `{"jsonrpc":"2.0","id":1,"method":"GetState","params":{"channelId":"` + strings.Repeat("0", limit) + `"}}`, http.StatusRequestEntityTooLarge, -32600},
	}
	hc := A.hs.Client()
	for _, c := range cases {
		status, body := post(t, hc, A.hs.URL, A.token, []byte(c.body))
		if status != c.status {
			t.Fatalf("POST %s: HTTP %d, want %d: %s", c.what, status, c.status, body)
		}
		wantRPCError(t, "POST "+c.what, reply(t, c.method, body), c.code)
	}

	// A batch mixing good and bad calls: one answer per call (none for the
	// notification), each by its id.
	batch := fmt.Sprintf(`[
		{"jsonrpc":"2.0","id":1,"method":"GetWalletInformation","params":{}},
		{"jsonrpc":"2.0","id":2,"method":"Nope","params":{}},
		{"jsonrpc":"2.0","id":3,"method":"GetState","params":{"channelId":%q,"x":1}},
		5,
		{"jsonrpc":"2.0","method":"GetChannels","params":{}},
		{"jsonrpc":"2.0","id":4,"method":"GetState","params":{"channelId":%q}},
		{"jsonrpc":"2.0","id":6,"method":"GetState","params":{"channelId":%q}}]`, id, unknown, id)
	status, body := post(t, hc, A.hs.URL, A.token, []byte(batch))
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); status != http.StatusOK || err != nil || len(raws) != 6 {
		t.Fatalf("batch: HTTP %d, %d answers (%v): %s", status, len(raws), err, body)
	}
	byID := map[string]rpcReply{}
	methodOf := map[string]string{"1": "GetWalletInformation", "2": "Nope", "3": "GetState", "4": "GetState", "6": "GetState", "null": ""}
	for _, raw := range raws {
		var r rpcReply
		_ = json.Unmarshal(raw, &r)
		r = reply(t, methodOf[string(r.ID)], raw)
		byID[string(r.ID)] = r
	}
	if r := byID["1"]; r.Error != nil || !strings.Contains(string(r.Result), A.addr.Hex()[2:10]) && !strings.Contains(strings.ToLower(string(r.Result)), strings.ToLower(A.addr.Hex()[2:10])) {
		t.Fatalf("batch call 1: %+v", r)
	}
	wantRPCError(t, "batch call 2", byID["2"], -32601)
	wantRPCError(t, "batch call 3", byID["3"], -32602)
	// jrpc2 answers a batch member that is no request object with -32700
	// "invalid request value" (the spec's example has -32600).
	wantRPCError(t, "batch member 5", byID["null"], -32700)
	wantRPCError(t, "batch call 4", byID["4"], app.CodeChannelNotFoundGetState)
	if r := byID["6"]; r.Error != nil || !strings.Contains(string(r.Result), id[2:]) {
		t.Fatalf("batch call 6: %+v", r)
	}

	// The same over a WebSocket, on one connection that lives through them.
	ws, _, err := websocket.Dial(ctx, A.wsURL(), &websocket.DialOptions{Subprotocols: []string{"nitrowallet", "bearer." + A.token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(-1)
	for _, c := range cases {
		if err := ws.Write(ctx, websocket.MessageText, []byte(c.body)); err != nil {
			t.Fatalf("WS %s: %v", c.what, err)
		}
		b := readReply(t, ctx, ws)
		wantRPCError(t, "WS "+c.what, reply(t, c.method, b), c.code)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":9,"method":"GetWalletInformation","params":{}}`)); err != nil {
		t.Fatal(err)
	}
	if r := reply(t, "GetWalletInformation", readReply(t, ctx, ws)); r.Error != nil {
		t.Fatalf("a good call after the bad ones: %+v", r.Error)
	}
	// Far over the limit: the connection is ended (close code 1009).
	_ = ws.Write(ctx, websocket.MessageText, []byte(strings.Repeat(" ", 4*limit+1)))
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Fatalf("after a message far over the limit: %v, want close 1009", err)
			}
			break
		}
	}

	if after := channelsJSON(t, A); after != channelsBefore {
		t.Fatalf("bad requests changed the channels:\nbefore %s\nafter  %s", channelsBefore, after)
	}
	if after := pgtest.Dump(t, A.store.DB().DB, A.store.Schema()); !reflect.DeepEqual(after, rowsBefore) {
		t.Fatalf("bad requests changed the store:\nbefore %s\nafter  %s", rowsBefore, after)
	}
}

// readReply reads the next response, skipping notifications.
func readReply(t *testing.T, ctx context.Context, ws *websocket.Conn) []byte {
	t.Helper()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(b, &m) == nil && m.Method != "" {
			continue
		}
		return b
	}
}

func channelsJSON(t *testing.T, n *node) string {
	t.Helper()
	cs, err := n.c.GetChannels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func createWithApp(n *node, holder string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"CreateChannel","params":{"participants":[{"participantId":"A","signingAddress":%q,"destination":%q},{"participantId":"B","signingAddress":"0x00000000000000000000000000000000000000b0","destination":"0x00000000000000000000000000000000000000b0"}],"allocations":[{"assetHolderAddress":%q,"allocationItems":[]}],"appDefinition":"0x00000000000000000000000000000000000000a1","appData":"0x","fundingStrategy":"Direct"}}`,
		n.addr.Hex(), n.dest.Hex(), holder)
}
