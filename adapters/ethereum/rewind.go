package ethereum

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
)

// maxSeen bounds the blocks a scanner remembers to find a common ancestor:
// a reorg deeper than the last maxSeen polls (and the cursor's checkpoints)
// rewinds to Contracts.StartBlock.
const maxSeen = 64

// newScanner starts a scan at the cursor. A cursor with a hash is checked
// on the first poll, with its checkpoints; one without (stored before
// hashes were kept) is trusted once.
func newScanner(c *Chain, from ports.Cursor) *scanner {
	s := &scanner{c: c, next: max(from.Block, c.cfg.Contracts.StartBlock)}
	if from.Hash != (common.Hash{}) {
		s.seen = append([]ports.Checkpoint{{Block: from.Block, Hash: from.Hash}}, from.Recent...)
		s.seen = s.seen[:min(len(s.seen), maxSeen)]
	}
	return s
}

// saw remembers a scanned block.
func (s *scanner) saw(p ports.Checkpoint) {
	if len(s.seen) > 0 && s.seen[0] == p {
		return
	}
	s.seen = append([]ports.Checkpoint{p}, s.seen[:min(len(s.seen), maxSeen-1)]...)
}

// check makes sure the newest block the scanner remembers is still on the
// node's chain, and the head not below it. If not, it finds the common
// ancestor (the newest remembered block still on the chain, else
// Contracts.StartBlock), moves the scan back to just after it, makes the
// account's next transaction read its nonce from the node again (the
// removed blocks' transactions may be gone), and returns the
// core.EventRewound to send.
func (s *scanner) check(ctx context.Context, head uint64) ([]core.ChainEvent, bool, error) {
	if len(s.seen) == 0 {
		return nil, false, nil
	}
	on, err := s.onChain(ctx, head, s.seen[0])
	if err != nil || on {
		return nil, false, err
	}
	anc := ports.Checkpoint{Block: s.c.cfg.Contracts.StartBlock}
	next := anc.Block
	kept := 0
	for i, p := range s.seen[1:] {
		on, err := s.onChain(ctx, head, p)
		if err != nil {
			return nil, false, err
		}
		if on {
			anc, next, kept = p, p.Block+1, i+1
			break
		}
	}
	if kept == 0 && anc.Block <= head {
		// No remembered block is left: the deployment block of the
		// node's chain is the floor (the contracts may be gone with it).
		h, gone, err := s.c.headerAt(ctx, anc.Block)
		if err != nil || gone {
			return nil, false, err // gone: nothing changed yet; the next poll checks again
		}
		anc.Hash = h.Hash()
	}
	s.seen = s.seen[kept:]
	if kept == 0 {
		s.seen = nil
		if anc.Hash != (common.Hash{}) {
			s.seen = []ports.Checkpoint{anc}
		}
	}
	s.next = next
	s.c.send.resync()
	return []core.ChainEvent{{Kind: core.EventRewound, Block: anc.Block, BlockHash: anc.Hash}}, true, nil
}

// onChain reports whether block p.Block of the node's chain has p's hash.
func (s *scanner) onChain(ctx context.Context, head uint64, p ports.Checkpoint) (bool, error) {
	if p.Block > head {
		return false, nil
	}
	h, gone, err := s.c.headerAt(ctx, p.Block)
	if err != nil || gone {
		return false, err
	}
	return h.Hash() == p.Hash, nil
}

// headerAt reads block n's header. gone reports that the node has no
// block n because its head is now below n: the chain lost its latest
// blocks (a reorg, a node that came back lower) after the caller read the
// head. The stream then treats the block as not on the chain, or polls
// again, instead of ending. A node that has no block n while its head is
// still at or above n is in the middle of a reorg (geth removes the old
// blocks' numbers before it moves its head): headerAt asks again, up to
// five times over about 75 ms, before it gives up. Any other failure is an
// error.
func (c *Chain) headerAt(ctx context.Context, n uint64) (h *types.Header, gone bool, err error) {
	wait := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		h, err = c.client.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if err == nil {
			return h, false, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, false, classify("read header", err)
		}
		head, herr := c.client.BlockNumber(ctx)
		if herr == nil && head < n {
			return nil, true, nil
		}
		if herr != nil || attempt == reorgRereads {
			return nil, false, classify("read header", err)
		}
		select {
		case <-ctx.Done():
			return nil, false, classify("read header", ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// reorgRereads is how many times headerAt reads a header the node has not
// while its head is above it.
const reorgRereads = 5

// resync makes the next transaction read the account's nonce from the node.
func (s *sender) resync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.synced = false
}

// hasCode returns ports.ErrNoContract unless a contract is deployed at addr
// on the node's chain now.
func (c *Chain) hasCode(ctx context.Context, addr common.Address) error {
	code, err := c.client.CodeAt(ctx, addr, nil)
	if err != nil {
		return classify("read code", err)
	}
	if len(code) == 0 {
		return fmt.Errorf("ethereum: %s: %w", addr, ports.ErrNoContract)
	}
	return nil
}
