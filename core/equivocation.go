package core

import (
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// EquivocationError is the error Step returns when a received state
// conflicts with a state held for the same turn (a kept one, or a held one
// for a future turn) and both carry the signature of that turn's mover: the
// mover has signed two different states for one turn, which no honest
// wallet does. It matches ErrEquivocation (and so ErrConflictingState) with
// errors.Is; States is the
// evidence (the state held first, then the one received), each with every
// signature it came with.
type EquivocationError struct {
	ChannelID nitro.Bytes32
	TurnNum   uint64
	// Signer is the participant who signed both states.
	Signer nitro.Address
	States [2]SignedState
}

// Error implements error.
func (e *EquivocationError) Error() string {
	return fmt.Sprintf("%v: turn %d: %s signed two different states", ErrConflictingState, e.TurnNum, e.Signer)
}

// Is makes errors.Is(err, ErrEquivocation) and errors.Is(err,
// ErrConflictingState) true.
func (e *EquivocationError) Is(target error) bool {
	return target == ErrEquivocation || target == ErrConflictingState
}

// equivocation builds the evidence that the mover of ss's turn signed both
// held and ss (both verified to carry the mover's signature).
func (s *stepper) equivocation(held, ss SignedState) error {
	c := &s.c
	t := ss.State.TurnNum
	return &EquivocationError{
		ChannelID: c.ID, TurnNum: t, Signer: c.Participants[c.mover(t)].SigningAddress,
		States: [2]SignedState{cloneSigned(held), cloneSigned(ss)},
	}
}

// cloneSigned copies a signed state so that evidence shares nothing with
// the channel or the input.
func cloneSigned(ss SignedState) SignedState {
	return SignedState{State: ss.State.Clone(), Participants: slices.Clone(ss.Participants), Signatures: slices.Clone(ss.Signatures)}
}

// heldAt returns the state held for a future turn t, if any.
func (c *Channel) heldAt(t uint64) (SignedState, bool) {
	for _, h := range c.Held {
		if h.State.TurnNum == t {
			return h, true
		}
	}
	return SignedState{}, false
}
