package memory_test

import (
	"context"
	"math/big"
	"regexp"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// chainClosed waits for a stream to be closed, failing on an event.
func chainClosed(t testing.TB, ch <-chan core.ChainEvent) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("event %s on a stream that should have ended", chainEventKey(ev))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream not closed")
	}
}

// TestChainReorgRequeue: a reorg undoes the removed blocks' effects exactly,
// and their transactions, requeued, give the same result when mined again.
func TestChainReorgRequeue(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining())
	ctx := context.Background()
	empty := w.dump()
	if _, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(300)}); err != nil {
		t.Fatal(err)
	}
	w.c.Mine() // block 1
	afterA := w.dump()
	txb, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Mine() // block 2
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), w.bob.dest(), chainMilli(400))}, true)
	txc, err := w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	w.c.Mine() // block 3
	concluded := w.dump()
	logs := w.c.Logs(0, 99)
	if len(logs) != 4 {
		t.Fatalf("%d events, want 4", len(logs))
	}

	hashes := w.c.Reorg(2, memory.ReorgRequeue)
	if len(hashes) != 2 || hashes[0] != txb || hashes[1] != txc {
		t.Fatalf("removed %v, want [%s %s]", hashes, txb, txc)
	}
	if got := w.dump(); replaceBlock(got) != replaceBlock(afterA) {
		t.Fatalf("after reorg:\n%s\nwant:\n%s", got, afterA)
	}
	if w.c.BlockNumber() != 1 || w.c.Pending() != 2 || w.c.Finalized(w.id) {
		t.Fatalf("head %d, pending %d, finalized %t", w.c.BlockNumber(), w.c.Pending(), w.c.Finalized(w.id))
	}
	for _, h := range hashes {
		if _, ok := w.c.Receipt(h); ok {
			t.Fatalf("receipt for %s after the reorg removed it", h)
		}
	}
	if got := w.c.Logs(0, 99); len(got) != 1 {
		t.Fatalf("logs after reorg: %v", chainEventKeys(got))
	}

	// Mined again, in order, in one block: the same state as before.
	blk := w.c.Mine()
	if blk != 2 {
		t.Fatalf("re-mined in block %d", blk)
	}
	rb, rc := w.receipt(t, txb), w.receipt(t, txc)
	if rb.Block != 2 || rc.Block != 2 || rb.Index != 0 || rc.Index != 1 {
		t.Fatalf("receipts %+v %+v", rb, rc)
	}
	if got := w.dump(); replaceBlock(got) != replaceBlock(concluded) {
		t.Fatalf("after re-mining:\n%s\nwant:\n%s", got, concluded)
	}

	// Back to genesis: depth is capped, and Fund (outside blocks) stays.
	w.c.Reorg(99, memory.ReorgDrop)
	if w.c.BlockNumber() != 0 || w.c.Pending() != 0 {
		t.Fatalf("head %d pending %d", w.c.BlockNumber(), w.c.Pending())
	}
	if got := w.dump(); got != empty {
		t.Fatalf("after reorg to genesis:\n%s\nwant:\n%s", got, empty)
	}
	if w.c.Reorg(1, memory.ReorgRequeue) != nil {
		t.Fatal("reorg of the genesis block")
	}
}

var dumpHead = regexp.MustCompile(`(?m)^block \d+ time \d+ pending \d+$`)

// replaceBlock blanks out the head line of a dump (block, time, pending),
// which a reorg legitimately changes.
func replaceBlock(dump string) string {
	return dumpHead.ReplaceAllString(dump, "block - time - pending -")
}

// TestChainReorgDrop: dropped transactions are forgotten; the submission
// checks see the rolled back state.
func TestChainReorgDrop(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining())
	ctx := context.Background()
	txa, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.tok, ExpectedHeld: big.NewInt(0), Amount: big.NewInt(30)})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Mine()
	pending, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.tok, ExpectedHeld: big.NewInt(30), Amount: big.NewInt(20)})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.c.Reorg(1, memory.ReorgDrop); len(got) != 1 || got[0] != txa {
		t.Fatalf("removed %v", got)
	}
	if _, ok := w.c.Receipt(txa); ok {
		t.Fatal("dropped transaction still has a receipt")
	}
	chainWantAmount(t, "alice's tokens", w.c.TokenBalance(w.tok, w.alice.addr), big.NewInt(1000))
	chainWantAmount(t, "escrow", w.c.TokenBalance(w.tok, w.tok), big.NewInt(0))
	// Bob's deposit, already pending, now fails when mined: Alice's is gone.
	w.c.Mine()
	r, ok := w.c.Receipt(pending)
	if !ok || r.Succeeded() {
		t.Fatalf("receipt %+v", r)
	}
	chainWantReason(t, r.Err, ports.ReasonHoldingsBelowExpected)
	_, err = w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.tok, ExpectedHeld: big.NewInt(30), Amount: big.NewInt(20)})
	chainWantReason(t, err, ports.ReasonHoldingsBelowExpected)
}

// TestChainReorgAutomaticMining: without manual mining requeued transactions
// are mined again at once.
func TestChainReorgAutomaticMining(t *testing.T) {
	w := newChainWorld(t)
	w.fund(t) // blocks 1, 2
	before := w.dump()
	w.c.Reorg(2, memory.ReorgRequeue)
	if w.c.BlockNumber() != 1 || w.c.Pending() != 0 {
		t.Fatalf("head %d, pending %d", w.c.BlockNumber(), w.c.Pending())
	}
	if got := w.dump(); replaceBlock(got) != replaceBlock(before) {
		t.Fatalf("after reorg:\n%s\nwant:\n%s", got, before)
	}
}

// TestChainConfirmations: the ports.Chain views lag the head by the
// confirmation depth, so a shallower reorg never takes back what they saw.
func TestChainConfirmations(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining(), memory.WithConfirmations(3))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := w.a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	holdings := func() *big.Int {
		h, err := w.b.Holdings(ctx, w.eth, w.id)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	txa, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(300)})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Mine() // block 1: 1 confirmation
	w.c.Mine() // block 2: 2
	if w.c.ConfirmedBlock() != 0 {
		t.Fatalf("confirmed block %d, want 0", w.c.ConfirmedBlock())
	}
	chainNoMore(t, stream)
	chainWantAmount(t, "confirmed holdings", holdings(), big.NewInt(0))
	chainWantAmount(t, "head holdings", w.c.ChannelHoldings(w.eth, w.id), chainMilli(300))
	// The gas estimate runs against the head: Bob may deposit already.
	if _, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)}); err != nil {
		t.Fatal(err)
	}

	// A reorg of depth 2 < 3 removes block 2 and block 1 with Alice's
	// deposit; the stream saw neither and carries on.
	w.c.Reorg(2, memory.ReorgRequeue)
	chainWantAmount(t, "head holdings after reorg", w.c.ChannelHoldings(w.eth, w.id), big.NewInt(0))
	w.c.Mine() // block 1': Alice's then Bob's deposit
	w.c.Mine()
	chainNoMore(t, stream)
	w.c.Mine() // block 1' has 3 confirmations
	ra := w.receipt(t, txa)
	evs := chainRead(t, stream, 2)
	chainSameEvents(t, evs[:1], ra.Events)
	if evs[1].Block != 1 || evs[1].Holdings.Cmp(chainMilli(500)) != 0 {
		t.Fatalf("second event %s", chainEventKey(evs[1]))
	}
	chainWantAmount(t, "confirmed holdings", holdings(), chainMilli(500))
	if w.c.ConfirmedBlock() != 1 {
		t.Fatalf("confirmed block %d", w.c.ConfirmedBlock())
	}

	// A new stream replays confirmed blocks only.
	late, err := w.b.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	chainSameEvents(t, chainRead(t, late, 2), evs)
	chainNoMore(t, late)

	// A reorg deeper than the confirmations rewinds the streams that saw a
	// removed block to the common ancestor; a stream that saw none goes on
	// with the new branch.
	fresh, err := w.b.Events(ctx, ports.Cursor{Block: 5})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Reorg(3, memory.ReorgDrop)
	chainRewound(t, w.c, stream, 0)
	chainRewound(t, w.c, late, 0)
	chainWantAmount(t, "confirmed holdings after deep reorg", holdings(), big.NewInt(0))
	if _, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.otherID, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(1)}); err != nil {
		t.Fatal(err)
	}
	for w.c.BlockNumber() < 7 {
		w.c.Mine()
	}
	// Blocks 1..5 are confirmed now; only block 1 has an event, and fresh
	// asked for blocks from 5 on.
	chainNoMore(t, fresh)
	again, err := w.a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	if got := chainRead(t, again, 1); got[0].ChannelID != w.otherID || got[0].Block != 1 {
		t.Fatalf("new branch event %s", chainEventKey(got[0]))
	}
}

// TestChainReorgStreamsWithoutConfirmations: with events delivered at once,
// a stream given a removed block gets a Rewound event at the common
// ancestor, then the new branch; one given nothing of the removed blocks
// sees the new branch, at the same heights.
func TestChainReorgStreamsWithoutConfirmations(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	saw, err := w.a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Mine() // block 1, empty
	later, err := w.a.Events(ctx, ports.Cursor{Block: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(300)}); err != nil {
		t.Fatal(err)
	}
	w.c.Mine() // block 2
	chainRead(t, saw, 1)
	chainRead(t, later, 1)
	quiet, err := w.a.Events(ctx, ports.Cursor{Block: 3})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Reorg(1, memory.ReorgRequeue)
	chainRewound(t, w.c, saw, 1)
	chainRewound(t, w.c, later, 1)
	w.c.Mine() // block 2' with the deposit again
	if again := chainRead(t, saw, 1); again[0].Block != 2 || again[0].Kind != core.EventDeposited {
		t.Fatalf("after the rewind: %s, want the deposit again in block 2'", chainEventKey(again[0]))
	}
	w.c.Mine() // block 3'
	chainNoMore(t, quiet)
	if _, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)}); err != nil {
		t.Fatal(err)
	}
	blk := w.c.Mine()
	if got := chainRead(t, quiet, 1); got[0].Block != blk {
		t.Fatalf("event %s, want block %d", chainEventKey(got[0]), blk)
	}
}

// chainRewound reads a Rewound event at the ancestor block from a stream.
func chainRewound(t *testing.T, c *memory.Chain, stream <-chan core.ChainEvent, ancestor uint64) {
	t.Helper()
	ev := chainRead(t, stream, 1)[0]
	h, _ := c.BlockHash(ancestor)
	if ev.Kind != core.EventRewound || ev.Block != ancestor || ev.BlockHash != h {
		t.Fatalf("got %s (hash %x), want Rewound at block %d (hash %x)", chainEventKey(ev), ev.BlockHash[:4], ancestor, h[:4])
	}
}
