package chaintest

// What the dispute cases share: the DisputeEnv an adapter provides,
// channels running the npm CountingApp, support proofs signed by their
// participants, and the checks of records and ChallengeRegistered events.

import (
	"bytes"
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Revert reasons of ForceMove 0.17.0's dispute functions the suite
// expects.
const (
	ReasonTurnNumDecreased    = "turnNumRecord decreased."
	ReasonTurnNumNotIncreased = "turnNumRecord not increased."
	ReasonChallengeSignatures = "Invalid signatures"
	ReasonUnacceptableWho     = "Unacceptable whoSignedWhat array"
	ReasonChallengerNotPart   = "Challenger is not a participant"
	ReasonStatusMismatch      = "status(ChannelData)!=storage"
	ReasonNoOngoingChallenge  = "No ongoing challenge."
	ReasonSignerNotMover      = "Signer not authorized mover"
	ReasonChannelNotFinalized = "Channel not finalized."
	// ReasonCounterNotIncremented is CountingApp's revert, bubbled up by
	// the adjudicator.
	ReasonCounterNotIncremented = "Counter must be incremented"
)

// DisputeEnv is an Env whose chain clock can be moved and that can deploy
// the npm package's CountingApp. Every Env must be one: the dispute cases
// fail without it.
type DisputeEnv interface {
	Env
	// AdjustTime mines a block at least seconds after the head (and may
	// mine more after it), so the head's time moves at least that far.
	AdjustTime(ctx context.Context, seconds uint64) error
	// DeployCountingApp puts CountingApp's code on chain (deployed from
	// the npm artifact, or its runtime code set at an address) and returns
	// its address.
	DeployCountingApp(ctx context.Context) (nitro.Address, error)
}

// challengeDuration is the dispute channels' challenge duration, seconds.
const challengeDuration = 1000

func (s *suite) disputeEnv() DisputeEnv {
	s.t.Helper()
	env, ok := s.env.(DisputeEnv)
	if !ok {
		s.t.Fatalf("%T is not a chaintest.DisputeEnv", s.env)
	}
	return env
}

// dispute is a channel running CountingApp, whose app data is
// abi.encode(uint256 counter); its states carry counter = turn number.
type dispute struct {
	channel
	app nitro.Address
	id  nitro.Bytes32
}

func (s *suite) dispute(nonce uint64, names ...string) dispute {
	s.t.Helper()
	app, err := s.disputeEnv().DeployCountingApp(s.ctx)
	if err != nil {
		s.t.Fatalf("DeployCountingApp: %v", err)
	}
	d := dispute{channel: s.channel(nonce, names...), app: app}
	d.id = s.id(d.channel)
	return d
}

func counter(n uint64) []byte { return common32(new(big.Int).SetUint64(n)) }

func common32(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }

// state is the channel's state at turn with the outcome, counter = turn.
func (d dispute) state(turn uint64, outcome nitro.Outcome) nitro.State {
	st := d.final(outcome)
	st.AppDefinition, st.ChallengeDuration = d.app, challengeDuration
	st.TurnNum, st.IsFinal, st.AppData = turn, false, counter(turn)
	return st
}

// proof is a support proof of states in which participant i signs
// states[who[i]].
func (s *suite) proof(d dispute, states []nitro.State, who ...uint8) ports.SupportProof {
	s.t.Helper()
	p := ports.SupportProof{States: states, WhoSignedWhat: who}
	for i, k := range d.signers {
		p.Signatures = append(p.Signatures, s.sign(states[who[i]], k))
	}
	return p
}

// allSign is a one-state proof signed by every participant.
func (s *suite) allSign(d dispute, st nitro.State) ports.SupportProof {
	return s.proof(d, []nitro.State{st}, make([]uint8, len(d.signers))...)
}

// challengeSig is k's signature over the challenge hash of st.
func (s *suite) challengeSig(st nitro.State, k signer) nitro.Signature {
	s.t.Helper()
	h, err := st.Hash()
	if err != nil {
		s.t.Fatal(err)
	}
	raw, err := crypto.Sign(nitro.SignatureDigest(nitro.ChallengeHash(h)), k.key)
	if err != nil {
		s.t.Fatal(err)
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		s.t.Fatal(err)
	}
	return sig
}

// challenge has from challenge with p, signed by participant k.
func (s *suite) challenge(from account, p ports.SupportProof, k signer) ports.TxHash {
	s.t.Helper()
	tx, err := from.chain.Challenge(s.ctx, ports.ChallengeRequest{Proof: p, ChallengerSignature: s.challengeSig(p.States[len(p.States)-1], k)})
	if err != nil {
		s.t.Fatalf("challenge: %v", err)
	}
	return tx
}

func (s *suite) record(c ports.Chain, id nitro.Bytes32) ports.ChannelRecord {
	s.t.Helper()
	r, err := c.Record(s.ctx, id)
	if err != nil {
		s.t.Fatalf("record: %v", err)
	}
	return r
}

func (s *suite) wantRecord(c ports.Chain, id nitro.Bytes32, turn, finalizesAt uint64) {
	s.t.Helper()
	if r := s.record(c, id); r.TurnNumRecord != turn || r.FinalizesAt != finalizesAt {
		s.t.Fatalf("record %+v, want turn %d finalizesAt %d", r, turn, finalizesAt)
	}
}

func (s *suite) blockTime(c ports.Chain) uint64 {
	s.t.Helper()
	t, err := c.BlockTime(s.ctx)
	if err != nil {
		s.t.Fatalf("block time: %v", err)
	}
	return t
}

// timeout moves the chain past finalizesAt.
func (s *suite) timeout(c ports.Chain, finalizesAt uint64) {
	s.t.Helper()
	now := s.blockTime(c)
	if now < finalizesAt {
		if err := s.disputeEnv().AdjustTime(s.ctx, finalizesAt-now); err != nil {
			s.t.Fatalf("adjust time: %v", err)
		}
	}
	if now := s.blockTime(c); now < finalizesAt {
		s.t.Fatalf("block time %d after AdjustTime, want at least %d", now, finalizesAt)
	}
}

// wantRegistered checks a ChallengeRegistered event: the channel, the
// challenged turn, finalizesAt one challenge duration after its block, the
// challenger and the registered proof, which must equal sent.
func (s *suite) wantRegistered(ev core.ChainEvent, id nitro.Bytes32, challenger nitro.Address, tx ports.TxHash, sent ports.SupportProof) {
	s.t.Helper()
	s.wantEvent(ev, core.EventChallengeRegistered, id, nitro.Address{})
	last := sent.States[len(sent.States)-1]
	if ev.TurnNumRecord != last.TurnNum || ev.FinalizesAt != ev.BlockTime+challengeDuration || ev.Challenger != challenger || ev.TxHash != tx {
		s.t.Fatalf("ChallengeRegistered turn %d finalizesAt %d (block time %d) challenger %s tx %s; want turn %d, +%d s, %s, %s",
			ev.TurnNumRecord, ev.FinalizesAt, ev.BlockTime, ev.Challenger, ev.TxHash, last.TurnNum, challengeDuration, challenger, tx)
	}
	s.wantProof(ev.Challenge, sent)
}

// wantProof checks that got is sent, state by state (every field, through
// the state hash and the outcome), with the same signatures and
// whoSignedWhat.
func (s *suite) wantProof(got *ports.SupportProof, sent ports.SupportProof) {
	s.t.Helper()
	if got == nil {
		s.t.Fatal("ChallengeRegistered without its proof")
	}
	if len(got.States) != len(sent.States) || !bytes.Equal(got.WhoSignedWhat, sent.WhoSignedWhat) || len(got.Signatures) != len(sent.Signatures) {
		s.t.Fatalf("registered proof has %d states, whoSignedWhat %v, %d signatures; sent %d, %v, %d",
			len(got.States), got.WhoSignedWhat, len(got.Signatures), len(sent.States), sent.WhoSignedWhat, len(sent.Signatures))
	}
	for i := range sent.Signatures {
		if got.Signatures[i] != sent.Signatures[i] {
			s.t.Fatalf("registered signature %d differs", i)
		}
	}
	for i, want := range sent.States {
		g := got.States[i]
		hg, err1 := g.Hash()
		hw, err2 := want.Hash()
		if err1 != nil || err2 != nil || hg != hw || g.TurnNum != want.TurnNum || g.IsFinal != want.IsFinal ||
			!bytes.Equal(g.AppData, want.AppData) || !g.Outcome.Equal(want.Outcome) || !ports.SameFixedPart(g.FixedPart(), want.FixedPart()) {
			s.t.Fatalf("registered state %d = %+v, want %+v", i, g, want)
		}
	}
}
