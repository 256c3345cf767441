package apprules

import (
	"encoding/binary"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// VariablePart is IForceMoveApp.VariablePart: a state's encoded outcome and
// its app data, the part of a state an app judges.
type VariablePart struct {
	Outcome []byte // nitro.Outcome.Encode's bytes
	AppData []byte
}

// VariablePartOf returns the variable part of s, its outcome encoded as on
// chain.
func VariablePartOf(s nitro.State) (VariablePart, error) {
	out, err := s.Outcome.Encode()
	if err != nil {
		return VariablePart{}, err
	}
	return VariablePart{Outcome: out, AppData: s.AppData}, nil
}

// validTransitionSelector is the selector of
// validTransition((bytes,bytes),(bytes,bytes),uint48,uint256).
var validTransitionSelector = [4]byte(crypto.Keccak256([]byte("validTransition((bytes,bytes),(bytes,bytes),uint48,uint256)"))[:4])

// errorSelector is the selector of Error(string), a revert string's prefix.
var errorSelector = [4]byte{0x08, 0xc3, 0x79, 0xa0}

func words(n int) int { return (n + 31) / 32 * 32 }

// tupleSize is the size of a VariablePart's ABI tuple: two offsets, then
// each bytes as a length word and padded data.
func tupleSize(v VariablePart) int { return 4*32 + words(len(v.Outcome)) + words(len(v.AppData)) }

// encodeCall returns the calldata the adjudicator sends the app:
// validTransition(a, b, turnNumB, nParticipants), ABI-encoded as solc does.
func encodeCall(a, b VariablePart, turnNumB, n uint64) []byte {
	return appendCall(nil, a, b, turnNumB, n)
}

// appendCall appends encodeCall's calldata to buf.
func appendCall(buf []byte, a, b VariablePart, turnNumB, n uint64) []byte {
	sa := tupleSize(a)
	buf = slices.Grow(buf, 4+4*32+sa+tupleSize(b))
	buf = append(buf, validTransitionSelector[:]...)
	buf = putWord(buf, 4*32)
	buf = putWord(buf, uint64(4*32+sa))
	buf = putWord(buf, turnNumB)
	buf = putWord(buf, n)
	buf = appendTuple(buf, a)
	return appendTuple(buf, b)
}

func appendTuple(buf []byte, v VariablePart) []byte {
	buf = putWord(buf, 2*32)
	buf = putWord(buf, uint64(3*32+words(len(v.Outcome))))
	buf = appendBytes(buf, v.Outcome)
	return appendBytes(buf, v.AppData)
}

// putWord appends x as a 32-byte big-endian word.
func putWord(buf []byte, x uint64) []byte {
	var w [32]byte
	binary.BigEndian.PutUint64(w[24:], x)
	return append(buf, w[:]...)
}

// appendBytes appends a dynamic bytes value: its length word, then the
// data padded with zeros to whole words.
func appendBytes(buf, d []byte) []byte {
	buf = putWord(buf, uint64(len(d)))
	buf = append(buf, d...)
	var zero [32]byte
	return append(buf, zero[:words(len(d))-len(d)]...)
}

// revertData is the payload of Solidity's revert(reason): Error(string).
func revertData(reason string) []byte {
	buf := make([]byte, 4, 4+3*32+words(len(reason)))
	copy(buf, errorSelector[:])
	buf = putWord(buf, 32)
	return appendBytes(buf, []byte(reason))
}
