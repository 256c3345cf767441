package app_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/testwallets"
	"github.com/nitrowallet/nitrowallet/ports"
)

// party is one server application with its wallet.
type party struct {
	name   string
	w      *app.Wallet
	store  ports.Store
	notes  <-chan app.Notification
	dest   nitro.Address
	signer *memory.Signer
}

// env is a set of wallets sharing one in-memory chain.
type env struct {
	t       testing.TB
	ctx     context.Context
	chain   *memory.Chain
	parties []*party
}

func newEnv(t testing.TB, n int) *env { return newEnvWith(t, n, nil) }

// newEnvWith is newEnv with each wallet's config passed through with (when
// not nil) before the wallet is made.
func newEnvWith(t testing.TB, n int, with func(name string, c *app.Config)) *env {
	t.Helper()
	return newEnvOn(t, n, memory.NewChain(big.NewInt(1337)), with)
}

// newEnvOn is newEnvWith on the given chain.
func newEnvOn(t testing.TB, n int, chain *memory.Chain, with func(name string, c *app.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, chain: chain}
	for i := 0; i < n; i++ {
		name := string(rune('A' + i))
		s := memory.SignerFromSeed("app-test-" + name)
		e.chain.Fund(s.Address(), big.NewInt(1_000_000))
		cfg := app.Config{Signer: s, Store: memory.NewStore(), Chain: e.chain.Account(s.Address()), TickInterval: -1}
		if with != nil {
			with(name, &cfg)
		}
		st := cfg.Store
		w, err := app.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		notes, stop := w.Subscribe()
		t.Cleanup(stop)
		dest := nitro.Address(crypto.Keccak256Hash([]byte("dest-" + name)).Bytes()[12:])
		e.parties = append(e.parties, &party{name: name, w: w, store: st, notes: notes, dest: dest, signer: s})
	}
	return e
}

func (e *env) participants() []app.Participant {
	ps := make([]app.Participant, len(e.parties))
	for i, p := range e.parties {
		ps[i] = app.Participant{ParticipantID: p.name, SigningAddress: p.signer.Address(), Destination: nitro.AddressToDestination(p.dest)}
	}
	return ps
}

func (e *env) allocation(amounts ...int64) []app.Allocation {
	a := app.Allocation{AssetHolderAddress: e.chain.ETHAssetHolder()}
	for i, x := range amounts {
		a.AllocationItems = append(a.AllocationItems, app.AllocationItem{Destination: nitro.AddressToDestination(e.parties[i].dest), Amount: big.NewInt(x)})
	}
	return []app.Allocation{a}
}

func (e *env) party(name string) *party {
	for _, p := range e.parties {
		if p.name == name {
			return p
		}
	}
	e.t.Fatalf("no party %q", name)
	return nil
}

// push delivers a message and returns the recipient's result.
func (e *env) push(m app.Message) app.Result {
	e.t.Helper()
	return testwallets.Push(e.ctx, e.t, e.party(m.Recipient).w, m)
}

// waitNote waits for a notification matching pred on p's stream.
func waitNote(t *testing.T, p *party, what string, pred func(app.Notification) bool) app.Notification {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-p.notes:
			if pred(n) {
				return n
			}
		case <-timeout:
			t.Fatalf("%s: timed out waiting for %s", p.name, what)
		}
	}
}

// one is r's result for channel id (testwallets.One).
func one(t *testing.T, r app.Result, id nitro.Bytes32) app.ChannelResult {
	t.Helper()
	return testwallets.One(t, r, id)
}

// wantStatus checks c's status and turn (testwallets.WantStatus).
func wantStatus(t *testing.T, who string, c app.ChannelResult, s core.Status, turn uint64) {
	t.Helper()
	testwallets.WantStatus(t, who, c, s, turn)
}

func wantOutbox(t *testing.T, who string, r app.Result, to ...string) {
	t.Helper()
	if len(r.Outbox) != len(to) {
		t.Fatalf("%s: outbox has %d messages, want %d", who, len(r.Outbox), len(to))
	}
	for i, m := range r.Outbox {
		if m.Recipient != to[i] {
			t.Fatalf("%s: message %d to %s, want %s", who, i, m.Recipient, to[i])
		}
	}
}

// TestSeedHappyPath runs the founding document's sequence between A and B
// through the public facade and checks every status it shows, in order.
func TestSeedHappyPath(t *testing.T) {
	for _, m := range []int{0, 1, 5} {
		t.Run(fmt.Sprintf("m=%d", m), func(t *testing.T) { seedPath(t, m) })
	}
}

func seedPath(t *testing.T, m int) { seedPathIn(t, newEnv(t, 2), m) }

// seedPathIn runs the seed's sequence with m updates each between the
// first two wallets of e and returns the channel id.
func seedPathIn(t *testing.T, e *env, m int) nitro.Bytes32 {
	A, B := e.parties[0], e.parties[1]
	ctx := e.ctx

	// Opening a channel.
	r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)})
	if err != nil {
		t.Fatal(err)
	}
	id := r.ChannelResults[0].ChannelID
	wantStatus(t, "A after create", one(t, r, id), core.StatusOpening, 0)
	wantOutbox(t, "A after create", r, "B")
	msg0 := r.Outbox[0]

	r = e.push(msg0)
	wantStatus(t, "B on msg0", one(t, r, id), core.StatusProposed, 0)
	waitNote(t, B, "ChannelProposed", func(n app.Notification) bool { return n.Type == app.ChannelProposed && n.Channel.ChannelID == id })

	r, err = B.w.JoinChannel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "B after join", one(t, r, id), core.StatusOpening, 1)
	wantOutbox(t, "B after join", r, "A")

	r = e.push(r.Outbox[0])
	wantStatus(t, "A on msg1", one(t, r, id), core.StatusFunding, 1)
	if got := e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id); got.Int64() < 5 {
		t.Fatalf("A's deposit not on chain: holdings %v", got)
	}

	// B deposits when it sees A's deposit; then A sends its postfund (msg2).
	n := waitNote(t, A, "MessageQueued(msg2)", func(n app.Notification) bool { return n.Type == app.MessageQueued })
	if n.Message.Recipient != "B" {
		t.Fatalf("msg2 to %s", n.Message.Recipient)
	}
	if got := e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id); got.Int64() != 8 {
		t.Fatalf("holdings %v, want 8", got)
	}
	// As in the founding document, B has seen both Deposited events (it
	// learns of its own deposit from the chain, like A) before msg2 arrives.
	waitNote(t, B, "B funded", func(n app.Notification) bool {
		return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingFunded
	})
	r = e.push(n.Message)
	wantStatus(t, "B on msg2", one(t, r, id), core.StatusRunning, 3)
	wantOutbox(t, "B on msg2", r, "A")
	r = e.push(r.Outbox[0])
	wantStatus(t, "A on msg3", one(t, r, id), core.StatusRunning, 3)

	// Running a channel.
	a := int64(5)
	for i := 0; i < m; i++ {
		a--
		r, err = A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(a, 8-a)})
		if err != nil {
			t.Fatal(err)
		}
		turn := uint64(4 + 2*i)
		wantStatus(t, "A update", one(t, r, id), core.StatusRunning, turn)
		r = e.push(r.Outbox[0])
		wantStatus(t, "B receives", one(t, r, id), core.StatusRunning, turn)
		a++
		r, err = B.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(a, 8-a)})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "B update", one(t, r, id), core.StatusRunning, turn+1)
		r = e.push(r.Outbox[0])
		wantStatus(t, "A receives", one(t, r, id), core.StatusRunning, turn+1)
	}

	// Closing a channel.
	final := uint64(4 + 2*m)
	r, err = A.w.CloseChannel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "A close", one(t, r, id), core.StatusClosing, final)
	wantOutbox(t, "A close", r, "B")
	r = e.push(r.Outbox[0])
	wantStatus(t, "B on isFinalA", one(t, r, id), core.StatusClosed, final)
	wantOutbox(t, "B on isFinalA", r, "A")
	r = e.push(r.Outbox[0])
	wantStatus(t, "A on isFinalB", one(t, r, id), core.StatusClosed, final)

	// A concluded on chain; both see AllocationUpdated and are paid.
	for _, p := range []*party{A, B} {
		waitNote(t, p, "Defunded", func(n app.Notification) bool {
			return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingDefunded
		})
	}
	if got := e.chain.Balance(A.dest); got.Int64() != a {
		t.Fatalf("A's destination got %v, want %d", got, a)
	}
	if got := e.chain.Balance(B.dest); got.Int64() != 8-a {
		t.Fatalf("B's destination got %v, want %d", got, 8-a)
	}
	if got := e.chain.ChannelHoldings(e.chain.ETHAssetHolder(), id); got.Sign() != 0 {
		t.Fatalf("channel still holds %v", got)
	}
	for _, p := range []*party{A, B} {
		c, err := p.w.GetState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, p.name+" final", c, core.StatusClosed, final)
	}
	return id
}
