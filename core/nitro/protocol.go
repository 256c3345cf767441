package nitro

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Protocol is the nitro-protocol generation whose state hash a channel's
// participants sign. Both generations share the channel id, appPartHash and
// the outcome bytes; they differ only in the outcomeHash inside the state
// hash, so a signature made under one does not recover under the other.
// The zero value is Protocol0170.
type Protocol uint8

// Protocol generations.
const (
	// Protocol0170 is @statechannels/nitro-protocol@0.17.0 (and 0.11.0 on):
	// outcomeHash = keccak256(encodedOutcome). The contracts the chain
	// adapters speak to are this generation's.
	Protocol0170 Protocol = iota
	// Protocol0101 is @statechannels/nitro-protocol@0.10.1, which the
	// TypeScript server wallet 1.13.1 signs: outcomeHash =
	// keccak256(abi.encode(bytes encodedOutcome)).
	Protocol0101
)

// ErrUnknownProtocol is returned for a Protocol value or name that is none
// of the generations above.
var ErrUnknownProtocol = errors.New("nitro: unknown protocol")

// String returns the generation's npm version: "0.17.0" or "0.10.1".
func (p Protocol) String() string {
	switch p {
	case Protocol0170:
		return "0.17.0"
	case Protocol0101:
		return "0.10.1"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// Check returns ErrUnknownProtocol unless p is a known generation.
func (p Protocol) Check() error {
	if p > Protocol0101 {
		return fmt.Errorf("%w: %d", ErrUnknownProtocol, uint8(p))
	}
	return nil
}

// ParseProtocol returns the generation named by its npm version ("0.17.0"
// or "0.10.1"); the empty string is the default, Protocol0170.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "", "0.17.0":
		return Protocol0170, nil
	case "0.10.1":
		return Protocol0101, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownProtocol, s)
}

// MarshalText returns String's form, for configuration files.
func (p Protocol) MarshalText() ([]byte, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	return []byte(p.String()), nil
}

// UnmarshalText is ParseProtocol.
func (p *Protocol) UnmarshalText(b []byte) error {
	q, err := ParseProtocol(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// HashFor returns the state hash participants sign under protocol p:
// Hash for Protocol0170.
func (s State) HashFor(p Protocol) (Bytes32, error) {
	if s.TurnNum > MaxUint48 {
		return Bytes32{}, ErrUint48OutOfRange
	}
	id, err := s.ChannelID()
	if err != nil {
		return Bytes32{}, err
	}
	return s.HashWithChannelIDFor(id, p)
}

// HashWithChannelIDFor is HashWithChannelID under protocol p.
func (s State) HashWithChannelIDFor(id Bytes32, p Protocol) (Bytes32, error) {
	if p == Protocol0170 {
		return s.HashWithChannelID(id)
	}
	if err := p.Check(); err != nil {
		return Bytes32{}, err
	}
	if s.TurnNum > MaxUint48 {
		return Bytes32{}, ErrUint48OutOfRange
	}
	app, err := s.AppPartHash()
	if err != nil {
		return Bytes32{}, err
	}
	oh, err := s.Outcome.HashFor(p)
	if err != nil {
		return Bytes32{}, err
	}
	buf := scratch.Get().(*[]byte)
	*buf = appendState((*buf)[:0], s.TurnNum, s.IsFinal, id, app, oh)
	h := keccak(*buf)
	scratch.Put(buf)
	return h, nil
}

// HashFor returns the outcomeHash of protocol p: keccak256(outcome bytes)
// for Protocol0170 (Hash), keccak256(abi.encode(bytes outcome bytes)) for
// Protocol0101.
func (o Outcome) HashFor(p Protocol) (Bytes32, error) {
	if p == Protocol0170 {
		return o.Hash()
	}
	if err := p.Check(); err != nil {
		return Bytes32{}, err
	}
	if err := o.checkAmounts(); err != nil {
		return Bytes32{}, err
	}
	// abi.encode(bytes b) is the offset 0x20, len(b), then b padded to
	// whole words; the outcome bytes are whole words already.
	buf := scratch.Get().(*[]byte)
	b := abiBuf((*buf)[:0])
	b.uint(0x20)
	b.uint(0) // the length, set below
	b = appendOutcome(b, o)
	binary.BigEndian.PutUint64(b[56:64], uint64(len(b)-64))
	*buf = b
	h := keccak(b)
	if cap(*buf) <= 64<<10 {
		scratch.Put(buf)
	}
	return h, nil
}
