// Receive: what a peer sent (states, objectives, requests), in any phase;
// all or nothing: every state is checked before anything is kept.
//
// Guards of receive, in order: a channel not yet known is learned only from
// a prefund state that fits the deployment (initChannel, open.go); the
// message is for me; each state in turn order passes accept; held states
// that became reachable apply (applyHeld); a CloseChannel objective is noted
// (closeRequested, close.go); requests are answered (answerRequests,
// sync.go).
// Guards of accept, in order: the channel's fixed part (checkFixed); known
// participants' signatures, the turn's mover's among them (verified); a
// different state for a turn held proves equivocation (equivocation.go); a
// setup state keeps the setup's outcome and appData; a state older than
// those kept is ignored; a state beyond the next turn, or any before the
// postfund states are all signed, is held (hold); the next turn must pass
// checkTransition (run.go).

package core

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// receive applies what a peer sent. Every state is checked before anything
// is kept: one bad state rejects the whole input.
func (s *stepper) receive(in Receive) error {
	states := in.States // sorted below on a copy if it holds several
	if len(states) > 1 {
		states = slices.Clone(states)
	}
	slices.SortStableFunc(states, func(a, b SignedState) int {
		switch {
		case a.State.TurnNum < b.State.TurnNum:
			return -1
		case a.State.TurnNum > b.State.TurnNum:
			return 1
		}
		return 0
	})
	if s.c.ID == (nitro.Bytes32{}) {
		if len(states) == 0 {
			return ErrChannelNotFound
		}
		first := states[0]
		n := uint64(len(first.State.Participants))
		if first.State.TurnNum >= n || first.State.IsFinal {
			return fmt.Errorf("%w: first state seen has turn %d", ErrChannelNotFound, first.State.TurnNum)
		}
		id, err := first.State.ChannelID()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidParams, err)
		}
		if err := in.Deployment.Fits(first.State); err != nil {
			return err
		}
		strategy := FundingDirect
		for _, o := range in.Objectives {
			if o.Type == ObjectiveOpenChannel && o.TargetChannelID == id && o.FundingStrategy != "" {
				strategy = o.FundingStrategy
			}
		}
		if err := s.initChannel(first.State.Clone(), first.Participants, in.Me, strategy, in.Deployment.Protocol); err != nil {
			return err
		}
	}
	if !in.Bare && in.Recipient != s.c.Me().ParticipantID {
		return fmt.Errorf("%w: recipient %q, mine is %q", ErrWrongRecipient, in.Recipient, s.c.Me().ParticipantID)
	}
	for _, st := range states {
		if err := s.accept(st); err != nil {
			return err
		}
	}
	s.applyHeld()
	s.closeRequested(in) // close.go
	s.answerRequests(in)
	return nil
}

func sameParticipants(a, b []Participant) bool { return slices.Equal(a, b) }

// checkFixed verifies a received state belongs to this channel.
func (c *Channel) checkFixed(ss SignedState) error {
	st, f := ss.State, c.Setup
	if st.ChainID == nil || st.ChainID.Cmp(f.ChainID) != 0 || !slices.Equal(st.Participants, f.Participants) ||
		st.ChannelNonce != f.ChannelNonce || st.AppDefinition != f.AppDefinition ||
		st.ChallengeDuration != f.ChallengeDuration {
		return ErrFixedPartMismatch
	}
	if !sameParticipants(ss.Participants, c.Participants) {
		return fmt.Errorf("%w: participant details differ", ErrFixedPartMismatch)
	}
	return nil
}

// verified returns the state's hash and its signatures indexed by
// participant. The state's fixed part must have passed checkFixed, so its
// channel id is the channel's.
func (c *Channel) verified(ss SignedState) (nitro.Bytes32, []nitro.Signature, error) {
	h, err := ss.State.HashWithChannelIDFor(c.ID, c.Protocol)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	// Signatures of this very state already held were recovered (or made)
	// before: a resent state costs no recovery for them.
	var known []nitro.Signature
	if k, ok := c.stateAt(ss.State.TurnNum); ok && c.States[k].Hash == h {
		known = c.States[k].Sigs
	}
	sigs := make([]nitro.Signature, c.N())
next:
	for _, sig := range ss.Signatures {
		for i, k := range known {
			if k.V != 0 && k == sig {
				sigs[i] = sig
				continue next
			}
		}
		who, err := nitro.RecoverSigner(h, sig)
		if err != nil {
			return h, nil, fmt.Errorf("%w: %w", ErrWrongSigner, err)
		}
		i := slices.Index(c.Setup.Participants, who)
		if i < 0 {
			return h, nil, c.notParticipant(ss, who, sig)
		}
		sigs[i] = sig
	}
	// A countersignature may come alone (the TypeScript wallet sends each
	// state with only its sender's signature): the mover's signature of
	// this very state, already held, completes it.
	if m := c.mover(ss.State.TurnNum); sigs[m].V == 0 && m < len(known) && known[m].V != 0 {
		sigs[m] = known[m]
	}
	if sigs[c.mover(ss.State.TurnNum)].V == 0 {
		return h, nil, fmt.Errorf("%w: turn %d lacks its mover's signature", ErrWrongSigner, ss.State.TurnNum)
	}
	return h, sigs, nil
}

// notParticipant is the error for a signature of ss that recovers to who,
// no participant: ErrWrongProtocol if it recovers to a participant under
// the other protocol profile (a peer on another nitro-protocol
// generation), ErrWrongSigner otherwise. Only a refused state pays for the
// second recovery.
func (c *Channel) notParticipant(ss SignedState, who nitro.Address, sig nitro.Signature) error {
	other := nitro.Protocol0101
	if c.Protocol == nitro.Protocol0101 {
		other = nitro.Protocol0170
	}
	if h, err := ss.State.HashWithChannelIDFor(c.ID, other); err == nil {
		if w, err := nitro.RecoverSigner(h, sig); err == nil && slices.Contains(c.Setup.Participants, w) {
			return fmt.Errorf("%w: the state is signed under nitro-protocol %s, this channel's is %s", ErrWrongProtocol, other, c.Protocol)
		}
	}
	return fmt.Errorf("%w: %s is not a participant", ErrWrongSigner, who)
}

// accept checks one received state and keeps it, holds it for later,
// ignores it if it is older than every state kept, or fails.
func (s *stepper) accept(ss SignedState) error {
	c := &s.c
	if err := c.checkFixed(ss); err != nil {
		return err
	}
	h, sigs, err := c.verified(ss)
	if err != nil {
		return err
	}
	t := ss.State.TurnNum
	if k, ok := c.stateAt(t); ok {
		if c.States[k].Hash != h {
			return s.equivocation(s.signedState(c.States[k]), ss)
		}
		s.insert(StoredState{State: ss.State, Hash: h, Sigs: sigs})
		return nil
	}
	n := uint64(c.N())
	if t < 2*n {
		if ss.State.IsFinal || !ss.State.Outcome.Equal(c.Setup.Outcome) || !bytes.Equal(ss.State.AppData, c.Setup.AppData) {
			return fmt.Errorf("%w: turn %d", ErrSetupChanged, t)
		}
		if l, ok := c.Latest(); ok && l.State.TurnNum >= 2*n {
			return nil // older than the states kept: ignored, as below
		}
		s.insert(StoredState{State: ss.State.Clone(), Hash: h, Sigs: sigs})
		return nil
	}
	l, ok := c.Latest()
	if ok && t <= l.State.TurnNum {
		// A well-signed state older than the states kept (they were
		// pruned) is old news: it is ignored, not an error, so that the
		// rest of the input still applies. A lagging peer's sync resends
		// its older states along with its request for ours.
		return nil
	}
	if !ok || !c.PostfundComplete() || t > l.State.TurnNum+1 {
		return s.hold(ss, h)
	}
	// A state held for this turn while it was in the future must be the
	// same state: two different ones prove their mover dishonest.
	if o, held := c.heldAt(t); held {
		if oh, _ := o.State.HashWithChannelIDFor(s.c.ID, s.c.Protocol); oh != h {
			return s.equivocation(o, ss)
		}
	}
	if err := checkTransition(l.State, ss.State); err != nil {
		return err
	}
	if err := s.checkRule(l.State, ss.State); err != nil {
		return err
	}
	s.insert(StoredState{State: ss.State.Clone(), Hash: h, Sigs: sigs})
	return nil
}

// hold keeps a well-signed state for a turn that cannot be applied yet.
func (s *stepper) hold(ss SignedState, h nitro.Bytes32) error {
	if o, ok := s.c.heldAt(ss.State.TurnNum); ok {
		if oh, _ := o.State.HashWithChannelIDFor(s.c.ID, s.c.Protocol); oh != h {
			return s.equivocation(o, ss)
		}
		return nil
	}
	if len(s.c.Held) >= MaxHeldStates {
		return ErrFutureState
	}
	s.c.Held = append(s.c.Held, SignedState{State: ss.State.Clone(), Participants: slices.Clone(ss.Participants), Signatures: slices.Clone(ss.Signatures)})
	return nil
}

// applyHeld applies held states that have become reachable and drops those
// that are stale or invalid.
func (s *stepper) applyHeld() {
	for progress := true; progress && len(s.c.Held) > 0; {
		progress = false
		held := s.c.Held
		s.c.Held = nil
		slices.SortFunc(held, func(a, b SignedState) int { return int(a.State.TurnNum - b.State.TurnNum) })
		for _, h := range held {
			l, _ := s.c.Latest()
			if h.State.TurnNum > l.State.TurnNum+1 || !s.c.PostfundComplete() {
				s.c.Held = append(s.c.Held, h)
				continue
			}
			before := len(s.c.Held)
			_ = s.accept(h) // a stale or now-invalid held state is dropped
			if len(s.c.Held) == before {
				progress = true
			}
		}
	}
}
