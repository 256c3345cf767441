package core_test

import (
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
)

func TestFailedDepositRetriedOnTick(t *testing.T) {
	w := proposeAndJoin(t, 5, 3)
	if len(w.deposits) != 1 {
		t.Fatal("no deposit")
	}
	d := w.deposits[0]
	w.deposits = nil
	w.step(0, core.TxFailed{Kind: core.TxDeposit, Asset: d.Asset, Item: d.Item, Err: "rpc down"})
	if len(w.deposits) != 0 {
		t.Fatal("retried without a tick")
	}
	w.step(0, core.Tick{Now: 1})
	if len(w.deposits) != 1 || w.deposits[0].Amount.Cmp(d.Amount) != 0 {
		t.Fatalf("deposit not retried: %+v", w.deposits)
	}
	// "Holdings already sufficient" waits for the holdings to show the
	// deposit, as one on its way does: no retry on the next tick...
	w.deposits = nil
	w.step(0, core.TxFailed{Kind: core.TxDeposit, Asset: d.Asset, Item: d.Item, Done: true})
	w.step(0, core.Tick{Now: 2})
	w.step(0, core.Tick{Now: 2 + core.TxRetryDelay - 1})
	if len(w.deposits) != 0 {
		t.Fatal("deposit found sufficient retried before the retry delay")
	}
	// ... but submitted again once the delay passed without the holdings
	// showing it (a reorg took the deposit that made them sufficient).
	w.step(0, core.Tick{Now: 2 + core.TxRetryDelay})
	if len(w.deposits) != 1 || w.deposits[0].Amount.Cmp(d.Amount) != 0 || w.deposits[0].ExpectedHeld.Cmp(d.ExpectedHeld) != 0 {
		t.Fatalf("deposit found sufficient, never shown, not submitted again as it was: %+v", w.deposits)
	}
	// Once the holdings show it, it is never repeated.
	w.deposits = nil
	w.step(0, core.TxFailed{Kind: core.TxDeposit, Asset: d.Asset, Item: d.Item, Done: true})
	shownNotRepeated(t, w, d)
}

// shownNotRepeated has the chain show A's deposit d (holdings 5) and ticks
// A far past the retry delay: d must not be submitted again.
func shownNotRepeated(t *testing.T, w *world, d core.Deposit) {
	t.Helper()
	w.broadcastEvent(core.ChainEvent{Kind: core.EventDeposited, ChannelID: w.nodes[0].ID, Asset: w.asset, Holdings: big.NewInt(5)})
	w.step(0, core.Tick{Now: 10_000})
	w.step(0, core.Tick{Now: 20_000})
	for _, dep := range w.deposits {
		if dep.Item == d.Item && dep.Asset == d.Asset {
			t.Fatalf("A's deposit repeated after the holdings showed it: %+v", w.deposits)
		}
	}
}

func TestChainEventsOrderInsensitive(t *testing.T) {
	w := newWorld(t, 2)
	w.step(0, w.createInput(5, 3))
	id := w.nodes[0].ID
	w.step(0, core.ChainEvent{Kind: core.EventDeposited, ChannelID: id, Asset: w.asset, Block: 2, Holdings: big.NewInt(8)})
	w.step(0, core.ChainEvent{Kind: core.EventDeposited, ChannelID: id, Asset: w.asset, Block: 1, Holdings: big.NewInt(5)})
	if h := w.nodes[0].Funding[0].Holdings; h.Int64() != 8 {
		t.Fatalf("holdings %v after a late older event", h)
	}
}

// TestUnseenTransactionsResubmitted: a deposit (or conclude) whose effect
// never shows on chain, as after a reorg that dropped it, is submitted again
// after TxRetryDelay of Tick time, and not before; once the chain shows it,
// nothing is repeated.
// awaitingDeposit opens a two-party channel up to A's deposit and returns
// the world (its deposits emptied) and that deposit.
func awaitingDeposit(t *testing.T) (*world, core.Deposit) {
	t.Helper()
	w := proposeAndJoin(t, 5, 3)
	if len(w.deposits) != 1 {
		t.Fatalf("deposits %+v, want A's", w.deposits)
	}
	d := w.deposits[0]
	w.deposits = nil
	return w, d
}

func TestUnseenTransactionsResubmitted(t *testing.T) {
	w, d := awaitingDeposit(t)
	if !w.nodes[0].NeedsTick() {
		t.Fatal("a deposit waiting for its event does not ask for ticks")
	}
	w.step(0, core.Tick{Now: 100})
	w.step(0, core.Tick{Now: 100 + core.TxRetryDelay - 1})
	if len(w.deposits) != 0 {
		t.Fatalf("resubmitted too early: %+v", w.deposits)
	}
	w.step(0, core.Tick{Now: 100 + core.TxRetryDelay})
	if len(w.deposits) != 1 || w.deposits[0].Amount.Cmp(d.Amount) != 0 || w.deposits[0].ExpectedHeld.Cmp(d.ExpectedHeld) != 0 {
		t.Fatalf("deposit not resubmitted as it was: %+v", w.deposits)
	}
	// The deposit shows: no more resubmissions, and no more ticks needed.
	w.deposits = nil
	shownNotRepeated(t, w, d)

	// The conclude: the closer's, unseen, goes again after the delay.
	v := openTwoParty(t)
	v.step(0, core.Close{})
	v.deliverAll()
	if len(v.concl) != 1 {
		t.Fatalf("closer concluded %d times", len(v.concl))
	}
	v.step(0, core.Tick{Now: 1000})
	v.step(0, core.Tick{Now: 1000 + core.TxRetryDelay - 1})
	if len(v.concl) != 1 {
		t.Fatal("conclude resubmitted too early")
	}
	v.step(0, core.Tick{Now: 1000 + core.TxRetryDelay})
	if len(v.concl) != 2 {
		t.Fatalf("conclude not resubmitted: %d", len(v.concl))
	}
	v.broadcastEvent(core.ChainEvent{Kind: core.EventConcluded, ChannelID: v.nodes[0].ID})
	v.step(0, core.Tick{Now: 50_000})
	v.step(0, core.Tick{Now: 90_000})
	if len(v.concl) != 2 || v.nodes[0].NeedsTick() {
		t.Fatalf("after Concluded: %d concludes, needs tick %t", len(v.concl), v.nodes[0].NeedsTick())
	}
}

// TestTickDelays: a tick's own delays replace the defaults, for the backup
// conclude and for resubmitting a transaction whose effect never showed;
// the backup is decided on ticks only.
func TestTickDelays(t *testing.T) {
	w := openTwoParty(t)
	w.step(0, core.Close{})
	w.deliverAll()
	w.concl = nil
	w.step(1, core.Tick{Now: 1000, BackupConcludeDelay: 5})
	w.step(1, core.Tick{Now: 1004, BackupConcludeDelay: 5})
	if len(w.concl) != 0 {
		t.Fatal("backup before its delay")
	}
	// A tick with a longer delay does not back up, and neither does a step
	// that is not a tick.
	w.step(1, core.Tick{Now: 1005, BackupConcludeDelay: 10})
	w.step(1, core.Sync{})
	if len(w.concl) != 0 {
		t.Fatal("backup before the tick's longer delay")
	}
	w.step(1, core.Tick{Now: 1005, BackupConcludeDelay: 5})
	if len(w.concl) != 1 {
		t.Fatalf("%d backup concludes after the tick's delay, want 1", len(w.concl))
	}

	v, _ := awaitingDeposit(t)
	v.step(0, core.Tick{Now: 100, TxRetryDelay: 30})
	v.step(0, core.Tick{Now: 129, TxRetryDelay: 30})
	if len(v.deposits) != 0 {
		t.Fatalf("resubmitted before the tick's delay: %+v", v.deposits)
	}
	v.step(0, core.Tick{Now: 130, TxRetryDelay: 30})
	if len(v.deposits) != 1 {
		t.Fatalf("%d deposits after the tick's delay, want 1", len(v.deposits))
	}
}
