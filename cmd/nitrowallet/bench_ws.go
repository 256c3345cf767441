package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/client"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/server"
)

// benchWSPair is wallets A and B on the memory chain and store, each behind
// its own server.Server on a loopback listener, used only through the
// JSON-RPC API over WebSocket, as a backend in another language would use
// `nitrowallet serve`: one session per server carries the calls, and a
// relay per session hands each MessageQueued notification to the other
// server's PushMessage. It tracks the channel results both servers notify.
type benchWSPair struct {
	ctx     context.Context
	chain   benchChain
	parties []*benchParty
	clients []*client.Client   // per party: the session taking the notifications
	calls   [][]*client.Client // per party: quiet sessions the calls are spread over
	next    atomic.Uint64      // round robin over calls
	closers []func()

	chans    sync.Map // nitro.Bytes32 → *benchWSChannel
	failOnce sync.Once
	failed   chan struct{} // closed by fail
	err      error         // set before failed is closed
}

// benchWSChannel is what the servers notified of one channel, with the
// updates made on it. Its waiters wake on changed, which a notification
// closes and replaces: each update wakes only its own channel's waiter.
type benchWSChannel struct {
	mu      sync.Mutex
	results [2]*app.ChannelResult // per party, the newest turn notified
	changed chan struct{}
	turns   atomic.Int64 // updates made
}

// channel returns the record of id, made on first use.
func (p *benchWSPair) channel(id nitro.Bytes32) *benchWSChannel {
	if c, ok := p.chans.Load(id); ok {
		return c.(*benchWSChannel)
	}
	c, _ := p.chans.LoadOrStore(id, &benchWSChannel{changed: make(chan struct{})})
	return c.(*benchWSChannel)
}

// benchWSToken is the servers' bearer token (loopback only).
const benchWSToken = "nitrowallet-bench-token"

// newBenchWSPair starts the wallets, their servers and a session with each.
func newBenchWSPair(ctx context.Context) (*benchWSPair, error) {
	p := &benchWSPair{ctx: ctx, chain: newBenchMemoryChain(), failed: make(chan struct{})}
	for _, name := range []string{"A", "B"} {
		party, closers, err := newBenchParty(ctx, p.chain, "memory", name)
		p.closers = append(p.closers, closers...)
		if err != nil {
			p.close()
			return nil, err
		}
		srv, err := server.New(party.w, server.Config{Token: benchWSToken, RatePerSecond: 1e9, Burst: 1 << 30})
		if err != nil {
			p.close()
			return nil, err
		}
		hs := httptest.NewServer(srv.Handler())
		p.closers = append(p.closers, func() { hs.Close(); _ = srv.Close() })
		c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api", benchWSToken)
		if err != nil {
			p.close()
			return nil, err
		}
		p.closers = append(p.closers, func() { _ = c.Close() })
		var calls []*client.Client
		for range benchWSCallSessions {
			q, err := client.DialWith(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api", benchWSToken, client.Options{Quiet: true})
			if err != nil {
				p.close()
				return nil, err
			}
			p.closers = append(p.closers, func() { _ = q.Close() })
			calls = append(calls, q)
		}
		p.parties = append(p.parties, party)
		p.clients = append(p.clients, c)
		p.calls = append(p.calls, calls)
	}
	for i, c := range p.clients {
		// Messages are relayed by benchWSRelays goroutines: a channel has
		// one update in flight at a time, so concurrent pushes never
		// reorder one channel's messages.
		relay := make(chan app.Message, 1024)
		var wg sync.WaitGroup
		for range benchWSRelays {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := range relay {
					p.relay(m)
				}
			}()
		}
		go func() {
			defer close(relay)
			for n := range c.Notifications() {
				if n.Method == "MessageQueued" {
					relay <- n.Message
					continue
				}
				p.note(i, n)
			}
		}()
		// The session's close (above) ends the notifications, then the relays.
		p.closers = append(p.closers, func() { _ = c.Close(); wg.Wait() })
	}
	return p, nil
}

// close ends the sessions, the servers and the wallets, in reverse order.
func (p *benchWSPair) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// benchWSRelays is how many goroutines relay each server's messages.
const benchWSRelays = 16

// benchWSCallSessions is how many quiet sessions (no notifications) each
// server's calls are spread over: one session's calls share its
// connection and its jrpc2 client's lock.
const benchWSCallSessions = 8

// caller returns the next call session of party i.
func (p *benchWSPair) caller(i int) *client.Client {
	return p.calls[i][p.next.Add(1)%uint64(len(p.calls[i]))]
}

// relay pushes a message queued by one server to its recipient's server.
func (p *benchWSPair) relay(m app.Message) {
	to := p.index(m.Recipient)
	if to < 0 {
		p.fail(fmt.Errorf("bench: no server for recipient %q", m.Recipient))
		return
	}
	if err := p.caller(to).PushMessage(p.ctx, m); err != nil && !errors.Is(err, context.Canceled) {
		p.fail(fmt.Errorf("bench: push to %s: %w", m.Recipient, err))
	}
}

// note records a channel result notified by party i's server.
func (p *benchWSPair) note(i int, n client.Notification) {
	switch n.Method {
	case "ChannelProposed", "ChannelUpdated", "ChannelClosed":
		c := p.channel(n.Channel.ChannelID)
		r := n.Channel
		c.mu.Lock()
		if old := c.results[i]; old == nil || r.TurnNum >= old.TurnNum {
			c.results[i] = &r
			close(c.changed)
			c.changed = make(chan struct{})
		}
		c.mu.Unlock()
	}
}

func (p *benchWSPair) index(name string) int {
	for i, q := range p.parties {
		if q.name == name {
			return i
		}
	}
	return -1
}

func (p *benchWSPair) fail(err error) {
	p.failOnce.Do(func() {
		p.err = err
		close(p.failed)
	})
}

// failure returns the first failure, if any.
func (p *benchWSPair) failure() error {
	select {
	case <-p.failed:
		return p.err
	default:
		return nil
	}
}

// wait blocks until cond holds for channel id on the given parties' servers.
func (p *benchWSPair) wait(id nitro.Bytes32, timeout time.Duration, cond func(app.ChannelResult) bool, parties ...int) error {
	c := p.channel(id)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ok := true
		for _, i := range parties {
			if r := c.results[i]; r == nil || !cond(*r) {
				ok = false
			}
		}
		changed, a, b := c.changed, c.results[0], c.results[1]
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-p.failed:
			return p.err
		case <-timer.C:
			return fmt.Errorf("bench: channel %s: timed out after %v over WebSocket (A: %s, B: %s)", id, timeout, benchWSShow(a), benchWSShow(b))
		}
	}
}

// benchWSShow names a notified result's status and turn.
func benchWSShow(r *app.ChannelResult) string {
	if r == nil {
		return "nothing notified"
	}
	return fmt.Sprintf("%s turn %d", r.Status, r.TurnNum)
}

// allocation is A's and B's share of the channel's 8 wei.
func (p *benchWSPair) allocation(a, b int64) []app.Allocation {
	return benchAllocation(p.chain.asset(), p.parties, a, b)
}

// open creates n channels from A over the API, has B join each once its
// server notified the proposal, and waits until both servers report them
// running.
func (p *benchWSPair) open(n int) ([]nitro.Bytes32, error) {
	A, B := p.parties[0], p.parties[1]
	ids := make([]nitro.Bytes32, 0, n)
	for i := 0; i < n; i++ {
		r, err := p.clients[0].CreateChannel(p.ctx, app.CreateChannelParams{Participants: []app.Participant{A.me, B.me}, Allocations: p.allocation(5, 3)})
		if err != nil {
			return nil, err
		}
		if err := p.wait(r.ChannelID, time.Minute, func(app.ChannelResult) bool { return true }, 1); err != nil {
			return nil, err
		}
		if _, err := p.clients[1].JoinChannel(p.ctx, r.ChannelID); err != nil {
			return nil, err
		}
		ids = append(ids, r.ChannelID)
	}
	for _, id := range ids {
		if err := p.wait(id, time.Minute, func(r app.ChannelResult) bool { return r.Status == core.StatusRunning }, 0, 1); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// update makes one off-chain update over the API: the next mover's server
// signs (UpdateChannel), and the update counts once the other server has
// notified the new turn (the relay pushed it there). Movers alternate, A
// first, each paying the other 1 wei.
func (p *benchWSPair) update(id nitro.Bytes32) error {
	turns := &p.channel(id).turns
	k := turns.Load()
	mover := int(k % 2)
	r, err := p.caller(mover).UpdateChannel(p.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: p.allocation(4+k%2, 4-k%2)})
	if err != nil {
		return err
	}
	turn := r.TurnNum
	if err := p.wait(id, time.Minute, func(c app.ChannelResult) bool { return c.TurnNum >= turn }, 1-mover); err != nil {
		return err
	}
	turns.Add(1)
	return nil
}

// updatesWorkload updates the channels concurrently over the API, one
// goroutine per channel, logging each update's latency (from the mover's
// call to the receiver's server notifying the new turn).
func (p *benchWSPair) updatesWorkload(ids []nitro.Bytes32) benchWorkload {
	return benchLoops(len(ids), false, func(g int) func(int) error {
		return func(int) error { return p.update(ids[g]) }
	}, p.failure)
}

// benchWSUpdates measures n channels updated in parallel over WebSocket
// between two servers on loopback, each repetition paired with a run of
// the same n channels between two wallets in process (benchPair on the
// memory store): the row's "ceiling" is the in-process figure of the same
// run, and its ratio what the API costs.
func benchWSUpdates(ctx context.Context, o benchOptions, n int) (rows, ceils []benchSample, err error) {
	ws, err := newBenchWSPair(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer ws.close()
	wsIDs, err := ws.open(n)
	if err != nil {
		return nil, nil, err
	}
	in, err := newBenchPair(ctx, newBenchMemoryChain(), "memory")
	if err != nil {
		return nil, nil, err
	}
	defer in.close()
	inIDs, err := in.open(n)
	if err != nil {
		return nil, nil, err
	}
	return benchMeasure(ctx, o, ws.updatesWorkload(wsIDs), in.updatesWorkload(inIDs, 0, false))
}
