// Signing and keeping states, shared by every phase: requestSign asks the
// signer for one state of mine at a time (never two per turn), signed keeps
// the signature and sends the state to every peer, insert keeps a state in
// turn order and prune drops what is older than the last 2n turns.
//
// Input: Signed (signed). Guards of requestSign, in order: a turn above my
// last, no signature pending, a state of this channel.

package core

import (
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// requestSign records the intent to sign st and asks the signer for it.
func (s *stepper) requestSign(st nitro.State) error {
	if int64(st.TurnNum) <= s.c.MyLastTurn || s.c.Pending != nil {
		return fmt.Errorf("%w: turn %d", ErrStaleState, st.TurnNum)
	}
	// Every state this wallet signs has the channel's fixed part.
	h, err := st.HashWithChannelIDFor(s.c.ID, s.c.Protocol)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	s.c.Pending = &Pending{State: st, Hash: h}
	s.c.MyLastTurn = int64(st.TurnNum)
	s.emit(SignState{ChannelID: s.c.ID, State: st, Hash: h})
	return nil
}

func (s *stepper) signed(in Signed) error {
	p := s.c.Pending
	if p == nil || p.Hash != in.Hash {
		return ErrUnexpectedSignature
	}
	// The signer port is trusted to sign with this wallet's key (its
	// adapters are tested against the npm vectors); recovering our own
	// signature here would double the hot path's cost.
	if in.Signature.V != 27 && in.Signature.V != 28 {
		return fmt.Errorf("%w: v = %d", ErrUnexpectedSignature, in.Signature.V)
	}
	s.c.Pending = nil
	sigs := make([]nitro.Signature, s.c.N())
	sigs[s.c.MyIndex] = in.Signature
	st := p.State
	s.insert(StoredState{State: st, Hash: p.Hash, Sigs: sigs})
	k, _ := s.c.stateAt(st.TurnNum)
	msg := Payload{SignedStates: []SignedState{s.signedState(s.c.States[k])}}
	if st.TurnNum == uint64(s.c.MyIndex) && s.c.Creator {
		msg.Objectives = append(msg.Objectives, s.objective(ObjectiveOpenChannel))
	}
	if st.IsFinal && s.c.CloseInitiator {
		msg.Objectives = append(msg.Objectives, s.objective(ObjectiveCloseChannel))
	}
	if mover := s.c.mover(st.TurnNum); mover != s.c.MyIndex && !st.IsFinal && st.TurnNum >= 2*uint64(s.c.N()) {
		// A countersignature of a running state (noapp.go) goes to every
		// participant but its mover.
		for i, to := range s.c.Participants {
			if i != s.c.MyIndex && i != mover {
				s.sendTo(to.ParticipantID, msg)
			}
		}
	} else {
		s.broadcast(msg)
	}
	// A state held for the turn after mine may apply now.
	s.applyHeld()
	return nil
}

func (s *stepper) objective(typ string) Objective {
	o := Objective{Type: typ, Participants: slices.Clone(s.c.Participants), TargetChannelID: s.c.ID, FundingStrategy: s.c.FundingStrategy}
	if typ == ObjectiveOpenChannel {
		o.Role = "app"
	}
	return o
}

// signedState returns a held state as sent to peers; it shares the state
// and the participants with the channel.
func (s *stepper) signedState(st StoredState) SignedState {
	out := SignedState{State: st.State, Participants: s.c.Participants}
	n := 0
	for _, sig := range st.Sigs {
		if sig.V != 0 {
			n++
		}
	}
	if n > 0 {
		out.Signatures = make([]nitro.Signature, 0, n)
	}
	for _, sig := range st.Sigs {
		if sig.V != 0 {
			out.Signatures = append(out.Signatures, sig)
		}
	}
	return out
}

// broadcast sends the payload to every other participant.
func (s *stepper) broadcast(p Payload) {
	for i, to := range s.c.Participants {
		if i != s.c.MyIndex {
			s.sendTo(to.ParticipantID, p)
		}
	}
}

func (s *stepper) sendTo(to string, p Payload) {
	s.emit(Send{ChannelID: s.c.ID, Message: Message{Recipient: to, Sender: s.c.Me().ParticipantID, Payload: p}})
}

// insert adds a state in turn order, merging signatures into an equal state.
func (s *stepper) insert(st StoredState) {
	k, ok := s.c.stateAt(st.State.TurnNum)
	if ok {
		// The signature list may be shared with Step's argument: copy it
		// before the first change.
		var sigs []nitro.Signature
		for i, sig := range st.Sigs {
			if sig.V != 0 && s.c.States[k].Sigs[i] != sig {
				if sigs == nil {
					sigs = slices.Clone(s.c.States[k].Sigs)
				}
				sigs[i] = sig
			}
		}
		if sigs != nil {
			s.own(0)
			s.c.States[k].Sigs = sigs
		}
		return
	}
	s.own(1)
	s.c.States = slices.Insert(s.c.States, k, st)
	s.prune()
}

// prune keeps the setup states and the last 2n turns.
func (s *stepper) prune() {
	l, _ := s.c.Latest()
	n := uint64(2 * s.c.N())
	if l.State.TurnNum < 2*n {
		return
	}
	floor := l.State.TurnNum - n
	i := 0
	for i < len(s.c.States) && s.c.States[i].State.TurnNum < floor {
		i++
	}
	if i > 0 {
		s.own(0)
		s.c.States = slices.Delete(s.c.States, 0, i)
	}
}
