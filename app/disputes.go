package app

import (
	"context"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ChallengeChannel challenges on chain with the wallet's supported state
// (client API ChallengeChannel): the shortest support proof the
// adjudicator accepts, with this wallet's challenger signature. The
// channel is challenging until the challenge is registered and then, if
// no one answers with a newer state, until it finalizes
// (ChannelResult.ChallengeExpirationTime) and its outcome is pushed and
// paid out: then it is closed. Use it when a peer stops answering. An
// unknown channel is code 1300; a channel with a challenge already running
// is ErrDisputed; one with nothing provable yet (the prefund states not
// all signed) is ErrNoSupport; a Fake-funded one is ErrNotOnChain; a
// closed one is ErrChannelClosed.
func (w *Wallet) ChallengeChannel(ctx context.Context, id nitro.Bytes32) (Result, error) {
	if err := w.enter(ctx); err != nil {
		return Result{}, apiError(err)
	}
	defer w.leave()
	res, err := w.apply(ctx, []job{{id: id, in: core.Challenge{}}})
	return res, apiError(err, codeRule{core.ErrChannelNotFound, CodeChannelNotFoundChallenge})
}

// dispute carries out a dispute transaction and returns the TxFailed to
// step in when it fails (nil on success: the chain's events tell the
// rest).
func (w *Wallet) dispute(ctx context.Context, eff core.Effect) core.Input {
	d := w.cfg.Chain
	var kind core.TxKind
	var id nitro.Bytes32
	var err error
	switch eff := eff.(type) {
	case core.SubmitChallenge:
		kind, id = core.TxChallenge, eff.ChannelID
		var sig nitro.Signature
		sig, err = w.challengerSignature(ctx, eff.Proof)
		if err == nil {
			_, err = d.Challenge(ctx, ports.ChallengeRequest{Proof: eff.Proof, ChallengerSignature: sig})
			w.meter.tx(err)
		}
	case core.SubmitCheckpoint:
		kind, id = core.TxCheckpoint, eff.ChannelID
		_, err = d.Checkpoint(ctx, ports.CheckpointRequest{Proof: eff.Proof})
		w.meter.tx(err)
	case core.PushOutcome:
		kind, id = core.TxPushOutcome, eff.ChannelID
		_, err = d.PushOutcomeAndTransferAll(ctx, ports.PushOutcomeRequest{
			Challenged: eff.Challenged, TurnNumRecord: eff.TurnNumRecord, FinalizesAt: eff.FinalizesAt, Challenger: eff.Challenger})
		w.meter.tx(err)
	}
	if err == nil {
		return nil
	}
	w.log.Warn("dispute transaction failed", "channel", id, "kind", kind, "err", err)
	return core.TxFailed{Kind: kind, Done: isRevert(err, ports.ReasonChannelFinalized), Err: err.Error()}
}

// challengerSignature signs the challenge hash of the proof's supported
// state: not a state signature, so it never counts as signing a turn.
func (w *Wallet) challengerSignature(ctx context.Context, p core.SupportProof) (nitro.Signature, error) {
	if len(p.States) == 0 {
		return nitro.Signature{}, fmt.Errorf("%w: empty support proof", ErrInvalidParams)
	}
	h, err := p.States[len(p.States)-1].HashFor(w.cfg.Protocol)
	if err != nil {
		return nitro.Signature{}, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	sig, err := w.cfg.Signer.SignState(ctx, nitro.ChallengeHash(h))
	if err != nil {
		return nitro.Signature{}, fmt.Errorf("%w: %w", ErrSigner, err)
	}
	return sig, nil
}

// chainTime reads the chain's head block time for a Tick, 0 when the
// chain cannot answer now (the Tick's own time is used then).
func (w *Wallet) chainTime(ctx context.Context) uint64 {
	d := w.cfg.Chain
	dctx, cancel := w.effectContext(ctx)
	defer cancel()
	t, err := d.BlockTime(dctx)
	if err != nil {
		w.log.Warn("tick: read the chain's time failed", "err", err)
		return 0
	}
	return t
}
