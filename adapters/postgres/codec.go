package postgres

// The store's encoding of channels, states and effects: a compact binary
// form, written by hand because it is on every commit's path (encoding/json
// made a running channel about 6 kB and cost about a millisecond of CPU per
// update, in this process and again in PostgreSQL's JSON parser).
//
// Every value round-trips exactly: nil and empty slices and maps stay
// apart, a nil *big.Int stays nil, negative integers keep their sign. The
// first byte of every stored value is its format (codecFormat); decoding
// refuses any other format and any trailing byte, so a row written by a
// newer binary is never silently truncated. codec_test.go fails when a
// field is added to one of the encoded core types, so the encoding cannot
// silently drop it.
//
// Primitives: unsigned integers and lengths are uvarints, signed ones
// zigzag varints; a slice or map is its length plus one (0 means nil)
// followed by its elements; fixed-size byte arrays are raw. Within a
// channel, a state whose fixed part equals the setup state's says so in one
// flag instead of repeating it, and an outcome equal to one encoded before
// in the same value is an index into those (states usually share both).

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

// errCorrupt is wrapped by every decoding error.
var errCorrupt = errors.New("postgres store: malformed stored value")

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

// Flags of an encoded channel.
const (
	chanJoined = 1 << iota
	chanCreator
	chanConcluded
	chanCloseInitiator
	chanPending
)

// appendChannel appends the encoding of c to b.
func appendChannel(b []byte, c *core.Channel) []byte {
	e := encoder{b: b}
	e.byte(codecFormat)
	e.word(c.ID)
	e.participants(c.Participants)
	e.varint(int64(c.MyIndex))
	e.str(c.FundingStrategy)
	var flags byte
	for _, f := range []struct {
		set  bool
		flag byte
	}{{c.Joined, chanJoined}, {c.Creator, chanCreator}, {c.Concluded, chanConcluded}, {c.CloseInitiator, chanCloseInitiator}, {c.Pending != nil, chanPending}} {
		if f.set {
			flags |= f.flag
		}
	}
	e.byte(flags)
	e.state(&c.Setup, nil)
	e.count(len(c.States), c.States == nil)
	for i := range c.States {
		s := &c.States[i]
		e.state(&s.State, &c.Setup)
		e.word(s.Hash)
		e.sigs(s.Sigs)
	}
	e.count(len(c.Held), c.Held == nil)
	for i := range c.Held {
		h := &c.Held[i]
		e.state(&h.State, &c.Setup)
		e.participants(h.Participants)
		e.sigs(h.Signatures)
	}
	e.varint(c.MyLastTurn)
	if c.Pending != nil {
		e.state(&c.Pending.State, &c.Setup)
		e.word(c.Pending.Hash)
	}
	e.count(len(c.Funding), c.Funding == nil)
	for i := range c.Funding {
		f := &c.Funding[i]
		e.addr(f.Asset)
		e.bigInt(f.Holdings)
		e.count(len(f.Deposits), f.Deposits == nil)
		if len(f.Deposits) > 0 {
			keys := make([]int, 0, len(f.Deposits))
			for k := range f.Deposits {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				e.varint(int64(k))
				e.byte(byte(f.Deposits[k]))
			}
		}
		e.bool(f.PaidOut)
		e.count(len(f.Payouts), f.Payouts == nil)
		for _, p := range f.Payouts {
			e.bigInt(p)
		}
	}
	e.byte(byte(c.Conclude))
	e.varint(c.Now)
	e.varint(c.ClosedAt)
	e.varint(c.TxWaitSince)
	return e.b
}

// appendState appends the encoding of a state alone (the states table).
func appendState(b []byte, s *nitro.State) []byte {
	e := encoder{b: b}
	e.byte(codecFormat)
	e.state(s, nil)
	return e.b
}

// Effect kinds as stored in outbox.kind.
const (
	kindSignState = "SignState"
	kindSend      = "Send"
	kindDeposit   = "Deposit"
	kindConclude  = "Conclude"
	kindWatch     = "Watch"
)

// appendEffect appends the encoding of an effect to b and returns its kind.
// Only the core's concrete effect types (as values) are accepted.
func appendEffect(b []byte, eff core.Effect) (string, []byte, error) {
	e := encoder{b: b}
	e.byte(codecFormat)
	switch v := eff.(type) {
	case core.SignState:
		e.word(v.ChannelID)
		e.state(&v.State, nil)
		e.word(v.Hash)
		return kindSignState, e.b, nil
	case core.Send:
		e.word(v.ChannelID)
		m := &v.Message
		e.str(m.Recipient)
		e.str(m.Sender)
		p := &m.Payload
		e.str(p.WalletVersion)
		e.count(len(p.SignedStates), p.SignedStates == nil)
		var ref *nitro.State
		for i := range p.SignedStates {
			ss := &p.SignedStates[i]
			e.state(&ss.State, ref)
			if ref == nil {
				ref = &ss.State
			}
			e.participants(ss.Participants)
			e.sigs(ss.Signatures)
		}
		e.count(len(p.Objectives), p.Objectives == nil)
		for i := range p.Objectives {
			o := &p.Objectives[i]
			e.str(o.Type)
			e.participants(o.Participants)
			e.word(o.TargetChannelID)
			e.str(o.FundingStrategy)
			e.str(o.Role)
			e.str(o.FundingLedgerChannelID)
			e.word(o.JointChannelID)
			e.word(o.LedgerID)
			e.word(o.GuarantorID)
		}
		e.count(len(p.Requests), p.Requests == nil)
		for i := range p.Requests {
			e.str(p.Requests[i].Type)
			e.word(p.Requests[i].ChannelID)
		}
		return kindSend, e.b, nil
	case core.Deposit:
		e.word(v.ChannelID)
		e.addr(v.Asset)
		e.varint(int64(v.Item))
		e.bigInt(v.ExpectedHeld)
		e.bigInt(v.Amount)
		return kindDeposit, e.b, nil
	case core.Conclude:
		e.word(v.ChannelID)
		e.state(&v.State, nil)
		e.sigs(v.Signatures)
		return kindConclude, e.b, nil
	case core.Watch:
		e.word(v.ChannelID)
		e.addrs(v.Assets)
		return kindWatch, e.b, nil
	}
	return "", b, fmt.Errorf("postgres store: cannot store effect of type %T", eff)
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
		d.err = fmt.Errorf("%w: bad %s", errCorrupt, what)
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
		d.err = fmt.Errorf("%w: format %d, this binary reads %d", errCorrupt, d.b[0], codecFormat)
		d.b = nil
		return
	}
	d.b = d.b[1:]
}

// finish returns the first error, or one for trailing bytes.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
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

func (d *decoder) outcome() nitro.Outcome {
	if k := d.uvarint(); k > 0 {
		if k > uint64(d.nOut) {
			d.fail("outcome reference")
			return nil
		}
		return cloneOutcome(d.outs[k-1])
	}
	n := d.count(22)
	if n < 0 {
		d.remember(nil)
		return nil
	}
	o := make(nitro.Outcome, n)
	for i := range o {
		a := &o[i]
		a.AssetHolder = d.addr()
		if m := d.count(33); m >= 0 {
			a.Allocation = make([]nitro.AllocationItem, m)
			for j := range a.Allocation {
				a.Allocation[j] = nitro.AllocationItem{Destination: d.word(), Amount: d.bigInt()}
			}
		}
		if d.bool() {
			g := &nitro.Guarantee{TargetChannelID: d.word()}
			if m := d.count(32); m >= 0 {
				g.Destinations = make([]nitro.Bytes32, m)
				for j := range g.Destinations {
					g.Destinations[j] = d.word()
				}
			}
			a.Guarantee = g
		}
	}
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

func decodeChannel(data []byte) (core.Channel, error) {
	d := decoder{b: data}
	d.start()
	var c core.Channel
	c.ID = d.word()
	c.Participants = d.participants()
	c.MyIndex = d.int()
	c.FundingStrategy = d.str()
	flags := d.byte()
	c.Joined, c.Creator = flags&chanJoined != 0, flags&chanCreator != 0
	c.Concluded, c.CloseInitiator = flags&chanConcluded != 0, flags&chanCloseInitiator != 0
	c.Setup = d.state(nil)
	if n := d.count(36); n >= 0 {
		c.States = make([]core.StoredState, n)
		for i := range c.States {
			s := &c.States[i]
			s.State = d.state(&c.Setup)
			s.Hash = d.word()
			s.Sigs = d.sigs()
		}
	}
	if n := d.count(4); n >= 0 {
		c.Held = make([]core.SignedState, n)
		for i := range c.Held {
			h := &c.Held[i]
			h.State = d.state(&c.Setup)
			h.Participants = d.participants()
			h.Signatures = d.sigs()
		}
	}
	c.MyLastTurn = d.varint()
	if flags&chanPending != 0 {
		c.Pending = &core.Pending{State: d.state(&c.Setup), Hash: d.word()}
	}
	if n := d.count(24); n >= 0 {
		c.Funding = make([]core.AssetFunding, n)
		for i := range c.Funding {
			f := &c.Funding[i]
			f.Asset = d.addr()
			f.Holdings = d.bigInt()
			if m := d.count(2); m >= 0 {
				f.Deposits = make(map[int]core.TxStatus, m)
				for range m {
					k := d.int()
					f.Deposits[k] = core.TxStatus(d.byte())
				}
			}
			f.PaidOut = d.bool()
			if m := d.count(1); m >= 0 {
				f.Payouts = make([]*big.Int, m)
				for j := range f.Payouts {
					f.Payouts[j] = d.bigInt()
				}
			}
		}
	}
	c.Conclude = core.TxStatus(d.byte())
	c.Now = d.varint()
	c.ClosedAt = d.varint()
	c.TxWaitSince = d.varint()
	if err := d.finish(); err != nil {
		return core.Channel{}, fmt.Errorf("postgres store: decode channel: %w", err)
	}
	return c, nil
}

func decodeState(data []byte) (nitro.State, error) {
	d := decoder{b: data}
	d.start()
	s := d.state(nil)
	if err := d.finish(); err != nil {
		return nitro.State{}, fmt.Errorf("postgres store: decode state: %w", err)
	}
	return s, nil
}

// decodeEffect turns a stored effect back into its exact concrete type.
func decodeEffect(kind string, data []byte) (core.Effect, error) {
	d := decoder{b: data}
	d.start()
	var e core.Effect
	switch kind {
	case kindSignState:
		e = core.SignState{ChannelID: d.word(), State: d.state(nil), Hash: d.word()}
	case kindSend:
		v := core.Send{ChannelID: d.word()}
		m := &v.Message
		m.Recipient, m.Sender = d.str(), d.str()
		p := &m.Payload
		p.WalletVersion = d.str()
		if n := d.count(4); n >= 0 {
			p.SignedStates = make([]core.SignedState, n)
			var ref *nitro.State
			for i := range p.SignedStates {
				ss := &p.SignedStates[i]
				ss.State = d.state(ref)
				if ref == nil {
					ref = &ss.State
				}
				ss.Participants = d.participants()
				ss.Signatures = d.sigs()
			}
		}
		if n := d.count(133); n >= 0 {
			p.Objectives = make([]core.Objective, n)
			for i := range p.Objectives {
				o := &p.Objectives[i]
				o.Type = d.str()
				o.Participants = d.participants()
				o.TargetChannelID = d.word()
				o.FundingStrategy = d.str()
				o.Role = d.str()
				o.FundingLedgerChannelID = d.str()
				o.JointChannelID, o.LedgerID, o.GuarantorID = d.word(), d.word(), d.word()
			}
		}
		p.Requests = list(&d, 33, func() core.Request { return core.Request{Type: d.str(), ChannelID: d.word()} })
		e = v
	case kindDeposit:
		e = core.Deposit{ChannelID: d.word(), Asset: d.addr(), Item: d.int(), ExpectedHeld: d.bigInt(), Amount: d.bigInt()}
	case kindConclude:
		e = core.Conclude{ChannelID: d.word(), State: d.state(nil), Signatures: d.sigs()}
	case kindWatch:
		e = core.Watch{ChannelID: d.word(), Assets: d.addrs()}
	default:
		return nil, fmt.Errorf("postgres store: unknown effect kind %q", kind)
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("postgres store: decode %s effect: %w", kind, err)
	}
	return e, nil
}
