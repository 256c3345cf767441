package ports

// What both chain adapters share about support proofs: the shape the
// adjudicator's calldata can carry (one fixed part, consecutive turns,
// final states last), and the proof a ChallengeRegistered event reports,
// rebuilt the same way by both.

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// ErrBadProof: a support proof (or a respond request) that no adjudicator
// call can carry: no states, states of different channels (fixed parts),
// turn numbers that are not consecutive, a non-final state after a final
// one, or a field beyond its ABI type. Nothing is sent.
var ErrBadProof = errors.New("chain: support proof cannot be sent to the adjudicator")

// ProofShape checks that p can be encoded as the adjudicator's challenge
// and checkpoint take it (fixedPart, largestTurnNum, variableParts,
// isFinalCount) and returns isFinalCount: how many states, at the end,
// are final. Signature counts, whoSignedWhat and the signatures
// themselves are not checked: the contract judges them (and reverts).
func ProofShape(p SupportProof) (isFinalCount uint8, err error) {
	if len(p.States) == 0 {
		return 0, fmt.Errorf("%w: no states", ErrBadProof)
	}
	first := p.States[0]
	finals := 0
	for i, st := range p.States {
		if _, err := st.Hash(); err != nil {
			return 0, fmt.Errorf("%w: state %d: %w", ErrBadProof, i, err)
		}
		if !SameFixedPart(first.FixedPart(), st.FixedPart()) {
			return 0, fmt.Errorf("%w: state %d has another fixed part", ErrBadProof, i)
		}
		if st.TurnNum != first.TurnNum+uint64(i) {
			return 0, fmt.Errorf("%w: state %d has turn %d after turn %d", ErrBadProof, i, st.TurnNum, first.TurnNum+uint64(i)-1)
		}
		switch {
		case st.IsFinal:
			finals++
		case finals > 0:
			return 0, fmt.Errorf("%w: state %d is not final after a final state", ErrBadProof, i)
		}
	}
	if finals > 255 {
		return 0, fmt.Errorf("%w: %d final states (isFinalCount is a uint8)", ErrBadProof, finals)
	}
	return uint8(finals), nil
}

// SameFixedPart reports whether two fixed parts are equal field by field.
func SameFixedPart(a, b nitro.FixedPart) bool {
	if (a.ChainID == nil) != (b.ChainID == nil) || (a.ChainID != nil && a.ChainID.Cmp(b.ChainID) != 0) {
		return false
	}
	if len(a.Participants) != len(b.Participants) {
		return false
	}
	for i := range a.Participants {
		if a.Participants[i] != b.Participants[i] {
			return false
		}
	}
	return a.ChannelNonce == b.ChannelNonce && a.AppDefinition == b.AppDefinition && a.ChallengeDuration == b.ChallengeDuration
}

// RegisteredPart is one variable part of a ChallengeRegistered event.
type RegisteredPart struct {
	Outcome nitro.Outcome
	AppData []byte
}

// RegisteredProof rebuilds the support proof a ChallengeRegistered event
// reports from what the event carries: the fixed part, the variable parts,
// the challenged turn (turnNumRecord), isFinal, the signatures and
// whoSignedWhat. Both chain adapters report it through this function, so
// they agree to the byte.
//
// The variable parts are consecutive turns ending at turnNumRecord. The
// event's isFinal is isFinalCount > 0: it says whether the last state is
// final, not how many are. Without isFinal no state is final. With it,
// the states are rebuilt with the fewest final states at the end (1, 2,
// ...) for which every participant's signature recovers to that
// participant over the state whoSignedWhat names, which is the count the
// challenger sent unless a count with fewer final states is supported
// just as well (then only states nobody signed differ); if no count fits,
// only the last state is final. Empty outcomes, allocations and app data
// are nil.
func RegisteredProof(fixed nitro.FixedPart, turnNumRecord uint64, isFinal bool, parts []RegisteredPart, sigs []nitro.Signature, whoSignedWhat []uint8) *SupportProof {
	m := len(parts)
	build := func(finals int) []nitro.State {
		states := make([]nitro.State, m)
		for i, vp := range parts {
			states[i] = nitro.State{
				ChainID: fixed.ChainID, Participants: fixed.Participants, ChannelNonce: fixed.ChannelNonce,
				AppDefinition: fixed.AppDefinition, ChallengeDuration: fixed.ChallengeDuration,
				AppData: vp.AppData, Outcome: vp.Outcome,
				TurnNum: (turnNumRecord - uint64(m-1-i)) & nitro.MaxUint48,
				IsFinal: i >= m-finals,
			}
			states[i] = normalized(states[i].Clone())
		}
		return states
	}
	p := &SupportProof{
		Signatures:    append([]nitro.Signature(nil), sigs...),
		WhoSignedWhat: append([]uint8(nil), whoSignedWhat...),
	}
	if !isFinal || m == 0 {
		p.States = build(0)
		return p
	}
	for k := 1; k <= m; k++ {
		states := build(k)
		if signedBy(states, fixed.Participants, sigs, whoSignedWhat) {
			p.States = states
			return p
		}
	}
	p.States = build(1)
	return p
}

// normalized makes empty outcomes, allocations and app data nil, so that a
// proof decoded from an event and one taken from a request compare equal.
func normalized(st nitro.State) nitro.State {
	if len(st.Outcome) == 0 {
		st.Outcome = nil
	}
	for i := range st.Outcome {
		if len(st.Outcome[i].Allocation) == 0 {
			st.Outcome[i].Allocation = nil
		}
	}
	if len(st.AppData) == 0 {
		st.AppData = nil
	}
	return st
}

// signedBy reports whether participant i's signature recovers to it over
// states[whoSignedWhat[i]], for every participant.
func signedBy(states []nitro.State, participants []nitro.Address, sigs []nitro.Signature, who []uint8) bool {
	if len(sigs) != len(participants) || len(who) != len(participants) {
		return false
	}
	hashes := make([]*nitro.Bytes32, len(states))
	for i, p := range participants {
		j := int(who[i])
		if j >= len(states) {
			return false
		}
		if hashes[j] == nil {
			h, err := states[j].Hash()
			if err != nil {
				return false
			}
			hashes[j] = &h
		}
		signer, err := nitro.RecoverSigner(*hashes[j], sigs[i])
		if err != nil || !bytes.Equal(signer[:], p[:]) {
			return false
		}
	}
	return true
}
