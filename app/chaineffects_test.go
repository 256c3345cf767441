package app_test

import (
	"context"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// gatedChain holds the transactions of the kinds it gates until their
// context ends, as a node that never mines them would: those of every
// channel (all), or only those of the first channel that sends one. The
// rest go through.
type gatedChain struct {
	ports.Chain
	deposits, concludes, all bool
	started                  chan nitro.Bytes32 // one per transaction held
	held                     atomic.Int32       // transactions held now
	mu                       sync.Mutex
	first                    *nitro.Bytes32
}

func newGatedChain(deposits, concludes, all bool) *gatedChain {
	return &gatedChain{deposits: deposits, concludes: concludes, all: all, started: make(chan nitro.Bytes32, 64)}
}

// gates reports whether a transaction of channel id is held.
func (c *gatedChain) gates(id nitro.Bytes32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil {
		c.first = &id
	}
	return c.all || *c.first == id
}

// hold waits for ctx to end.
func (c *gatedChain) hold(ctx context.Context, id nitro.Bytes32) (ports.TxHash, error) {
	c.held.Add(1)
	defer c.held.Add(-1)
	c.started <- id
	<-ctx.Done()
	return ports.TxHash{}, ctx.Err()
}

func (c *gatedChain) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	if c.deposits && c.gates(req.ChannelID) {
		return c.hold(ctx, req.ChannelID)
	}
	return c.Chain.Deposit(ctx, req)
}

func (c *gatedChain) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	id, err := req.State.ChannelID()
	if err == nil && c.concludes && c.gates(id) {
		return c.hold(ctx, id)
	}
	return c.Chain.ConcludeAndTransferAll(ctx, req)
}

// waitHeld waits until n transactions have been held, returning their channels.
func (c *gatedChain) waitHeld(t *testing.T, n int, what string) []nitro.Bytes32 {
	t.Helper()
	var ids []nitro.Bytes32
	timeout := time.After(10 * time.Second)
	for len(ids) < n {
		select {
		case id := <-c.started:
			ids = append(ids, id)
		case <-timeout:
			t.Fatalf("%s: %d of %d transactions held after 10 s", what, len(ids), n)
		}
	}
	return ids
}

// propose has A create a channel (5, 3) and B join it; the messages go on
// the bus, which is run until it is empty.
func propose(t testing.TB, e *env, bus *memory.Bus) nitro.Bytes32 {
	t.Helper()
	return proposeWith(t, e, bus, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
}

// proposeWith is propose with A's CreateChannel params.
func proposeWith(t testing.TB, e *env, bus *memory.Bus, params app.CreateChannelParams) nitro.Bytes32 {
	t.Helper()
	A, B := e.parties[0], e.parties[1]
	r, err := A.w.CreateChannel(e.ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	id := r.ChannelResults[0].ChannelID
	bus.Send(envelopes(r)...)
	if _, err := bus.Run(e.ctx); err != nil {
		t.Fatal(err)
	}
	if r, err = B.w.JoinChannel(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	bus.Send(envelopes(r)...)
	if _, err := bus.Run(e.ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

// gatedEnv is A and B on stores of kind k, B's transactions through gate.
func gatedEnv(t *testing.T, k storeKind, gate *gatedChain) *env {
	return newEnvWith(t, 2, withStore(t, k, func(name string, c *app.Config) {
		if name == "B" {
			gate.Chain = c.Chain
			c.Chain = gate
			c.CloseTimeout = 100 * time.Millisecond
		}
	}))
}

func running(c app.ChannelResult) bool { return c.Status == core.StatusRunning }

// TestBlockedDepositStallsNoOtherChannel (issue 19, defect 5): B deposits
// when it sees A's deposit, from the chain follower. B's deposit into the
// first channel never gets a receipt; another event for that channel (a
// stranger's deposit) is applied meanwhile, and ten channels opened after
// it still get B's deposits and run, while that deposit is still held.
// Before, the follower waited for the held deposit before it read the next
// event, and no other channel was funded.
func TestBlockedDepositStallsNoOtherChannel(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		gate := newGatedChain(true, false, false)
		e := gatedEnv(t, k, gate)
		bus := e.connect()
		stuck := propose(t, e, bus)
		if got := gate.waitHeld(t, 1, "B's deposit into the first channel")[0]; got != stuck {
			t.Fatalf("B's held deposit is for %s, want the first channel %s", got, stuck)
		}
		// Another event for the stuck channel comes first: a stranger tops
		// it up by 1 wei. B applies it while its deposit is held.
		stranger := memory.SignerFromSeed("app-test-stranger").Address()
		e.chain.Fund(stranger, big.NewInt(1_000))
		if _, err := e.chain.Account(stranger).Deposit(e.ctx, ports.DepositRequest{ChannelID: stuck, Asset: e.chain.ETHAssetHolder(), ExpectedHeld: big.NewInt(5), Amount: big.NewInt(1)}); err != nil {
			t.Fatal(err)
		}
		var ids []nitro.Bytes32
		for range 10 {
			ids = append(ids, propose(t, e, bus))
		}
		for i, id := range ids {
			e.settle(bus, id, "channel "+string(rune('0'+i))+" running", running)
		}
		if gate.held.Load() != 1 {
			t.Fatalf("%d deposits held once the others run, want B's first still held", gate.held.Load())
		}
		c, err := e.parties[1].w.GetState(e.ctx, stuck)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == core.StatusRunning {
			t.Fatalf("the channel whose deposit is held runs: %+v", c)
		}
	})
}

// TestStuckConcludeStallsNoOtherTick (issue 19, defect 5): B concludes as
// a backup, from its ticker, channels whose final state A never got
// countersigned. B's conclude of the first channel never gets a receipt;
// ten channels closed after it are still concluded by later ticks while it
// is held. Before, the ticker waited for the held conclude inside one
// Tick, and no later tick came.
func TestStuckConcludeStallsNoOtherTick(t *testing.T) {
	clk := &manualClock{now: time.Unix(1_700_000_000, 0)}
	gate := newGatedChain(false, true, false)
	e := newEnvWith(t, 2, func(name string, c *app.Config) {
		c.Clock = clk
		c.BackupConcludeDelay = time.Second
		if name == "B" {
			gate.Chain = c.Chain
			c.Chain = gate
			c.TickInterval = 5 * time.Millisecond
			c.CloseTimeout = 100 * time.Millisecond
		}
	})
	bus := e.connect()
	var ids []nitro.Bytes32
	for range 11 {
		ids = append(ids, propose(t, e, bus))
	}
	for i, id := range ids {
		e.settle(bus, id, "channel "+string(rune('a'+i))+" running", running)
	}
	A := e.parties[0]
	closeLost := func(id nitro.Bytes32) {
		r, err := A.w.CloseChannel(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		e.push(r.Outbox[0]) // B countersigns; its answer is lost
	}
	holds := func(id nitro.Bytes32) int64 { return e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id).Int64() }
	// advanceUntil moves B's clock a second at a time until done holds.
	advanceUntil := func(what string, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s of ticks", what)
			}
			clk.advance(time.Second)
			time.Sleep(20 * time.Millisecond)
		}
	}
	stuck, rest := ids[0], ids[1:]
	closeLost(stuck)
	advanceUntil("B's backup conclude of the first channel", func() bool { return gate.held.Load() == 1 })
	for _, id := range rest {
		closeLost(id)
	}
	advanceUntil("B's backup concludes of the ten others", func() bool {
		for _, id := range rest {
			if holds(id) != 0 {
				return false
			}
		}
		return true
	})
	if gate.held.Load() != 1 || holds(stuck) != 8 {
		t.Fatalf("%d concludes held, first channel holds %d; want its conclude still held and 8", gate.held.Load(), holds(stuck))
	}
}

// TestCrashResumesEffectsOfChainEvents (issue 19, defect 5): B's deposits,
// triggered by A's deposits on chain, are all held at once; B stops (Close)
// while they are held. Close stops them, the store holds each as pending
// after the event that triggered it, and the next start carries them out.
// Before, the follower held one deposit at a time: the others were never
// in flight together.
func TestCrashResumesEffectsOfChainEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		gate := newGatedChain(true, false, true)
		e := gatedEnv(t, k, gate)
		B := e.parties[1]
		bus := e.connect()
		var ids []nitro.Bytes32
		for range 3 {
			ids = append(ids, propose(t, e, bus))
		}
		gate.waitHeld(t, 3, "B's deposits into three channels, together")
		if err := B.w.Close(); err != nil {
			t.Fatal(err)
		}
		if n := gate.held.Load(); n != 0 {
			t.Fatalf("%d deposits still held after Close returned", n)
		}
		pending, err := B.store.Pending(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		deposits := map[nitro.Bytes32]bool{}
		for _, p := range pending {
			if _, ok := p.Effect.(core.Deposit); ok {
				deposits[p.ChannelID] = true
			}
		}
		for i, id := range ids {
			if !deposits[id] {
				t.Errorf("after Close, no pending deposit into channel %d (pending %+v)", i, pending)
			}
		}
		w, err := app.New(e.ctx, app.Config{Signer: B.signer, Store: B.store, Chain: gate.Chain, TickInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		deadline := time.Now().Add(10 * time.Second)
		for _, id := range ids {
			for e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id).Int64() < 8 {
				if time.Now().After(deadline) {
					t.Fatalf("after the restart channel %s holds %v, want 8", id, e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})
}
