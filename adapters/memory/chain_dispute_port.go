package memory

// The dispute half of an account's ports.Chain view (ports.Disputes):
// submissions checked for what a real adapter could not encode, then run
// by the adjudicator model in chain_dispute.go; and the reads.

import (
	"context"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Challenge implements ports.Disputes: the adjudicator's challenge with
// the proof's fixed part, its last turn as largestTurnNum, its variable
// parts, the count of final states at its end as isFinalCount, its
// signatures and whoSignedWhat, and the challenger's signature. A proof
// that cannot be encoded is an error wrapping ports.ErrBadProof.
func (a *chainAccount) Challenge(ctx context.Context, req ports.ChallengeRequest) (ports.TxHash, error) {
	if _, err := ports.ProofShape(req.Proof); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: challenge: %w", err)
	}
	cp := ports.ChallengeRequest{Proof: cloneProof(req.Proof), ChallengerSignature: req.ChallengerSignature}
	return a.c.submit(ctx, &chainTx{from: a.from, challenge: &cp})
}

// Checkpoint implements ports.Disputes: the adjudicator's checkpoint, the
// proof encoded as for Challenge.
func (a *chainAccount) Checkpoint(ctx context.Context, req ports.CheckpointRequest) (ports.TxHash, error) {
	if _, err := ports.ProofShape(req.Proof); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: checkpoint: %w", err)
	}
	cp := ports.CheckpointRequest{Proof: cloneProof(req.Proof)}
	return a.c.submit(ctx, &chainTx{from: a.from, checkpoint: &cp})
}

// Respond implements ports.Disputes: the adjudicator's respond(challenger,
// isFinalAB, fixedPart, variablePartAB, sig) with the challenged state's
// fixed part; the contract hashes both states with its own turn number
// record and the turn after it, not the request's turn numbers.
func (a *chainAccount) Respond(ctx context.Context, req ports.RespondRequest) (ports.TxHash, error) {
	if err := respondShape(req); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: respond: %w", err)
	}
	cp := ports.RespondRequest{Challenger: req.Challenger, Challenged: req.Challenged.Clone(), Response: req.Response.Clone(), Signature: req.Signature}
	return a.c.submit(ctx, &chainTx{from: a.from, respond: &cp})
}

// respondShape refuses what respond's calldata cannot carry.
func respondShape(req ports.RespondRequest) error {
	if _, err := req.Challenged.Hash(); err != nil {
		return fmt.Errorf("%w: challenged state: %w", ports.ErrBadProof, err)
	}
	if _, err := req.Response.Outcome.Encode(); err != nil {
		return fmt.Errorf("%w: response: %w", ports.ErrBadProof, err)
	}
	return nil
}

// PushOutcomeAndTransferAll implements ports.Disputes:
// pushOutcomeAndTransferAll(channelId, turnNumRecord, finalizesAt,
// stateHash, challenger, outcomeBytes) with the challenged state's channel
// id, hash and encoded outcome.
func (a *chainAccount) PushOutcomeAndTransferAll(ctx context.Context, req ports.PushOutcomeRequest) (ports.TxHash, error) {
	if _, err := req.Challenged.Hash(); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: push outcome: %w: %w", ports.ErrBadProof, err)
	}
	if req.TurnNumRecord > nitro.MaxUint48 || req.FinalizesAt > nitro.MaxUint48 {
		return ports.TxHash{}, fmt.Errorf("memory chain: push outcome: %w: %w", ports.ErrBadProof, nitro.ErrUint48OutOfRange)
	}
	cp := req
	cp.Challenged = req.Challenged.Clone()
	return a.c.submit(ctx, &chainTx{from: a.from, push: &cp})
}

// Record implements ports.Disputes: the adjudicator's record of the
// channel at the head (turn number record and finalizesAt, zero for a
// channel it never saw).
func (a *chainAccount) Record(ctx context.Context, id nitro.Bytes32) (ports.ChannelRecord, error) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return ports.ChannelRecord{}, err
	}
	st := c.status[id]
	return ports.ChannelRecord{TurnNumRecord: st.turnNumRecord, FinalizesAt: st.finalizesAt}, nil
}

// BlockTime implements ports.Disputes: the head block's time.
func (a *chainAccount) BlockTime(ctx context.Context) (uint64, error) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return 0, err
	}
	return c.head().time, nil
}

// cloneProof deep-copies a support proof.
func cloneProof(p ports.SupportProof) ports.SupportProof {
	out := ports.SupportProof{
		Signatures:    append([]nitro.Signature(nil), p.Signatures...),
		WhoSignedWhat: append([]uint8(nil), p.WhoSignedWhat...),
	}
	for _, st := range p.States {
		out.States = append(out.States, st.Clone())
	}
	return out
}
