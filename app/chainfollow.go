package app

import (
	"context"
	"errors"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/internal/follow"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Backoff bounds for following the chain through store or chain failures.
const (
	followMinBackoff = follow.MinBackoff
	followMaxBackoff = follow.MaxBackoff
)

// followChain feeds chain events to their channels and advances the
// cursor, reconnecting from the durable cursor whenever the stream ends.
// Every event is applied before the cursor moves past it: an event whose
// channel cannot be read or whose commit fails (the store is down) is
// retried until it is applied, so none is lost while the database is away
// (issue 18). Applying one twice is harmless: the core takes the largest
// holdings seen, and a payout or conclude it already knows changes nothing.
// The cursor keeps each event's block hash and a few older checkpoints, so
// the chain can tell when blocks the wallet read left it: the stream then
// sends a core.EventRewound, handled by rewind (rewind.go), and carries on
// from the common ancestor (issue 19).
func (w *Wallet) followChain(ctx context.Context) {
	defer w.wg.Done()
	follow.Events(ctx, w.log, w.cfg.Store.ChainCursor, w.cfg.Chain, func(cursor ports.Cursor, events <-chan core.ChainEvent) bool {
		for ev := range events {
			if ev.Kind == core.EventRewound {
				// Blocks read before left the chain (rewind.go).
				var err error
				if cursor, err = w.rewind(ctx, cursor, ev); err != nil {
					return false // stopping: the stream checks the cursor again
				}
				continue
			}
			if !w.applyEvent(ctx, ev) {
				return false // stopping: the event is replayed from the cursor
			}
			cursor = cursor.Advance(ev.Block, ev.BlockHash)
			if !w.saveCursor(ctx, cursor) {
				return false
			}
		}
		return true
	})
}

// applyEvent applies one chain event to its channel, if the wallet has it,
// retrying while the store fails; it returns false once ctx ends first.
func (w *Wallet) applyEvent(ctx context.Context, ev core.ChainEvent) bool {
	for try := followMinBackoff; ; try = min(2*try, followMaxBackoff) {
		if ctx.Err() != nil {
			return false
		}
		err := w.applyEventOnce(ctx, ev)
		if err == nil {
			return true
		}
		w.log.Warn("chain event not applied; retrying", "channel", ev.ChannelID, "event", ev.Kind, "block", ev.Block, "err", err)
		if !sleep(ctx, try) {
			return false
		}
	}
}

// applyEventOnce applies ev and returns an error only if it should be tried
// again: the store could not be read or written. A channel the wallet does
// not have, or an event its core refuses, is done with.
func (w *Wallet) applyEventOnce(ctx context.Context, ev core.ChainEvent) error {
	if _, err := w.cfg.Store.Get(ctx, ev.ChannelID); errors.Is(err, ports.ErrNotFound) {
		return nil
	} else if err != nil {
		return storeErr("load channel", err)
	}
	if err := w.enter(ctx); err != nil {
		return err // closing: ctx ends too
	}
	defer w.leave()
	// The event's change is committed here, before the cursor moves past
	// it; its effects (a deposit that waits for its receipt) go to the
	// channel's worker, so the next event need not wait for them. With
	// Parallelism 1 they run here, in order.
	res, err := w.applyThen(ctx, []job{{id: ev.ChannelID, in: ev}}, w.cfg.Parallelism > 1, false)
	w.publishQueued(res)
	switch {
	case err == nil, errors.Is(err, ErrIncomplete):
		return nil // committed; effects not carried out stay pending
	case errors.Is(err, ErrStore), errors.Is(err, ErrContextDone):
		return err // nothing committed: try again (or stop)
	case !errors.Is(err, core.ErrChannelNotFound):
		w.log.Warn("chain event refused", "channel", ev.ChannelID, "event", ev.Kind, "err", err)
	}
	return nil
}

// sleep waits d or until ctx ends, reporting whether it waited the whole d.
func sleep(ctx context.Context, d time.Duration) bool { return follow.Sleep(ctx, d) }
