package chaintest

// The dispute calls the adjudicator refuses, with the same reasons on
// every adapter, and the proofs no call can carry (ports.ErrBadProof).

import (
	"errors"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// testChallengeReverts: bad signatures, a challenger who is not a
// participant, an unacceptable whoSignedWhat, and a challenge or
// checkpoint that does not raise the turn number of a running challenge;
// none changes the record.
func testChallengeReverts(s *suite) {
	a := s.funded()
	d := s.dispute(21, "alice", "bob")
	outcome := nitro.Outcome{alloc(s.env.ETHAssetHolder(), fresh("reverts-A"), milli(1))}
	st := d.state(5, outcome)
	challenge := func(p ports.SupportProof, sig nitro.Signature) error {
		_, err := a.chain.Challenge(s.ctx, ports.ChallengeRequest{Proof: p, ChallengerSignature: sig})
		return err
	}
	good := s.challengeSig(st, d.signers[0])

	carol := newSigner(s.t, "carol")
	p := s.allSign(d, st)
	p.Signatures[1] = s.sign(st, carol)
	s.wantRevert(challenge(p, good), ReasonChallengeSignatures)

	p = s.allSign(d, st)
	p.Signatures[0], p.Signatures[1] = p.Signatures[1], p.Signatures[0]
	s.wantRevert(challenge(p, good), ReasonChallengeSignatures)

	p = s.allSign(d, st)
	p.Signatures[1] = nitro.Signature{V: 27}
	s.wantRevert(challenge(p, good), ports.ReasonInvalidSignature)

	s.wantRevert(challenge(s.allSign(d, st), s.challengeSig(st, carol)), ReasonChallengerNotPart)
	// Bob's signature over a state he does not support (the previous
	// turn's, which Alice moved).
	two := []nitro.State{d.state(4, outcome), st}
	s.wantRevert(challenge(s.proof(d, two, 0, 0), good), ReasonUnacceptableWho)
	s.wantRecord(a.chain, d.id, 0, 0)
	if s.blockTime(a.chain) == 0 {
		s.t.Fatal("block time 0")
	}

	s.challenge(a, s.allSign(d, st), d.signers[0])
	fin := s.record(a.chain, d.id).FinalizesAt
	s.wantRevert(challenge(s.allSign(d, st), good), ReasonTurnNumNotIncreased)
	_, err := a.chain.Checkpoint(s.ctx, ports.CheckpointRequest{Proof: s.allSign(d, st)})
	s.wantRevert(err, ReasonTurnNumNotIncreased)
	lower := d.state(4, outcome)
	_, err = a.chain.Checkpoint(s.ctx, ports.CheckpointRequest{Proof: s.allSign(d, lower)})
	s.wantRevert(err, ReasonTurnNumNotIncreased)
	s.wantRecord(a.chain, d.id, 5, fin)
}

// testDisputeWithoutChallenge: respond and push on a channel the
// adjudicator never saw are refused.
func testDisputeWithoutChallenge(s *suite) {
	a := s.funded()
	d := s.dispute(22, "alice", "bob")
	outcome := nitro.Outcome{alloc(s.env.ETHAssetHolder(), fresh("none-A"), milli(1))}
	st, next := d.state(5, outcome), d.state(6, outcome)
	_, err := a.chain.Respond(s.ctx, ports.RespondRequest{Challenger: d.signers[1].addr, Challenged: st, Response: next, Signature: s.sign(next, d.signers[0])})
	s.wantRevert(err, ReasonStatusMismatch)
	_, err = a.chain.PushOutcomeAndTransferAll(s.ctx, ports.PushOutcomeRequest{Challenged: st, TurnNumRecord: 5, Challenger: d.signers[1].addr})
	s.wantRevert(err, ReasonChannelNotFinalized)
	s.wantRecord(a.chain, d.id, 0, 0)
}

// testAppLessRunningTransitionReverts: a running transition in a channel
// whose appDefinition has no code reverts without a reason (the
// adjudicator's call to an address without code), while the same proof in
// the setup turns, which never asks the app, registers.
func testAppLessRunningTransitionReverts(s *suite) {
	a := s.funded()
	d := dispute{channel: s.channel(23, "alice", "bob"), app: nitro.Address{}}
	d.id = s.id(d.channel)
	outcome := nitro.Outcome{alloc(s.env.ETHAssetHolder(), fresh("noapp-A"), milli(1))}
	running := []nitro.State{d.state(4, outcome), d.state(5, outcome)}
	_, err := a.chain.Challenge(s.ctx, ports.ChallengeRequest{Proof: s.proof(d, running, 0, 1), ChallengerSignature: s.challengeSig(running[1], d.signers[0])})
	s.wantRevert(err, "")
	setup := []nitro.State{d.state(2, outcome), d.state(3, outcome)}
	setup[1].AppData = setup[0].AppData
	s.challenge(a, s.proof(d, setup, 0, 1), d.signers[1])
	s.wantRecord(a.chain, d.id, 3, s.record(a.chain, d.id).FinalizesAt)
}

// testBadProofNotSent: proofs the adjudicator's calldata cannot carry fail
// with ports.ErrBadProof before anything is sent.
func testBadProofNotSent(s *suite) {
	a := s.funded()
	d := s.dispute(24, "alice", "bob")
	outcome := nitro.Outcome{alloc(s.env.ETHAssetHolder(), fresh("bad-proof-A"), milli(1))}
	final := d.state(5, outcome)
	final.IsFinal = true
	other := d.state(5, outcome)
	other.ChannelNonce++
	for name, states := range map[string][]nitro.State{
		"no states":               nil,
		"a gap in the turns":      {d.state(3, outcome), d.state(5, outcome)},
		"turns out of order":      {d.state(5, outcome), d.state(4, outcome)},
		"a final state first":     {final, d.state(6, outcome)},
		"another channel's state": {d.state(4, outcome), other},
	} {
		p := ports.SupportProof{States: states, Signatures: make([]nitro.Signature, 2), WhoSignedWhat: make([]uint8, 2)}
		_, err := a.chain.Challenge(s.ctx, ports.ChallengeRequest{Proof: p})
		if !errors.Is(err, ports.ErrBadProof) || errors.Is(err, ports.ErrReverted) {
			s.t.Fatalf("challenge with %s: %v, want ErrBadProof", name, err)
		}
		_, err = a.chain.Checkpoint(s.ctx, ports.CheckpointRequest{Proof: p})
		if !errors.Is(err, ports.ErrBadProof) || errors.Is(err, ports.ErrReverted) {
			s.t.Fatalf("checkpoint with %s: %v, want ErrBadProof", name, err)
		}
	}
	s.wantRecord(a.chain, d.id, 0, 0)
}
