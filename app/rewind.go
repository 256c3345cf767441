package app

import (
	"context"
	"errors"
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Rewind is what a ChainRewound notification reports.
type Rewind struct {
	// Block is the common ancestor: events are read again after it.
	Block uint64
	// FundingVanished lists the channels past funding whose deposits the
	// rewind took away: they are funded again (each participant deposits
	// its items again in queue order) before they conclude.
	FundingVanished []nitro.Bytes32
	// PayoutVanished lists the channels whose conclude and payout the
	// rewind took away: the conclude is submitted again.
	PayoutVanished []nitro.Bytes32
}

// saveCursor stores the cursor, retrying while the store fails; it returns
// false once ctx ends first.
func (w *Wallet) saveCursor(ctx context.Context, cur ports.Cursor) bool {
	for try := followMinBackoff; ; try = min(2*try, followMaxBackoff) {
		err := w.cfg.Store.SetChainCursor(ctx, cur)
		if err == nil {
			return true
		}
		w.log.Warn("save chain cursor failed; retrying", "block", cur.Block, "err", err)
		if !sleep(ctx, try) {
			return false
		}
	}
}

// rewind handles a core.EventRewound: the chain no longer has blocks whose
// events the wallet applied. Every channel with funding learns its exact
// holdings from the chain (core.Rewound: holdings replaced, downward too;
// deposits whose effect vanished requested again; a vanished payout undone
// and its conclude submitted again), then the cursor moves back to the
// ancestor (a rewind orders after any cursor of the branch left, see
// ports.Cursor), and the events after it come again. A channel whose
// holdings the chain cannot give now (ports.ErrUnavailable) is retried
// with backoff; with the contracts gone (ports.ErrNoContract) it holds
// nothing; any other failure leaves it as it was, with a warning. Every
// channel with funding is read (a payout may have vanished), one at a
// time. It returns the new cursor, or an
// error once ctx ends first (the stream then checks the stored cursor
// again on the next subscription, and the rewind is handled then).
func (w *Wallet) rewind(ctx context.Context, cur ports.Cursor, ev core.ChainEvent) (ports.Cursor, error) {
	w.log.Warn("chain rewound: blocks the wallet read events from left the chain; re-reading holdings",
		"ancestor", ev.Block, "from", cur.Block)
	var cs []core.Channel
	for try := followMinBackoff; ; try = min(2*try, followMaxBackoff) {
		var err error
		if cs, err = w.cfg.Store.List(ctx); err == nil {
			break
		}
		w.log.Warn("rewind: list channels failed; retrying", "err", err)
		if !sleep(ctx, try) {
			return cur, ctx.Err()
		}
	}
	rep := Rewind{Block: ev.Block}
	for _, c := range cs {
		if len(c.Funding) == 0 || !c.Joined {
			continue
		}
		after, err := w.rewindChannel(ctx, c)
		if err != nil {
			return cur, err
		}
		paid := func(c core.Channel) bool {
			return slices.ContainsFunc(c.Funding, func(f core.AssetFunding) bool { return f.PaidOut })
		}
		switch {
		case paid(c) && !paid(after):
			rep.PayoutVanished = append(rep.PayoutVanished, c.ID)
		case after.FundingVanished() && !c.FundingVanished():
			rep.FundingVanished = append(rep.FundingVanished, c.ID)
		}
	}
	next := cur.Rewind(ev.Block, ev.BlockHash)
	if !w.saveCursor(ctx, next) {
		return cur, ctx.Err()
	}
	w.rewound.Add(1)
	if len(rep.FundingVanished)+len(rep.PayoutVanished) > 0 {
		w.log.Warn("chain rewound: channels lost funding or a payout; funding and concluding them again",
			"ancestor", ev.Block, "funding_vanished", len(rep.FundingVanished), "payout_vanished", len(rep.PayoutVanished))
	}
	w.subs.publish(Notification{Type: ChainRewound, Rewind: &rep})
	return next, nil
}

// rewindChannel reads a channel's holdings at each asset holder and steps
// it with core.Rewound, retrying while the chain or the store fails. It
// returns the channel as stepped.
func (w *Wallet) rewindChannel(ctx context.Context, c core.Channel) (core.Channel, error) {
	for try := followMinBackoff; ; try = min(2*try, followMaxBackoff) {
		in := core.Rewound{Holdings: map[nitro.Address]*big.Int{}}
		var err error
		for _, f := range c.Funding {
			h, herr := w.cfg.Chain.Holdings(ctx, f.Asset, c.ID)
			if errors.Is(herr, ports.ErrNoContract) {
				h, herr = new(big.Int), nil // the deployment is gone, and the funds with it
			}
			if herr != nil && !errors.Is(herr, ports.ErrUnavailable) {
				// Not a passing failure: leave the channel as it is rather
				// than hold up the follower (its events come again anyway).
				w.log.Warn("rewind: holdings unreadable; channel left as it was", "channel", c.ID, "asset", f.Asset, "err", herr)
				return c, nil
			}
			if herr != nil {
				err = herr
				break
			}
			in.Holdings[f.Asset] = h
		}
		if err == nil && c.Dispute != nil {
			var rec ports.ChannelRecord
			rec, err = w.cfg.Chain.Record(ctx, c.ID)
			if errors.Is(err, ports.ErrNoContract) {
				rec, err = ports.ChannelRecord{}, nil // the deployment is gone, and the challenge with it
			}
			if err == nil {
				in.Record = &core.Record{TurnNumRecord: rec.TurnNumRecord, FinalizesAt: rec.FinalizesAt}
			}
		}
		if err == nil {
			err = w.stepRewound(ctx, c.ID, in)
		}
		if err == nil {
			after, gerr := w.cfg.Store.Get(ctx, c.ID)
			if gerr == nil {
				return after, nil
			}
			err = gerr
		}
		w.log.Warn("rewind: channel not updated; retrying", "channel", c.ID, "err", err)
		if !sleep(ctx, try) {
			return c, ctx.Err()
		}
	}
}

// stepRewound applies in to the channel; like applyEventOnce it returns an
// error only if it should be tried again.
func (w *Wallet) stepRewound(ctx context.Context, id nitro.Bytes32, in core.Rewound) error {
	if err := w.enter(ctx); err != nil {
		return err
	}
	defer w.leave()
	// Like a chain event's, the rewind's effects (deposits made again, a
	// conclude resubmitted) go to the channels' workers, so one slow
	// transaction never holds up the rest of the rewind.
	res, err := w.applyThen(ctx, []job{{id: id, in: in}}, w.cfg.Parallelism > 1, false)
	w.publishQueued(res)
	switch {
	case err == nil, errors.Is(err, ErrIncomplete):
		return nil
	case errors.Is(err, ErrStore), errors.Is(err, ErrContextDone):
		return err
	}
	w.log.Warn("rewind refused", "channel", id, "err", err)
	return nil
}
