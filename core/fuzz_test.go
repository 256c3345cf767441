package core_test

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// fuzzFixtures are channels at every stage of a two-party run (both sides)
// and every signed state and message the run produced, for the fuzzers to
// start from and to recombine.
type fuzzFixtures struct {
	w        *world
	channels []core.Channel
	states   []core.SignedState
	messages []core.Message
}

func newFuzzFixtures() *fuzzFixtures {
	fx := &fuzzFixtures{channels: []core.Channel{{}}}
	w := newWorld(&testing.T{}, 2)
	fx.w = w
	snap := func() {
		for _, c := range w.nodes {
			if c.ID != (nitro.Bytes32{}) {
				fx.channels = append(fx.channels, c)
			}
		}
		for _, m := range w.net {
			fx.messages = append(fx.messages, m)
			fx.states = append(fx.states, m.Payload.SignedStates...)
		}
	}
	w.step(0, w.createInput(5, 3))
	snap()
	must(w.deliver(0))
	snap()
	w.step(1, core.Join{Deployment: w.deployment()})
	snap()
	must(w.deliver(0))
	w.mineDeposit()
	w.mineDeposit()
	snap()
	w.deliverAll()
	for u := 0; u < 9; u++ { // past pruning
		w.step((4+u)%2, core.Update{Outcome: w.outcome(int64(4+u%2), int64(4-u%2)), AppData: []byte{byte(u)}})
		snap()
		w.deliverAll()
	}
	w.step(1, core.Close{})
	snap()
	must(w.deliver(0))
	snap()
	w.deliverAll()
	snap()
	return fx
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// fuzzReader hands out the fuzz input's bytes; past the end it gives zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	x := r.b[0]
	r.b = r.b[1:]
	return x
}

func (r *fuzzReader) int(n int) int { return int(r.byte()) % n }

func (r *fuzzReader) u64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = r.byte()
	}
	return binary.BigEndian.Uint64(buf[:])
}

// signedState picks a state of the run and perhaps damages it.
func (fx *fuzzFixtures) signedState(r *fuzzReader) core.SignedState {
	ss := fx.states[r.int(len(fx.states))]
	ss = core.SignedState{State: ss.State.Clone(), Participants: append([]core.Participant(nil), ss.Participants...), Signatures: append([]nitro.Signature(nil), ss.Signatures...)}
	switch r.int(10) {
	case 0:
		ss.State.TurnNum += uint64(r.int(6))
	case 1:
		ss.State.IsFinal = !ss.State.IsFinal
	case 2:
		if len(ss.State.Outcome) > 0 && len(ss.State.Outcome[0].Allocation) > 0 {
			ss.State.Outcome[0].Allocation[0].Amount = big.NewInt(int64(r.byte()))
		}
	case 3:
		ss.State.AppData = []byte{r.byte()}
	case 4: // re-signed by a key of the run, perhaps not the mover's
		h, err := ss.State.Hash()
		if err == nil {
			ss.Signatures = []nitro.Signature{sign(&testing.T{}, fx.w.keys[r.int(2)], h)}
		}
	case 5:
		ss.Signatures = nil
	case 6:
		ss.State.ChainID = big.NewInt(int64(r.byte()))
	case 7:
		ss.Participants[0], ss.Participants[1] = ss.Participants[1], ss.Participants[0]
	case 8:
		if len(ss.Signatures) > 0 {
			ss.Signatures[0].S[r.int(32)] ^= 1 + r.byte()
		}
	}
	return ss
}

// input decodes one input of any kind from the fuzz bytes.
func (fx *fuzzFixtures) input(r *fuzzReader, c core.Channel) core.Input {
	me := fx.w.addr(r.int(2))
	switch r.int(12) {
	case 0, 1, 2:
		in := core.Receive{Me: me, Deployment: fx.w.deployment(), Sender: []string{"p0", "p1", ""}[r.int(3)], Recipient: []string{"p0", "p1", ""}[r.int(3)]}
		for k := 1 + r.int(4); k > 0; k-- {
			in.States = append(in.States, fx.signedState(r))
		}
		if r.int(4) == 0 {
			in.Requests = []core.Request{{Type: core.RequestGetChannel, ChannelID: c.ID}}
		}
		return in
	case 3:
		return core.Update{Outcome: fx.w.outcome(int64(r.byte()), int64(r.byte())), AppData: []byte{r.byte()}}
	case 4:
		return core.Close{}
	case 5:
		return core.Join{Deployment: fx.w.deployment()}
	case 6:
		return core.Sync{}
	case 7:
		// Delays of -8..247 s: zero or negative ones mean the defaults.
		return core.Tick{Now: int64(r.u64() >> 1), TxRetryDelay: int64(r.byte()) - 8, BackupConcludeDelay: int64(r.byte()) - 8}
	case 8:
		ev := core.ChainEvent{Kind: core.EventKind(1 + r.int(3)), ChannelID: c.ID, Asset: fx.w.asset,
			Holdings: big.NewInt(int64(r.byte())), InitialHoldings: big.NewInt(int64(r.byte())), Block: uint64(r.byte())}
		if r.int(4) == 0 {
			ev.Asset = nitro.Address{r.byte()}
		}
		return ev
	case 9:
		return core.TxFailed{Kind: core.TxKind(1 + r.int(2)), Asset: fx.w.asset, Item: r.int(3), Done: r.int(2) == 0}
	case 10:
		return core.Rewound{Holdings: map[nitro.Address]*big.Int{fx.w.asset: big.NewInt(int64(r.byte()) - 8)}}
	default:
		if c.Pending != nil && r.int(2) == 0 {
			return core.Signed{Hash: c.Pending.Hash, Signature: sign(&testing.T{}, fx.w.keys[c.MyIndex], c.Pending.Hash)}
		}
		return core.Signed{Hash: nitro.Bytes32{r.byte()}, Signature: nitro.Signature{V: 27}}
	}
}

// checkStep applies one input and checks what must hold of any Step: it is
// deterministic, it leaves its argument alone, on error it returns the
// channel unchanged and no effects, and what it returns is well formed and
// no step back. It returns the channel to go on with.
func checkStep(t *testing.T, c core.Channel, in core.Input) core.Channel {
	t.Helper()
	before := c.Clone()
	next, effs, err := core.Step(c, in)
	next2, effs2, err2 := core.Step(c, in)
	if fmt.Sprint(err) != fmt.Sprint(err2) || !reflect.DeepEqual(next, next2) || !reflect.DeepEqual(effs, effs2) {
		t.Fatalf("Step not deterministic on %T", in)
	}
	if !reflect.DeepEqual(c.Clone(), before) {
		t.Fatalf("Step changed its argument on %T", in)
	}
	if err != nil {
		if effs != nil || !reflect.DeepEqual(next.Clone(), before) {
			t.Fatalf("Step failed (%v) but changed the channel or asked for effects", err)
		}
		return c
	}
	if c.ID != (nitro.Bytes32{}) && (next.ID != c.ID || next.MyIndex != c.MyIndex) {
		t.Fatalf("%T changed the channel's identity", in)
	}
	if c.ID != (nitro.Bytes32{}) && (next.TurnNum() < c.TurnNum() || next.MyLastTurn < c.MyLastTurn || (c.Joined && !next.Joined)) {
		t.Fatalf("%T went back: turn %d -> %d, my last turn %d -> %d", in, c.TurnNum(), next.TurnNum(), c.MyLastTurn, next.MyLastTurn)
	}
	n := uint64(next.N())
	for i, st := range next.States {
		if i > 0 && next.States[i-1].State.TurnNum >= st.State.TurnNum {
			t.Fatalf("%T: states out of order", in)
		}
		if !st.SignedBy(int(st.State.TurnNum % n)) {
			t.Fatalf("%T: turn %d stored without its mover's signature", in, st.State.TurnNum)
		}
		if h, err := st.State.Hash(); err != nil || h != st.Hash {
			t.Fatalf("%T: turn %d stored under a wrong hash", in, st.State.TurnNum)
		}
		for j, sig := range st.Sigs {
			if sig.V == 0 {
				continue
			}
			if who, err := nitro.RecoverSigner(st.Hash, sig); err != nil || who != next.Participants[j].SigningAddress {
				t.Fatalf("%T: turn %d holds a signature of %d that is not theirs", in, st.State.TurnNum, j)
			}
		}
	}
	_, rewound := in.(core.Rewound) // holdings follow the chain after a rewind
	for i := range c.Funding {
		if !rewound && i < len(next.Funding) && !next.Funding[i].PaidOut && next.Funding[i].Holdings.Cmp(c.Funding[i].Holdings) < 0 {
			t.Fatalf("%T: holdings went down before the payout", in)
		}
	}
	if next.Pending != nil && (c.Pending == nil || c.Pending.Hash != next.Pending.Hash) {
		asked := false
		for _, e := range effs {
			if s, ok := e.(core.SignState); ok && s.Hash == next.Pending.Hash {
				asked = true
			}
		}
		if !asked {
			t.Fatalf("%T: a new pending state without a SignState effect", in)
		}
	}
	return next
}

// FuzzStep feeds Step a sequence of arbitrary inputs (damaged states of a
// real run, API calls, chain events, failures, ticks, signatures), starting
// from a channel at any stage of that run, and checks each step.
func FuzzStep(f *testing.F) {
	fx := newFuzzFixtures()
	for i := 0; i < 64; i++ {
		f.Add([]byte{byte(i), byte(i * 7), byte(i * 13), byte(i * 31), 0, 1, 2, 3})
	}
	f.Add([]byte("\x05\x00\x00\x03\x01\x02\x00\x0a\x0b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		c := fx.channels[r.int(len(fx.channels))]
		for k := 0; k < 6 && len(r.b) > 0; k++ {
			c = checkStep(t, c, fx.input(r, c))
		}
	})
}

// FuzzReceiveMessage decodes arbitrary bytes as a wire message, as
// PushMessage does, and steps every channel's part of it into a channel at
// any stage of a real run (or a new one).
func FuzzReceiveMessage(f *testing.F) {
	fx := newFuzzFixtures()
	// Seeds are kept small, one state each: the engine minimises every new
	// input it finds, and minimising a long message takes the whole budget.
	for i, m := range fx.messages {
		for _, ss := range m.Payload.SignedStates {
			one := core.Message{Recipient: m.Recipient, Sender: m.Sender, Payload: core.Payload{SignedStates: []core.SignedState{ss}}}
			if i%3 == 0 {
				one.Payload.Requests = []core.Request{{Type: core.RequestGetChannel, ChannelID: fx.channels[1].ID}}
			}
			b, err := wire.EncodeMessage(one)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(byte(i), b)
		}
	}
	f.Fuzz(func(t *testing.T, pick byte, data []byte) {
		m, err := wire.DecodeMessage(data, wire.DefaultLimits())
		if err != nil {
			return
		}
		c := fx.channels[int(pick)%len(fx.channels)]
		byID := map[nitro.Bytes32]*core.Receive{}
		var order []nitro.Bytes32
		for _, s := range m.Payload.SignedStates {
			id, err := s.State.ChannelID()
			if err != nil {
				t.Fatalf("decoded a state whose channel id fails: %v", err)
			}
			if byID[id] == nil {
				byID[id] = &core.Receive{Me: fx.w.addr(int(pick) % 2), Deployment: fx.w.deployment(), Recipient: m.Recipient, Sender: m.Sender}
				order = append(order, id)
			}
			byID[id].States = append(byID[id].States, s)
		}
		for _, q := range m.Payload.Requests {
			if r := byID[q.ChannelID]; r != nil {
				r.Requests = append(r.Requests, q)
			}
		}
		for _, id := range order {
			start := core.Channel{}
			if c.ID == id {
				start = c
			}
			checkStep(t, start, *byID[id])
		}
	})
}
