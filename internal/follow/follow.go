// Package follow is how the wallet and the watchtower follow the chain: a
// stream of Nitro events opened from a durably stored cursor and opened
// again, with backoff, whenever reading the cursor or opening the stream
// fails or the stream ends.
package follow

import (
	"context"
	"log/slog"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Backoff bounds for following the chain through store or chain failures.
const (
	MinBackoff = 10 * time.Millisecond
	MaxBackoff = 2 * time.Second
)

// Events reads the cursor, opens chain's event stream from it and hands
// both to each, which consumes the stream and reports whether to go on;
// it then starts again from the cursor as stored (each saves it). A failure
// to read the cursor or open the stream is logged and retried with backoff,
// and so is a stream that ends: it ends when the node fails mid-scan, and a
// node that answers the subscription but fails every scan (a provider that
// refuses log queries, say) must not be asked again in a tight loop. The
// backoff starts over once a stream has lasted MaxBackoff. Events returns
// once ctx ends or each returns false.
func Events(ctx context.Context, log *slog.Logger, cursor func(context.Context) (ports.Cursor, error), chain ports.Chain,
	each func(ports.Cursor, <-chan core.ChainEvent) bool) {
	backoff := MinBackoff
	for ctx.Err() == nil {
		cur, err := cursor(ctx)
		var events <-chan core.ChainEvent
		if err == nil {
			events, err = chain.Events(ctx, cur)
		}
		if err != nil {
			log.Warn("follow chain events failed", "err", err)
		} else {
			opened := time.Now()
			if !each(cur, events) || ctx.Err() != nil {
				return
			}
			lasted := time.Since(opened)
			if lasted >= MaxBackoff {
				backoff = MinBackoff
			}
			log.Warn("chain event stream ended; opening it again", "lasted", lasted, "wait", backoff)
		}
		if !Sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, MaxBackoff)
	}
}

// Sleep waits d or until ctx ends, reporting whether it waited the whole d.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
