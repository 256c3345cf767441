package server_test

import (
	"context"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server"
)

// TestRateLimit: calls beyond the burst are refused with -32005, on POST
// with HTTP 429 (a batch takes one token per call), on the WebSocket per
// call; refused calls do nothing.
func TestRateLimit(t *testing.T) {
	n := newLight(t, false, func(c *server.Config, _ *app.Wallet) { c.RatePerSecond, c.Burst = 0.001, 3 })
	hc := n.hs.Client()
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"GetChannels","params":{}}`)
	batch := []byte(`[{"jsonrpc":"2.0","id":1,"method":"GetChannels","params":{}},{"jsonrpc":"2.0","id":2,"method":"GetChannels","params":{}}]`)
	if st, b := post(t, hc, n.hs.URL, "secret-token", batch); st != http.StatusOK {
		t.Fatalf("first batch of 2 (burst 3): HTTP %d %s", st, b)
	}
	if st, b := post(t, hc, n.hs.URL, "secret-token", batch); st != http.StatusTooManyRequests {
		t.Fatalf("second batch of 2 (1 token left): HTTP %d %s, want 429", st, b)
	} else {
		wantRPCError(t, "rate-limited batch", reply(t, "", b), server.CodeRateLimited)
	}
	if st, b := post(t, hc, n.hs.URL, "secret-token", call); st != http.StatusOK {
		t.Fatalf("single call on the last token: HTTP %d %s", st, b)
	}
	st, b := post(t, hc, n.hs.URL, "secret-token", call)
	if st != http.StatusTooManyRequests {
		t.Fatalf("call beyond the burst: HTTP %d %s, want 429", st, b)
	}
	wantRPCError(t, "rate-limited call", reply(t, "GetChannels", b), server.CodeRateLimited)

	c, err := client.Dial(context.Background(), n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.GetChannels(context.Background())
	wantCode(t, "WebSocket call beyond the burst", err, server.CodeRateLimited, nil)
}

// TestSlowClientDoesNotStall: a WebSocket client that never reads (with a
// tiny receive buffer) holds up neither the wallet's calls nor another
// client's notifications: its queue overflows, it is dropped, and the
// other client gets every notification.
func TestSlowClientDoesNotStall(t *testing.T) {
	n := newLight(t, false, func(c *server.Config, _ *app.Wallet) {
		// The queue holds every notification the calls below make (about two
		// each), so the reading client is never dropped however late its
		// pump runs on a loaded machine; the stalled one is dropped when a
		// write to it times out.
		c.NotificationQueue, c.WriteTimeout = 1024, 500*time.Millisecond
	})
	ctx := context.Background()
	url := stalledSession(t, n)
	fast, err := client.Dial(ctx, url, "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	waitSubscribers(t, n.srv, 2)
	// Each CreateChannel queues a proposal for the peer: one MessageQueued
	// notification of about 1.5 kB to every connection.
	const calls = 300
	peer := mustKey(t, "slow-client-peer")
	me := n.w.Address()
	params := app.CreateChannelParams{
		Participants: []app.Participant{
			{ParticipantID: "me", SigningAddress: me, Destination: nitro.AddressToDestination(me)},
			{ParticipantID: "peer", SigningAddress: addrOf(peer), Destination: nitro.AddressToDestination(addrOf(peer))},
		},
		Allocations: []app.Allocation{{AssetHolderAddress: n.chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
			{Destination: nitro.AddressToDestination(me), Amount: big.NewInt(1)},
		}}},
	}
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for x := range fast.Notifications() {
			if x.Method == server.NoteMessageQueued {
				if got++; got == calls {
					return
				}
			}
		}
	}()
	for i := 0; i < calls; i++ {
		if _, err := fast.CreateChannel(ctx, params); err != nil {
			t.Fatalf("call %d with a stalled client connected: %v", i, err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the reading client got %d of %d notifications", got, calls)
	}
	waitSubscribers(t, n.srv, 1) // the stalled client is dropped
}

// waitSubscribers waits until the server counts want WebSocket sessions
// (a session is counted once the server has accepted it, just after the
// client's dial returns).
func waitSubscribers(t *testing.T, s *server.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Subscribers() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d WebSocket sessions, want %d", s.Subscribers(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stalledSession serves n over a slow network, small socket buffers on the
// server's side, and opens a session that never reads (its socket's
// receive buffer 1 kB), so that the server's writes to it stall after a
// few kilobytes; it returns the API's URL on that server.
func stalledSession(t *testing.T, n *lightNode) string {
	t.Helper()
	hs := httptest.NewUnstartedServer(n.srv.Handler())
	hs.Listener = smallBuffers{hs.Listener}
	hs.Start()
	t.Cleanup(hs.Close)
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/api"
	tiny := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		return errors.Join(err, serr)
	}}).DialContext}}
	stalled, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPClient: tiny, Subprotocols: []string{"nitrowallet", "bearer.secret-token"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stalled.CloseNow() }) // never read
	return url
}

// smallBuffers gives every accepted connection a 4 kB send buffer.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}
