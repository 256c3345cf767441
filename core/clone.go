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
// is its length), so appending to one never writes over another.
//
// Nothing in the copy is shared with the original. Within the copy, the
// states share what they have in common: one copy of the chain id and the
// participant list (every state of a channel has the same fixed part), and
// one copy of each distinct outcome (an outcome often comes back, and a
// state that only changes appData keeps it). Nothing modifies a channel's
// values in place, so this sharing is invisible; it makes an idle channel
// smaller and the copy cheaper.
type cloner struct {
	counting bool // the first pass: only count what the blocks must hold
	n        cloneCount

	addrs  []nitro.Address
	bytes  []byte
	assets []nitro.AssetOutcome
	items  []nitro.AllocationItem
	sigs   []nitro.Signature
	ints   []big.Int
	words  []big.Word

	// What the states copied so far share, in the original and the copy.
	chainSrc, chainCopy *big.Int
	partsSrc, partsCopy []nitro.Address
	outs                int // distinct outcomes recorded (at most 8)
	outSrc, outCopy     [8]nitro.Outcome
	calls               int      // outcomes copied so far in this pass
	picks               [16]int8 // per call: the equal earlier outcome, or -1
}

// cloneCount sizes the blocks.
type cloneCount struct {
	addrs, bytes, assets, items, sigs, ints, words int
}

func sameChain(a, b *big.Int) bool {
	return a != nil && b != nil && (a == b || a.Cmp(b) == 0)
}

func sameParts(a, b []nitro.Address) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameOutcome reports whether two outcomes copy to the same value: equal
// amounts (copies of big.Ints are normalized), and the same nil slices.
func sameOutcome(a, b nitro.Outcome) bool {
	if (a == nil) != (b == nil) || !a.Equal(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if (x.Allocation == nil) != (y.Allocation == nil) {
			return false
		}
		for j := range x.Allocation {
			if (x.Allocation[j].Amount == nil) != (y.Allocation[j].Amount == nil) {
				return false
			}
		}
		if x.Guarantee != nil && (x.Guarantee.Destinations == nil) != (y.Guarantee.Destinations == nil) {
			return false
		}
	}
	return true
}

// reset starts a pass.
func (k *cloner) reset(counting bool) {
	k.counting = counting
	k.chainSrc, k.chainCopy, k.partsSrc, k.partsCopy = nil, nil, nil, nil
	k.outs, k.calls = 0, 0
}

// alloc allocates the blocks the counting pass sized.
func (k *cloner) alloc() {
	n := k.n
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
	if k.counting {
		k.n.ints++
		k.n.words += len(x.Bits())
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

// sigList copies a signature list as slices.Clone does (nil stays nil).
func (k *cloner) sigList(s []nitro.Signature) []nitro.Signature {
	if k.counting {
		k.n.sigs += len(s)
		return nil
	}
	if s == nil {
		return nil
	}
	if len(s) == 0 {
		return []nitro.Signature{}
	}
	return take(&k.sigs, s)
}

// state copies s into c as nitro.State.Clone does: empty participants and
// appData become nil, a nil outcome stays nil and a nil allocation stays
// nil. When counting, c is scratch.
func (k *cloner) state(c, s *nitro.State) {
	*c = *s
	if sameChain(k.chainSrc, s.ChainID) {
		c.ChainID = k.chainCopy
	} else {
		c.ChainID = k.intVal(s.ChainID)
		k.chainSrc, k.chainCopy = s.ChainID, c.ChainID
	}
	c.Participants = nil
	if sameParts(k.partsSrc, s.Participants) {
		c.Participants = k.partsCopy
	} else if len(s.Participants) > 0 {
		if k.counting {
			k.n.addrs += len(s.Participants)
		} else {
			c.Participants = take(&k.addrs, s.Participants)
		}
		k.partsSrc, k.partsCopy = s.Participants, c.Participants
	}
	c.AppData = nil
	if len(s.AppData) > 0 {
		if k.counting {
			k.n.bytes += len(s.AppData)
		} else {
			c.AppData = take(&k.bytes, s.AppData)
		}
	}
	c.Outcome = k.outcome(s.Outcome)
}

// outcome copies an outcome as nitro.Outcome.Clone does, once per distinct
// outcome of the channel.
func (k *cloner) outcome(o nitro.Outcome) nitro.Outcome {
	if o == nil {
		return nil
	}
	// The counting pass records which earlier outcome each one equals
	// (or none), so the copying pass need not compare again.
	n := k.calls
	k.calls++
	if k.counting || n >= len(k.picks) {
		pick := int8(-1)
		for i, src := range k.outSrc[:k.outs] {
			if sameOutcome(src, o) {
				pick = int8(i)
				break
			}
		}
		if n < len(k.picks) {
			k.picks[n] = pick
		}
		if pick >= 0 {
			return k.outCopy[pick]
		}
	} else if pick := k.picks[n]; pick >= 0 {
		return k.outCopy[pick]
	}
	var c nitro.Outcome
	if k.counting {
		k.n.assets += len(o)
		for _, a := range o {
			k.n.items += len(a.Allocation)
			for _, it := range a.Allocation {
				k.intVal(it.Amount)
			}
		}
	} else {
		c = take(&k.assets, o)
		for i := range c {
			a := &c[i]
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
	if k.outs < len(k.outSrc) {
		k.outSrc[k.outs], k.outCopy[k.outs] = o, c
		k.outs++
	}
	return c
}

// channel copies c's states, funding and the rest into out (nil when
// counting).
func (k *cloner) channel(c *Channel, out *Channel) {
	var scratch nitro.State
	dst := func(real *nitro.State) *nitro.State {
		if k.counting {
			return &scratch
		}
		return real
	}
	var setup nitro.State
	k.state(dst(&setup), &c.Setup)
	var states []StoredState
	if !k.counting {
		states = make([]StoredState, len(c.States))
	}
	for i := range c.States {
		s := &c.States[i]
		var st *StoredState
		if k.counting {
			st = &StoredState{}
		} else {
			st = &states[i]
		}
		k.state(dst(&st.State), &s.State)
		st.Hash, st.Sigs = s.Hash, k.sigList(s.Sigs)
	}
	var held []SignedState
	if c.Held != nil && !k.counting {
		held = make([]SignedState, len(c.Held))
	}
	for i := range c.Held {
		h := &c.Held[i]
		if k.counting {
			k.state(&scratch, &h.State)
			k.sigList(h.Signatures)
			continue
		}
		o := &held[i]
		k.state(&o.State, &h.State)
		o.Signatures = k.sigList(h.Signatures)
		if h.Participants != nil {
			o.Participants = append(make([]Participant, 0, len(h.Participants)), h.Participants...)
		}
	}
	var pending *Pending
	if c.Pending != nil {
		if k.counting {
			k.state(&scratch, &c.Pending.State)
		} else {
			pending = &Pending{Hash: c.Pending.Hash}
			k.state(&pending.State, &c.Pending.State)
		}
	}
	var funding []AssetFunding
	if !k.counting {
		funding = make([]AssetFunding, 0, len(c.Funding))
	}
	for _, f := range c.Funding {
		nf := AssetFunding{Asset: f.Asset, Holdings: k.intVal(f.Holdings), PaidOut: f.PaidOut}
		for _, p := range f.Payouts {
			q := k.intVal(p)
			if !k.counting {
				nf.Payouts = append(nf.Payouts, q)
			}
		}
		if k.counting {
			continue
		}
		if f.Deposits != nil {
			nf.Deposits = make(map[int]TxStatus, len(f.Deposits))
			for d, v := range f.Deposits {
				nf.Deposits[d] = v
			}
		}
		funding = append(funding, nf)
	}
	if k.counting {
		return
	}
	out.Setup, out.States, out.Held, out.Pending, out.Funding = setup, states, held, pending, funding
}

// Clone returns a deep copy of the channel.
func (c Channel) Clone() Channel {
	out := c
	if c.Participants != nil {
		out.Participants = append(make([]Participant, 0, len(c.Participants)), c.Participants...)
	}
	var k cloner
	k.reset(true)
	k.channel(&c, nil)
	k.alloc()
	k.reset(false)
	k.channel(&c, &out)
	out.Dispute = cloneDispute(c.Dispute)
	return out
}
