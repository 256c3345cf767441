package app_test

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
)

// towerSlot is the watchtower A's wallet is configured with before the
// watcher exists (it needs the test's chain): until Set, every proof is
// refused, and A's wallet hands it again with backoff.
type towerSlot struct {
	mu sync.Mutex
	w  *watchtower.Watcher
}

func (s *towerSlot) Set(w *watchtower.Watcher) { s.mu.Lock(); s.w = w; s.mu.Unlock() }

func (s *towerSlot) Watch(ctx context.Context, p ports.WatchProof) error {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	if w == nil {
		return errors.New("watchtower not up yet")
	}
	return watchtower.Local{W: w}.Watch(ctx, p)
}

// startWatcher runs a watcher on chain (its own account) and store until
// the test ends.
func startWatcher(t *testing.T, chain ports.Chain, store watchtower.Store) *watchtower.Watcher {
	t.Helper()
	w, err := watchtower.New(watchtower.Config{Store: store, Chain: chain, CheckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// towerCase is one run of the test: A's wallet hands its proofs to
// the watcher; restartA makes A's wallet again on the same store.
type towerCase struct {
	e        *env
	id       nitro.Bytes32
	watcher  *watchtower.Watcher
	store    watchtower.Store
	bChain   ports.Chain // B's chain account
	pay      func()      // A pays 1 (turn 4), B pays it back (turn 5)
	restartA func() *party
}

// run: A supports turn 5 and the watcher holds it; A's wallet is closed,
// and B's (B turns hostile); B challenges on chain with the setup state
// (turn 3); the watcher alone clears it (the record reaches turn 5 while A is stopped); A restarts and
// finds its channel running at turn 5, free to update.
func (c towerCase) run(t *testing.T) {
	e, id := c.e, c.id
	A, B := e.parties[0], e.parties[1]
	before, err := B.store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := before.SupportProof() // turn 3
	if err != nil {
		t.Fatal(err)
	}
	c.pay()
	waitFor(t, "the watcher holds turn 5", func() bool {
		p, err := c.store.Get(e.ctx, id)
		return err == nil && p.Turn() == 5
	})
	// A stops; B turns hostile: its honest wallet (which would answer its
	// own stale challenge with its turn 4) stops too, and B calls the
	// chain directly.
	for _, p := range []*party{A, B} {
		if err := p.w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	h, err := stale.States[len(stale.States)-1].Hash()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := B.signer.SignState(e.ctx, nitro.ChallengeHash(h))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.bChain.Challenge(e.ctx, ports.ChallengeRequest{Proof: stale, ChallengerSignature: sig}); err != nil {
		t.Fatalf("B's stale challenge: %v", err)
	}
	waitFor(t, "the watcher's checkpoint clears the challenge while A is stopped", func() bool {
		rec, err := c.bChain.Record(e.ctx, id)
		return err == nil && rec.TurnNumRecord == 5 && rec.FinalizesAt == 0
	})
	// The record clears when the checkpoint is mined; the watcher counts
	// it once its call returns with the receipt, a moment later.
	waitFor(t, "the watcher counts its checkpoint", func() bool { return c.watcher.Stats().Checkpoints >= 1 })
	if s := c.watcher.Stats(); s.Checkpoints != 1 {
		t.Fatalf("watcher stats %+v, want one checkpoint", s)
	}
	A = c.restartA()
	got := e.waitChannel(A, id, "A running at turn 5", func(r app.ChannelResult) bool {
		return r.Status == core.StatusRunning && r.TurnNum == 5 && r.ChallengeExpirationTime == nil
	})
	if got.FundingStatus != core.FundingFunded {
		t.Fatalf("A's channel after restart: %+v", got)
	}
	if rec, err := c.bChain.Record(e.ctx, id); err != nil || rec.TurnNumRecord != 5 || rec.FinalizesAt != 0 {
		t.Fatalf("record after A's restart: %+v, %v", rec, err)
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWatchtowerClearsWhileWalletStopped is issue 13's watchtower test on
// the memory chain, with A's wallet on each store.
func TestWatchtowerClearsWhileWalletStopped(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		slot := &towerSlot{}
		e, id := openRunningWith(t, withStore(t, k, func(name string, c *app.Config) {
			if name == "A" {
				c.Watchtower = slot
			}
		}))
		watcherAcct := nitro.Address{0x77}
		e.chain.Fund(watcherAcct, big.NewInt(1e18))
		store := watchtower.NewMemoryStore()
		w := startWatcher(t, e.chain.Account(watcherAcct), store)
		slot.Set(w)
		A := e.parties[0]
		towerCase{
			e: e, id: id, watcher: w, store: store,
			bChain: e.chain.Account(e.parties[1].signer.Address()),
			pay:    func() { runTwoPayments(t, e, id) },
			restartA: func() *party {
				w, err := app.New(e.ctx, app.Config{Signer: A.signer, Store: A.store, Chain: e.chain.Account(A.signer.Address()), TickInterval: -1})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = w.Close() })
				re := *A
				re.w = w
				e.parties[0] = &re
				return &re
			},
		}.run(t)
	})
}

// flakyTower fails its first n calls, then hands proofs to a watcher.
type flakyTower struct {
	mu    sync.Mutex
	n     int
	calls int
	w     *watchtower.Watcher
}

func (f *flakyTower) Watch(ctx context.Context, p ports.WatchProof) error {
	f.mu.Lock()
	f.calls++
	fail, w := f.calls <= f.n, f.w
	f.mu.Unlock()
	if fail || w == nil {
		return errors.New("watchtower down")
	}
	return w.Watch(ctx, p)
}

// TestWatchtowerGetsEachNewSupport: the wallet hands the watchtower its
// supported state each time its turn goes up (turn 3 once running, 5
// after the two payments), through failures of the watchtower, and the
// proofs are valid; a wallet without a watchtower is unaffected.
func TestWatchtowerGetsEachNewSupport(t *testing.T) {
	tower := &flakyTower{n: 3}
	e, id := openRunningWith(t, func(name string, c *app.Config) {
		if name == "A" {
			c.Watchtower = tower
		}
	})
	store := watchtower.NewMemoryStore()
	watcherAcct := nitro.Address{0x78}
	e.chain.Fund(watcherAcct, big.NewInt(1e18))
	tower.mu.Lock()
	tower.w = startWatcher(t, e.chain.Account(watcherAcct), store)
	tower.mu.Unlock()
	held := func(turn uint64) func() bool {
		return func() bool {
			p, err := store.Get(e.ctx, id)
			return err == nil && p.Turn() == turn && watchtower.Check(p) == nil
		}
	}
	waitFor(t, "the watcher holds turn 3", held(3))
	runTwoPayments(t, e, id)
	waitFor(t, "the watcher holds turn 5", held(5))
	tower.mu.Lock()
	defer tower.mu.Unlock()
	if tower.calls <= tower.n {
		t.Fatalf("%d calls, want the %d failures retried", tower.calls, tower.n)
	}
}
