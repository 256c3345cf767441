package propertytests

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/sim"
)

// The explorer's moves: stepping a core and carrying out its effects,
// delivering messages, and the moves enabled in a global state.

// step applies an input to node i, checks Step is deterministic on it, and
// carries out the effects (signing at once).
func (x *explorer) step(s *xstate, i int, in core.Input) error {
	return x.stepKeyed(s, i, in, "")
}

// stepKeyed is step with the input's key when the caller has one.
func (x *explorer) stepKeyed(s *xstate, i int, in core.Input, inKey string) error {
	next, effs, err := x.coreStep(s.Nodes[i], in, inKey)
	if err != nil {
		return err
	}
	s.Nodes[i] = next
	x.observeStale(s, i)
	for _, e := range effs {
		switch e := e.(type) {
		case core.SignState:
			raw, err := crypto.Sign(nitro.SignatureDigest(e.Hash), x.keys[i])
			if err != nil {
				return err
			}
			raw[64] += 27
			sig, err := nitro.SignatureFromBytes(raw)
			if err != nil {
				return err
			}
			if err := x.step(s, i, core.Signed{Hash: e.Hash, Signature: sig}); err != nil {
				return fmt.Errorf("signed: %w", err)
			}
		case core.Send:
			xm, err := x.newMsg(e.Message)
			if err != nil {
				return err
			}
			s.Net = append(s.Net, xm)
		case core.Deposit:
			if err := x.submitDeposit(s, i, e); err != nil {
				return err
			}
		case core.SubmitChallenge:
			if err := x.submitDispute(s, i, xtx{Chal: &e}); err != nil {
				return err
			}
		case core.SubmitCheckpoint:
			if err := x.submitDispute(s, i, xtx{Check: &e}); err != nil {
				return err
			}
		case core.PushOutcome:
			if err := x.submitDispute(s, i, xtx{Push: &e}); err != nil {
				return err
			}
		case core.Conclude:
			if s.Concluded || s.finalized() {
				if err := x.step(s, i, core.TxFailed{Kind: core.TxConclude, Done: true, Err: "Channel finalized."}); err != nil {
					return err
				}
				continue
			}
			s.Pending = append(s.Pending, xtx{Concl: &e})
		case core.Watch:
			if s.Holdings.Sign() > 0 {
				if err := x.step(s, i, core.ChainEvent{Kind: core.EventDeposited, ChannelID: e.ChannelID, Asset: x.asset, Holdings: new(big.Int).Set(s.Holdings)}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stepResult is a memoized Step.
type stepResult struct {
	next core.Channel
	effs []core.Effect
	err  error
}

// coreStep is core.Step, memoized: the same channel given the same input
// recurs across many global states, and Step is a pure function. Every
// eighth computed Step is also run twice and compared, checking that it is
// deterministic and leaves its argument alone.
func (x *explorer) coreStep(c core.Channel, in core.Input, inKey string) (core.Channel, []core.Effect, error) {
	if inKey == "" {
		inKey = sim.Canonical(&in)
	}
	key := sha256.Sum256(append(nodeKey(&c), inKey...))
	if r, ok := x.memo[key]; ok {
		x.hits++
		return r.next, r.effs, r.err
	}
	before := sim.Canonical(c)
	next, effs, err := core.Step(c, in)
	x.steps++
	{
		n2, e2, err2 := core.Step(c, in)
		if sim.Canonical(c) != before {
			return next, nil, fmt.Errorf("Step changed its argument on %T", in)
		}
		if fmt.Sprint(err) != fmt.Sprint(err2) || sim.Canonical(next) != sim.Canonical(n2) || sim.Canonical(effs) != sim.Canonical(e2) {
			return next, nil, fmt.Errorf("Step is not deterministic on %T", in)
		}
	}
	if len(x.memo) >= memoSize {
		clear(x.memo)
	}
	x.memo[key] = stepResult{next, effs, err}
	return next, effs, err
}

const memoSize = 20000

func (x *explorer) index(id string) int {
	if id == "A" {
		return 0
	}
	return 1
}

// deliver gives message j to its recipient; an error is a rejection, which
// must be benign for honest messages.
func (x *explorer) deliver(s *xstate, j int) error {
	m, forged, key := s.Net[j].m, s.Net[j].forged, s.Net[j].key
	s.Net = slices.Delete(s.Net, j, j+1)
	to := x.index(m.Recipient)
	err := x.stepKeyed(s, to, core.Receive{Me: x.parts[to].SigningAddress, Deployment: x.deployment(), Recipient: m.Recipient, Sender: m.Sender, States: m.Payload.SignedStates, Objectives: m.Payload.Objectives, Requests: m.Payload.Requests}, "recv"+key)
	if err != nil && !forged {
		for _, ok := range []error{core.ErrStaleState, core.ErrFutureState, core.ErrChannelNotFound} {
			if errors.Is(err, ok) {
				return nil
			}
		}
		return fmt.Errorf("honest message rejected: %w", err)
	}
	return nil
}

// move is a labelled transition.
type move struct {
	label string
	apply func(*xstate) error
}

// moves lists every transition enabled in s.
func (x *explorer) moves(s *xstate) []move {
	var out []move
	api := func(label string, i int, in func(*xstate) core.Input, after func(*xstate)) {
		out = append(out, move{label, func(t *xstate) error {
			if err := x.step(t, i, in(t)); err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			if after != nil {
				after(t)
			}
			return nil
		}})
	}
	if s.Nodes[0].ID == (nitro.Bytes32{}) {
		api("A creates", 0, func(*xstate) core.Input {
			return core.Create{Me: x.parts[0].SigningAddress, ChainID: big.NewInt(sim.ChainID), Participants: x.parts,
				Outcome: x.outcome(x.amounts[0], x.amounts[1]), ChallengeDuration: xChallengeDuration, ChannelNonce: 1, FundingStrategy: core.FundingDirect, Deployment: x.deployment()}
		}, nil)
	}
	if s.Nodes[1].ID != (nitro.Bytes32{}) && !s.Nodes[1].Joined {
		api("B joins", 1, func(*xstate) core.Input { return core.Join{Deployment: x.deployment()} }, nil)
	}
	for i := range s.Nodes {
		c := &s.Nodes[i]
		if c.ID == (nitro.Bytes32{}) || c.Status() != core.StatusRunning || !c.MyTurn() {
			continue
		}
		name := x.parts[i].ParticipantID
		if s.Updates < x.k && !s.Closed {
			l, _ := c.Latest()
			// The mover gives the other one unit back and forth.
			a := l.State.Outcome[0].Allocation[0].Amount.Int64()
			if i == 0 {
				a--
			} else {
				a++
			}
			a = max(0, min(a, x.amounts[0]+x.amounts[1]))
			o := x.outcome(a, x.amounts[0]+x.amounts[1]-a)
			api(name+" updates", i, func(*xstate) core.Input { return core.Update{Outcome: o} }, func(t *xstate) { t.Updates++ })
		}
		if s.Updates == x.k && !s.Closed {
			api(name+" closes", i, func(*xstate) core.Input { return core.Close{} }, func(t *xstate) { t.Closed = true })
		}
	}
	if s.Syncs < x.d && s.Challenges == 0 {
		for i := range s.Nodes {
			if s.Nodes[i].ID != (nitro.Bytes32{}) {
				api(x.parts[i].ParticipantID+" syncs", i, func(*xstate) core.Input { return core.Sync{} }, func(t *xstate) { t.Syncs++ })
			}
		}
	}
	if s.Forges < x.d && s.Challenges == 0 {
		for i := range s.Nodes {
			if m, ok := x.forgery(s, i); ok {
				out = append(out, move{fmt.Sprintf("%s forges turn %d", x.parts[i].ParticipantID, m.m.Payload.SignedStates[0].State.TurnNum), func(t *xstate) error {
					t.Net = append(t.Net, m)
					t.Forges++
					return nil
				}})
			}
		}
	}
	distinct := map[string]bool{}
	for j, m := range s.Net {
		if distinct[m.key] {
			continue
		}
		distinct[m.key] = true
		desc := describe(m.m)
		out = append(out, move{"deliver " + desc, func(t *xstate) error { return x.deliver(t, j) }})
		if s.Drops < x.d && s.Challenges == 0 {
			out = append(out, move{"drop " + desc, func(t *xstate) error {
				t.Net = slices.Delete(t.Net, j, j+1)
				t.Drops++
				return nil
			}})
		}
		if s.Dups < x.d && s.Challenges == 0 {
			out = append(out, move{"duplicate " + desc, func(t *xstate) error {
				t.Net = append(t.Net, t.Net[j])
				t.Dups++
				return nil
			}})
		}
	}
	out = append(out, x.disputeMoves(s)...)
	if len(s.Pending) > 0 {
		out = append(out, move{"mine", x.mine})
	}
	for i := range s.Events {
		if len(s.Events[i]) > 0 {
			out = append(out, move{fmt.Sprintf("chain event to %s", x.parts[i].ParticipantID), func(t *xstate) error { return x.deliverEvent(t, i) }})
		}
	}
	return out
}

// forgery is a Byzantine message from node i: the next turn of its latest
// state, signed by i although i is not that turn's mover. The other node
// must reject it.
func (x *explorer) forgery(s *xstate, i int) (*xmsg, bool) {
	c := &s.Nodes[i]
	l, ok := c.Latest()
	if c.ID == (nitro.Bytes32{}) || !ok || l.State.IsFinal || (l.State.TurnNum+1)%2 == uint64(i) {
		return nil, false
	}
	st := l.State.Clone()
	st.TurnNum++
	h, err := st.Hash()
	if err != nil {
		return nil, false
	}
	raw, err := crypto.Sign(nitro.SignatureDigest(h), x.keys[i])
	if err != nil {
		return nil, false
	}
	raw[64] += 27
	sig, err := nitro.SignatureFromBytes(raw)
	if err != nil {
		return nil, false
	}
	m := core.Message{Sender: x.parts[i].ParticipantID, Recipient: x.parts[1-i].ParticipantID, Payload: core.Payload{
		SignedStates: []core.SignedState{{State: st, Participants: x.parts, Signatures: []nitro.Signature{sig}}}}}
	return &xmsg{m: m, key: digest("forged " + sim.Canonical(m)), forged: true}, true
}

func describe(m core.Message) string {
	var turns []string
	for _, ss := range m.Payload.SignedStates {
		turns = append(turns, fmt.Sprint(ss.State.TurnNum))
	}
	return fmt.Sprintf("%s->%s [%s]", m.Sender, m.Recipient, strings.Join(turns, ","))
}
