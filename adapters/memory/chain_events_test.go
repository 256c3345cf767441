package memory_test

// Event streams (replay, live, future cursors, cancellation) and manual
// mining (pending transactions, several in a block, late reverts).

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

func TestChainEvents(t *testing.T) {
	w := newChainWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A subscriber that reads nothing yet must not hold the chain up.
	lazy, err := w.a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	w.fund(t)                                                          // blocks 1, 2
	w.deposit(t, w.a, w.eth, w.otherID, big.NewInt(0), chainMilli(10)) // block 3
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(500))}, true)
	tx, err := w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, st)) // block 4
	if err != nil {
		t.Fatal(err)
	}
	all := chainRead(t, lazy, 5)
	chainNoMore(t, lazy)
	r4 := w.receipt(t, tx)
	if len(r4.Events) != 2 {
		t.Fatalf("conclude emitted %d events", len(r4.Events))
	}
	for i := 1; i < len(all); i++ {
		p, q := all[i-1], all[i]
		if q.Block < p.Block || (q.Block == p.Block && q.LogIndex <= p.LogIndex) {
			t.Fatalf("events out of order: %s then %s", chainEventKey(p), chainEventKey(q))
		}
	}
	chainSameEvents(t, all[3:], r4.Events)

	for _, tc := range []struct {
		from uint64
		want []core.ChainEvent
	}{{0, all}, {1, all}, {3, all[2:]}, {4, all[3:]}, {5, nil}, {99, nil}} {
		t.Run(fmt.Sprintf("replay from %d", tc.from), func(t *testing.T) {
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			ch, err := w.b.Events(sctx, ports.Cursor{Block: tc.from})
			if err != nil {
				t.Fatal(err)
			}
			chainSameEvents(t, chainRead(t, ch, len(tc.want)), tc.want)
			chainNoMore(t, ch)
		})
	}

	// Live: a stream from the middle replays, then follows new blocks.
	live, err := w.b.Events(ctx, ports.Cursor{Block: 3})
	if err != nil {
		t.Fatal(err)
	}
	chainSameEvents(t, chainRead(t, live, 3), all[2:])
	r5 := w.deposit(t, w.b, w.eth, w.otherID, chainMilli(10), chainMilli(5))
	r6 := w.deposit(t, w.a, w.tok, w.otherID, big.NewInt(0), big.NewInt(7))
	chainSameEvents(t, chainRead(t, live, 2), append(r5.Events, r6.Events...))
	chainSameEvents(t, chainRead(t, lazy, 2), append(r5.Events, r6.Events...))

	// A stream from a future block skips the blocks before it.
	future, err := w.a.Events(ctx, ports.Cursor{Block: w.c.BlockNumber() + 2})
	if err != nil {
		t.Fatal(err)
	}
	w.deposit(t, w.b, w.tok, w.otherID, big.NewInt(7), big.NewInt(1))
	chainNoMore(t, future)
	r8 := w.deposit(t, w.a, w.tok, w.otherID, big.NewInt(8), big.NewInt(1))
	chainSameEvents(t, chainRead(t, future, 1), r8.Events)

	// Events are copies: changing one does not change the chain's log.
	all[0].Holdings.SetInt64(-1)
	again, err := w.a.Events(ctx, ports.Cursor{Block: 1})
	if err != nil {
		t.Fatal(err)
	}
	chainWantAmount(t, "replayed holdings", chainRead(t, again, 1)[0].Holdings, chainMilli(300))

	// Ending the context closes the stream.
	sctx, scancel := context.WithCancel(ctx)
	ch, err := w.a.Events(sctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	scancel()
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline:
			t.Fatal("stream not closed after its context ended")
		}
	}
	if _, err := w.a.Events(sctx, ports.Cursor{Block: 0}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Events on an ended context: %v", err)
	}
}

func TestChainManualMining(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining())
	ctx := context.Background()
	stream, err := w.a.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	req := ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(300)}
	tx1, err := w.a.Deposit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.c.Receipt(tx1); ok {
		t.Fatal("receipt before mining")
	}
	if w.c.Pending() != 1 || w.c.BlockNumber() != 0 || w.c.ChannelHoldings(w.eth, w.id).Sign() != 0 || w.c.Balance(w.alice.addr).Cmp(chainMilli(10_000)) != 0 {
		t.Fatal("a pending transaction changed state")
	}
	chainNoMore(t, stream)

	// Checked against the mined state, like a gas estimate: Bob's deposit
	// that needs Alice's reverts until hers is mined.
	_, err = w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)})
	chainWantReason(t, err, ports.ReasonHoldingsBelowExpected)

	// A repeat passes the check now but fails when mined after the first.
	tx2, err := w.a.Deposit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if tx2 == tx1 {
		t.Fatal("same hash for two transactions")
	}
	if blk := w.c.Mine(); blk != 1 {
		t.Fatalf("mined block %d, want 1", blk)
	}
	r1 := w.receipt(t, tx1)
	r2, ok := w.c.Receipt(tx2)
	if !ok || r2.Succeeded() || r2.Block != 1 || r2.Index != 1 || r1.Index != 0 || len(r2.Events) != 0 {
		t.Fatalf("receipts %+v %+v", r1, r2)
	}
	chainWantReason(t, r2.Err, ports.ReasonHoldingsSufficient)
	chainWantAmount(t, "alice paid once", w.c.Balance(w.alice.addr), chainMilli(9_700))
	chainSameEvents(t, chainRead(t, stream, 1), r1.Events)

	// Two transactions in one block: log indices run across the block, and
	// the second conclude finds the channel finalized.
	txb, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(300), Amount: chainMilli(200)})
	if err != nil {
		t.Fatal(err)
	}
	w.c.Mine()
	w.receipt(t, txb)
	st := w.state(nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), w.bob.dest(), chainMilli(400))}, true)
	c1, err := w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := w.b.ConcludeAndTransferAll(ctx, w.signedConclude(t, st))
	if err != nil {
		t.Fatal(err)
	}
	tx3, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.otherID, Asset: w.tok, ExpectedHeld: big.NewInt(0), Amount: big.NewInt(9)})
	if err != nil {
		t.Fatal(err)
	}
	blk := w.c.Mine()
	rc1, rc3 := w.receipt(t, c1), w.receipt(t, tx3)
	rc2, _ := w.c.Receipt(c2)
	chainWantReason(t, rc2.Err, ports.ReasonChannelFinalized)
	if rc1.Block != blk || rc3.Block != blk || rc1.Events[1].LogIndex != 1 || rc3.Events[0].LogIndex != 2 {
		t.Fatalf("log indices %v / %v", chainEventKeys(rc1.Events), chainEventKeys(rc3.Events))
	}
	chainWantAmount(t, "bob paid once", w.c.Balance(w.bob.addr), chainMilli(10_200))
	chainSameEvents(t, chainRead(t, stream, 4)[1:], append(rc1.Events, rc3.Events...))
	if w.c.Pending() != 0 {
		t.Fatal("pending after Mine")
	}
}

// TestChainManualMiningLateRevert: a conclude that passes the submission check
// but reverts when mined, after paying someone, leaves no trace.
func TestChainManualMiningLateRevert(t *testing.T) {
	w := newChainWorld(t, memory.WithManualMining())
	ctx := context.Background()
	if _, err := w.a.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: big.NewInt(0), Amount: chainMilli(100)}); err != nil {
		t.Fatal(err)
	}
	w.c.Mine()
	// With 0.1 held Alice takes everything and the contract address gets
	// nothing, so the check passes; once Bob's deposit lands first, the
	// second item pays ETH to a contract, which reverts.
	o := nitro.Outcome{chainAlloc(w.eth, w.alice.dest(), chainMilli(100), nitro.AddressToDestination(w.tok), chainMilli(100))}
	txb, err := w.b.Deposit(ctx, ports.DepositRequest{ChannelID: w.id, Asset: w.eth, ExpectedHeld: chainMilli(100), Amount: chainMilli(400)})
	if err != nil {
		t.Fatal(err)
	}
	txc, err := w.a.ConcludeAndTransferAll(ctx, w.signedConclude(t, w.state(o, true)))
	if err != nil {
		t.Fatalf("submission check: %v", err)
	}
	w.c.Mine()
	w.receipt(t, txb)
	rc, ok := w.c.Receipt(txc)
	if !ok || len(rc.Events) != 0 {
		t.Fatalf("receipt %+v", rc)
	}
	chainWantReason(t, rc.Err, memory.ChainReasonETHTransfer)
	chainWantAmount(t, "alice", w.c.Balance(w.alice.addr), chainMilli(9_900))
	chainWantAmount(t, "holdings", w.c.ChannelHoldings(w.eth, w.id), chainMilli(500))
	chainWantAmount(t, "asset holder", w.c.Balance(w.eth), chainMilli(500))
	if w.c.Finalized(w.id) {
		t.Fatal("finalized by a failed transaction")
	}
}
