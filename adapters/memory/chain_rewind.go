package memory

import (
	"encoding/binary"
	"math/big"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Block hashes and rewinds: every block has a hash made from its parent's,
// its number, its time and a count of the blocks ever sealed, so a block
// of a new branch never has the hash of the block it replaced.

func chainGenesisHash(chainID *big.Int) nitro.Bytes32 {
	return crypto.Keccak256Hash([]byte("nitrowallet/memory/chain/genesis"), chainWord(chainID))
}

// blockHashLocked returns the hash of b, about to be sealed on the head.
func (c *Chain) blockHashLocked(b *chainBlock) nitro.Bytes32 {
	c.sealed++
	var buf [24]byte
	binary.BigEndian.PutUint64(buf[:], b.number)
	binary.BigEndian.PutUint64(buf[8:], b.time)
	binary.BigEndian.PutUint64(buf[16:], c.sealed)
	parent := c.head().hash
	return crypto.Keccak256Hash(parent[:], buf[:])
}

// BlockHash returns the hash of block n of the current chain, if it has one.
func (c *Chain) BlockHash(n uint64) (nitro.Bytes32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n >= uint64(len(c.blocks)) {
		return nitro.Bytes32{}, false
	}
	return c.blocks[n].hash, true
}

// onChainLocked reports whether a checkpoint's block is on the current chain.
func (c *Chain) onChainLocked(p ports.Checkpoint) bool {
	return p.Block < uint64(len(c.blocks)) && c.blocks[p.Block].hash == p.Hash
}

// rewindCursorLocked checks a subscriber's cursor against the chain: a
// cursor without a hash is trusted, one whose block is still on the chain
// is kept, and otherwise the stream starts at the newest of its
// checkpoints still on the chain, else at the genesis block (moved).
func (c *Chain) rewindCursorLocked(from ports.Cursor) (anc *chainBlock, moved bool) {
	if from.Hash == (nitro.Bytes32{}) {
		return nil, false
	}
	if p, ok := from.Ancestor(c.onChainLocked); ok {
		if p.Block == from.Block {
			return nil, false
		}
		return c.blocks[p.Block], true
	}
	return c.blocks[0], true
}

// rewindSubLocked updates a stream for a reorg that keeps the first keep
// of n blocks: if it was given a removed block, its undelivered events of
// removed blocks are dropped and a core.EventRewound at the new head (the
// common ancestor) is queued; it then follows the new branch. A stream
// given none of them carries on from where it is, or from the new head.
func (c *Chain) rewindSubLocked(s *chainSub, keep, n int) {
	if max(s.from, uint64(keep)) >= min(s.next, uint64(n)) {
		s.next = max(s.from, min(s.next, uint64(keep)))
		return
	}
	s.mu.Lock()
	kept := s.queue[:0]
	for _, ev := range s.queue {
		if ev.Block < uint64(keep) || ev.Kind == core.EventRewound {
			kept = append(kept, ev)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	s.mu.Unlock()
	anc := c.blocks[keep-1]
	s.push([]core.ChainEvent{{Kind: core.EventRewound, Block: anc.number, BlockHash: anc.hash, BlockTime: anc.time}})
	s.from, s.next = min(s.from, uint64(keep)), uint64(keep)
}
