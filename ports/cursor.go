package ports

import "github.com/nitrowallet/nitrowallet/core/nitro"

// MaxCheckpoints bounds Cursor.Recent.
const MaxCheckpoints = 16

// Checkpoint is a block the wallet saw, with its hash.
type Checkpoint struct {
	Block uint64
	Hash  nitro.Bytes32
}

// Cursor is where the wallet reads chain events from: Block is the block
// of the last event it handled (its events come again, which is harmless),
// and Hash that block's hash, so a chain adapter can tell whether the
// block is still on the node's chain. A zero Hash (a cursor stored before
// hashes were kept) is trusted once. Recent holds older checkpoints,
// newest first (at most MaxCheckpoints), to find the common ancestor after
// a reorg. Rewinds counts the rewinds the wallet handled: cursors are
// ordered by (Rewinds, Block), so a rewind moves the cursor back while a
// late write of the branch it left is ignored.
type Cursor struct {
	Block   uint64
	Hash    nitro.Bytes32
	Recent  []Checkpoint
	Rewinds uint64
}

// Before reports whether c is ordered before d: fewer rewinds, or as many
// and a lower block.
func (c Cursor) Before(d Cursor) bool {
	return c.Rewinds < d.Rewinds || c.Rewinds == d.Rewinds && c.Block < d.Block
}

// Advance returns the cursor after an event of block b with hash h: the
// current block joins Recent when b is a newer block.
func (c Cursor) Advance(b uint64, h nitro.Bytes32) Cursor {
	if b == c.Block {
		if h != (nitro.Bytes32{}) {
			c.Hash = h
		}
		return c
	}
	recent := c.Recent
	if c.Hash != (nitro.Bytes32{}) && b > c.Block {
		recent = append([]Checkpoint{{Block: c.Block, Hash: c.Hash}}, c.Recent...)
		recent = recent[:min(len(recent), MaxCheckpoints)]
	}
	return Cursor{Block: b, Hash: h, Recent: recent, Rewinds: c.Rewinds}
}

// Rewind returns the cursor after a rewind to the ancestor block b with
// hash h: checkpoints above it are dropped and Rewinds grows by one.
func (c Cursor) Rewind(b uint64, h nitro.Bytes32) Cursor {
	var recent []Checkpoint
	for _, p := range c.Recent {
		if p.Block < b {
			recent = append(recent, p)
		}
	}
	return Cursor{Block: b, Hash: h, Recent: recent, Rewinds: c.Rewinds + 1}
}

// Ancestor returns the newest checkpoint of the cursor (its own block
// first, then Recent) for which onChain answers true, or false when none
// does.
func (c Cursor) Ancestor(onChain func(Checkpoint) bool) (Checkpoint, bool) {
	if c.Hash != (nitro.Bytes32{}) && onChain(Checkpoint{Block: c.Block, Hash: c.Hash}) {
		return Checkpoint{Block: c.Block, Hash: c.Hash}, true
	}
	for _, p := range c.Recent {
		if onChain(p) {
			return p, true
		}
	}
	return Checkpoint{}, false
}
