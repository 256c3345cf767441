package ethereum

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Events implements ports.Chain. The stream replays the contracts' events
// of blocks from the cursor's block (at least Contracts.StartBlock) up to
// the head less Confirmations, then polls for new blocks every
// PollInterval. Each event carries its block's hash and header time. On
// every poll the scanner checks that the last block it scanned is still on
// the node's chain (rewind.go); if not, or if the cursor's block is not, it
// sends a core.EventRewound at the common ancestor and scans again from
// there. The channel is closed when ctx ends, the chain is closed, or the
// node fails to answer; the consumer then resubscribes from its cursor.
func (c *Chain) Events(ctx context.Context, from ports.Cursor) (<-chan core.ChainEvent, error) {
	if _, err := c.client.BlockNumber(ctx); err != nil {
		return nil, classify("read head", err)
	}
	out := make(chan core.ChainEvent)
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		defer close(out)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(c.send.life, cancel)
		defer stop()
		wake := make(chan struct{}, 1)
		c.wakeMu.Lock()
		c.wakers[wake] = struct{}{}
		c.wakeMu.Unlock()
		defer func() {
			c.wakeMu.Lock()
			delete(c.wakers, wake)
			c.wakeMu.Unlock()
		}()
		s := newScanner(c, from)
		for {
			evs, more, err := s.scan(ctx)
			for _, ev := range evs {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
			if more {
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-time.After(c.cfg.PollInterval):
			}
		}
	}()
	return out, nil
}

// wake makes every event stream of the chain poll now.
func (c *Chain) wake() {
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	for w := range c.wakers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// scanner reads the contracts' logs block range by block range.
type scanner struct {
	c    *Chain
	next uint64 // first block not scanned yet
	// seen are blocks scanned (and the cursor's checkpoints), newest
	// first, at most maxSeen: seen[0] is checked on every poll, and the
	// others locate the common ancestor after a reorg.
	seen []ports.Checkpoint
}

// scan returns the events of the next range of at most MaxBlockRange
// blocks from s.next, up to the head less the confirmation depth, and
// advances s.next past it; more tells whether blocks remain to scan. A range
// is returned whole or not at all, so a consumer resuming from the block
// of the last event it saw never skips part of a block.
func (s *scanner) scan(ctx context.Context) (evs []core.ChainEvent, more bool, err error) {
	c := s.c
	head, err := c.client.BlockNumber(ctx)
	if err != nil {
		return nil, false, classify("read head", err)
	}
	if rw, ok, err := s.check(ctx, head); err != nil || ok {
		return rw, ok, err
	}
	if head < c.cfg.Confirmations || s.next > head-c.cfg.Confirmations {
		return nil, false, nil
	}
	safe := head - c.cfg.Confirmations
	to := min(safe, s.next+c.cfg.MaxBlockRange-1)
	// The range's last block is read first: a reorg after this read is
	// found by the next poll's check, whatever the logs below show.
	end, gone, err := c.headerAt(ctx, to)
	if err != nil || gone {
		return nil, false, err // gone: the head fell below it; the next poll's check finds out
	}
	logs, err := c.client.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(s.next),
		ToBlock:   new(big.Int).SetUint64(to),
		Addresses: c.watch,
		Topics:    [][]common.Hash{c.topics},
	})
	if err != nil {
		if head, herr := c.client.BlockNumber(ctx); herr == nil && head < to {
			// The head fell below the range since its last block was
			// read (geth refuses a range beyond its head): the next
			// poll's check finds out how far.
			return nil, false, nil
		}
		return nil, false, classify("filter logs", err)
	}
	times := map[uint64]uint64{to: end.Time}
	hashes := map[uint64]common.Hash{to: end.Hash()}
	for _, l := range logs {
		if l.Removed {
			continue
		}
		ev, ok, err := c.decode(l)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue
		}
		t, known := times[l.BlockNumber]
		if !known {
			h, gone, err := c.headerAt(ctx, l.BlockNumber)
			if err != nil || gone {
				return nil, false, err
			}
			t = h.Time
			times[l.BlockNumber], hashes[l.BlockNumber] = t, h.Hash()
		}
		if hashes[l.BlockNumber] != l.BlockHash {
			// A reorg while the range was read: scan it again next poll
			// (the check then finds out how far it went).
			return nil, false, nil
		}
		ev.BlockTime, ev.BlockHash = t, l.BlockHash
		evs = append(evs, ev)
	}
	s.next = to + 1
	s.saw(ports.Checkpoint{Block: to, Hash: end.Hash()})
	return evs, to < safe, nil
}

// decode turns a log of a watched contract into a ChainEvent; ok is false
// for a log the wallet does not follow.
func (c *Chain) decode(l types.Log) (ev core.ChainEvent, ok bool, err error) {
	if len(l.Topics) < 2 {
		return ev, false, nil
	}
	ev = core.ChainEvent{
		ChannelID: nitro.Bytes32(l.Topics[1]),
		Block:     l.BlockNumber,
		LogIndex:  uint64(l.Index),
		TxHash:    l.TxHash,
	}
	fromAdjudicator := l.Address == c.cfg.Contracts.Adjudicator
	unpack := func(name string, fromHolder bool) ([]any, error) {
		a := adjudicatorABI
		if fromHolder {
			a = assetHolderABI
		}
		vals, err := a.Unpack(name, l.Data)
		if err != nil {
			return nil, fmt.Errorf("ethereum: decode %s in tx %s: %w", name, l.TxHash, err)
		}
		return vals, nil
	}
	switch {
	case !fromAdjudicator && l.Topics[0] == assetHolderABI.Events["Deposited"].ID:
		vals, err := unpack("Deposited", true)
		if err != nil {
			return ev, false, err
		}
		ev.Kind, ev.Asset = core.EventDeposited, l.Address
		ev.AmountDeposited, ev.Holdings = vals[0].(*big.Int), vals[1].(*big.Int)
	case !fromAdjudicator && l.Topics[0] == assetHolderABI.Events["AllocationUpdated"].ID:
		vals, err := unpack("AllocationUpdated", true)
		if err != nil {
			return ev, false, err
		}
		ev.Kind, ev.Asset = core.EventAllocationUpdated, l.Address
		ev.InitialHoldings = vals[0].(*big.Int)
	case fromAdjudicator && l.Topics[0] == adjudicatorABI.Events["Concluded"].ID:
		vals, err := unpack("Concluded", false)
		if err != nil {
			return ev, false, err
		}
		ev.Kind = core.EventConcluded
		ev.FinalizesAt = vals[0].(*big.Int).Uint64()
	case fromAdjudicator && l.Topics[0] == adjudicatorABI.Events["ChallengeRegistered"].ID:
		ev.Kind = core.EventChallengeRegistered
		ev.TurnNumRecord, ev.FinalizesAt, ev.Challenger, ev.Challenge, err = decodeChallenge(l.Data)
		if err != nil {
			return ev, false, fmt.Errorf("ethereum: decode ChallengeRegistered in tx %s: %w", l.TxHash, err)
		}
	case fromAdjudicator && l.Topics[0] == adjudicatorABI.Events["ChallengeCleared"].ID:
		vals, err := unpack("ChallengeCleared", false)
		if err != nil {
			return ev, false, err
		}
		ev.Kind = core.EventChallengeCleared
		ev.TurnNumRecord = vals[0].(*big.Int).Uint64()
	default:
		return ev, false, nil
	}
	return ev, true, nil
}
