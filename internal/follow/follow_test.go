package follow_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/internal/follow"
	"github.com/nitrowallet/nitrowallet/ports"
)

// endingChain is a node that takes every subscription and ends its stream
// at once, as one that answers the head but fails every log query does.
type endingChain struct {
	ports.Chain
	opened atomic.Int64
}

func (c *endingChain) Events(context.Context, ports.Cursor) (<-chan core.ChainEvent, error) {
	c.opened.Add(1)
	out := make(chan core.ChainEvent)
	close(out)
	return out, nil
}

// TestStreamEndingAtOnceBacksOff: a stream that ends as soon as it opens
// is opened again with backoff (10, 20, 40, 80, 160 ms...), not in a tight
// loop: over 300 ms at most 6 subscriptions. Before, Events opened it again
// at once, thousands of times in that time, each a round of node calls.
func TestStreamEndingAtOnceBacksOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	chain := &endingChain{}
	cursor := func(context.Context) (ports.Cursor, error) { return ports.Cursor{}, nil }
	streams := 0
	follow.Events(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), cursor, chain, func(_ ports.Cursor, events <-chan core.ChainEvent) bool {
		streams++
		for range events {
		}
		return true
	})
	if n := chain.opened.Load(); n < 2 || n > 6 || int64(streams) != n {
		t.Fatalf("%d subscriptions (%d streams consumed) in 300 ms of streams that end at once, want 2 to 6", n, streams)
	}
}
