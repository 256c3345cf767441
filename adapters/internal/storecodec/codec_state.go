package storecodec

// The encoding of states and outcomes, shared by channels, effects and the
// states table (see codec.go).

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// outcome writes an index (plus one) into the outcomes written before, or
// 0 and the outcome.
func (e *encoder) outcome(o nitro.Outcome) {
	for i := 0; i < e.nOut; i++ {
		if sameOutcome(e.outs[i], o) {
			e.uvarint(uint64(i) + 1)
			return
		}
	}
	e.byte(0)
	if e.nOut < maxOutcomes {
		e.outs[e.nOut] = o
		e.nOut++
	}
	e.count(len(o), o == nil)
	for i := range o {
		a := &o[i]
		e.addr(a.AssetHolder)
		e.count(len(a.Allocation), a.Allocation == nil)
		for j := range a.Allocation {
			e.word(a.Allocation[j].Destination)
			e.bigInt(a.Allocation[j].Amount)
		}
		if a.Guarantee == nil {
			e.byte(0)
			continue
		}
		e.byte(1)
		e.word(a.Guarantee.TargetChannelID)
		d := a.Guarantee.Destinations
		e.count(len(d), d == nil)
		for j := range d {
			e.word(d[j])
		}
	}
}

// Flags of an encoded state.
const (
	stateFinal     = 1 << 0
	stateSameFixed = 1 << 1 // the fixed part is the reference state's
)

// state writes s; ref, if not nil, is a state whose fixed part s may share.
func (e *encoder) state(s *nitro.State, ref *nitro.State) {
	var flags byte
	if s.IsFinal {
		flags |= stateFinal
	}
	same := ref != nil && sameFixedPart(s, ref)
	if same {
		flags |= stateSameFixed
	}
	e.byte(flags)
	if !same {
		e.bigInt(s.ChainID)
		e.addrs(s.Participants)
		e.uvarint(s.ChannelNonce)
		e.addr(s.AppDefinition)
		e.uvarint(s.ChallengeDuration)
	}
	e.bytes(s.AppData)
	e.outcome(s.Outcome)
	e.uvarint(s.TurnNum)
}

// signedStates writes a list of signed states (a channel's held ones, a
// message's). Each state's fixed part may be ref's, or with ref nil the
// first state's.
func (e *encoder) signedStates(ss []core.SignedState, ref *nitro.State) {
	e.count(len(ss), ss == nil)
	for i := range ss {
		s := &ss[i]
		e.state(&s.State, ref)
		if ref == nil {
			ref = &s.State
		}
		e.participants(s.Participants)
		e.sigs(s.Signatures)
	}
}

func sameBig(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a == b || a.Cmp(b) == 0
}

func sameFixedPart(a, b *nitro.State) bool {
	return a.ChannelNonce == b.ChannelNonce && a.AppDefinition == b.AppDefinition &&
		a.ChallengeDuration == b.ChallengeDuration && sameBig(a.ChainID, b.ChainID) &&
		(a.Participants == nil) == (b.Participants == nil) && slices.Equal(a.Participants, b.Participants)
}

// sameOutcome reports whether two outcomes encode the same, nil slices and
// pointers included.
func sameOutcome(a, b nitro.Outcome) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.AssetHolder != y.AssetHolder || (x.Allocation == nil) != (y.Allocation == nil) || len(x.Allocation) != len(y.Allocation) {
			return false
		}
		for j := range x.Allocation {
			if x.Allocation[j].Destination != y.Allocation[j].Destination || !sameBig(x.Allocation[j].Amount, y.Allocation[j].Amount) {
				return false
			}
		}
		g, h := x.Guarantee, y.Guarantee
		if (g == nil) != (h == nil) {
			return false
		}
		if g != nil && (g.TargetChannelID != h.TargetChannelID || (g.Destinations == nil) != (h.Destinations == nil) || !slices.Equal(g.Destinations, h.Destinations)) {
			return false
		}
	}
	return true
}

// AppendState appends the encoding of a state alone (the states table).
func AppendState(b []byte, s *nitro.State) []byte {
	e := encoder{b: b}
	e.byte(codecFormat)
	e.state(s, nil)
	return e.b
}

func (d *decoder) outcome() nitro.Outcome {
	if k := d.uvarint(); k > 0 {
		if k > uint64(d.nOut) {
			d.fail("outcome reference")
			return nil
		}
		return cloneOutcome(d.outs[k-1])
	}
	o := nitro.Outcome(list(d, 22, func() (a nitro.AssetOutcome) {
		a.AssetHolder = d.addr()
		a.Allocation = list(d, 33, func() nitro.AllocationItem {
			return nitro.AllocationItem{Destination: d.word(), Amount: d.bigInt()}
		})
		if d.bool() {
			a.Guarantee = &nitro.Guarantee{TargetChannelID: d.word(), Destinations: list(d, 32, d.word)}
		}
		return a
	}))
	d.remember(o)
	return o
}

func (d *decoder) remember(o nitro.Outcome) {
	if d.nOut < maxOutcomes {
		d.outs[d.nOut] = o
		d.nOut++
	}
}

// cloneOutcome copies an outcome exactly (nil slices stay nil), so that no
// two decoded states share one.
func cloneOutcome(o nitro.Outcome) nitro.Outcome {
	if o == nil {
		return nil
	}
	out := slices.Clone(o)
	for i := range out {
		a := &out[i]
		if a.Allocation != nil {
			a.Allocation = slices.Clone(a.Allocation)
			for j := range a.Allocation {
				if x := a.Allocation[j].Amount; x != nil {
					a.Allocation[j].Amount = new(big.Int).Set(x)
				}
			}
		}
		if a.Guarantee != nil {
			g := *a.Guarantee
			if g.Destinations != nil {
				g.Destinations = slices.Clone(g.Destinations)
			}
			a.Guarantee = &g
		}
	}
	return out
}

// state reads a state; ref is the state whose fixed part it may share
// (copied, never shared).
func (d *decoder) state(ref *nitro.State) nitro.State {
	var s nitro.State
	flags := d.byte()
	if flags&^(stateFinal|stateSameFixed) != 0 || (flags&stateSameFixed != 0 && ref == nil) {
		d.fail("state flags")
		return s
	}
	s.IsFinal = flags&stateFinal != 0
	if flags&stateSameFixed != 0 {
		if ref.ChainID != nil {
			s.ChainID = new(big.Int).Set(ref.ChainID)
		}
		if ref.Participants != nil {
			s.Participants = slices.Clone(ref.Participants)
		}
		s.ChannelNonce, s.AppDefinition, s.ChallengeDuration = ref.ChannelNonce, ref.AppDefinition, ref.ChallengeDuration
	} else {
		s.ChainID = d.bigInt()
		s.Participants = d.addrs()
		s.ChannelNonce = d.uvarint()
		s.AppDefinition = d.addr()
		s.ChallengeDuration = d.uvarint()
	}
	s.AppData = d.bytes()
	s.Outcome = d.outcome()
	s.TurnNum = d.uvarint()
	return s
}

// signedStates reads what encoder.signedStates wrote with the same ref.
// (Not with list: a later state's reference is an element of the list.)
func (d *decoder) signedStates(ref *nitro.State) []core.SignedState {
	n := d.count(4)
	if n < 0 {
		return nil
	}
	ss := make([]core.SignedState, n)
	for i := range ss {
		s := &ss[i]
		s.State = d.state(ref)
		if ref == nil {
			ref = &s.State
		}
		s.Participants = d.participants()
		s.Signatures = d.sigs()
	}
	return ss
}

// DecodeState reads what AppendState wrote; errors wrap ErrCorrupt.
func DecodeState(data []byte) (nitro.State, error) {
	d := decoder{b: data}
	d.start()
	s := d.state(nil)
	if err := d.finish(); err != nil {
		return nitro.State{}, fmt.Errorf("store codec: decode state: %w", err)
	}
	return s, nil
}
