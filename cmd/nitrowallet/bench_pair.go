package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	neturl "net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// benchChain is a chain the benchmark wallets run on.
type benchChain interface {
	// account funds the key's address and returns the chain port bound to it.
	account(ctx context.Context, key *ecdsa.PrivateKey) (ports.Chain, error)
	asset() nitro.Address
	close()
}

// benchMemoryChain is the in-memory model of the contracts.
type benchMemoryChain struct{ c *memory.Chain }

func newBenchMemoryChain() *benchMemoryChain {
	return &benchMemoryChain{c: memory.NewChain(big.NewInt(1337))}
}

func (m *benchMemoryChain) account(_ context.Context, key *ecdsa.PrivateKey) (ports.Chain, error) {
	a := crypto.PubkeyToAddress(key.PublicKey)
	m.c.Fund(a, big.NewInt(1e18))
	return m.c.Account(a), nil
}

func (m *benchMemoryChain) asset() nitro.Address { return m.c.ETHAssetHolder() }
func (m *benchMemoryChain) close()               {}

// benchChannelCache is the wallets' Config.ChannelCache in every row.
const benchChannelCache = 32768

// benchParty is one wallet of a benchmark pair.
type benchParty struct {
	name  string
	w     *app.Wallet
	store ports.Store
	me    app.Participant
}

// benchPair is two wallets (A and B) on one chain, connected by direct
// calls: a call's outbox is pushed to its recipient at once, and messages
// the wallets queue on their own (after chain events) are delivered by one
// goroutine per wallet. It tracks every channel result the wallets notify.
type benchPair struct {
	ctx     context.Context
	chain   benchChain
	parties []*benchParty
	closers []func()

	mu      sync.Mutex
	cond    *sync.Cond
	results map[string]map[nitro.Bytes32]app.ChannelResult
	waiters int
	err     error

	turns   sync.Map      // nitro.Bytes32 → *atomic.Int64: updates made per channel
	appDef  nitro.Address // appDefinition of the channels created (zero: no app; see useApp)
	funding string        // funding strategy of the channels created (empty: Direct)
}

// newBenchPair starts wallets A and B on chain with the named store
// ("memory" or a PostgreSQL URL, where they get the schemas
// nitrowallet_bench_a and _b, emptied first).
func newBenchPair(ctx context.Context, chain benchChain, store string) (*benchPair, error) {
	store, err := benchStoreURL(store)
	if err != nil {
		return nil, err
	}
	return newBenchPairOn(ctx, chain, func(ctx context.Context, name string) (ports.Store, func(), error) {
		return newStore(ctx, store, name)
	})
}

// benchStoreOpener opens the store of the wallet named name ("A" or "B")
// and returns it with what closes it.
type benchStoreOpener func(ctx context.Context, name string) (ports.Store, func(), error)

// newBenchPairOn starts wallets A and B on chain, each on the store open
// gives it.
func newBenchPairOn(ctx context.Context, chain benchChain, open benchStoreOpener) (*benchPair, error) {
	p := &benchPair{ctx: ctx, chain: chain, results: map[string]map[nitro.Bytes32]app.ChannelResult{}}
	p.cond = sync.NewCond(&p.mu)
	for _, name := range []string{"A", "B"} {
		party, closers, err := newBenchPartyOn(ctx, chain, open, name)
		p.closers = append(p.closers, closers...)
		if err != nil {
			p.close()
			return nil, err
		}
		w := party.w
		p.parties = append(p.parties, party)
		p.results[name] = map[nitro.Bytes32]app.ChannelResult{}
		notes, stop := w.Subscribe()
		done := make(chan struct{})
		p.closers = append(p.closers, func() { stop(); <-done })
		go func() {
			defer close(done)
			for n := range notes {
				p.note(party, n)
			}
		}()
	}
	return p, nil
}

// benchStoreURL gives a PostgreSQL URL the search_path nitrowallet_bench
// unless it names one; other stores pass unchanged.
func benchStoreURL(store string) (string, error) {
	if !isPostgresURL(store) {
		return store, nil
	}
	u, err := neturl.Parse(store)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Get("search_path") == "" {
		q.Set("search_path", "nitrowallet_bench")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// newBenchParty starts the wallet named name ("A" or "B": its key and
// destination follow from the name) on chain with the store, and returns
// it with what closes it, in order (closers is set even on an error).
func newBenchParty(ctx context.Context, chain benchChain, store, name string) (party *benchParty, closers []func(), err error) {
	return newBenchPartyOn(ctx, chain, func(ctx context.Context, name string) (ports.Store, func(), error) {
		return newStore(ctx, store, name)
	}, name)
}

// newBenchPartyOn is newBenchParty on the store open gives the wallet.
func newBenchPartyOn(ctx context.Context, chain benchChain, open benchStoreOpener, name string) (party *benchParty, closers []func(), err error) {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("nitrowallet-bench-" + name)))
	if err != nil {
		return nil, nil, err
	}
	s := memory.NewSigner(key)
	acct, err := chain.account(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	st, closeStore, err := open(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, closeStore)
	// The cache holds every channel of the largest row (-many), as a
	// server with that many active channels would be configured.
	w, err := app.New(ctx, app.Config{Signer: s, Store: st, Chain: acct, ChannelCache: benchChannelCache})
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, func() { _ = w.Close() })
	dest := nitro.Address(crypto.Keccak256([]byte("nitrowallet-bench-destination-" + name))[12:])
	return &benchParty{name: name, w: w, store: st,
		me: app.Participant{ParticipantID: name, SigningAddress: s.Address(), Destination: nitro.AddressToDestination(dest)}}, closers, nil
}

// close stops the wallets, then closes their stores.
func (p *benchPair) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

func (p *benchPair) party(name string) *benchParty {
	for _, q := range p.parties {
		if q.name == name {
			return q
		}
	}
	return nil
}

// note handles one notification of party's wallet.
func (p *benchPair) note(party *benchParty, n app.Notification) {
	switch n.Type {
	case app.MessageQueued:
		if err := p.deliver([]app.Message{n.Message}); err != nil {
			p.fail(err)
		}
	default:
		p.record(party.name, n.Channel)
	}
}

func (p *benchPair) record(name string, r app.ChannelResult) {
	p.mu.Lock()
	p.results[name][r.ChannelID] = r
	if p.waiters > 0 {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
}

func (p *benchPair) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// deliver pushes messages to their recipients, and the answers to theirs,
// until none is left.
func (p *benchPair) deliver(msgs []app.Message) error {
	for len(msgs) > 0 {
		m := msgs[0]
		msgs = msgs[1:]
		to := p.party(m.Recipient)
		if to == nil {
			return fmt.Errorf("bench: no wallet for recipient %q", m.Recipient)
		}
		r, err := to.w.PushMessage(p.ctx, m.Data)
		if err != nil {
			return fmt.Errorf("bench: push to %s: %w", m.Recipient, err)
		}
		msgs = append(msgs, r.Outbox...)
	}
	return nil
}

// wait blocks until cond holds for channel id on both wallets.
func (p *benchPair) wait(id nitro.Bytes32, timeout time.Duration, cond func(app.ChannelResult) bool) error {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer t.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiters++
	defer func() { p.waiters-- }()
	for {
		if p.err != nil {
			return p.err
		}
		ok := true
		for _, q := range p.parties {
			if r, found := p.results[q.name][id]; !found || !cond(r) {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("bench: channel %s: timed out after %v (A: %+v, B: %+v)", id, timeout,
				p.results["A"][id].Status, p.results["B"][id].Status)
		}
		p.cond.Wait()
	}
}

func benchRunning(r app.ChannelResult) bool { return r.Status == core.StatusRunning }

func benchDefunded(r app.ChannelResult) bool {
	return r.Status == core.StatusClosed && r.FundingStatus == core.FundingDefunded
}

// allocation is A's and B's share of the channel's 8 wei.
func (p *benchPair) allocation(a, b int64) []app.Allocation {
	return benchAllocation(p.chain.asset(), p.parties, a, b)
}

// benchAllocation gives a to the first party's destination and b to the
// second's in the asset.
func benchAllocation(asset nitro.Address, parties []*benchParty, a, b int64) []app.Allocation {
	return []app.Allocation{{AssetHolderAddress: asset, AllocationItems: []app.AllocationItem{
		{Destination: parties[0].me.Destination, Amount: big.NewInt(a)},
		{Destination: parties[1].me.Destination, Amount: big.NewInt(b)},
	}}}
}

// create proposes a channel from A, has B join it and delivers the
// messages; the channel then funds and opens on its own.
func (p *benchPair) create() (nitro.Bytes32, error) {
	A, B := p.parties[0], p.parties[1]
	r, err := A.w.CreateChannel(p.ctx, app.CreateChannelParams{Participants: []app.Participant{A.me, B.me},
		Allocations: p.allocation(5, 3), AppDefinition: p.appDef, FundingStrategy: p.funding})
	if err != nil {
		return nitro.Bytes32{}, err
	}
	id := r.ChannelResults[0].ChannelID
	p.turns.Store(id, new(atomic.Int64))
	if err := p.deliver(r.Outbox); err != nil {
		return id, err
	}
	if r, err = B.w.JoinChannel(p.ctx, id); err != nil {
		return id, err
	}
	return id, p.deliver(r.Outbox)
}

// open creates n channels and waits until both wallets run them all.
func (p *benchPair) open(n int) ([]nitro.Bytes32, error) {
	ids := make([]nitro.Bytes32, 0, n)
	for i := 0; i < n; i++ {
		id, err := p.create()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := p.wait(id, time.Minute, benchRunning); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// update makes one off-chain update of a running channel: the next mover
// signs a new state and the other wallet receives and checks it. Movers
// alternate, A first (turn 4 after the two postfund states).
func (p *benchPair) update(id nitro.Bytes32) error {
	t, _ := p.turns.Load(id)
	turns := t.(*atomic.Int64)
	k := turns.Load()
	from := p.parties[k%2].w
	r, err := from.UpdateChannel(p.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: p.allocation(4+k%2, 4-k%2)})
	if err != nil {
		return err
	}
	if err := p.deliver(r.Outbox); err != nil {
		return err
	}
	turns.Add(1)
	return nil
}

// closeChannel has the next mover close the channel and delivers the
// messages; the conclude and the payout follow on chain.
func (p *benchPair) closeChannel(id nitro.Bytes32) error {
	t, _ := p.turns.Load(id)
	k := t.(*atomic.Int64).Load()
	r, err := p.parties[k%2].w.CloseChannel(p.ctx, id)
	if err != nil {
		return err
	}
	return p.deliver(r.Outbox)
}

// updatesWorkload updates the channels concurrently, one update after the
// other on each channel, logging each update's latency (from the mover's
// UpdateChannel to the receiver's PushMessage returning). With workers > 0
// that many goroutines share the channels round-robin; otherwise each
// channel has its own goroutine. With yield, each goroutine yields the
// processor between updates (benchLoops).
func (p *benchPair) updatesWorkload(ids []nitro.Bytes32, workers int, yield bool) benchWorkload {
	if workers <= 0 || workers > len(ids) {
		workers = len(ids)
	}
	return benchLoops(workers, yield, func(w int) func(int) error {
		var mine []nitro.Bytes32
		for i := w; i < len(ids); i += workers {
			mine = append(mine, ids[i])
		}
		return func(k int) error { return p.update(mine[k%len(mine)]) }
	}, p.failure)
}

func (p *benchPair) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// benchUpdates measures off-chain updates on n channels in parallel
// between two wallets on the memory chain with the named store, each
// repetition paired with a run of the ceiling workload. With an app
// (non-nil), the channels name it as their appDefinition.
func benchUpdates(ctx context.Context, o benchOptions, store string, n int, a *benchApp, ceiling benchWorkload) (rows, ceils []benchSample, err error) {
	chain := newBenchMemoryChain()
	p, err := newBenchPair(ctx, chain, store)
	if err != nil {
		return nil, nil, err
	}
	defer p.close()
	if a != nil {
		if err := p.useApp(ctx, *a); err != nil {
			return nil, nil, err
		}
	}
	ids, err := p.open(n)
	if err != nil {
		return nil, nil, err
	}
	return benchMeasure(ctx, o, p.updatesWorkload(ids, o.workers, o.yield), ceiling)
}
