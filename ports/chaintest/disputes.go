package chaintest

// Disputes: challenges with two- and three-party support proofs and their
// events, a stale challenge cleared by checkpoint, respond with the next
// turn, a final-state challenge, and a challenge that times out and is
// paid out in ETH and tokens. The refused calls are in dispute_reverts.go.

import (
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// testChallengeTwoParties: a two-state proof (turns 4 and 5, each signed
// by its mover, the app judging 4 -> 5) registers turn 5 for Alice; the
// event carries the proof as sent, and the record matches it.
func testChallengeTwoParties(s *suite) {
	a := s.funded()
	d := s.dispute(11, "alice", "bob")
	eth := s.env.ETHAssetHolder()
	outcome := nitro.Outcome{alloc(eth, fresh("two-A"), milli(1), fresh("two-B"), milli(2))}
	p := s.proof(d, []nitro.State{d.state(4, outcome), d.state(5, outcome)}, 0, 1)
	tx := s.challenge(a, p, d.signers[0])
	evs := s.events(a.chain, 0, 1)
	s.wantRegistered(evs[0], d.id, d.signers[0].addr, tx, p)
	s.wantRecord(a.chain, d.id, 5, evs[0].FinalizesAt)
	if now := s.blockTime(a.chain); now < evs[0].BlockTime || now >= evs[0].FinalizesAt {
		s.t.Fatalf("block time %d, want in [%d, %d)", now, evs[0].BlockTime, evs[0].FinalizesAt)
	}
}

// testChallengeThreeParties: a three-state proof (turns 6, 7, 8, each
// signed by its mover) registers turn 8 for Carol, and a stronger
// challenge (turn 9, signed by all) replaces it while it runs.
func testChallengeThreeParties(s *suite) {
	a := s.funded()
	d := s.dispute(12, "alice", "bob", "carol")
	eth := s.env.ETHAssetHolder()
	outcome := nitro.Outcome{alloc(eth, fresh("three-A"), milli(1), fresh("three-B"), milli(2), fresh("three-C"), milli(3))}
	p := s.proof(d, []nitro.State{d.state(6, outcome), d.state(7, outcome), d.state(8, outcome)}, 0, 1, 2)
	tx := s.challenge(a, p, d.signers[2])
	q := s.allSign(d, d.state(9, outcome))
	tx2 := s.challenge(a, q, d.signers[1])
	evs := s.events(a.chain, 0, 2)
	s.wantRegistered(evs[0], d.id, d.signers[2].addr, tx, p)
	s.wantRegistered(evs[1], d.id, d.signers[1].addr, tx2, q)
	s.wantRecord(a.chain, d.id, 9, evs[1].FinalizesAt)
}

// testCheckpointClearsStaleChallenge: Bob challenges with turn 5; Alice
// clears it with turn 7 (checkpoint); a challenge with turn 6 is then
// refused, and one with turn 7 (not lower) registers.
func testCheckpointClearsStaleChallenge(s *suite) {
	a, b := s.funded(), s.funded()
	d := s.dispute(13, "alice", "bob")
	outcome := nitro.Outcome{alloc(s.env.ETHAssetHolder(), fresh("stale-A"), milli(1))}
	s.challenge(b, s.allSign(d, d.state(5, outcome)), d.signers[1])
	tx, err := a.chain.Checkpoint(s.ctx, ports.CheckpointRequest{Proof: s.allSign(d, d.state(7, outcome))})
	if err != nil {
		s.t.Fatalf("checkpoint: %v", err)
	}
	evs := s.events(a.chain, 0, 2)
	s.wantEvent(evs[1], core.EventChallengeCleared, d.id, nitro.Address{})
	if evs[1].TurnNumRecord != 7 || evs[1].TxHash != tx {
		s.t.Fatalf("ChallengeCleared turn %d tx %s, want 7, %s", evs[1].TurnNumRecord, evs[1].TxHash, tx)
	}
	s.wantRecord(a.chain, d.id, 7, 0)
	_, err = b.chain.Challenge(s.ctx, ports.ChallengeRequest{Proof: s.allSign(d, d.state(6, outcome)), ChallengerSignature: s.challengeSig(d.state(6, outcome), d.signers[1])})
	s.wantRevert(err, ReasonTurnNumDecreased)
	s.wantRecord(a.chain, d.id, 7, 0)
	// An open channel takes a challenge at its record's turn.
	p := s.allSign(d, d.state(7, outcome))
	s.challenge(b, p, d.signers[1])
	evs = s.events(a.chain, 0, 3)
	s.wantRegistered(evs[2], d.id, d.signers[1].addr, evs[2].TxHash, p)
}

// testRespondWithNextTurn: Bob challenges with turn 5; a response at turn
// 6 signed by Bob (not its mover) or that does not count up (the app
// refuses it) is refused; Alice's turn 6 clears it.
func testRespondWithNextTurn(s *suite) {
	a, b := s.funded(), s.funded()
	d := s.dispute(14, "alice", "bob")
	outcome := nitro.Outcome{alloc(s.env.ETHAssetHolder(), fresh("respond-A"), milli(1), fresh("respond-B"), milli(1))}
	challenged := d.state(5, outcome)
	s.challenge(b, s.allSign(d, challenged), d.signers[1])
	next := d.state(6, outcome)
	req := ports.RespondRequest{Challenger: d.signers[1].addr, Challenged: challenged, Response: next, Signature: s.sign(next, d.signers[1])}
	_, err := a.chain.Respond(s.ctx, req)
	s.wantRevert(err, ReasonSignerNotMover)
	same := next
	same.AppData = counter(5)
	_, err = a.chain.Respond(s.ctx, ports.RespondRequest{Challenger: d.signers[1].addr, Challenged: challenged, Response: same, Signature: s.sign(same, d.signers[0])})
	s.wantRevert(err, ReasonCounterNotIncremented)
	req.Signature = s.sign(next, d.signers[0])
	wrong := req
	wrong.Challenger = d.signers[0].addr
	_, err = a.chain.Respond(s.ctx, wrong)
	s.wantRevert(err, ReasonStatusMismatch)
	tx, err := a.chain.Respond(s.ctx, req)
	if err != nil {
		s.t.Fatalf("respond: %v", err)
	}
	evs := s.events(a.chain, 0, 2)
	s.wantEvent(evs[1], core.EventChallengeCleared, d.id, nitro.Address{})
	if evs[1].TurnNumRecord != 6 || evs[1].TxHash != tx {
		s.t.Fatalf("ChallengeCleared turn %d tx %s, want 6, %s", evs[1].TurnNumRecord, evs[1].TxHash, tx)
	}
	s.wantRecord(a.chain, d.id, 6, 0)
	// No challenge runs any more.
	_, err = a.chain.Respond(s.ctx, req)
	s.wantRevert(err, ReasonStatusMismatch)
}

// testChallengeWithFinalState: a final state signed by all registers with
// IsFinal set; after the timeout a third party pushes its outcome.
func testChallengeWithFinalState(s *suite) {
	a, b, c := s.funded(), s.funded(), s.funded()
	d := s.dispute(15, "alice", "bob")
	eth := s.env.ETHAssetHolder()
	s.fundTwo(a, b, d.id)
	dA, dB := fresh("final-A"), fresh("final-B")
	st := d.state(9, nitro.Outcome{alloc(eth, dA, milli(100), dB, milli(400))})
	st.IsFinal = true
	p := s.allSign(d, st)
	tx := s.challenge(b, p, d.signers[1])
	evs := s.events(a.chain, 0, 3)
	s.wantRegistered(evs[2], d.id, d.signers[1].addr, tx, p)
	if !evs[2].Challenge.States[0].IsFinal {
		s.t.Fatal("registered final state is not final")
	}
	s.timeout(a.chain, evs[2].FinalizesAt)
	if _, err := c.chain.PushOutcomeAndTransferAll(s.ctx, ports.PushOutcomeRequest{
		Challenged: st, TurnNumRecord: 9, FinalizesAt: evs[2].FinalizesAt, Challenger: d.signers[1].addr,
	}); err != nil {
		s.t.Fatalf("push outcome: %v", err)
	}
	s.wantAmount("A's destination", s.balance(dA), milli(100))
	s.wantAmount("B's destination", s.balance(dB), milli(400))
	s.wantAmount("holdings", s.holdings(a.chain, eth, d.id), new(big.Int))
}

// testChallengeWithTwoFinalStates: a proof of two final states (turns 8
// and 9, each signed by its mover) registers, and the event's proof comes
// back with both states final although the event only says the last one
// is (ports.RegisteredProof).
func testChallengeWithTwoFinalStates(s *suite) {
	a := s.funded()
	d := s.dispute(17, "alice", "bob")
	outcome := nitro.Outcome{alloc(s.env.ETHAssetHolder(), fresh("two-final-A"), milli(1))}
	f8, f9 := d.state(8, outcome), d.state(9, outcome)
	f8.IsFinal, f9.IsFinal = true, true
	p := s.proof(d, []nitro.State{f8, f9}, 0, 1)
	tx := s.challenge(a, p, d.signers[0])
	evs := s.events(a.chain, 0, 1)
	s.wantRegistered(evs[0], d.id, d.signers[0].addr, tx, p)
}

// testChallengeTimeoutPaysOut: a running state with ETH and tokens is
// challenged; pushing before the timeout, or with a wrong fingerprint, is
// refused; after it a third party's push pays both assets exactly, and a
// new challenge is refused (finalized).
func testChallengeTimeoutPaysOut(s *suite) {
	a, b, c := s.funded(), s.funded(), s.funded()
	d := s.dispute(16, "alice", "bob")
	eth, tok := s.env.ETHAssetHolder(), s.env.ERC20AssetHolder()
	s.fundTwo(a, b, d.id)
	s.deposit(a, tok, d.id, new(big.Int), big.NewInt(30))
	s.deposit(b, tok, d.id, big.NewInt(30), big.NewInt(20))
	dA, dB := fresh("timeout-A"), fresh("timeout-B")
	st := d.state(5, nitro.Outcome{
		alloc(eth, dA, milli(200), dB, milli(300)),
		alloc(tok, dA, big.NewInt(15), dB, big.NewInt(35)),
	})
	s.challenge(a, s.allSign(d, st), d.signers[0])
	evs := s.events(a.chain, 0, 5)
	fin := evs[4].FinalizesAt
	req := ports.PushOutcomeRequest{Challenged: st, TurnNumRecord: 5, FinalizesAt: fin, Challenger: d.signers[0].addr}
	_, err := c.chain.PushOutcomeAndTransferAll(s.ctx, req)
	s.wantRevert(err, ReasonChannelNotFinalized)
	s.timeout(a.chain, fin)
	s.wantRecord(a.chain, d.id, 5, fin)
	for _, bad := range []func(*ports.PushOutcomeRequest){
		func(r *ports.PushOutcomeRequest) { r.Challenger = d.signers[1].addr },
		func(r *ports.PushOutcomeRequest) { r.TurnNumRecord = 4 },
		func(r *ports.PushOutcomeRequest) { r.FinalizesAt = fin + 1 },
		func(r *ports.PushOutcomeRequest) {
			r.Challenged = d.state(5, nitro.Outcome{alloc(eth, dA, milli(500))})
		},
	} {
		wrong := req
		bad(&wrong)
		_, err := c.chain.PushOutcomeAndTransferAll(s.ctx, wrong)
		s.wantRevert(err, ReasonStatusMismatch)
	}
	balC := s.balance(c.addr)
	tx, err := c.chain.PushOutcomeAndTransferAll(s.ctx, req)
	if err != nil {
		s.t.Fatalf("push outcome: %v", err)
	}
	s.wantAmount("A's destination ETH", s.balance(dA), milli(200))
	s.wantAmount("B's destination ETH", s.balance(dB), milli(300))
	s.wantAmount("A's destination tokens", s.tokens(dA), big.NewInt(15))
	s.wantAmount("B's destination tokens", s.tokens(dB), big.NewInt(35))
	s.wantAmount("ETH holdings", s.holdings(a.chain, eth, d.id), new(big.Int))
	s.wantAmount("token holdings", s.holdings(a.chain, tok, d.id), new(big.Int))
	s.wantSpent("the submitter", c.addr, balC, new(big.Int), tx)
	evs = s.events(a.chain, 0, 7)
	s.wantEvent(evs[5], core.EventAllocationUpdated, d.id, eth, milli(500))
	s.wantEvent(evs[6], core.EventAllocationUpdated, d.id, tok, big.NewInt(50))
	if evs[5].TxHash != tx || evs[6].TxHash != tx {
		s.t.Fatalf("payout events from %s, %s, want %s", evs[5].TxHash, evs[6].TxHash, tx)
	}
	later := d.state(8, st.Outcome)
	_, err = b.chain.Challenge(s.ctx, ports.ChallengeRequest{Proof: s.allSign(d, later), ChallengerSignature: s.challengeSig(later, d.signers[1])})
	s.wantRevert(err, ports.ReasonChannelFinalized)
	_, err = b.chain.Checkpoint(s.ctx, ports.CheckpointRequest{Proof: s.allSign(d, later)})
	s.wantRevert(err, ports.ReasonChannelFinalized)
}
