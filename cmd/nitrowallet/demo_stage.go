package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// The demo directs the chain as the applications direct the messages: each
// wallet's chain port holds the chain's events back until the demo delivers
// them, one wallet at a time (A, then B, as the founding document draws
// them), and the demo waits until a wallet has handled an event (it saves
// its chain cursor past it) before the next delivery. So the story is the
// same on every run and every chain, and every line of it really happened.

// stageTimeout bounds every wait of the demo.
const stageTimeout = 30 * time.Second

// notifier is a condition a goroutine can wait on with a context: wait
// returns a channel closed at the next broadcast.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *notifier) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *notifier) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// await calls ready until it returns true, waiting for a broadcast of s
// between calls, for at most stageTimeout (without a limit if what, the
// awaited thing's name for the error, is "").
func await(ctx context.Context, s *notifier, what string, ready func() bool) error {
	var timeout <-chan time.Time
	if what != "" {
		timeout = time.After(stageTimeout)
	}
	for {
		ch := s.wait()
		if ready() {
			return nil
		}
		select {
		case <-ch:
		case <-timeout:
			return fmt.Errorf("demo: timed out waiting for %s", what)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stagedChain is one wallet's chain port in the demo: it tells the story
// which transactions the wallet sends, and queues the chain's events until
// the demo releases them.
type stagedChain struct {
	ports.Chain
	party string
	stage *stage

	mu       sync.Mutex
	seen     map[[2]uint64]bool
	queued   []core.ChainEvent
	released []core.ChainEvent
	changed  notifier
}

// Deposit sends the deposit and tells the story.
func (c *stagedChain) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	h, err := c.Chain.Deposit(ctx, req)
	c.stage.sent(c.party, "deposit()", fmt.Sprintf("%v wei, expectedHeld %v", req.Amount, req.ExpectedHeld), h, err)
	return h, err
}

// ConcludeAndTransferAll sends the conclude and tells the story.
func (c *stagedChain) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	h, err := c.Chain.ConcludeAndTransferAll(ctx, req)
	c.stage.sent(c.party, "concludePushOutcomeAndTransferAll()", fmt.Sprintf("turn %d, %d signatures", req.State.TurnNum, len(req.Signatures)), h, err)
	return h, err
}

// Events streams the chain's events to the wallet as the demo releases them.
func (c *stagedChain) Events(ctx context.Context, from ports.Cursor) (<-chan core.ChainEvent, error) {
	in, err := c.Chain.Events(ctx, from)
	if err != nil {
		return nil, err
	}
	// The stream ends when in does: the wallet then opens another, which
	// carries on with the events not given yet.
	ended := false
	go func() {
		for ev := range in {
			c.mu.Lock()
			// A stream the wallet opens again replays from its cursor.
			if k := [2]uint64{ev.Block, ev.LogIndex}; !c.seen[k] {
				c.seen[k] = true
				c.queued = append(c.queued, ev)
			}
			c.mu.Unlock()
			c.changed.broadcast()
		}
		c.mu.Lock()
		ended = true
		c.mu.Unlock()
		c.changed.broadcast()
	}()
	out := make(chan core.ChainEvent)
	go func() {
		defer close(out)
		for {
			var ev core.ChainEvent
			var stop bool
			if err := await(ctx, &c.changed, "", func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				if len(c.released) > 0 {
					ev, c.released = c.released[0], c.released[1:]
					return true
				}
				stop = ended
				return stop
			}); err != nil || stop {
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// next waits for the next event the wallet has not been given.
func (c *stagedChain) next(ctx context.Context) (core.ChainEvent, error) {
	var ev core.ChainEvent
	err := await(ctx, &c.changed, "a chain event for wallet "+c.party, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.queued) == 0 {
			return false
		}
		ev = c.queued[0]
		return true
	})
	return ev, err
}

// release gives the wallet the event next returned.
func (c *stagedChain) release() {
	c.mu.Lock()
	c.released = append(c.released, c.queued[0])
	c.queued = c.queued[1:]
	c.mu.Unlock()
	c.changed.broadcast()
}

// cursorStore counts the chain cursor's saves: a wallet with Parallelism 1
// saves it once it has handled an event (its step, commit and effects).
type cursorStore struct {
	ports.Store
	mu      sync.Mutex
	saves   int
	changed notifier
}

// SetChainCursor saves the cursor and counts the save.
func (s *cursorStore) SetChainCursor(ctx context.Context, cur ports.Cursor) error {
	err := s.Store.SetChainCursor(ctx, cur)
	s.mu.Lock()
	s.saves++
	s.mu.Unlock()
	s.changed.broadcast()
	return err
}

func (s *cursorStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// stage delivers chain events to the wallets and tells the story of the
// transactions they send.
type stage struct {
	story *story
	// reportsTxs: the chain reports mined transactions (the EVM backends);
	// the story shows each before its events.
	reportsTxs bool

	mu      sync.Mutex
	from    map[ports.TxHash]string
	mined   map[ports.TxHash]ethereum.TxInfo
	told    map[ports.TxHash]bool
	changed notifier
}

func newStage(st *story, chain chainBackend) *stage {
	s := &stage{story: st, from: map[ports.TxHash]string{}, mined: map[ports.TxHash]ethereum.TxInfo{}, told: map[ports.TxHash]bool{}}
	if r, ok := chain.(txReporter); ok {
		s.reportsTxs = true
		r.reportTxs(s.minedTx)
	}
	return s
}

// chain wraps a wallet's chain port.
func (s *stage) chain(party string, c ports.Chain) *stagedChain {
	return &stagedChain{Chain: c, party: party, stage: s, seen: map[[2]uint64]bool{}}
}

// sent tells the story of a transaction a wallet sent.
func (s *stage) sent(party, call, comment string, h ports.TxHash, err error) {
	if err != nil {
		comment += ": " + err.Error()
	} else {
		comment += ", tx " + short(h)
		s.mu.Lock()
		s.from[h] = party
		s.mu.Unlock()
	}
	s.story.effect("Wallet"+party+"->>Chain: "+call, comment)
}

// minedTx receives the chain's report of a mined transaction.
func (s *stage) minedTx(i ethereum.TxInfo) {
	if i.Err != nil {
		s.story.effect("", fmt.Sprintf("chain: tx %s %s failed: %v", short(i.Hash), i.Kind, i.Err))
	}
	s.mu.Lock()
	s.mined[i.Hash] = i
	s.mu.Unlock()
	s.changed.broadcast()
}

// tellMined prints the report of the transaction that emitted an event,
// once, waiting for it on chains that report transactions.
func (s *stage) tellMined(ctx context.Context, ev core.ChainEvent) error {
	if !s.reportsTxs {
		return nil
	}
	var i ethereum.TxInfo
	var told bool
	err := await(ctx, &s.changed, "the transaction of a "+ev.Kind.String()+" event", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		var ok bool
		i, ok = s.mined[ev.TxHash]
		told = s.told[ev.TxHash]
		s.told[ev.TxHash] = ok
		return ok
	})
	if err != nil || told {
		return err
	}
	s.mu.Lock()
	from := s.from[ev.TxHash]
	s.mu.Unlock()
	s.story.say("", fmt.Sprintf("chain: tx %s %s from Wallet%s's account (nonce %d): block %d, gas used %d", short(i.Hash), i.Kind, from, i.Nonce, i.Block, i.GasUsed))
	return nil
}

// deliver gives the next chain event, which must be a kind event of
// channel id, to each party in turn, each once the one before has handled
// it, and tells the story: the event, what it made of the channel, then the
// transactions it caused.
func (s *stage) deliver(ctx context.Context, id nitro.Bytes32, kind core.EventKind, parties []*demoParty) error {
	for k, p := range parties {
		ev, err := p.chain.next(ctx)
		if err != nil {
			return err
		}
		if ev.Kind != kind || ev.ChannelID != id {
			return fmt.Errorf("demo: wallet %s's next chain event is %s of %s, the story expects %s of %s", p.name, ev.Kind, short(ev.ChannelID), kind, short(id))
		}
		if k == 0 {
			if err := s.tellMined(ctx, ev); err != nil {
				return err
			}
		}
		s.story.hold()
		before := p.cursor.count()
		p.chain.release()
		err = await(ctx, &p.cursor.changed, "wallet "+p.name+" to handle "+ev.Kind.String(), func() bool { return p.cursor.count() > before })
		if err != nil {
			s.story.release()
			return err
		}
		c, err := p.w.GetState(ctx, id)
		if err != nil {
			s.story.release()
			return err
		}
		what := fmt.Sprintf("block %d", ev.Block)
		switch ev.Kind {
		case core.EventDeposited:
			what = fmt.Sprintf("+%v wei, holds %v (block %d)", ev.AmountDeposited, ev.Holdings, ev.Block)
		case core.EventAllocationUpdated:
			what = fmt.Sprintf("held %v, paid out (block %d)", ev.InitialHoldings, ev.Block)
		}
		s.story.say("Chain-->>Wallet"+p.name+": "+ev.Kind.String(), fmt.Sprintf("%s; %s is %s (%s)", what, p.name, c.Status, c.FundingStatus))
		s.story.release()
	}
	return nil
}
