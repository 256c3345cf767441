package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server"
)

// TestMessagesHeldUntilASessionOpens: the messages for peers a wallet
// queues while no session takes notifications (here only a quiet one is
// open) go to the next session that does, in order and before anything
// else; beyond the queue's room the oldest are dropped, and that session
// is told how many with NotificationsDropped first.
func TestMessagesHeldUntilASessionOpens(t *testing.T) {
	ctx := context.Background()
	const queue = 3 // room for NotificationsDropped and two messages
	n := newLight(t, false, func(c *server.Config, _ *app.Wallet) { c.NotificationQueue = queue })
	p := newProposer(t, n, n.wsURL(), "held")
	var ids []string // each channel's peer, the recipient of its proposal
	create := func() { t.Helper(); ids = append(ids, p.propose(1)...) }
	next := func(c *client.Client) client.Notification { t.Helper(); return nextHeld(t, c) }
	// One message held, handed to the first session.
	create()
	first, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	if got := next(first); got.Method != server.NoteMessageQueued || got.Message.Recipient != ids[0] {
		t.Fatalf("the first session's first notification: %s to %q, want the held MessageQueued to %s", got.Method, got.Message.Recipient, ids[0])
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitSubscribers(t, n.srv, 1) // only the quiet one
	// Three held with room for two: the oldest is dropped and counted.
	create()
	create()
	create()
	second, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	got := next(second)
	var d server.Dropped
	if got.Method != server.NoteNotificationsDropped || json.Unmarshal(got.Params, &d) != nil || d.Dropped != 1 {
		t.Fatalf("the second session's first notification: %s %s, want NotificationsDropped of 1", got.Method, got.Params)
	}
	for _, id := range ids[2:] {
		if got := next(second); got.Method != server.NoteMessageQueued || got.Message.Recipient != id {
			t.Fatalf("the second session got %s to %q, want the held MessageQueued to %s", got.Method, got.Message.Recipient, id)
		}
	}
	// Nothing held once a session takes notifications: a third session
	// opened now gets no message of the earlier ones (the wallet's own
	// channel notifications may come).
	third, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	quietFor := time.After(300 * time.Millisecond)
	for done := false; !done; {
		select {
		case got := <-third.Notifications():
			if got.Method == server.NoteMessageQueued || got.Method == server.NoteNotificationsDropped {
				t.Fatalf("a session opened after the held messages went out got %s to %q", got.Method, got.Message.Recipient)
			}
		case <-quietFor:
			done = true
		}
	}
}

// TestNotificationsArriveInOrder: the client hands a session's
// notifications over in the order the server wrote them (jrpc2's client
// reads each message into a goroutine of its own, which reordered them):
// forty messages held while no session was open arrive in the order they
// were queued.
func TestNotificationsArriveInOrder(t *testing.T) {
	ctx := context.Background()
	n := newLight(t, false, nil)
	p := newProposer(t, n, n.wsURL(), "ordered")
	peers := p.propose(40)
	c, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, want := range peers {
		if got := nextHeld(t, c); got.Method != server.NoteMessageQueued || got.Message.Recipient != want {
			t.Fatalf("notification %d: %s to %q, want MessageQueued to %s", i, got.Method, got.Message.Recipient, want)
		}
	}
}

// TestMessagesOfAnEndedSessionHeld: a session that ends with messages
// queued and not written (here a client that never reads, dropped when a
// write to it times out) gives them back when no other session takes
// notifications: the next session gets them, in order, with those queued
// since. Only the few written into the dead connection's socket buffers
// before it stalled are its loss.
func TestMessagesOfAnEndedSessionHeld(t *testing.T) {
	const calls = 100
	c, peers := proposedPastAStalledSession(t, func(c *server.Config) { c.WriteTimeout = 300 * time.Millisecond }, "ended", calls)
	var got []string
	for len(got) == 0 || got[len(got)-1] != peers[calls-1] {
		x := nextHeld(t, c)
		if x.Method != server.NoteMessageQueued {
			t.Fatalf("the new session got %s after %d messages (%v), want only the held MessageQueued", x.Method, len(got), got)
		}
		got = append(got, x.Message.Recipient)
	}
	// A run of the queued messages, in order, up to the last: at most the
	// few the stalled connection's buffers took are missing.
	start := calls - len(got)
	if start < 0 || start > 10 {
		t.Fatalf("the new session got %d of %d messages", len(got), calls)
	}
	for i, r := range got {
		if r != peers[start+i] {
			t.Fatalf("message %d of the new session goes to %s, want %s (in order from %s)", i, r, peers[start+i], peers[start])
		}
	}
	t.Logf("%d of %d messages held for the new session (%d written to the stalled connection)", len(got), calls, start)
}

// TestMessageOfASlowSessionHeld: the only session that takes
// notifications lets its queue fill (it never reads) and is dropped by the
// broadcast that finds it full; what it did not write and what is queued
// since are held, within the held messages' room: the next session is
// told how many were dropped for room, then gets the newest, in order.
func TestMessageOfASlowSessionHeld(t *testing.T) {
	const queue, calls = 4, 20
	c, peers := proposedPastAStalledSession(t, func(c *server.Config) { c.NotificationQueue, c.WriteTimeout = queue, time.Minute }, "slow", calls)
	next := func() client.Notification { t.Helper(); return nextHeld(t, c) }
	var d server.Dropped
	if x := next(); x.Method != server.NoteNotificationsDropped || json.Unmarshal(x.Params, &d) != nil || d.Dropped == 0 {
		t.Fatalf("the new session's first notification: %s %s, want NotificationsDropped", x.Method, x.Params)
	}
	for _, want := range peers[calls-(queue-1):] {
		if x := next(); x.Method != server.NoteMessageQueued || x.Message.Recipient != want {
			t.Fatalf("the new session got %s to %q, want the held MessageQueued to %s", x.Method, x.Message.Recipient, want)
		}
	}
}

// TestHeldMessagesBoundedInBytes: the held messages stay within
// Config.HeldBytes (a peer's requests can make the wallet answer with
// large states): of five messages of about 2 kB held within 5 kB, the
// newest that fit are handed over, after a NotificationsDropped counting
// the others.
func TestHeldMessagesBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	const limit = 5000
	n := newLight(t, false, func(c *server.Config, _ *app.Wallet) { c.HeldBytes = limit })
	p := newProposer(t, n, n.wsURL(), "bytes")
	const calls = 5
	peers := p.propose(calls)
	c, err := client.Dial(ctx, n.wsURL(), "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []client.Notification
	for len(got) == 0 || got[len(got)-1].Message.Recipient != peers[calls-1] {
		got = append(got, nextHeld(t, c))
	}
	var d server.Dropped
	if got[0].Method != server.NoteNotificationsDropped || json.Unmarshal(got[0].Params, &d) != nil {
		t.Fatalf("first notification %s %s, want NotificationsDropped", got[0].Method, got[0].Params)
	}
	held := got[1:]
	size := 0
	for i, x := range held {
		size += len(x.Params)
		if want := peers[calls-len(held)+i]; x.Method != server.NoteMessageQueued || x.Message.Recipient != want {
			t.Fatalf("held message %d: %s to %q, want MessageQueued to %s", i, x.Method, x.Message.Recipient, want)
		}
	}
	if len(held) == calls || int(d.Dropped)+len(held) != calls || size > limit+len(held) {
		t.Fatalf("%d held (%d bytes) and %d dropped of %d messages, want at most %d bytes held and the rest counted", len(held), size, d.Dropped, calls, limit)
	}
	t.Logf("%d messages held in %d bytes, %d dropped", len(held), size, d.Dropped)
}

// nextHeld returns c's next MessageQueued or NotificationsDropped (what
// the held messages are handed over as), skipping the wallet's channel
// notifications, which its feed broadcasts to whatever session is open
// when they come.
func nextHeld(t *testing.T, c *client.Client) client.Notification {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case x := <-c.Notifications():
			if x.Method == server.NoteMessageQueued || x.Method == server.NoteNotificationsDropped {
				return x
			}
		case <-timeout:
			t.Fatal("no MessageQueued or NotificationsDropped notification")
			return client.Notification{}
		}
	}
}

// proposer creates channels on a light node through a quiet session (it
// takes no notifications), each with a new peer, whose proposal the
// wallet queues as a MessageQueued to that peer.
type proposer struct {
	t     *testing.T
	n     *lightNode
	c     *client.Client
	seed  string
	count int
}

// proposedPastAStalledSession starts a node configured by cfg with a
// session that never reads (stalledSession), makes calls proposals from a
// quiet session (seeded by name) until the stalled session is dropped,
// and returns a new session, closed at the test's end, with the proposals'
// recipients in order.
func proposedPastAStalledSession(t *testing.T, cfg func(*server.Config), name string, calls int) (*client.Client, []string) {
	t.Helper()
	n := newLight(t, false, func(c *server.Config, _ *app.Wallet) { cfg(c) })
	url := stalledSession(t, n)
	p := newProposer(t, n, url, name)
	waitSubscribers(t, n.srv, 2)
	peers := p.propose(calls)
	waitSubscribers(t, n.srv, 1) // the stalled session is dropped
	c, err := client.Dial(context.Background(), url, "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, peers
}

// newProposer opens the quiet session on url (the node's API).
func newProposer(t *testing.T, n *lightNode, url, seed string) *proposer {
	t.Helper()
	c, err := client.DialWith(context.Background(), url, "secret-token", client.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &proposer{t: t, n: n, c: c, seed: seed}
}

// propose creates k channels, with peers peer-0, peer-1, ... counted over
// the proposer's life, and returns those peers' names in order.
func (p *proposer) propose(k int) []string {
	p.t.Helper()
	me := app.Participant{ParticipantID: "a", SigningAddress: p.n.w.Address(), Destination: nitro.AddressToDestination(p.n.w.Address())}
	var peers []string
	for range k {
		name := fmt.Sprintf("peer-%d", p.count)
		p.count++
		peer := memory.SignerFromSeed(p.seed + "-" + name)
		them := app.Participant{ParticipantID: name, SigningAddress: peer.Address(), Destination: nitro.AddressToDestination(peer.Address())}
		if _, err := p.c.CreateChannel(context.Background(), app.CreateChannelParams{Participants: []app.Participant{me, them}, Allocations: []app.Allocation{{
			AssetHolderAddress: p.n.chain.ETHAssetHolder(),
			AllocationItems:    []app.AllocationItem{{Destination: me.Destination, Amount: big.NewInt(5)}, {Destination: them.Destination, Amount: big.NewInt(3)}},
		}}}); err != nil {
			p.t.Fatal(err)
		}
		peers = append(peers, name)
	}
	return peers
}
