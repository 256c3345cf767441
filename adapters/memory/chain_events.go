package memory

// Event streams: one subscriber per Events call, fed the events of
// confirmed blocks under the chain's lock and drained to its reader by its
// own goroutine; Logs reads past events as eth_getLogs would.

import (
	"context"
	"math/big"
	"sync"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Events implements ports.Chain. The stream replays every past event of
// confirmed blocks >= the cursor's block, then follows new blocks as they
// are mined and confirmed (at once without WithConfirmations). A cursor
// whose block is no longer on the chain starts the stream with a
// core.EventRewound at the common ancestor (see rewindCursorLocked), and a
// Reorg that removes blocks the stream was given sends one too. Each
// subscriber has an unbounded queue, so a slow reader never blocks the
// chain. The channel is closed when ctx ends or when the chain goes down.
func (a *chainAccount) Events(ctx context.Context, from ports.Cursor) (<-chan core.ChainEvent, error) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return nil, err
	}
	s := &chainSub{
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		out:  make(chan core.ChainEvent),
	}
	s.from, s.next = from.Block, from.Block
	if anc, moved := c.rewindCursorLocked(from); moved {
		s.from, s.next = anc.number, anc.number
		s.push([]core.ChainEvent{{Kind: core.EventRewound, Block: anc.number, BlockHash: anc.hash, BlockTime: anc.time}})
	}
	c.feedLocked(s)
	c.subs[s] = struct{}{}
	go s.run(ctx, c)
	return s.out, nil
}

// feedLocked queues for s the events of the confirmed blocks it has not been
// given yet.
func (c *Chain) feedLocked(s *chainSub) {
	last := c.confirmedLocked()
	for ; s.next <= last; s.next++ {
		if evs := chainBlockEvents(c.blocks[s.next]); len(evs) > 0 {
			s.push(evs)
		}
	}
}

// Logs returns the events of the blocks from through to of the current
// chain (up to the head), in chain order, as eth_getLogs would. They are
// copies.
func (c *Chain) Logs(from, to uint64) []core.ChainEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []core.ChainEvent
	for b := from; b <= to && b < uint64(len(c.blocks)); b++ {
		for _, ev := range chainBlockEvents(c.blocks[b]) {
			out = append(out, chainCloneEvent(ev))
		}
	}
	return out
}

func chainBlockEvents(b *chainBlock) []core.ChainEvent {
	var evs []core.ChainEvent
	for _, tx := range b.txs {
		evs = append(evs, tx.logs...)
	}
	return evs
}

// chainSub is one event stream: a queue filled by the chain under its lock
// and drained to out by the subscriber's goroutine.
type chainSub struct {
	// from is the first block asked for; next is the next block whose
	// events are to be queued (both guarded by the chain's lock).
	from  uint64
	next  uint64
	mu    sync.Mutex
	queue []core.ChainEvent
	wake  chan struct{}
	stop  chan struct{}
	out   chan core.ChainEvent
}

func (s *chainSub) push(evs []core.ChainEvent) {
	s.mu.Lock()
	for _, ev := range evs {
		s.queue = append(s.queue, chainCloneEvent(ev))
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *chainSub) run(ctx context.Context, c *Chain) {
	defer close(s.out)
	defer c.unsubscribe(s)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			}
		}
		ev := s.queue[0]
		s.queue[0] = core.ChainEvent{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		}
	}
}

func (c *Chain) unsubscribe(s *chainSub) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.subs, s)
}

func chainCloneEvent(ev core.ChainEvent) core.ChainEvent {
	for _, p := range []**big.Int{&ev.AmountDeposited, &ev.Holdings, &ev.InitialHoldings} {
		if *p != nil {
			*p = new(big.Int).Set(*p)
		}
	}
	if ev.Challenge != nil {
		p := cloneProof(*ev.Challenge)
		ev.Challenge = &p
	}
	return ev
}
