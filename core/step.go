// Step, the dispatcher: it hands each input to the phase that handles it
// (Create and Join: open.go; Update: run.go; Close: close.go; Signed:
// sign.go; Receive: receive.go; ChainEvent, TxFailed and Tick: onchain.go;
// Sync: sync.go; ReportHoldings: funding.go), then runs the crank (crank.go), which takes every action
// the new state calls for. Also the stepper, which carries the channel and
// the effects through one Step, and its copy-on-write helpers.

package core

import (
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Step applies one input to a channel and returns the channel's next state
// and the effects to carry out, in order. On error it returns the channel
// unchanged and no effects. A zero Channel stands for a channel not yet
// known; only Create and Receive can start one.
func Step(c Channel, in Input) (Channel, []Effect, error) {
	return step(c, in, nil)
}

func step(c Channel, in Input, rule TransitionRule) (Channel, []Effect, error) {
	s := stepper{c: c.shallow(), rule: rule}
	var err error
	switch in := in.(type) {
	case Create:
		err = s.create(in)
	case Receive:
		err = s.receive(in)
	default:
		if c.ID == (nitro.Bytes32{}) {
			return c, nil, ErrChannelNotFound
		}
		switch in := in.(type) {
		case Join:
			err = s.join(in)
		case Update:
			err = s.update(in)
		case Close:
			err = s.close()
		case Challenge:
			err = s.challenge()
		case Signed:
			err = s.signed(in)
		case ChainEvent:
			s.chainEvent(in)
		case Rewound:
			err = s.rewound(in)
		case ReportHoldings:
			err = s.reportHoldings(in) // funding.go
		case TxFailed:
			s.txFailed(in)
		case Tick:
			s.tick(in)
		case Sync:
			s.sync()
		default:
			err = fmt.Errorf("core: unknown input %T", in)
		}
	}
	if err != nil {
		return c, nil, err
	}
	if s.c.ReplyWaitSince != 0 && isPeerInput(in) && progressed(&c, &s.c) {
		s.c.ReplyWaitSince = 0 // a reply (liveness.go)
	}
	s.crank()
	return s.c, s.out, nil
}

// shallow returns a copy of c that Step may change: the slices Step edits
// in place (Held, Funding) are copied, while states, signature lists,
// deposit maps, the setup and the participants are shared with c, and so is
// the States slice until Step first changes it (see ownStates). Step never
// modifies what it shares in place: it replaces it (see setDeposit and
// insert), so c is left as it was.
func (c Channel) shallow() Channel {
	out := c
	out.Held = slices.Clone(c.Held)
	out.Funding = slices.Clone(c.Funding)
	return out
}

// stepper accumulates the effects of one Step.
type stepper struct {
	c   Channel
	out []Effect
	// ownStates is set once c.States is a copy Step may change in place.
	ownStates bool
	// backupDue is set by a tick once the backup conclude is due.
	backupDue bool
	// rule is the channel's transition rule (StepWith), nil for none.
	rule TransitionRule
}

// own makes c.States a copy Step may change, with room for extra more.
func (s *stepper) own(extra int) {
	if !s.ownStates {
		s.c.States = append(make([]StoredState, 0, len(s.c.States)+extra), s.c.States...)
		s.ownStates = true
	}
}

func (s *stepper) emit(e Effect) { s.out = append(s.out, e) }
