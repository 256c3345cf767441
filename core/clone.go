package core

import (
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// cloner deep-copies a channel into a few blocks allocated up front (one
// per element type) instead of one allocation per slice and big.Int: stores
// copy every channel they take in and give out, so this is on every
// update's path, and a held channel is then a handful of heap objects.
// Each copied slice is a full slice expression of its block (its capacity
// is its length), so appending to one never writes over another; nothing
// is shared with the original.
type cloner struct {
	addrs  []nitro.Address
	bytes  []byte
	assets []nitro.AssetOutcome
	items  []nitro.AllocationItem
	sigs   []nitro.Signature
	ints   []big.Int
	words  []big.Word
}

// count is the first pass: it sizes the blocks.
type cloneCount struct {
	addrs, bytes, assets, items, sigs, ints, words int
}

func (n *cloneCount) intVal(x *big.Int) {
	if x != nil {
		n.ints++
		n.words += len(x.Bits())
	}
}

func (n *cloneCount) state(s *nitro.State) {
	n.intVal(s.ChainID)
	n.addrs += len(s.Participants)
	n.bytes += len(s.AppData)
	n.assets += len(s.Outcome)
	for _, a := range s.Outcome {
		n.items += len(a.Allocation)
		for _, it := range a.Allocation {
			n.intVal(it.Amount)
		}
	}
}

func newCloner(c *Channel) *cloner {
	var n cloneCount
	n.state(&c.Setup)
	for i := range c.States {
		n.state(&c.States[i].State)
		n.sigs += len(c.States[i].Sigs)
	}
	for i := range c.Held {
		n.state(&c.Held[i].State)
		n.sigs += len(c.Held[i].Signatures)
	}
	if c.Pending != nil {
		n.state(&c.Pending.State)
	}
	for _, f := range c.Funding {
		n.intVal(f.Holdings)
		for _, p := range f.Payouts {
			n.intVal(p)
		}
	}
	k := &cloner{}
	if n.addrs > 0 {
		k.addrs = make([]nitro.Address, 0, n.addrs)
	}
	if n.bytes > 0 {
		k.bytes = make([]byte, 0, n.bytes)
	}
	if n.assets > 0 {
		k.assets = make([]nitro.AssetOutcome, 0, n.assets)
	}
	if n.items > 0 {
		k.items = make([]nitro.AllocationItem, 0, n.items)
	}
	if n.sigs > 0 {
		k.sigs = make([]nitro.Signature, 0, n.sigs)
	}
	if n.ints > 0 {
		k.ints = make([]big.Int, 0, n.ints)
	}
	if n.words > 0 {
		k.words = make([]big.Word, 0, n.words)
	}
	return k
}

// take appends src to a block and returns the copy, capacity-limited.
func take[T any](block *[]T, src []T) []T {
	i := len(*block)
	*block = append(*block, src...)
	return (*block)[i:len(*block):len(*block)]
}

// intVal copies x as new(big.Int).Set(x) would (nil stays nil).
func (k *cloner) intVal(x *big.Int) *big.Int {
	if x == nil {
		return nil
	}
	k.ints = append(k.ints, big.Int{})
	z := &k.ints[len(k.ints)-1]
	if bits := x.Bits(); len(bits) > 0 {
		z.SetBits(take(&k.words, bits))
		if x.Sign() < 0 {
			z.Neg(z)
		}
	}
	return z
}

// state copies s as nitro.State.Clone does: empty participants and appData
// become nil, a nil outcome stays nil and a nil allocation stays nil.
func (k *cloner) state(s nitro.State) nitro.State {
	c := s
	c.ChainID = k.intVal(s.ChainID)
	c.Participants = nil
	if len(s.Participants) > 0 {
		c.Participants = take(&k.addrs, s.Participants)
	}
	c.AppData = nil
	if len(s.AppData) > 0 {
		c.AppData = take(&k.bytes, s.AppData)
	}
	if s.Outcome != nil {
		c.Outcome = take(&k.assets, s.Outcome)
		for i := range c.Outcome {
			a := &c.Outcome[i]
			if a.Allocation != nil {
				a.Allocation = take(&k.items, a.Allocation)
				for j := range a.Allocation {
					a.Allocation[j].Amount = k.intVal(a.Allocation[j].Amount)
				}
			}
			if a.Guarantee != nil {
				g := *a.Guarantee
				g.Destinations = append([]nitro.Bytes32(nil), g.Destinations...)
				a.Guarantee = &g
			}
		}
	}
	return c
}

// sigList copies a signature list as slices.Clone does (nil stays nil).
func (k *cloner) sigList(s []nitro.Signature) []nitro.Signature {
	if s == nil {
		return nil
	}
	if len(s) == 0 {
		return []nitro.Signature{}
	}
	return take(&k.sigs, s)
}

// Clone returns a deep copy of the channel.
func (c Channel) Clone() Channel {
	k := newCloner(&c)
	out := c
	if c.Participants != nil {
		out.Participants = append(make([]Participant, 0, len(c.Participants)), c.Participants...)
	}
	out.Setup = k.state(c.Setup)
	out.States = make([]StoredState, len(c.States))
	for i, s := range c.States {
		out.States[i] = StoredState{State: k.state(s.State), Hash: s.Hash, Sigs: k.sigList(s.Sigs)}
	}
	if c.Held != nil {
		out.Held = make([]SignedState, len(c.Held))
		for i, h := range c.Held {
			var ps []Participant
			if h.Participants != nil {
				ps = append(make([]Participant, 0, len(h.Participants)), h.Participants...)
			}
			out.Held[i] = SignedState{State: k.state(h.State), Participants: ps, Signatures: k.sigList(h.Signatures)}
		}
	}
	if c.Pending != nil {
		out.Pending = &Pending{State: k.state(c.Pending.State), Hash: c.Pending.Hash}
	}
	out.Funding = make([]AssetFunding, len(c.Funding))
	for i, f := range c.Funding {
		nf := AssetFunding{Asset: f.Asset, Holdings: k.intVal(f.Holdings), PaidOut: f.PaidOut}
		if f.Deposits != nil {
			nf.Deposits = make(map[int]TxStatus, len(f.Deposits))
			for d, v := range f.Deposits {
				nf.Deposits[d] = v
			}
		}
		for _, p := range f.Payouts {
			nf.Payouts = append(nf.Payouts, k.intVal(p))
		}
		out.Funding[i] = nf
	}
	return out
}
