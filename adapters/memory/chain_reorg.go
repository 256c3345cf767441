package memory

// Reorg: replacing the last blocks with an empty branch, their
// transactions undone and requeued or dropped (block hashes and how event
// streams are rewound are in chain_rewind.go).

import (
	"github.com/nitrowallet/nitrowallet/ports"
)

// ReorgMode says what becomes of the transactions of the blocks a reorg
// removes.
type ReorgMode uint8

const (
	// ReorgRequeue puts them back in the pending queue, in their order and
	// ahead of the transactions already pending, as nodes return them to
	// their mempools; the next Mine executes them again.
	ReorgRequeue ReorgMode = iota
	// ReorgDrop forgets them, as if the new branch carried conflicting
	// transactions (a double spend): Receipt no longer knows them.
	ReorgDrop
)

// Reorg replaces the last depth blocks with an empty branch: it undoes their
// transactions newest first, removes the blocks (the head goes back to the
// block before them, its number and its time) and requeues or drops their
// transactions according to mode. It returns the hashes of the transactions
// the removed blocks held, in order. The genesis block is never removed, so
// depth is capped at the head's number. Without WithManualMining requeued
// transactions are mined again at once, in one block.
//
// Event streams that were given no removed block carry on and deliver the
// new branch's blocks as they are mined (and confirmed). A stream that was
// given a removed block drops what it has not delivered of them and gets a
// core.EventRewound at the new head, the common ancestor, before the new
// branch's events: its reader must undo what the removed blocks told it
// (see core.Rewound). A confirmation depth larger than the reorg spares it.
func (c *Chain) Reorg(depth int, mode ReorgMode) []ports.TxHash {
	c.mu.Lock()
	defer c.mu.Unlock()
	depth = min(max(depth, 0), len(c.blocks)-1)
	if depth == 0 {
		return nil
	}
	keep := len(c.blocks) - depth
	removed := c.blocks[keep:]
	for i := len(removed) - 1; i >= 0; i-- {
		txs := removed[i].txs
		for j := len(txs) - 1; j >= 0; j-- {
			for k := len(txs[j].undo) - 1; k >= 0; k-- {
				txs[j].undo[k]()
			}
		}
	}
	for s := range c.subs {
		c.rewindSubLocked(s, keep, len(c.blocks))
	}
	var txs []*chainTx
	var hashes []ports.TxHash
	for _, b := range removed {
		for _, tx := range b.txs {
			tx.mined, tx.block, tx.time, tx.index = false, 0, 0, 0
			tx.err, tx.logs, tx.undo, tx.held = nil, nil, nil, nil
			txs = append(txs, tx)
			hashes = append(hashes, tx.hash)
		}
	}
	c.blocks = c.blocks[:keep:keep]
	switch mode {
	case ReorgDrop:
		for _, tx := range txs {
			delete(c.txs, tx.hash)
		}
	default:
		c.pending = append(txs, c.pending...)
		if !c.manual && len(c.pending) > 0 {
			c.mineLocked(c.nextTimeLocked())
		}
	}
	return hashes
}
