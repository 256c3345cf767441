package nitro

import (
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Address is a 20-byte Ethereum address.
type Address = common.Address

// Bytes32 is a 32-byte word: a channel id, a destination or a hash.
type Bytes32 = common.Hash

// MaxUint48 is the largest value a uint48 field (turnNum, channelNonce,
// challengeDuration) can hold.
const MaxUint48 = 1<<48 - 1

// MaxParticipants is the most participants the adjudicator accepts (n <= 255).
const MaxParticipants = 255

var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// Errors returned by encoding and validation; test them with errors.Is.
var (
	ErrAmountOutOfRange    = errors.New("nitro: amount outside 0..2^256-1")
	ErrUint48OutOfRange    = errors.New("nitro: value exceeds uint48")
	ErrTooManyParticipants = errors.New("nitro: more than 255 participants")
	ErrNoParticipants      = errors.New("nitro: a channel needs at least two participants")
	ErrExternalChannelID   = errors.New("nitro: channel id looks like an external destination")
	ErrBadOutcome          = errors.New("nitro: malformed outcome")
	ErrBadSignature        = errors.New("nitro: malformed or invalid signature")
	ErrBadChainID          = errors.New("nitro: chain id outside 0..2^256-1")
)

// FixedPart is the part of a state that never changes over a channel's life.
type FixedPart struct {
	ChainID           *big.Int
	Participants      []Address
	ChannelNonce      uint64
	AppDefinition     Address
	ChallengeDuration uint64
}

// State is a full Nitro state: fixed part plus variable part plus turn number
// and final flag.
type State struct {
	ChainID           *big.Int
	Participants      []Address
	ChannelNonce      uint64
	AppDefinition     Address
	ChallengeDuration uint64
	AppData           []byte
	Outcome           Outcome
	TurnNum           uint64
	IsFinal           bool
}

// AllocationItem pays Amount to Destination (an external address left-padded
// to 32 bytes, or a channel id).
type AllocationItem struct {
	Destination Bytes32
	Amount      *big.Int
}

// Guarantee is the guarantee form of an asset outcome (decoded and encoded;
// the wallet does not fund through guarantees yet).
type Guarantee struct {
	TargetChannelID Bytes32
	Destinations    []Bytes32
}

// AssetOutcome is the outcome for one asset holder: an allocation, or a
// guarantee when Guarantee is non-nil.
type AssetOutcome struct {
	AssetHolder Address
	Allocation  []AllocationItem
	Guarantee   *Guarantee
}

// Outcome is the list of asset outcomes, one per asset holder.
type Outcome []AssetOutcome

// Signature is an eth_sign style secp256k1 signature with V in {27, 28}.
type Signature struct {
	V uint8
	R Bytes32
	S Bytes32
}

// FixedPart returns the state's fixed part.
func (s State) FixedPart() FixedPart {
	return FixedPart{
		ChainID:           s.ChainID,
		Participants:      s.Participants,
		ChannelNonce:      s.ChannelNonce,
		AppDefinition:     s.AppDefinition,
		ChallengeDuration: s.ChallengeDuration,
	}
}

// Clone returns a deep copy of the state.
func (s State) Clone() State {
	c := s
	var ints intBlock
	ints.size(s.ChainID)
	ints.sizeOutcome(s.Outcome)
	ints.alloc()
	c.ChainID = ints.copy(s.ChainID)
	c.Participants = append([]Address(nil), s.Participants...)
	c.AppData = append([]byte(nil), s.AppData...)
	c.Outcome = s.Outcome.clone(&ints)
	return c
}

// Clone returns a deep copy of the outcome.
func (o Outcome) Clone() Outcome {
	var ints intBlock
	ints.sizeOutcome(o)
	ints.alloc()
	return o.clone(&ints)
}

func (o Outcome) clone(ints *intBlock) Outcome {
	if o == nil {
		return nil
	}
	out := make(Outcome, len(o))
	n := 0
	for _, a := range o {
		n += len(a.Allocation)
	}
	var items []AllocationItem
	if n > 0 {
		items = make([]AllocationItem, 0, n)
	}
	for i, a := range o {
		out[i] = AssetOutcome{AssetHolder: a.AssetHolder}
		switch {
		case a.Allocation == nil:
		case len(a.Allocation) == 0:
			out[i].Allocation = []AllocationItem{}
		default:
			k := len(items)
			for _, it := range a.Allocation {
				items = append(items, AllocationItem{Destination: it.Destination, Amount: ints.copy(it.Amount)})
			}
			out[i].Allocation = items[k:len(items):len(items)]
		}
		if a.Guarantee != nil {
			g := *a.Guarantee
			g.Destinations = append([]Bytes32(nil), a.Guarantee.Destinations...)
			out[i].Guarantee = &g
		}
	}
	return out
}

// intBlock copies big.Ints into two allocations (the Int values and their
// words) instead of two each. Each copy's words are capacity-limited, so
// growing one never writes into another.
type intBlock struct {
	nInts, nWords int
	ints          []big.Int
	words         []big.Word
}

func (b *intBlock) size(x *big.Int) {
	if x != nil {
		b.nInts++
		b.nWords += len(x.Bits())
	}
}

func (b *intBlock) sizeOutcome(o Outcome) {
	for _, a := range o {
		for _, it := range a.Allocation {
			b.size(it.Amount)
		}
	}
}

func (b *intBlock) alloc() {
	if b.nInts > 0 {
		b.ints = make([]big.Int, 0, b.nInts)
	}
	if b.nWords > 0 {
		b.words = make([]big.Word, 0, b.nWords)
	}
}

// copy returns a copy of x as new(big.Int).Set(x) would, or nil for nil;
// x must have been sized.
func (b *intBlock) copy(x *big.Int) *big.Int {
	if x == nil {
		return nil
	}
	b.ints = append(b.ints, big.Int{})
	z := &b.ints[len(b.ints)-1]
	if bits := x.Bits(); len(bits) > 0 {
		i := len(b.words)
		b.words = append(b.words, bits...)
		z.SetBits(b.words[i:len(b.words):len(b.words)])
		if x.Sign() < 0 {
			z.Neg(z)
		}
	}
	return z
}

// Total returns the sum of the allocation amounts of this asset outcome.
func (a AssetOutcome) Total() *big.Int {
	t := new(big.Int)
	for _, it := range a.Allocation {
		t.Add(t, it.Amount)
	}
	return t
}

// Equal reports whether two outcomes are the same.
func (o Outcome) Equal(p Outcome) bool {
	if len(o) != len(p) {
		return false
	}
	for i := range o {
		a, b := o[i], p[i]
		if a.AssetHolder != b.AssetHolder || len(a.Allocation) != len(b.Allocation) || (a.Guarantee == nil) != (b.Guarantee == nil) {
			return false
		}
		for j := range a.Allocation {
			if a.Allocation[j].Destination != b.Allocation[j].Destination || a.Allocation[j].Amount.Cmp(b.Allocation[j].Amount) != 0 {
				return false
			}
		}
		if a.Guarantee != nil {
			if a.Guarantee.TargetChannelID != b.Guarantee.TargetChannelID || len(a.Guarantee.Destinations) != len(b.Guarantee.Destinations) {
				return false
			}
			for j := range a.Guarantee.Destinations {
				if a.Guarantee.Destinations[j] != b.Guarantee.Destinations[j] {
					return false
				}
			}
		}
	}
	return true
}

// AddressToDestination left-pads an external address to a 32-byte destination.
func AddressToDestination(a Address) Bytes32 { return common.BytesToHash(a.Bytes()) }

// IsExternalDestination reports whether d is an external address (its top 12
// bytes are zero) rather than a channel id.
func IsExternalDestination(d Bytes32) bool {
	for _, b := range d[:12] {
		if b != 0 {
			return false
		}
	}
	return true
}

// DestinationToAddress returns the address held in an external destination.
func DestinationToAddress(d Bytes32) Address { return common.BytesToAddress(d[12:]) }

// CheckAmount reports ErrAmountOutOfRange unless 0 <= x <= 2^256-1.
func CheckAmount(x *big.Int) error {
	if x == nil || x.Sign() < 0 || x.Cmp(maxUint256) > 0 {
		return ErrAmountOutOfRange
	}
	return nil
}
