package memory

// The NitroAdjudicator: a channel's status and
// concludePushOutcomeAndTransferAll, in the contract's order of checks.

import (
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// chainChannelStatus is the adjudicator's status of a channel: its
// ChannelData, whose fingerprint the contract stores. finalizesAt 0 means
// Open. A channel never written has no entry: its stored word is zero,
// which no ChannelData matches (the fingerprint of zeros is not zero).
type chainChannelStatus struct {
	turnNumRecord uint64
	finalizesAt   uint64
	stateHash     nitro.Bytes32
	challenger    nitro.Address
	outcomeHash   nitro.Bytes32
}

// conclude models NitroAdjudicator.concludePushOutcomeAndTransferAll with
// one state, in the contract's order of checks.
func (x *chainExec) conclude(req ports.ConcludeRequest) error {
	c := x.c
	st := req.State
	if st.ChainID.Cmp(c.chainID) != 0 {
		return chainRevert(ChainReasonIncorrectChainID)
	}
	n := len(st.Participants)
	if n > nitro.MaxParticipants {
		// Never concluded, so never finalized: the next check is the first
		// to fail.
		return chainRevert(ChainReasonTooManyParticipants)
	}
	id, err := st.ChannelID()
	if err != nil {
		return fmt.Errorf("memory chain: conclude: %w", err)
	}
	if c.finalizedLocked(id, x.time) {
		return chainRevert(ports.ReasonChannelFinalized)
	}
	// requireValidInput(n, numStates = 1, |sigs|, |whoSignedWhat| = n).
	if n < 1 {
		return chainRevert(ChainReasonStateCount)
	}
	if len(req.Signatures) != n {
		return chainRevert(ChainReasonInputLengths)
	}
	if n >= nitro.MaxParticipants {
		return chainRevert(ChainReasonTooManyParticipants)
	}
	if st.TurnNum == nitro.MaxUint48 {
		// uint48 largestTurnNum + 1 wraps to 0 in the contract.
		return chainRevert(ChainReasonTurnNumTooLow)
	}
	final := st
	final.IsFinal = true
	hash, err := final.HashFor(x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: conclude: %w", err)
	}
	for i, p := range st.Participants {
		signer, err := nitro.RecoverSigner(hash, req.Signatures[i])
		if err != nil {
			return chainRevert(ports.ReasonInvalidSignature)
		}
		if signer != p {
			return chainRevert(ChainReasonInvalidSignatures)
		}
	}
	outcomeHash, err := st.Outcome.HashFor(x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: conclude: %w", err)
	}
	x.setStatus(id, chainChannelStatus{turnNumRecord: 0, finalizesAt: x.time, outcomeHash: outcomeHash})
	x.emit(core.ChainEvent{Kind: core.EventConcluded, ChannelID: id, FinalizesAt: x.time})
	for _, ao := range st.Outcome {
		if err := x.transferAll(id, ao); err != nil {
			return err
		}
	}
	return nil
}
