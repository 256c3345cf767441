package app_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// getChannels is a message from sender to B with n GetChannel requests,
// cycling through ids.
func getChannels(sender string, n int, ids ...nitro.Bytes32) core.Message {
	m := core.Message{Recipient: "B", Sender: sender}
	for i := 0; i < n; i++ {
		m.Payload.Requests = append(m.Payload.Requests, core.Request{Type: core.RequestGetChannel, ChannelID: ids[i%len(ids)]})
	}
	return m
}

func outboxBytes(r app.Result) int {
	n := 0
	for _, m := range r.Outbox {
		n += len(m.Data)
	}
	return n
}

// replyStates decodes the replies of a result and returns how many states
// each channel got.
func replyStates(t *testing.T, r app.Result) map[nitro.Bytes32]int {
	t.Helper()
	got := map[nitro.Bytes32]int{}
	for _, m := range r.Outbox {
		msg, err := wire.DecodeMessage(m.Data, wire.DefaultLimits())
		if err != nil {
			t.Fatalf("reply does not decode with the default limits: %v", err)
		}
		for _, s := range msg.Payload.SignedStates {
			id, err := s.State.ChannelID()
			if err != nil {
				t.Fatal(err)
			}
			got[id]++
		}
	}
	return got
}

// TestGetChannelFromStrangers: a GetChannel request whose sender is not a
// participant other than the wallet (a stranger, or the wallet's own
// participantId) is answered with nothing and changes nothing stored, alone
// or 1,024 times in one message; it is counted.
func TestGetChannelFromStrangers(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e, id := openRunningWith(t, withStore(t, k, nil))
		B := e.parties[1]
		for _, sender := range []string{"mallory", "B"} {
			for _, n := range []int{1, 1024} {
				t.Run(fmt.Sprintf("%s x%d", sender, n), func(t *testing.T) {
					before, stats := e.snap(B), B.w.Stats()
					r, err := B.w.PushMessage(e.ctx, encode(t, getChannels(sender, n, id)))
					if err != nil {
						t.Fatalf("a stranger's request is ignored, not refused: %v", err)
					}
					if len(r.Outbox) != 0 || len(r.ChannelResults) != 0 {
						t.Fatalf("stranger got %d messages (%d bytes), %d results", len(r.Outbox), outboxBytes(r), len(r.ChannelResults))
					}
					if !reflect.DeepEqual(before, e.snap(B)) {
						t.Fatal("stored state changed")
					}
					if got := B.w.Stats().RequestsIgnored - stats.RequestsIgnored; got != 1 {
						t.Fatalf("RequestsIgnored grew by %d, want 1", got)
					}
				})
			}
		}
	})
}

// TestGetChannelFlood: the message (1,024 GetChannel requests from a
// participant in about 105 KB) is answered once, within a peer's receive
// limit; a stream of such messages makes the wallet send at most the
// sender's budget (PeerBurst, then PeerRate per second), and strangers
// inventing names get nothing.
func TestGetChannelFlood(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		clk := newManualClock()
		limits := app.RequestLimits{PeerBurst: 48 << 10, PeerRate: 12 << 10}
		e, id := openRunningWith(t, withStore(t, k, func(name string, c *app.Config) {
			if name == "B" {
				c.Clock, c.Requests = clk, limits
			}
		}))
		B := e.parties[1]
		push := func(m core.Message) app.Result {
			t.Helper()
			r, err := B.w.PushMessage(e.ctx, encode(t, m))
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		data := encode(t, getChannels("A", 1024, id))
		if len(data) < 100_000 {
			t.Fatalf("the flood message has %d bytes", len(data))
		}
		r := push(getChannels("A", 1024, id))
		reply := outboxBytes(r)
		if len(r.Outbox) != 1 || r.Outbox[0].Recipient != "A" || reply > wire.DefaultLimits().MaxMessageBytes || reply > limits.PeerBurst {
			t.Fatalf("1,024 requests: %d messages, %d bytes", len(r.Outbox), reply)
		}
		if got := replyStates(t, r)[id]; got == 0 {
			t.Fatal("the participant's request got no states")
		}
		emitted := reply
		for i := 0; i < 200; i++ {
			emitted += outboxBytes(push(getChannels("A", 1+i%3, id)))
		}
		if emitted > limits.PeerBurst+reply || emitted < limits.PeerBurst-reply {
			t.Fatalf("A's requests made B send %d bytes, want about its budget of %d (a reply is %d)", emitted, limits.PeerBurst, reply)
		}
		if B.w.Stats().RequestsOverBudget == 0 {
			t.Fatal("no request counted as over budget")
		}
		// A second later the budget has regained PeerRate bytes.
		clk.advance(time.Second)
		emitted = 0
		for i := 0; i < 100; i++ {
			emitted += outboxBytes(push(getChannels("A", 1, id)))
		}
		if emitted < reply || emitted > limits.PeerRate+reply {
			t.Fatalf("a second later: %d bytes sent, want at most %d", emitted, limits.PeerRate+reply)
		}
		// Strangers inventing names get nothing.
		before := e.snap(B)
		for i := 0; i < 300; i++ {
			if n := outboxBytes(push(getChannels(fmt.Sprintf("mallory-%d", i), 4, id))); n != 0 {
				t.Fatalf("stranger %d got %d bytes", i, n)
			}
		}
		if !reflect.DeepEqual(before, e.snap(B)) {
			t.Fatal("strangers' requests changed the store")
		}
	})
}

// openThree opens three running channels between A and B with the given
// config hook.
func openThree(t *testing.T, with func(name string, c *app.Config)) (*env, []nitro.Bytes32) {
	t.Helper()
	e, first := openRunningWith(t, with)
	ids := []nitro.Bytes32{first}
	bus := e.connect()
	for len(ids) < 3 {
		ids = append(ids, e.openChannels(bus, 1, 5, 3)...)
	}
	return e, ids
}

// TestGetChannelPerMessage: one message is answered for at most PerMessage
// channels, and its replies together fit in what a peer may receive in one
// message (taken to be the wallet's own Limits); the rest is counted.
func TestGetChannelPerMessage(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		for _, tc := range []struct {
			name     string
			perMsg   int
			maxBytes int
			answered int
		}{
			{"PerMessage 2", 2, 0, 2},
			{"room for one reply and a half", 0, 7200, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				lim := wire.DefaultLimits()
				if tc.maxBytes > 0 {
					lim.MaxMessageBytes = tc.maxBytes
				}
				e, ids := openThree(t, withStore(t, k, func(name string, c *app.Config) {
					if name == "B" {
						c.Requests.PerMessage, c.Limits = tc.perMsg, lim
					}
				}))
				B := e.parties[1]
				n := 1024
				if tc.maxBytes > 0 {
					n = 3 // the flood itself would exceed the limit
				}
				stats := B.w.Stats()
				r, err := B.w.PushMessage(e.ctx, encode(t, getChannels("A", n, ids...)))
				if err != nil {
					t.Fatal(err)
				}
				got := replyStates(t, r)
				if len(got) != tc.answered {
					t.Fatalf("replies for %d channels (%v), want %d", len(got), got, tc.answered)
				}
				for _, id := range ids[:tc.answered] {
					if got[id] == 0 {
						t.Fatalf("channel %s not answered", id)
					}
				}
				if tc.maxBytes > 0 && outboxBytes(r) > tc.maxBytes {
					t.Fatalf("replies of %d bytes exceed the peer's limit of %d", outboxBytes(r), tc.maxBytes)
				}
				if d := B.w.Stats().RequestsOverMessage - stats.RequestsOverMessage; d != uint64(3-tc.answered) {
					t.Fatalf("RequestsOverMessage grew by %d, want %d", d, 3-tc.answered)
				}
			})
		}
	})
}
