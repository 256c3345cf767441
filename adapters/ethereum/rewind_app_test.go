package ethereum_test

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// txLog keeps every transaction the wallets' chains report, for the audit.
type txLog struct {
	mu  sync.Mutex
	txs []ethereum.TxInfo
}

func (l *txLog) add(info ethereum.TxInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.txs = append(l.txs, info)
}

// rewindWorld is two wallets on a dev chain whose transactions are logged;
// start is the head once both accounts are funded.
func rewindWorld(t *testing.T) (*devBackend, *world, *router, *txLog, uint64) {
	log := &txLog{}
	b := &devBackend{d: newDevChain(t, ethereum.DevOptions{}), cfg: ethereum.Config{OnTx: log.add}}
	w := newWorld(t, b, 2)
	start, err := b.d.Head(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b, w, newRouter(w), log, start
}

// open creates n channels (A 5, B 3 milli-ether each) at once and waits
// until both wallets see each one running.
func (r *router) open(n int) []nitro.Bytes32 {
	w := r.w
	ids := make([]nitro.Bytes32, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := w.parties[0].w.CreateChannel(w.ctx, app.CreateChannelParams{Participants: w.participants(), Allocations: w.allocation(w.b.eth(), milli(5), milli(3))})
			if err != nil {
				w.t.Error(err)
				return
			}
			ids[i] = res.ChannelResults[0].ChannelID
			r.deliverAll(res)
			if err := r.wait(ids[i], "running", running); err != nil {
				w.t.Error(err)
			}
		}()
	}
	wg.Wait()
	if w.t.Failed() {
		w.t.FailNow()
	}
	return ids
}

// closeAll closes every channel (A moves turn 4) and waits until both
// wallets see each closed and paid out.
func (r *router) closeAll(ids []nitro.Bytes32) {
	w := r.w
	for _, id := range ids {
		res, err := w.parties[0].w.CloseChannel(w.ctx, id)
		if err != nil {
			w.t.Fatalf("close %s: %v", id, err)
		}
		r.deliverAll(res)
	}
	for _, id := range ids {
		if err := r.wait(id, "closed and defunded", defunded); err != nil {
			w.t.Fatal(err)
		}
	}
}

// waitRewinds waits until every wallet has handled a chain rewind.
func (w *world) waitRewinds() {
	w.t.Helper()
	for _, p := range w.parties {
		for p.w.Stats().ChainRewinds == 0 {
			if !sleepCtx(w.ctx) {
				w.t.Fatalf("%s never saw the chain rewind", p.name)
			}
		}
	}
}

// waitHoldings waits until the chain holds want for each channel.
func (w *world) waitHoldings(ids []nitro.Bytes32, want *big.Int) {
	w.t.Helper()
	for _, id := range ids {
		for {
			h, err := w.parties[0].chain.Holdings(w.ctx, nitro.Address(w.b.eth()), id)
			if err != nil {
				w.t.Fatal(err)
			}
			if h.Cmp(want) == 0 {
				break
			}
			if !sleepCtx(w.ctx) {
				w.t.Fatalf("channel %s holds %v, want %v", id, h, want)
			}
		}
	}
}

// audit checks the chain after every channel closed: each destination got
// exactly its items, each channel holds nothing, each account spent
// exactly the fees and deposits of its transactions on the chain, its own
// deposits are exactly its items (nothing deposited twice), and its nonce
// is the count of its transactions on the chain with none pending.
func (w *world) audit(log *txLog, ids []nitro.Bytes32, items []*big.Int, funded *big.Int) {
	w.t.Helper()
	ctx, client := w.ctx, w.b.(*devBackend).d.Client()
	for _, id := range ids {
		h, err := w.parties[0].chain.Holdings(ctx, nitro.Address(w.b.eth()), id)
		if err != nil || h.Sign() != 0 {
			w.t.Fatalf("channel %s holds %v at the end (%v)", id, h, err)
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for i, p := range w.parties {
		n := int64(len(ids))
		wantAmount(w.t, p.name+"'s destination", w.b.balance(w.t, p.dest), new(big.Int).Mul(items[i], big.NewInt(n)))
		addr := crypto.PubkeyToAddress(p.key.PublicKey)
		spent, deposited, count := new(big.Int), new(big.Int), uint64(0)
		seen := map[common.Hash]bool{}
		for _, info := range log.txs {
			if info.From != addr || seen[info.Hash] {
				continue
			}
			seen[info.Hash] = true
			rc, err := client.TransactionReceipt(ctx, info.Hash)
			if err != nil {
				continue // mined on a branch that left the chain
			}
			tx, _, err := client.TransactionByHash(ctx, info.Hash)
			if err != nil {
				w.t.Fatal(err)
			}
			count++
			spent.Add(spent, new(big.Int).Mul(new(big.Int).SetUint64(rc.GasUsed), rc.EffectiveGasPrice))
			if rc.Status == 1 {
				spent.Add(spent, tx.Value())
				deposited.Add(deposited, tx.Value())
			}
		}
		wantAmount(w.t, p.name+"'s spend", new(big.Int).Sub(funded, w.b.balance(w.t, addr)), spent)
		wantAmount(w.t, p.name+"'s deposits", deposited, new(big.Int).Mul(items[i], big.NewInt(n)))
		nonce, err := client.NonceAt(ctx, addr, nil)
		if err != nil {
			w.t.Fatal(err)
		}
		pending, err := client.PendingNonceAt(ctx, addr)
		if err != nil {
			w.t.Fatal(err)
		}
		if nonce != count || pending != nonce {
			w.t.Fatalf("%s: nonce %d, pending nonce %d, %d transactions on the chain", p.name, nonce, pending, count)
		}
	}
}

// TestRollbackBelowDepositsRefunds: the deposits of several running
// channels are mined and seen, then the chain rolls back below them and
// they vanish (as with a node that lost its latest blocks). Both wallets
// notice, re-read the holdings, deposit again in queue order, and every
// channel closes with the chain audit holding.
func TestRollbackBelowDepositsRefunds(t *testing.T) {
	b, w, r, log, start := rewindWorld(t)
	ids := r.open(3)
	w.waitHoldings(ids, milli(8))
	if err := b.d.RollbackTo(w.ctx, start); err != nil {
		t.Fatal(err)
	}
	w.waitRewinds()
	w.waitHoldings(ids, milli(8)) // funded again
	r.closeAll(ids)
	w.audit(log, ids, []*big.Int{milli(5), milli(3)}, milli(10_000))
}

// TestConcludeOnNewBranchIsSeen: the wallets scanned past some blocks,
// then the chain rolls back below them and the channels' concludes are
// mined on the new branch at those heights: the wallets see the payouts
// (before, the scanner waited for the old height and the channels stayed
// Funded although paid out on chain).
func TestConcludeOnNewBranchIsSeen(t *testing.T) {
	b, w, r, log, _ := rewindWorld(t)
	ids := r.open(2)
	fork, err := b.d.Head(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An outsider's deposit three blocks later moves both cursors past
	// the blocks the concludes will take.
	out := b.account(t, newKey(t))
	for i := 0; i < 2; i++ {
		b.d.Commit()
	}
	other := nitro.Bytes32{0x07}
	if _, err := out.Deposit(w.ctx, ports.DepositRequest{ChannelID: other, Asset: nitro.Address(b.eth()), ExpectedHeld: new(big.Int), Amount: big.NewInt(1)}); err != nil {
		t.Fatal(err)
	}
	top, err := b.d.Head(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range w.parties {
		for {
			c, err := p.store.ChainCursor(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Block >= top {
				break
			}
			if !sleepCtx(w.ctx) {
				t.Fatalf("%s's cursor stays at %d, below %d", p.name, c.Block, top)
			}
		}
	}
	if err := b.d.RollbackTo(w.ctx, fork); err != nil {
		t.Fatal(err)
	}
	r.closeAll(ids)
	w.audit(log, ids, []*big.Int{milli(5), milli(3)}, milli(10_000))
}

// TestNodeBackAtGenesis: the node comes back with its genesis block only,
// the contracts gone. The wallets do not hang: each reports the channels
// whose funding vanished, answers calls, and a deposit now fails typed
// (ports.ErrNoContract) instead of paying an empty address.
func TestNodeBackAtGenesis(t *testing.T) {
	b, w, r, _, _ := rewindWorld(t)
	notes := map[string]chan app.Notification{}
	for _, p := range w.parties {
		ch := make(chan app.Notification, 16)
		stream, stop := p.w.Subscribe()
		t.Cleanup(stop)
		go func() {
			for n := range stream {
				if n.Type == app.ChainRewound {
					ch <- n
				}
			}
		}()
		notes[p.name] = ch
	}
	ids := r.open(2)
	if err := b.d.RollbackTo(w.ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range w.parties {
		select {
		case n := <-notes[p.name]:
			if start := b.d.Deployment.Contracts.StartBlock; n.Rewind.Block > start || len(n.Rewind.FundingVanished) != len(ids) {
				t.Fatalf("%s: rewind to block %d with funding vanished in %d channels, want the deployment block %d and %d", p.name, n.Rewind.Block, len(n.Rewind.FundingVanished), start, len(ids))
			}
		case <-w.ctx.Done():
			t.Fatalf("%s: no ChainRewound notification", p.name)
		}
		for _, id := range ids {
			c, err := p.w.GetState(w.ctx, id)
			if err != nil || c.Status != core.StatusRunning || c.FundingStatus == core.FundingFunded {
				t.Fatalf("%s: channel %s: %s funding %s (%v), want running and not funded", p.name, id, c.Status, c.FundingStatus, err)
			}
		}
	}
	_, err := w.parties[0].chain.Deposit(w.ctx, ports.DepositRequest{ChannelID: ids[0], Asset: nitro.Address(b.eth()), ExpectedHeld: new(big.Int), Amount: milli(5)})
	if !errors.Is(err, ports.ErrNoContract) {
		t.Fatalf("deposit with the contracts gone: %v, want ports.ErrNoContract", err)
	}
	if err := w.parties[0].w.Tick(w.ctx); err != nil {
		t.Fatal(err)
	}
}

// sleepCtx waits a poll interval, or returns false once ctx ends.
func sleepCtx(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(5 * time.Millisecond):
		return true
	}
}
