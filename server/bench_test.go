package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// BenchmarkGetStateWebSocket measures one GetState round trip through the
// Go client over a WebSocket on loopback (memory store).
func BenchmarkGetStateWebSocket(b *testing.B) {
	n, id := benchNode(b)
	ctx := context.Background()
	c, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.GetState(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetStatePOST is the same call as one HTTP POST each.
func BenchmarkGetStatePOST(b *testing.B) {
	n, id := benchNode(b)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"GetState","params":{"channelId":"` + id.Hex() + `"}}`)
	hc := n.hs.Client()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, n.hs.URL+"/api", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer secret-token")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
}

// BenchmarkGetStateInProcess is the same call on the wallet, for scale.
func BenchmarkGetStateInProcess(b *testing.B) {
	n, id := benchNode(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.w.GetState(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

func benchNode(b *testing.B) (*lightNode, nitro.Bytes32) {
	n := newLight(b, false, nil)
	me := n.w.Address()
	peer := nitro.Address{0xbe}
	r, err := n.w.CreateChannel(context.Background(), app.CreateChannelParams{
		Participants: []app.Participant{
			{ParticipantID: "me", SigningAddress: me, Destination: nitro.AddressToDestination(me)},
			{ParticipantID: "peer", SigningAddress: peer, Destination: nitro.AddressToDestination(peer)},
		},
		Allocations: []app.Allocation{{AssetHolderAddress: n.chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return n, r.ChannelResults[0].ChannelID
}
