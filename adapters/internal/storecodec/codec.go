// Package storecodec is the stores' encoding of channels, states and
// effects: a compact binary form, written by hand because it is on every
// commit's path (encoding/json made a running channel about 6 kB and cost
// about a millisecond of CPU per update, in this process and again in
// PostgreSQL's JSON parser). The PostgreSQL store writes it to its rows;
// the memory store holds a channel in it, so that an idle channel takes
// about half the heap a core.Channel copy does.
//
// Every value round-trips exactly: nil and empty slices and maps stay
// apart, a nil *big.Int stays nil, negative integers keep their sign. The
// first byte of every stored value is its format (codecFormat); decoding
// refuses any other format and any trailing byte, so a row written by a
// newer binary is never silently truncated. The PostgreSQL store's
// codec_test.go fails when a field is added to one of the encoded core
// types, so the encoding cannot silently drop it; its golden_test.go holds
// the bytes of a corpus.
//
// Primitives: unsigned integers and lengths are uvarints, signed ones
// zigzag varints; a slice or map is its length plus one (0 means nil)
// followed by its elements; fixed-size byte arrays are raw. Within a
// channel, a state whose fixed part equals the setup state's says so in one
// flag instead of repeating it, and an outcome equal to one encoded before
// in the same value is an index into those (states usually share both).
//
// This file holds the format and the primitives; codec_state.go encodes
// states and outcomes, codec_channel.go channels, codec_effect.go effects.
package storecodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// codecFormat is the first byte of every encoded channel, state and effect.
// (Format 1 was encoding/json.)
const codecFormat = 2

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("store codec: malformed stored value")

// maxOutcomes bounds the outcomes one encoded value can refer back to.
const maxOutcomes = 16

// encoder appends to a byte slice.
type encoder struct {
	b    []byte
	outs [maxOutcomes]nitro.Outcome // outcomes encoded so far, by index
	nOut int
}

func (e *encoder) uvarint(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *encoder) varint(x int64)   { e.b = binary.AppendVarint(e.b, x) }
func (e *encoder) byte(x byte)      { e.b = append(e.b, x) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// count writes a slice or map length, 0 for nil.
func (e *encoder) count(n int, isNil bool) {
	if isNil {
		e.b = append(e.b, 0)
		return
	}
	e.uvarint(uint64(n) + 1)
}

func (e *encoder) bytes(p []byte) {
	e.count(len(p), p == nil)
	e.b = append(e.b, p...)
}

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) addr(a nitro.Address) { e.b = append(e.b, a[:]...) }
func (e *encoder) word(h nitro.Bytes32) { e.b = append(e.b, h[:]...) }
func (e *encoder) addrs(a []nitro.Address) {
	e.count(len(a), a == nil)
	for i := range a {
		e.addr(a[i])
	}
}

// Tags of an encoded *big.Int.
const (
	bigNil = iota
	bigSmall
	bigSmallNeg
	bigLarge
	bigLargeNeg
)

func (e *encoder) bigInt(x *big.Int) {
	switch {
	case x == nil:
		e.byte(bigNil)
	case x.IsUint64():
		e.byte(bigSmall)
		e.uvarint(x.Uint64())
	case x.IsInt64():
		e.byte(bigSmallNeg)
		e.uvarint(uint64(-x.Int64())) // the magnitude, also for math.MinInt64
	default:
		tag := byte(bigLarge)
		if x.Sign() < 0 {
			tag = bigLargeNeg
		}
		e.byte(tag)
		n := (x.BitLen() + 7) / 8
		e.uvarint(uint64(n))
		e.b = slices.Grow(e.b, n)
		e.b = e.b[:len(e.b)+n]
		x.FillBytes(e.b[len(e.b)-n:]) // FillBytes writes the absolute value
	}
}

func (e *encoder) sig(s nitro.Signature) {
	if s.R == (nitro.Bytes32{}) && s.S == (nitro.Bytes32{}) {
		e.b = append(e.b, 0, s.V)
		return
	}
	e.b = append(e.b, 1, s.V)
	e.word(s.R)
	e.word(s.S)
}

func (e *encoder) sigs(s []nitro.Signature) {
	e.count(len(s), s == nil)
	for i := range s {
		e.sig(s[i])
	}
}

func (e *encoder) participants(ps []core.Participant) {
	e.count(len(ps), ps == nil)
	for i := range ps {
		e.str(ps[i].ParticipantID)
		e.addr(ps[i].SigningAddress)
		e.word(ps[i].Destination)
	}
}

// decoder reads what encoder wrote. The first error sticks: later reads
// return zero values, and finish reports it.
type decoder struct {
	b    []byte
	err  error
	outs [maxOutcomes]nitro.Outcome
	nOut int
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
	d.b = nil
}

// start checks the format byte.
func (d *decoder) start() {
	if len(d.b) == 0 {
		d.fail("empty value")
		return
	}
	if d.b[0] != codecFormat {
		d.err = fmt.Errorf("%w: format %d, this binary reads %d", ErrCorrupt, d.b[0], codecFormat)
		d.b = nil
		return
	}
	d.b = d.b[1:]
}

// finish returns the first error, or one for trailing bytes.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	return d.err
}

func (d *decoder) uvarint() uint64 {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) int() int {
	x := d.varint()
	if int64(int(x)) != x {
		d.fail("int")
		return 0
	}
	return int(x)
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	x := d.b[0]
	d.b = d.b[1:]
	return x
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bool")
	return false
}

// take returns the next n bytes (shared with the input).
func (d *decoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail("length")
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// count reads a slice or map length: -1 for nil. Each element takes at
// least min bytes, which bounds what a corrupt length can allocate.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n == 0 {
		return -1
	}
	n--
	if n > uint64(len(d.b)/max(min, 1)) {
		d.fail("count")
		return -1
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.count(1)
	if n < 0 {
		return nil
	}
	return append(make([]byte, 0, n), d.take(uint64(n))...)
}

func (d *decoder) str() string { return string(d.take(d.uvarint())) }

func (d *decoder) addr() (a nitro.Address) {
	copy(a[:], d.take(20))
	return a
}

func (d *decoder) word() (h nitro.Bytes32) {
	copy(h[:], d.take(32))
	return h
}

// list reads a counted list, nil when the count says so, whose elements
// take at least minSize bytes each, reading each with read.
func list[T any](d *decoder, minSize int, read func() T) []T {
	n := d.count(minSize)
	if n < 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = read()
	}
	return out
}

func (d *decoder) addrs() []nitro.Address { return list(d, 20, d.addr) }

func (d *decoder) bigInt() *big.Int {
	switch d.byte() {
	case bigNil:
		return nil
	case bigSmall:
		return new(big.Int).SetUint64(d.uvarint())
	case bigSmallNeg:
		return new(big.Int).Neg(new(big.Int).SetUint64(d.uvarint()))
	case bigLarge:
		return new(big.Int).SetBytes(d.take(d.uvarint()))
	case bigLargeNeg:
		x := new(big.Int).SetBytes(d.take(d.uvarint()))
		return x.Neg(x)
	}
	d.fail("integer")
	return nil
}

func (d *decoder) sig() (s nitro.Signature) {
	full := d.bool()
	s.V = d.byte()
	if full {
		s.R, s.S = d.word(), d.word()
	}
	return s
}

func (d *decoder) sigs() []nitro.Signature { return list(d, 2, d.sig) }

func (d *decoder) participants() []core.Participant {
	return list(d, 53, func() core.Participant {
		return core.Participant{ParticipantID: d.str(), SigningAddress: d.addr(), Destination: d.word()}
	})
}
