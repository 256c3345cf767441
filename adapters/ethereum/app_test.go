package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/testwallets"
	"github.com/nitrowallet/nitrowallet/ports"
)

// milli is m thousandths of an ether in wei.
func milli(m int64) *big.Int { return new(big.Int).Mul(big.NewInt(m), big.NewInt(1e15)) }

// backend is a chain the app-level scenarios run on: the dev chain, or a
// geth --dev node over JSON-RPC.
type backend interface {
	// account funds key's account with 10 ETH and 1000 tokens and returns
	// its chain port.
	account(t testing.TB, key *ecdsa.PrivateKey) ports.Chain
	eth() common.Address
	token() common.Address
	balance(t testing.TB, a common.Address) *big.Int
	tokenBalance(t testing.TB, a common.Address) *big.Int
}

// devBackend is a DevChain.
type devBackend struct {
	d   *ethereum.DevChain
	cfg ethereum.Config
}

func (b *devBackend) account(t testing.TB, key *ecdsa.PrivateKey) ports.Chain {
	t.Helper()
	ctx := context.Background()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	if err := b.d.Fund(ctx, addr, milli(10_000)); err != nil {
		t.Fatal(err)
	}
	if err := b.d.FundToken(ctx, addr, big.NewInt(1000)); err != nil {
		t.Fatal(err)
	}
	c, err := b.d.NewChain(ctx, key, b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (b *devBackend) eth() common.Address   { return b.d.Deployment.ETHAssetHolder }
func (b *devBackend) token() common.Address { return b.d.Deployment.ERC20AssetHolder() }

func (b *devBackend) balance(t testing.TB, a common.Address) *big.Int {
	t.Helper()
	x, err := b.d.Balance(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (b *devBackend) tokenBalance(t testing.TB, a common.Address) *big.Int {
	t.Helper()
	x, err := b.d.TokenBalance(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// party is one server application with its wallet.
type party struct {
	name   string
	w      *app.Wallet
	store  *memory.Store
	chain  ports.Chain
	signer *memory.Signer
	key    *ecdsa.PrivateKey
	dest   common.Address
	notes  <-chan app.Notification
	stop   func()
}

// world is a set of wallets on one backend.
type world struct {
	t       testing.TB
	ctx     context.Context
	b       backend
	parties []*party
	// with, when set, changes each wallet's config before it starts.
	with func(*app.Config)
}

// newWorld starts n wallets, each sending from its own funded account
// (its signing key), with ticks driven by the test.
func newWorld(t testing.TB, b backend, n int) *world { return newWorldWith(t, b, n, nil) }

// newWorldWith is newWorld with each wallet's config changed by with.
func newWorldWith(t testing.TB, b backend, n int, with func(*app.Config)) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	w := &world{t: t, ctx: ctx, b: b, with: with}
	for i := 0; i < n; i++ {
		key := newKey(t)
		p := &party{name: string(rune('A' + i)), key: key, signer: memory.NewSigner(key), store: memory.NewStore()}
		p.dest = common.BytesToAddress(crypto.Keccak256([]byte(fmt.Sprintf("dest-%s-%x", p.name, crypto.PubkeyToAddress(key.PublicKey))))[12:])
		p.chain = b.account(t, key)
		w.start(p)
		w.parties = append(w.parties, p)
	}
	return w
}

// start runs p's wallet on p's store and chain.
func (w *world) start(p *party) {
	w.t.Helper()
	cfg := app.Config{Signer: p.signer, Store: p.store, Chain: p.chain, TickInterval: -1}
	if w.with != nil {
		w.with(&cfg)
	}
	wal, err := app.New(w.ctx, cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	p.w = wal
	notes, stop := wal.Subscribe()
	p.notes = notes
	var once sync.Once
	p.stop = func() { once.Do(func() { stop(); _ = wal.Close() }) }
	w.t.Cleanup(p.stop)
}

func (w *world) participants() []app.Participant {
	ps := make([]app.Participant, len(w.parties))
	for i, p := range w.parties {
		ps[i] = app.Participant{ParticipantID: p.name, SigningAddress: p.signer.Address(), Destination: nitro.AddressToDestination(p.dest)}
	}
	return ps
}

func (w *world) allocation(asset common.Address, amounts ...*big.Int) []app.Allocation {
	a := app.Allocation{AssetHolderAddress: asset}
	for i, x := range amounts {
		a.AllocationItems = append(a.AllocationItems, app.AllocationItem{Destination: nitro.AddressToDestination(w.parties[i].dest), Amount: x})
	}
	return []app.Allocation{a}
}

func (w *world) party(name string) *party {
	for _, p := range w.parties {
		if p.name == name {
			return p
		}
	}
	w.t.Fatalf("no party %q", name)
	return nil
}

// push delivers a message after checking it against the wire schema.
func (w *world) push(m app.Message) app.Result {
	w.t.Helper()
	return testwallets.Push(w.ctx, w.t, w.party(m.Recipient).w, m)
}

func (w *world) waitNote(p *party, what string, pred func(app.Notification) bool) app.Notification {
	w.t.Helper()
	for {
		select {
		case n := <-p.notes:
			if pred(n) {
				return n
			}
		case <-w.ctx.Done():
			w.t.Fatalf("%s: gave up waiting for %s", p.name, what)
		}
	}
}

// answer returns p's reply to a message it was just given: in the call's
// outbox, or queued later. A wallet learns that a channel is funded from
// the Deposited events it streams, so a peer's postfund state may arrive
// before it has seen the last deposit; it answers once it has.
func (w *world) answer(p *party, r app.Result) app.Message {
	w.t.Helper()
	if len(r.Outbox) > 0 {
		return r.Outbox[0]
	}
	return w.waitNote(p, "MessageQueued", func(n app.Notification) bool { return n.Type == app.MessageQueued }).Message
}

// one is r's result for channel id (testwallets.One).
func one(t testing.TB, r app.Result, id nitro.Bytes32) app.ChannelResult {
	t.Helper()
	return testwallets.One(t, r, id)
}

// wantStatus checks c's status and turn (testwallets.WantStatus).
func wantStatus(t testing.TB, who string, c app.ChannelResult, s core.Status, turn uint64) {
	t.Helper()
	testwallets.WantStatus(t, who, c, s, turn)
}

func wantAmount(t testing.TB, what string, got, want *big.Int) {
	t.Helper()
	if got.Cmp(want) != 0 {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// seedPath runs the founding document's sequence between A and B with m
// update rounds on backend b, checking every status and the exact payouts.
func seedPath(t *testing.T, b backend, m int) {
	w := newWorld(t, b, 2)
	A, B := w.parties[0], w.parties[1]
	ctx := w.ctx
	unit := milli(1)
	amount := func(x int64) *big.Int { return new(big.Int).Mul(big.NewInt(x), unit) }
	alloc := func(a int64) []app.Allocation { return w.allocation(b.eth(), amount(a), amount(8-a)) }

	r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: w.participants(), Allocations: alloc(5)})
	if err != nil {
		t.Fatal(err)
	}
	id := r.ChannelResults[0].ChannelID
	wantStatus(t, "A after create", one(t, r, id), core.StatusOpening, 0)
	r = w.push(r.Outbox[0])
	wantStatus(t, "B on msg0", one(t, r, id), core.StatusProposed, 0)
	if r, err = B.w.JoinChannel(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "B after join", one(t, r, id), core.StatusOpening, 1)

	// A deposits on B's prefund; the deposit is mined when the call returns.
	r = w.push(r.Outbox[0])
	wantStatus(t, "A on msg1", one(t, r, id), core.StatusFunding, 1)
	held, err := A.chain.Holdings(ctx, b.eth(), id)
	if err != nil {
		t.Fatal(err)
	}
	// On a live node B may already have seen A's Deposited event and
	// deposited too by the time this read runs; anything else is a bug.
	if held.Cmp(amount(5)) != 0 && held.Cmp(amount(8)) != 0 {
		t.Fatalf("holdings after A's deposit = %v, want %v (or %v once B has deposited)", held, amount(5), amount(8))
	}

	// B deposits when it sees A's Deposited event; A's postfund follows.
	n := w.waitNote(A, "MessageQueued(msg2)", func(n app.Notification) bool { return n.Type == app.MessageQueued })
	if held, err = B.chain.Holdings(ctx, b.eth(), id); err != nil {
		t.Fatal(err)
	}
	wantAmount(t, "holdings after B's deposit", held, amount(8))
	r = w.push(n.Message)
	msg3 := w.answer(B, r)
	c, err := B.w.GetState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "B on msg2", c, core.StatusRunning, 3)
	r = w.push(msg3)
	wantStatus(t, "A on msg3", one(t, r, id), core.StatusRunning, 3)

	a := int64(5)
	for i := 0; i < m; i++ {
		for _, p := range []*party{A, B} {
			if p == A {
				a--
			} else {
				a += 2
			}
			r, err := p.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(a)})
			if err != nil {
				t.Fatal(err)
			}
			w.push(r.Outbox[0])
		}
	}

	final := uint64(4 + 2*m)
	if r, err = A.w.CloseChannel(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "A close", one(t, r, id), core.StatusClosing, final)
	r = w.push(r.Outbox[0])
	wantStatus(t, "B on isFinalA", one(t, r, id), core.StatusClosed, final)
	// A concludes on B's countersignature; both see the payout.
	r = w.push(r.Outbox[0])
	wantStatus(t, "A on isFinalB", one(t, r, id), core.StatusClosed, final)
	for _, p := range []*party{A, B} {
		w.waitNote(p, "Defunded", func(n app.Notification) bool {
			return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingDefunded
		})
	}
	wantAmount(t, "A's destination", b.balance(t, A.dest), amount(a))
	wantAmount(t, "B's destination", b.balance(t, B.dest), amount(8-a))
	if held, err = A.chain.Holdings(ctx, b.eth(), id); err != nil {
		t.Fatal(err)
	}
	wantAmount(t, "holdings after the payout", held, new(big.Int))
}

// TestSeedPathSimulated is the founding document's happy path on the real
// contracts in the simulated chain.
func TestSeedPathSimulated(t *testing.T) {
	for _, m := range []int{0, 3} {
		t.Run(fmt.Sprintf("m=%d", m), func(t *testing.T) {
			seedPath(t, &devBackend{d: newDevChain(t, ethereum.DevOptions{})}, m)
		})
	}
}

// wantPaid checks each party's destination received exactly its items.
func (w *world) wantPaid(allocs []app.Allocation, token common.Address) {
	w.t.Helper()
	for _, a := range allocs {
		for i, it := range a.AllocationItems {
			p := w.parties[i]
			got := w.b.balance(w.t, p.dest)
			if a.AssetHolderAddress == token {
				got = w.b.tokenBalance(w.t, p.dest)
			}
			wantAmount(w.t, fmt.Sprintf("%s's destination in %s", p.name, a.AssetHolderAddress), got, it.Amount)
		}
	}
}

// TestERC20Channel runs a channel funded in the test Token: approve and
// deposit on the ERC20AssetHolder, token payouts.
func TestERC20Channel(t *testing.T) {
	b := &devBackend{d: newDevChain(t, ethereum.DevOptions{})}
	w := newWorld(t, b, 2)
	r := newRouter(w)
	_, final, err := r.lifecycle(w.allocation(b.token(), big.NewInt(70), big.NewInt(30)))
	if err != nil {
		t.Fatal(err)
	}
	w.wantPaid(final, b.token())
	for _, p := range w.parties {
		wantAmount(t, p.name+"'s destination ETH", b.balance(t, p.dest), new(big.Int))
	}
}

// TestThreePartyChannel runs a channel between three wallets, funded in ETH
// and tokens.
func TestThreePartyChannel(t *testing.T) {
	b := &devBackend{d: newDevChain(t, ethereum.DevOptions{})}
	w := newWorld(t, b, 3)
	r := newRouter(w)
	allocs := append(w.allocation(b.eth(), milli(10), milli(20), milli(30)),
		w.allocation(b.token(), big.NewInt(1), big.NewInt(2), big.NewInt(3))...)
	_, final, err := r.lifecycle(allocs)
	if err != nil {
		t.Fatal(err)
	}
	w.wantPaid(final, b.token())
}

// TestFiftyChannelsConcurrently has one pair of wallets, each sending from
// a single account, open, run and close 50 channels at once: the nonce
// manager keeps many transactions of one account in flight.
func TestFiftyChannelsConcurrently(t *testing.T) {
	const channels = 50
	var mu sync.Mutex
	nonces := map[common.Address]map[uint64]int{}
	b := &devBackend{
		d: newDevChain(t, ethereum.DevOptions{}),
		cfg: ethereum.Config{OnTx: func(info ethereum.TxInfo) {
			mu.Lock()
			defer mu.Unlock()
			if nonces[info.From] == nil {
				nonces[info.From] = map[uint64]int{}
			}
			nonces[info.From][info.Nonce]++
		}},
	}
	w := newWorld(t, b, 2)
	r := newRouter(w)
	var wg sync.WaitGroup
	finals := make([][]app.Allocation, channels)
	for i := 0; i < channels; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Both parties' destinations are shared by every channel, so
			// the payouts add up.
			var err error
			if _, finals[i], err = r.lifecycle(w.allocation(b.eth(), milli(int64(5+i%3)), milli(3))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	want := []*big.Int{new(big.Int), new(big.Int)}
	for _, f := range finals {
		for i, it := range f[0].AllocationItems {
			want[i].Add(want[i], it.Amount)
		}
	}
	for i, p := range w.parties {
		wantAmount(t, p.name+"'s destination", b.balance(t, p.dest), want[i])
	}
	// Per account: every deposit and conclude got its own nonce.
	mu.Lock()
	defer mu.Unlock()
	for _, p := range w.parties {
		addr := crypto.PubkeyToAddress(p.key.PublicKey)
		got := nonces[addr]
		if len(got) < channels {
			t.Fatalf("%s sent %d transactions, want at least %d deposits", p.name, len(got), channels)
		}
		for n, k := range got {
			if k != 1 {
				t.Fatalf("%s: nonce %d reported %d times", p.name, n, k)
			}
		}
	}
}

// TestRestartReplaysMissedBlocks: B's wallet is down while A deposits; on
// restart from its store it replays the blocks it missed from its chain
// cursor, sees A's deposit, deposits its own share and the channel runs.
func TestRestartReplaysMissedBlocks(t *testing.T) {
	b := &devBackend{d: newDevChain(t, ethereum.DevOptions{})}
	w := newWorld(t, b, 2)
	A, B := w.parties[0], w.parties[1]
	ctx := w.ctx
	r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: w.participants(), Allocations: w.allocation(b.eth(), milli(5), milli(3))})
	if err != nil {
		t.Fatal(err)
	}
	id := r.ChannelResults[0].ChannelID
	w.push(r.Outbox[0])
	if r, err = B.w.JoinChannel(ctx, id); err != nil {
		t.Fatal(err)
	}
	B.stop()
	// A deposits while B is away; nobody else deposits.
	w.push(r.Outbox[0])
	held, err := A.chain.Holdings(ctx, b.eth(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantAmount(t, "holdings while B is down", held, milli(5))
	// More blocks go by.
	for i := 0; i < 3; i++ {
		b.d.Commit()
	}
	w.start(B)
	n := w.waitNote(A, "MessageQueued(postfund)", func(n app.Notification) bool { return n.Type == app.MessageQueued })
	w.answer(B, w.push(n.Message))
	c, err := B.w.GetState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "B on A's postfund after its restart", c, core.StatusRunning, 3)
	if held, err = B.chain.Holdings(ctx, b.eth(), id); err != nil {
		t.Fatal(err)
	}
	wantAmount(t, "holdings", held, milli(8))
	cursor, err := B.store.ChainCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cursor.Block == 0 {
		t.Fatal("B's chain cursor did not move")
	}
}
