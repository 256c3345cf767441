package nitro

import (
	"math/big"
)

// A small hand-written ABI encoder for the few fixed shapes Nitro hashes.
// It produces exactly go-ethereum's abi.Arguments.Pack output (the vectors
// test both against the npm helpers) without reflection, which matters on
// the update hot path.

type abiBuf []byte

func (b abiBuf) word() []byte { return b[len(b)-32:] }

func (b *abiBuf) grow() []byte {
	*b = append(*b, make([]byte, 32)...)
	return b.word()
}

func (b *abiBuf) uint(x uint64) {
	w := b.grow()
	for i := 0; i < 8; i++ {
		w[31-i] = byte(x >> (8 * i))
	}
}

func (b *abiBuf) big(x *big.Int) { x.FillBytes(b.grow()) }

func (b *abiBuf) bytes32(x [32]byte) { copy(b.grow(), x[:]) }

func (b *abiBuf) address(a Address) { copy(b.grow()[12:], a[:]) }

// dynBytes appends the length word and the data padded to 32 bytes.
func (b *abiBuf) dynBytes(d []byte) {
	b.uint(uint64(len(d)))
	*b = append(*b, d...)
	if r := len(d) % 32; r != 0 {
		*b = append(*b, make([]byte, 32-r)...)
	}
}

func padded(n int) int { return (n + 31) / 32 * 32 }

// encodeChannelID is abi.encode(uint256 chainId, address[] participants, uint256 nonce).
func encodeChannelID(chainID *big.Int, ps []Address, nonce uint64) []byte {
	b := make(abiBuf, 0, 32*(4+len(ps)))
	b.big(chainID)
	b.uint(0x60)
	b.uint(nonce)
	b.uint(uint64(len(ps)))
	for _, p := range ps {
		b.address(p)
	}
	return b
}

// encodeAppPart is abi.encode(uint256 challengeDuration, address appDefinition, bytes appData).
func encodeAppPart(cd uint64, app Address, data []byte) []byte {
	b := make(abiBuf, 0, 32*4+padded(len(data)))
	b.uint(cd)
	b.address(app)
	b.uint(0x60)
	b.dynBytes(data)
	return b
}

// encodeAllocationItems is abi.encode((bytes32,uint256)[]); amounts must be checked.
func encodeAllocationItems(items []AllocationItem) []byte {
	b := make(abiBuf, 0, 32*(2+2*len(items)))
	b.uint(0x20)
	b.uint(uint64(len(items)))
	for _, it := range items {
		b.bytes32(it.Destination)
		b.big(it.Amount)
	}
	return b
}

// encodeGuaranteeTuple is abi.encode((bytes32 targetChannelId, bytes32[] destinations)).
func encodeGuaranteeTuple(g Guarantee) []byte {
	b := make(abiBuf, 0, 32*(4+len(g.Destinations)))
	b.uint(0x20)
	b.bytes32(g.TargetChannelID)
	b.uint(0x40)
	b.uint(uint64(len(g.Destinations)))
	for _, d := range g.Destinations {
		b.bytes32(d)
	}
	return b
}

// encodeAssetOutcomeTuple is abi.encode((uint8 assetOutcomeType, bytes data)).
func encodeAssetOutcomeTuple(typ uint8, data []byte) []byte {
	b := make(abiBuf, 0, 32*4+padded(len(data)))
	b.uint(0x20)
	b.uint(uint64(typ))
	b.uint(0x40)
	b.dynBytes(data)
	return b
}

// encodeOutcomeItems is abi.encode((address, bytes)[]).
func encodeOutcomeItems(holders []Address, items [][]byte) []byte {
	size := 32 * (2 + len(items))
	for _, it := range items {
		size += 32*3 + padded(len(it))
	}
	b := make(abiBuf, 0, size)
	b.uint(0x20)
	b.uint(uint64(len(items)))
	off := 32 * len(items)
	for _, it := range items {
		b.uint(uint64(off))
		off += 32*3 + padded(len(it))
	}
	for i, it := range items {
		b.address(holders[i])
		b.uint(0x40)
		b.dynBytes(it)
	}
	return b
}

// appendState appends abi.encode(State{turnNum, isFinal, channelId,
// appPartHash, outcomeHash}) to dst.
func appendState(dst []byte, turn uint64, final bool, id, app, outcome Bytes32) []byte {
	b := abiBuf(dst)
	b.uint(turn)
	if final {
		b.uint(1)
	} else {
		b.uint(0)
	}
	b.bytes32(id)
	b.bytes32(app)
	b.bytes32(outcome)
	return b
}

// assetOutcomeSize is the length of encodeAssetOutcomeTuple's output for a.
func assetOutcomeSize(a AssetOutcome) int {
	inner := 32 * (2 + 2*len(a.Allocation))
	if a.Guarantee != nil {
		inner = 32 * (4 + len(a.Guarantee.Destinations))
	}
	return 32*4 + inner // inner is a whole number of words
}

// appendOutcome appends Outcome.Encode's bytes for o (amounts must be
// checked) in one pass, with no intermediate buffers.
func appendOutcome(dst []byte, o Outcome) []byte {
	size := 32 * (2 + len(o))
	for _, a := range o {
		size += 32*3 + assetOutcomeSize(a)
	}
	b := abiBuf(dst)
	if cap(b)-len(b) < size {
		b = append(make(abiBuf, 0, len(b)+size), b...)
	}
	b.uint(0x20)
	b.uint(uint64(len(o)))
	off := 32 * len(o)
	for _, a := range o {
		b.uint(uint64(off))
		off += 32*3 + assetOutcomeSize(a)
	}
	for _, a := range o {
		b.address(a.AssetHolder)
		b.uint(0x40)
		n := assetOutcomeSize(a)
		b.uint(uint64(n))
		// encodeAssetOutcomeTuple(typ, inner), inline.
		b.uint(0x20)
		if a.Guarantee != nil {
			g := a.Guarantee
			b.uint(uint64(GuaranteeType))
			b.uint(0x40)
			b.uint(uint64(32 * (4 + len(g.Destinations))))
			b.uint(0x20)
			b.bytes32(g.TargetChannelID)
			b.uint(0x40)
			b.uint(uint64(len(g.Destinations)))
			for _, d := range g.Destinations {
				b.bytes32(d)
			}
			continue
		}
		b.uint(uint64(AllocationType))
		b.uint(0x40)
		b.uint(uint64(32 * (2 + 2*len(a.Allocation))))
		b.uint(0x20)
		b.uint(uint64(len(a.Allocation)))
		for _, it := range a.Allocation {
			b.bytes32(it.Destination)
			b.big(it.Amount)
		}
	}
	return b
}
