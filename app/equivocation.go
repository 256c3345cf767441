package app

import (
	"context"
	"errors"

	"github.com/nitrowallet/nitrowallet/core"
)

// noteEquivocation keeps the evidence when a Step failed because a peer
// signed two different states for one turn: the store records it (once per
// channel and signer) and subscribers get a PeerEquivocated notification.
// The refused input itself changes nothing else.
func (w *Wallet) noteEquivocation(ctx context.Context, c core.Channel, err error) {
	var ev *core.EquivocationError
	if !errors.As(err, &ev) {
		return
	}
	if rerr := w.cfg.Store.RecordEquivocation(context.WithoutCancel(ctx), *ev); rerr != nil {
		w.log.Warn("record equivocation failed", "channel", ev.ChannelID, "signer", ev.Signer, "err", rerr)
	}
	w.log.Warn("peer equivocated", "channel", ev.ChannelID, "signer", ev.Signer, "turn", ev.TurnNum)
	w.subs.publish(Notification{Type: PeerEquivocated, Channel: ResultOf(c), Evidence: ev})
}

// Equivocations returns the evidence of every equivocation the wallet has
// seen: for each channel and peer, the first two different states that peer
// signed for one turn.
func (w *Wallet) Equivocations(ctx context.Context) ([]core.EquivocationError, error) {
	if err := w.enter(ctx); err != nil {
		return nil, apiError(err)
	}
	defer w.leave()
	evs, err := w.cfg.Store.Equivocations(ctx)
	if err != nil {
		return nil, apiError(storeErr("read equivocations", err))
	}
	return evs, nil
}
