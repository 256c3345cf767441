package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Signing before the commit. A Step that wants a state signed emits a
// SignState and leaves the channel with the intent (Pending, MyLastTurn).
// Signatures are deterministic (RFC 6979) and a signature only matters once
// it leaves the process, so the wallet signs at once, steps the signature
// back into the channel and commits the signed state with the messages
// that carry it in one store commit; the messages go out only after that
// commit. A crash before the commit has released nothing (the state and
// its signature are forgotten, the turn is free again); a crash after it
// resends the same bytes from the outbox. So an update is one durable
// commit per wallet instead of two (the intent, then the signed state).
//
// When the signer fails, the step's output is committed as it is: the
// intent with its SignState in the outbox, carried out by a tick or a
// restart as before (and not tried a second time by the same call).

// signNow signs the states effs asks to sign for channel c, stepping each
// signature into c, and returns the channel and the effects with every
// SignState replaced by what its signature produced (in place, so the
// order of the other effects is kept). On a signer failure it returns the
// channel and effects as they stood before that signature, and the error;
// the caller commits them as an intent.
func (w *Wallet) signNow(ctx context.Context, c core.Channel, effs []core.Effect) (core.Channel, []core.Effect, error) {
	for i := 0; i < len(effs); i++ {
		ss, ok := effs[i].(core.SignState)
		if !ok || ss.ChannelID != c.ID {
			continue
		}
		sig, err := w.cfg.Signer.SignState(ctx, ss.Hash)
		if err != nil {
			return c, effs, fmt.Errorf("%w: %w", ErrSigner, err)
		}
		w.meter.signed[stateKind(&ss.State)].Add(1)
		next, more, err := w.step(c, core.Signed{Hash: ss.Hash, Signature: sig})
		if err != nil {
			// The core refused its own signature request's answer: keep
			// the intent, as a signer failure would.
			return c, effs, fmt.Errorf("channel %s: sign now: %w", c.ID, err)
		}
		c = next
		effs = slices.Replace(slices.Clip(effs), i, i+1, more...)
		i-- // what the signature produced may ask for another signature
	}
	return c, effs, nil
}

// signedNow is signNow for a batch: a channel whose signer failed keeps
// its intent, noted in b so that the call's drain does not ask the signer
// again for it (a tick or a restart will).
func (b *batch) signedNow(ctx context.Context, c core.Channel, effs []core.Effect) (core.Channel, []core.Effect) {
	next, out, err := b.w.signNow(ctx, c, effs)
	if err != nil {
		b.w.log.Warn("sign failed; the intent is kept and signed on a tick or restart", "channel", c.ID, "err", err)
		b.signFailed = append(b.signFailed, signFailure{id: c.ID, err: err})
	}
	return next, out
}

// signFailure is a channel whose signature failed during the call.
type signFailure struct {
	id  nitro.Bytes32
	err error
}

// failedSign returns the error of id's failed signature in this call, if any.
func (b *batch) failedSign(id nitro.Bytes32) error {
	for _, f := range b.signFailed {
		if f.id == id {
			return f.err
		}
	}
	return nil
}
