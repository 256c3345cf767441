package apprules

import (
	"bytes"
	"encoding/binary"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// A nativeRule judges a running transition of one known app in Go instead
// of the EVM. It answers only "valid": true means the app's code, run as
// App.ValidTransition runs it, returns true for this transition; false
// means the rule is not sure (the transition is invalid, or is encoded
// or sized in a way the rule does not read), and the EVM decides, with the
// exact revert data the adjudicator would give. So a native rule can make
// a verdict faster, never different, as long as it says valid only where
// the code does: TestNativeAgreesWithEVM and FuzzSingleAssetPaymentsNative
// check that against the npm artifact's code.
type nativeRule func(a, b VariablePart, turnNumB, nParticipants uint64) bool

// singleAssetPaymentsCodeHash is keccak256 of the runtime code of the
// SingleAssetPayments app of @statechannels/nitro-protocol 0.17.0 (the
// artifact's deployedBytecode, 2,525 bytes; TestNativeAppsAreTheNpmApps).
// An App with exactly this code runs singleAssetPaymentsValid natively
// (see Options.EVMOnly).
var singleAssetPaymentsCodeHash = common.HexToHash("0x3d99a784b1d95331c775b8667df30bc3ae4c07674452ab7328901afee88877f2")

// natives maps the code hash of a known app to its native rule.
var natives = map[common.Hash]nativeRule{
	singleAssetPaymentsCodeHash: singleAssetPaymentsValid,
}

// Bounds of what a native rule judges. Beyond them the EVM decides, so
// that a run that could run out of gas in the EVM is never judged valid in
// Go: at nativeMaxParticipants participants and nativeMaxAppData bytes of
// app data on each side, SingleAssetPayments uses a small part of
// nativeMinGasCap (TestNativeWorstCaseWithinGas), and an App whose
// Options.GasCap is below nativeMinGasCap runs everything in the EVM.
const (
	nativeMaxParticipants = 64
	nativeMaxAppData      = 16 << 10
	nativeMinGasCap       = 1_000_000
)

// singleAssetPaymentsValid is SingleAssetPayments.validTransition
// (nitro-protocol 0.17.0, Solidity 0.7.4) for outcomes in the canonical
// encoding of one asset's allocation: each outcome has one item, whose
// asset outcome is an Allocation of exactly nParticipants items; the
// destinations do not change; no one but the mover (turnNumB %
// nParticipants) ends with less; and the totals, summed modulo 2^256 as
// the contract's unchecked uint256 additions do, are equal. The asset
// holder and the app data are not read (nor are they by the contract,
// beyond decoding them).
func singleAssetPaymentsValid(a, b VariablePart, turnNumB, n uint64) bool {
	if n == 0 || n > nativeMaxParticipants || len(a.AppData) > nativeMaxAppData || len(b.AppData) > nativeMaxAppData {
		return false
	}
	itemsA, ok := canonicalAllocation(a.Outcome, n)
	if !ok {
		return false
	}
	itemsB, ok := canonicalAllocation(b.Outcome, n)
	if !ok {
		return false
	}
	mover := turnNumB % n
	var sumA, sumB, x, y uint256.Int
	for i := range n {
		ia, ib := itemsA[64*i:64*i+64], itemsB[64*i:64*i+64]
		if !bytes.Equal(ia[:32], ib[:32]) { // 'Destinations may not change'
			return false
		}
		x.SetBytes32(ia[32:])
		y.SetBytes32(ib[32:])
		sumA.Add(&sumA, &x) // wraps, as Solidity 0.7's += does
		sumB.Add(&sumB, &y)
		if i != mover && y.Lt(&x) { // 'Nonmover balance decreased'
			return false
		}
	}
	return sumA.Eq(&sumB) // 'Total allocated cannot change'
}

// canonicalAllocation returns the n allocation items (64 bytes each:
// destination, amount) of an outcome that is exactly what
// abi.encode(OutcomeItem[]) gives for one asset holder with an Allocation
// of n items (and so what Outcome.Encode gives), or false for any other
// bytes: more or fewer assets or items, a guarantee, non-zero high bytes
// in the address or a small word, any offset or length the encoder would
// not write, or bytes after the end. Every such check makes the bytes the
// one encoding Solidity's decoder reads back as those items.
func canonicalAllocation(out []byte, n uint64) ([]byte, bool) {
	// OutcomeItem[]: offset 0x20, length 1, the item's offset 0x20; the
	// item (address, bytes) at 0x60 with its bytes at 0x40 from there.
	const ao = 0xc0 // where the asset outcome bytes begin
	if len(out) < ao || !isWord(out, 0x00, 0x20) || !isWord(out, 0x20, 1) || !isWord(out, 0x40, 0x20) ||
		!isAddress(out, 0x60) || !isWord(out, 0x80, 0x40) || !isWord(out, 0xa0, uint64(len(out)-ao)) {
		return nil, false
	}
	// AssetOutcome (uint8 type, bytes): offset 0x20, type 0 (Allocation),
	// the bytes' offset 0x40 in the tuple, their length at 0x60.
	asset := out[ao:]
	const al = 0x80 // where the allocation bytes begin
	if len(asset) < al || !isWord(asset, 0x00, 0x20) || !isWord(asset, 0x20, 0) || !isWord(asset, 0x40, 0x40) ||
		!isWord(asset, 0x60, uint64(len(asset)-al)) {
		return nil, false
	}
	// AllocationItem[]: offset 0x20, length n, then n (bytes32, uint256).
	alloc := asset[al:]
	if uint64(len(alloc)) != 0x40+64*n || !isWord(alloc, 0x00, 0x20) || !isWord(alloc, 0x20, n) {
		return nil, false
	}
	return alloc[0x40:], true
}

// isWord reports whether the 32 bytes at b[at:] are the uint256 v.
func isWord(b []byte, at int, v uint64) bool {
	w := b[at : at+32]
	for _, c := range w[:24] {
		if c != 0 {
			return false
		}
	}
	return binary.BigEndian.Uint64(w[24:]) == v
}

// isAddress reports whether the 32 bytes at b[at:] are a clean address
// (its 12 high bytes zero).
func isAddress(b []byte, at int) bool {
	for _, c := range b[at : at+12] {
		if c != 0 {
			return false
		}
	}
	return true
}
