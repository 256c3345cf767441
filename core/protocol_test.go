package core_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// runOpen opens an n-party channel delivering everything in order.
func runOpen(t *testing.T, n int) *world {
	w := newWorld(t, n)
	amounts := make([]int64, n)
	for i := range amounts {
		amounts[i] = int64(10 * (i + 1))
	}
	w.step(0, w.createInput(amounts...))
	w.deliverAll()
	for i := 1; i < n; i++ {
		w.wantStatus(i, core.StatusProposed)
		w.step(i, core.Join{Deployment: w.deployment()})
	}
	w.deliverAll()
	for k := 0; k < n; k++ {
		if len(w.deposits) != 1 {
			t.Fatalf("deposit %d: %d queued, want exactly 1 (ordered deposits)", k, len(w.deposits))
		}
		w.mineDeposit()
		w.deliverAll()
	}
	for i := 0; i < n; i++ {
		w.wantStatus(i, core.StatusRunning)
	}
	return w
}

func TestMultiPartyHappyPath(t *testing.T) {
	for _, n := range []int{3, 5} {
		w := runOpen(t, n)
		total := int64(0)
		for i := 0; i < n; i++ {
			total += int64(10 * (i + 1))
		}
		turn := uint64(2*n - 1)
		for u := 0; u < 2*n; u++ {
			turn++
			mover := int(turn % uint64(n))
			amts := make([]int64, n)
			amts[0] = total - int64(n-1)
			for i := 1; i < n; i++ {
				amts[i] = 1
			}
			w.step(mover, core.Update{Outcome: w.outcome(amts...)})
			w.deliverAll()
			for i := 0; i < n; i++ {
				if w.nodes[i].TurnNum() != turn {
					t.Fatalf("n=%d node %d turn %d want %d", n, i, w.nodes[i].TurnNum(), turn)
				}
			}
		}
		closer := int((turn + 1) % uint64(n))
		w.step(closer, core.Close{})
		w.wantStatus(closer, core.StatusClosing)
		w.deliverAll()
		for i := 0; i < n; i++ {
			w.wantStatus(i, core.StatusClosed)
		}
		if len(w.concl) != 1 {
			t.Fatalf("n=%d: %d concludes, want 1 by the closer", n, len(w.concl))
		}
	}
}

func TestDuplicateMessagesAreNoOps(t *testing.T) {
	w := openTwoParty(t)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	msg := w.net[0]
	if err := w.deliver(0); err != nil {
		t.Fatal(err)
	}
	before := w.nodes[1].Clone()
	next, effs, err := core.Step(w.nodes[1], w.receive(1, msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(effs) != 0 {
		t.Fatalf("duplicate produced effects: %+v", effs)
	}
	if !reflect.DeepEqual(before, next) {
		t.Fatal("duplicate changed the channel")
	}
}

func TestReorderedStatesAreHeldThenApplied(t *testing.T) {
	w := runOpen(t, 3)
	// Turn 6 by p0, then 7 by p1 reach p2 in reverse order.
	w.step(0, core.Update{Outcome: w.outcome(10, 20, 30)})
	var toP1, toP2first []int
	for k, m := range w.net {
		if m.Recipient == "p1" {
			toP1 = append(toP1, k)
		} else {
			toP2first = append(toP2first, k)
		}
	}
	if err := w.deliver(toP1[0]); err != nil {
		t.Fatal(err)
	}
	w.step(1, core.Update{Outcome: w.outcome(11, 19, 30)})
	// w.net now: [turn6->p2, turn7->p0, turn7->p2]
	last := len(w.net) - 1
	if w.net[last].Recipient != "p2" || w.net[last].Payload.SignedStates[0].State.TurnNum != 7 {
		t.Fatalf("unexpected net %+v", w.net)
	}
	if err := w.deliver(last); err != nil {
		t.Fatal(err)
	}
	if w.nodes[2].TurnNum() != 5 || len(w.nodes[2].Held) != 1 {
		t.Fatalf("future state not held: turn %d held %d", w.nodes[2].TurnNum(), len(w.nodes[2].Held))
	}
	w.deliverAll()
	for i := 0; i < 3; i++ {
		if w.nodes[i].TurnNum() != 7 || len(w.nodes[i].Held) != 0 {
			t.Fatalf("node %d turn %d held %d", i, w.nodes[i].TurnNum(), len(w.nodes[i].Held))
		}
	}
	_ = toP2first
}

// forge builds a received state at turn t signed by the given nodes.
func (w *world) forge(t uint64, final bool, outcome nitro.Outcome, signers ...int) core.SignedState {
	st := w.nodes[0].Setup.Clone()
	st.TurnNum, st.IsFinal, st.Outcome = t, final, outcome
	h, err := st.Hash()
	if err != nil {
		w.t.Fatal(err)
	}
	ss := core.SignedState{State: st, Participants: w.parts}
	for _, i := range signers {
		ss.Signatures = append(ss.Signatures, sign(w.t, w.keys[i], h))
	}
	return ss
}

func TestReceiveBadStates(t *testing.T) {
	w := openTwoParty(t) // latest turn 3; next mover is p0
	stranger := newWorld(t, 3).keys[2]
	wrongKey := w.forge(4, false, w.outcome(4, 4))
	h, _ := wrongKey.State.Hash()
	wrongKey.Signatures = []nitro.Signature{sign(t, stranger, h)}
	otherChain := w.forge(4, false, w.outcome(4, 4), 0)
	otherChain.State.ChainID = big.NewInt(1)
	cases := []struct {
		name string
		ss   core.SignedState
		want error
	}{
		{"not the mover", w.forge(4, false, w.outcome(4, 4), 1), core.ErrWrongSigner},
		{"non-participant signer", wrongKey, core.ErrWrongSigner},
		{"unsigned", w.forge(4, false, w.outcome(4, 4)), core.ErrWrongSigner},
		{"totals changed", w.forge(4, false, w.outcome(4, 5), 0), core.ErrTotalsChanged},
		{"final changes outcome", w.forge(4, true, w.outcome(4, 4), 0), core.ErrFinalOutcome},
		{"setup state changed", w.forge(2, false, w.outcome(4, 4), 0), core.ErrConflictingState},
		{"fixed part", otherChain, core.ErrFixedPartMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, effs, err := core.Step(w.nodes[1], core.Receive{Me: w.addr(1), Deployment: w.deployment(), Recipient: "p1", Sender: "p0", States: []core.SignedState{tc.ss}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if effs != nil {
				t.Fatal("effects on error")
			}
		})
	}
	// A well-signed state below the kept window is ignored: old news, not
	// an error (see TestLaggingPeerSyncIsAnswered).
	for u := 0; u < 12; u++ {
		mover := (4 + u) % 2
		w.step(mover, core.Update{Outcome: w.outcome(int64(u%8), int64(8-u%8))})
		w.deliverAll()
	}
	stale := w.forge(5, false, w.outcome(1, 7), 1)
	next, effs, err := core.Step(w.nodes[0], core.Receive{Me: w.addr(0), Deployment: w.deployment(), Recipient: "p0", States: []core.SignedState{stale}})
	if err != nil || len(effs) != 0 || !reflect.DeepEqual(next, w.nodes[0]) {
		t.Fatalf("stale: err %v, effects %v, changed %t", err, effs, !reflect.DeepEqual(next, w.nodes[0]))
	}
}

func TestFutureStatesBounded(t *testing.T) {
	w := openTwoParty(t)
	c := w.nodes[1]
	var err error
	for k := 0; k <= core.MaxHeldStates; k++ {
		turn := uint64(6 + 2*k) // p0's turns, all beyond the next one
		c, _, err = core.Step(c, core.Receive{Me: w.addr(1), Deployment: w.deployment(), Recipient: "p1", States: []core.SignedState{w.forge(turn, false, w.outcome(4, 4), 0)}})
		if err != nil {
			break
		}
	}
	if !errors.Is(err, core.ErrFutureState) {
		t.Fatalf("err %v, want ErrFutureState", err)
	}
	if len(c.Held) != core.MaxHeldStates {
		t.Fatalf("held %d", len(c.Held))
	}
}

func TestStepIsDeterministic(t *testing.T) {
	w := openTwoParty(t)
	in := core.Update{Outcome: w.outcome(1, 7), AppData: []byte{1, 2, 3}}
	a, ea, err1 := core.Step(w.nodes[0], in)
	b, eb, err2 := core.Step(w.nodes[0], in)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ea, eb) {
		t.Fatalf("two steps differ: %v %v", err1, err2)
	}
	// The input channel itself is untouched.
	if w.nodes[0].Pending != nil || w.nodes[0].MyLastTurn != 2 {
		t.Fatal("Step mutated its argument")
	}
}

func TestBackupConcludeAfterDelay(t *testing.T) {
	w := openTwoParty(t)
	w.step(0, core.Close{})
	w.deliverAll()
	if len(w.concl) != 1 {
		t.Fatalf("closer concluded %d times", len(w.concl))
	}
	w.concl = nil
	// B sees no Concluded event: it backs up only after the delay.
	w.step(1, core.Tick{Now: 1000})
	w.step(1, core.Tick{Now: 1000 + core.BackupConcludeDelay - 1})
	if len(w.concl) != 0 {
		t.Fatal("backup too early")
	}
	w.step(1, core.Tick{Now: 1000 + core.BackupConcludeDelay})
	if len(w.concl) != 1 {
		t.Fatal("no backup conclude")
	}
	// Once concluded, nobody submits again.
	w.broadcastEvent(core.ChainEvent{Kind: core.EventConcluded, ChannelID: w.nodes[0].ID})
	w.step(1, core.Tick{Now: 5000})
	w.step(0, core.Tick{Now: 5000})
	if len(w.concl) != 1 {
		t.Fatal("conclude repeated after Concluded")
	}
}

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
	// "holdings already sufficient" counts as done: no retry.
	w.deposits = nil
	w.step(0, core.TxFailed{Kind: core.TxDeposit, Asset: d.Asset, Item: d.Item, Done: true})
	w.step(0, core.Tick{Now: 2})
	if len(w.deposits) != 0 {
		t.Fatal("done deposit retried")
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

// TestSyncAfterPruningIsAccepted: after many updates both sides have pruned
// their setup states; a Sync from either side is still accepted whole.
func TestSyncAfterPruningIsAccepted(t *testing.T) {
	w := openTwoParty(t)
	for u := 0; u < 20; u++ {
		w.step((4+u)%2, core.Update{Outcome: w.outcome(int64(u%8), int64(8-u%8))})
		w.deliverAll()
	}
	// B lost nothing; A syncs anyway, B answers; everything is accepted.
	w.step(0, core.Sync{})
	w.deliverAll()
	// A peer one turn behind catches up from a sync.
	w.step(0, core.Update{Outcome: w.outcome(3, 5)})
	w.net = nil // lost
	w.step(0, core.Sync{})
	w.deliverAll()
	if w.nodes[1].TurnNum() != w.nodes[0].TurnNum() {
		t.Fatalf("B at %d, A at %d", w.nodes[1].TurnNum(), w.nodes[0].TurnNum())
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
	w.broadcastEvent(core.ChainEvent{Kind: core.EventDeposited, ChannelID: w.nodes[0].ID, Asset: w.asset, Holdings: big.NewInt(5)})
	w.step(0, core.Tick{Now: 10_000})
	w.step(0, core.Tick{Now: 20_000})
	for _, dep := range w.deposits {
		if dep.Item == d.Item && dep.Asset == d.Asset {
			t.Fatalf("A's deposit repeated after its event: %+v", w.deposits)
		}
	}

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
