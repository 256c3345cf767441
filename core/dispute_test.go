package core_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// takeDispute returns the one dispute effect in flight, emitted by node
// from, and clears the list.
func takeDispute[E core.Effect](t *testing.T, w *world, from int) E {
	t.Helper()
	if len(w.disputes) != 1 || w.from[0] != from {
		t.Fatalf("dispute effects %+v from nodes %v, want one from node %d", w.disputes, w.from, from)
	}
	e, ok := w.disputes[0].(E)
	if !ok {
		t.Fatalf("dispute effect %T, want %T", w.disputes[0], *new(E))
	}
	w.disputes, w.from = nil, nil
	return e
}

// checkProof verifies a support proof as the adjudicator would: one
// signature per participant, each over the state whoSignedWhat names,
// consecutive turns ending at turn.
func checkProof(t *testing.T, w *world, p core.SupportProof, turn uint64, states int) {
	t.Helper()
	if len(p.States) != states || p.States[len(p.States)-1].TurnNum != turn {
		t.Fatalf("proof of %d states ending at turn %d, want %d ending at %d", len(p.States), p.States[len(p.States)-1].TurnNum, states, turn)
	}
	for k := 1; k < len(p.States); k++ {
		if p.States[k].TurnNum != p.States[k-1].TurnNum+1 {
			t.Fatalf("proof turns not consecutive: %d then %d", p.States[k-1].TurnNum, p.States[k].TurnNum)
		}
	}
	for i := range w.parts {
		st := p.States[p.WhoSignedWhat[i]]
		h, err := st.Hash()
		if err != nil {
			t.Fatal(err)
		}
		who, err := nitro.RecoverSigner(h, p.Signatures[i])
		if err != nil || who != w.addr(i) {
			t.Fatalf("participant %d's signature recovers to %s (%v)", i, who, err)
		}
		// The adjudicator's acceptability: i signed at or after its last
		// turn as mover up to the supported turn.
		last := turn - (turn+uint64(len(w.parts))-uint64(i))%uint64(len(w.parts))
		if st.TurnNum < last {
			t.Fatalf("participant %d signed turn %d, before its last move %d", i, st.TurnNum, last)
		}
	}
}

// TestChallengeProofIsShortest: ChallengeChannel sends the shortest proof
// of the supported state: one state when all signed it (a countersigned
// app-less state), the movers' last n states on an app channel, the
// setup states before any update.
func TestChallengeProofIsShortest(t *testing.T) {
	t.Run("no app, countersigned", func(t *testing.T) {
		w := newWorld(t, 2)
		open(w, 5, 3)
		w.step(0, core.Update{Outcome: w.outcome(4, 4)})
		w.deliverAll()
		w.step(1, core.Challenge{})
		checkProof(t, w, takeDispute[core.SubmitChallenge](t, w, 1).Proof, 4, 1)
		if got := w.status(1); got != core.StatusChallenging {
			t.Fatalf("status %s after ChallengeChannel", got)
		}
	})
	t.Run("no app, setup states", func(t *testing.T) {
		w := newWorld(t, 2)
		open(w, 5, 3)
		w.step(0, core.Update{Outcome: w.outcome(4, 4)}) // not countersigned yet: A supports turn 3
		w.step(0, core.Challenge{})
		checkProof(t, w, takeDispute[core.SubmitChallenge](t, w, 0).Proof, 3, 2)
	})
	for _, n := range []int{2, 3} {
		t.Run("app channel", func(t *testing.T) {
			w := newWorld(t, n)
			w.app, w.rule = nitro.Address{0xa9}, func(from, to nitro.State) error { return nil }
			amounts := []int64{5, 3, 7}[:n]
			open(w, amounts...)
			w.step(0, core.Update{Outcome: w.pays(0, 1, 1)})
			w.deliverAll()
			w.step(1, core.Challenge{})
			checkProof(t, w, takeDispute[core.SubmitChallenge](t, w, 1).Proof, uint64(2*n), n)
		})
	}
	t.Run("nothing provable yet", func(t *testing.T) {
		w := newWorld(t, 2)
		w.step(0, w.createInput(5, 3))
		c := w.nodes[0]
		next, effs, err := core.Step(c, core.Challenge{})
		if !errors.Is(err, core.ErrNoSupport) || effs != nil || !reflect.DeepEqual(next, c) {
			t.Fatalf("challenge with only my prefund: %v", err)
		}
	})
}

// TestStaleChallengeCheckpointed: a peer's challenge on a state older than
// mine is answered with a checkpoint of my supported state; the wallet is
// responding meanwhile and takes no update; once cleared it runs again.
func TestStaleChallengeCheckpointed(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	w.deliverAll()
	w.step(1, core.Update{Outcome: w.outcome(5, 3)})
	w.deliverAll() // A countersigned turn 5
	stale := w.forge(3, false, w.outcome(5, 3), 0, 1)
	w.step(0, core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 3, FinalizesAt: 5000,
		Challenger: w.addr(1), Challenge: &core.SupportProof{States: []nitro.State{stale.State}}})
	cp := takeDispute[core.SubmitCheckpoint](t, w, 0)
	checkProof(t, w, cp.Proof, 5, 1)
	if got := w.status(0); got != core.StatusResponding {
		t.Fatalf("A's status %s under a stale challenge", got)
	}
	if _, _, err := core.Step(w.nodes[0], core.Tick{Now: 100}); err != nil {
		t.Fatal(err)
	}
	w.step(0, core.Tick{Now: 100})
	if len(w.disputes) != 0 {
		t.Fatalf("checkpoint sent again while requested: %+v", w.disputes)
	}
	// A failed checkpoint is retried on the next Tick.
	w.step(0, core.TxFailed{Kind: core.TxCheckpoint, Err: "unavailable"})
	w.step(0, core.Tick{Now: 101})
	takeDispute[core.SubmitCheckpoint](t, w, 0)
	if _, _, err := core.Step(w.nodes[0], core.Update{Outcome: w.outcome(4, 4)}); !errors.Is(err, core.ErrDisputed) {
		t.Fatalf("update during a dispute: %v, want ErrDisputed", err)
	}
	w.step(0, core.ChainEvent{Kind: core.EventChallengeCleared, ChannelID: w.nodes[0].ID, TurnNumRecord: 5})
	if got := w.status(0); got != core.StatusRunning || w.nodes[0].Dispute != nil {
		t.Fatalf("A's status %s after the challenge cleared", got)
	}
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
}

// TestChallengeTimeoutPaysOut: my challenge registers; on a Tick past
// finalizesAt I push the outcome at once, my peer only as a backup; the
// payout follows the challenged state and the channel is closed and
// defunded.
func TestChallengeTimeoutPaysOut(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Update{Outcome: w.outcome(4, 4)})
	w.deliverAll()
	w.step(1, core.Challenge{}) // B holds turn 4 signed by both
	p := takeDispute[core.SubmitChallenge](t, w, 1).Proof
	ev := core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 4, FinalizesAt: 1000, Challenger: w.addr(1), Challenge: &p}
	w.broadcastEvent(ev)
	if a, b := w.status(0), w.status(1); a != core.StatusChallenging || b != core.StatusChallenging {
		t.Fatalf("statuses %s, %s under B's challenge on the latest state", a, b)
	}
	w.step(0, core.Tick{Now: 999})
	w.step(1, core.Tick{Now: 999})
	// The chain's time rules once a Tick reports it: a wall clock past
	// finalizesAt does not finalize a challenge the chain has not.
	w.step(1, core.Tick{Now: 5000, ChainTime: 999})
	if len(w.disputes) != 0 {
		t.Fatalf("pushed before finalizesAt: %+v", w.disputes)
	}
	w.step(0, core.Tick{Now: 1000})
	if len(w.disputes) != 0 {
		t.Fatal("A pushed at once; only the challenger does")
	}
	w.step(1, core.Tick{Now: 1000, ChainTime: 1000})
	push := takeDispute[core.PushOutcome](t, w, 1)
	if push.TurnNumRecord != 4 || push.FinalizesAt != 1000 || push.Challenger != w.addr(1) || !push.Challenged.Outcome.Equal(w.outcome(4, 4)) {
		t.Fatalf("push %+v", push)
	}
	w.step(0, core.Tick{Now: 1000 + core.BackupConcludeDelay})
	takeDispute[core.PushOutcome](t, w, 0) // A's backup
	w.broadcastEvent(core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: w.nodes[0].ID, Asset: w.asset, InitialHoldings: big.NewInt(8)})
	for i := range w.nodes {
		c := w.nodes[i]
		if c.Status() != core.StatusClosed || c.FundingStatus() != core.FundingDefunded {
			t.Fatalf("node %d: %s, %s after the payout", i, c.Status(), c.FundingStatus())
		}
		if got := c.Funding[0].Payouts; got[0].Int64() != 4 || got[1].Int64() != 4 {
			t.Fatalf("node %d payouts %v, want the challenged 4/4", i, got)
		}
	}
	// The clone of a disputed channel is deep.
	c := w.nodes[0].Clone()
	c.Dispute.Challenged.Outcome[0].Allocation[0].Amount.SetInt64(99)
	if w.nodes[0].Dispute.Challenged.Outcome[0].Allocation[0].Amount.Int64() == 99 {
		t.Fatal("Clone shares the dispute's state")
	}
}

// TestChallengeOnFinalStateConcluded: a challenge registered while I hold
// a final state signed by all is answered by close's conclude, not by a
// checkpoint; an older challenge's event replayed after a newer one
// changes nothing.
func TestChallengeOnFinalStateConcluded(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Close{})
	w.deliverAll() // B countersigns; A concludes at once
	w.concl = nil
	id := w.nodes[1].ID
	final, _ := w.nodes[1].Final()
	ev := core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: id, TurnNumRecord: 4, FinalizesAt: 900,
		Challenger: w.addr(0), Challenge: &core.SupportProof{States: []nitro.State{final.State}}}
	w.step(1, ev)
	if len(w.disputes) != 0 {
		t.Fatalf("dispute effects %+v: a final state signed by all needs no checkpoint", w.disputes)
	}
	if got := w.status(1); got != core.StatusClosed {
		t.Fatalf("B's status %s holding the final state", got)
	}
	before := w.nodes[1]
	older := ev
	older.TurnNumRecord, older.FinalizesAt = 3, 800
	w.step(1, older)
	if !reflect.DeepEqual(w.nodes[1].Dispute, before.Dispute) {
		t.Fatalf("an older challenge's event replaced the record: %+v", w.nodes[1].Dispute)
	}
}

// TestChallengeDuringFunding: a peer that vanished after my deposit is
// challenged with the setup states; the payout of the partly funded
// channel goes in allocation order, refunding my deposit.
func TestChallengeDuringFunding(t *testing.T) {
	w := newWorld(t, 2)
	w.step(0, w.createInput(5, 3))
	w.deliverAll()
	w.step(1, core.Join{Deployment: w.deployment()})
	w.deliverAll()
	w.mineDeposit() // A's 5; B never deposits
	w.deposits = nil
	w.step(0, core.Challenge{})
	p := takeDispute[core.SubmitChallenge](t, w, 0).Proof
	checkProof(t, w, p, 1, 2) // the prefund states 0 (A) and 1 (B)
	w.step(0, core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 1, FinalizesAt: 100, Challenger: w.addr(0), Challenge: &p})
	w.step(0, core.Tick{Now: 100, ChainTime: 100})
	takeDispute[core.PushOutcome](t, w, 0)
	w.step(0, core.ChainEvent{Kind: core.EventAllocationUpdated, ChannelID: w.nodes[0].ID, Asset: w.asset, InitialHoldings: big.NewInt(5)})
	c := w.nodes[0]
	if got := c.Funding[0].Payouts; got[0].Int64() != 5 || got[1].Int64() != 0 || c.Status() != core.StatusClosed {
		t.Fatalf("payouts %v, status %s: A's 5 must come back, B gets nothing of what it never paid", got, c.Status())
	}
}

// TestNoDepositDuringChallenge: A challenges during funding with the
// setup states before its deposit is mined; when it is, B, whose deposit
// is then due, does not deposit while the challenge runs (the channel may
// finalize and pay out any time, and a deposit mined after the payout
// would be stranded); once the challenge is cleared B deposits.
func TestNoDepositDuringChallenge(t *testing.T) {
	w := proposeAndJoin(t, 5, 3)
	if len(w.deposits) != 1 {
		t.Fatalf("%d deposits queued after the join, want A's", len(w.deposits))
	}
	w.step(0, core.Challenge{})
	p := takeDispute[core.SubmitChallenge](t, w, 0).Proof
	reg := core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: w.nodes[0].ID, TurnNumRecord: 1, FinalizesAt: 100, Challenger: w.addr(0), Challenge: &p}
	w.broadcastEvent(reg)
	w.mineDeposit() // A's 5: B's 3 is due now
	w.step(1, core.Tick{Now: 10, ChainTime: 10})
	if len(w.deposits) != 0 {
		t.Fatalf("deposits %+v queued while the challenge runs", w.deposits)
	}
	w.broadcastEvent(core.ChainEvent{Kind: core.EventChallengeCleared, ChannelID: w.nodes[0].ID, TurnNumRecord: 1})
	w.step(1, core.Tick{Now: 11, ChainTime: 11})
	if len(w.deposits) != 1 || w.deposits[0].Amount.Int64() != 3 {
		t.Fatalf("deposits %+v after the challenge was cleared, want B's 3", w.deposits)
	}
}

// TestRewindDropsVanishedChallenge: after a rewind, a challenge the
// adjudicator's record no longer shows is dropped; mine is submitted again
// on the next Tick. One the record still shows is kept.
func TestRewindDropsVanishedChallenge(t *testing.T) {
	w := newWorld(t, 2)
	open(w, 5, 3)
	w.step(0, core.Challenge{})
	p := takeDispute[core.SubmitChallenge](t, w, 0).Proof
	id := w.nodes[0].ID
	w.step(0, core.ChainEvent{Kind: core.EventChallengeRegistered, ChannelID: id, TurnNumRecord: 3, FinalizesAt: 500, Challenger: w.addr(0), Challenge: &p})
	holdings := map[nitro.Address]*big.Int{w.asset: big.NewInt(8)}
	w.step(0, core.Rewound{Holdings: holdings, Record: &core.Record{TurnNumRecord: 3, FinalizesAt: 500}})
	if w.nodes[0].Dispute == nil {
		t.Fatal("a challenge the record still shows was dropped")
	}
	w.step(0, core.Rewound{Holdings: holdings, Record: &core.Record{}})
	if w.nodes[0].Dispute != nil || w.status(0) != core.StatusChallenging {
		t.Fatalf("vanished challenge: dispute %+v, status %s", w.nodes[0].Dispute, w.status(0))
	}
	w.step(0, core.Tick{Now: 10})
	checkProof(t, w, takeDispute[core.SubmitChallenge](t, w, 0).Proof, 3, 2)
}
