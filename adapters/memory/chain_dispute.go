package memory

// The NitroAdjudicator's dispute functions (ForceMove 0.17.0): challenge,
// respond, checkpoint and pushOutcomeAndTransferAll, each in the
// contract's order of checks with its revert strings, and the support
// proof and transition checks they share. Running transitions past the
// setup turns are judged by the app's code (SetCode) run by package
// apprules, as the adjudicator calls it.

import (
	"fmt"

	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Revert reasons of ForceMove 0.17.0's dispute functions.
const (
	ChainReasonTurnNumDecreased    = "turnNumRecord decreased."
	ChainReasonTurnNumNotIncreased = "turnNumRecord not increased."
	ChainReasonChallengeSignatures = "Invalid signatures"
	ChainReasonUnacceptableWho     = "Unacceptable whoSignedWhat array"
	ChainReasonChallengerNotPart   = "Challenger is not a participant"
	ChainReasonStatusMismatch      = "status(ChannelData)!=storage"
	ChainReasonNoOngoingChallenge  = "No ongoing challenge."
	ChainReasonSignerNotMover      = "Signer not authorized mover"
	ChainReasonChannelNotFinalized = "Channel not finalized."
)

// chainReasonPanic is the empty revert of Solidity 0.7's built-in checks
// (an index past an array's end, a modulo by zero): no reason.
const chainReasonPanic = ""

// chainMode is the adjudicator's ChannelMode of a channel at time now.
type chainMode int

const (
	chainOpen chainMode = iota
	chainChallenge
	chainFinalized
)

func (c *Chain) modeLocked(id nitro.Bytes32, now uint64) chainMode {
	st := c.status[id]
	switch {
	case st.finalizesAt == 0:
		return chainOpen
	case st.finalizesAt <= now:
		return chainFinalized
	}
	return chainChallenge
}

// matches is _matchesStatus: data equals the stored ChannelData (a
// channel never written matches nothing).
func (c *Chain) matches(id nitro.Bytes32, data chainChannelStatus) bool {
	st, ok := c.status[id]
	return ok && st == data
}

// requireValidInput is ForceMove.requireValidInput.
func requireValidInput(n, states, sigs, who int) error {
	if n < states || states == 0 {
		return chainRevert(ChainReasonStateCount)
	}
	if sigs != n || who != n {
		return chainRevert(ChainReasonInputLengths)
	}
	if n >= nitro.MaxParticipants {
		return chainRevert(ChainReasonTooManyParticipants)
	}
	return nil
}

// channelID is _getChannelId: the chain id check, then the id.
func (x *chainExec) channelID(f nitro.FixedPart) (nitro.Bytes32, error) {
	if f.ChainID == nil || f.ChainID.Cmp(x.c.chainID) != 0 {
		return nitro.Bytes32{}, chainRevert(ChainReasonIncorrectChainID)
	}
	id, err := f.ChannelID()
	if err != nil {
		return nitro.Bytes32{}, fmt.Errorf("memory chain: channel id: %w", err)
	}
	return id, nil
}

// challenge models ForceMove.challenge.
func (x *chainExec) challenge(req ports.ChallengeRequest) error {
	p := req.Proof
	isFinalCount, err := ports.ProofShape(p)
	if err != nil {
		return err
	}
	fixed := p.States[0].FixedPart()
	largest := p.States[len(p.States)-1].TurnNum
	if err := requireValidInput(len(fixed.Participants), len(p.States), len(p.Signatures), len(p.WhoSignedWhat)); err != nil {
		return err
	}
	id, err := x.channelID(fixed)
	if err != nil {
		return err
	}
	rec := x.c.status[id].turnNumRecord
	switch x.c.modeLocked(id, x.time) {
	case chainOpen:
		if largest < rec {
			return chainRevert(ChainReasonTurnNumDecreased)
		}
	case chainChallenge:
		if largest <= rec {
			return chainRevert(ChainReasonTurnNumNotIncreased)
		}
	default:
		return chainRevert(ports.ReasonChannelFinalized)
	}
	states, supported, err := x.requireSupported(id, p, isFinalCount)
	if err != nil {
		return err
	}
	challenger, err := nitro.RecoverSigner(nitro.ChallengeHash(supported), req.ChallengerSignature)
	if err != nil {
		return chainRevert(ports.ReasonInvalidSignature)
	}
	if !chainIsParticipant(challenger, fixed.Participants) {
		return chainRevert(ChainReasonChallengerNotPart)
	}
	last := states[len(states)-1]
	outcomeHash, err := last.Outcome.HashFor(x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: challenge: %w", err)
	}
	finalizesAt := (x.time + fixed.ChallengeDuration) & nitro.MaxUint48
	parts := make([]ports.RegisteredPart, len(states))
	for i, st := range states {
		parts[i] = ports.RegisteredPart{Outcome: st.Outcome, AppData: st.AppData}
	}
	x.emit(core.ChainEvent{
		Kind: core.EventChallengeRegistered, ChannelID: id,
		TurnNumRecord: largest, FinalizesAt: finalizesAt, Challenger: challenger,
		Challenge: ports.RegisteredProof(fixed, largest, isFinalCount > 0, parts, p.Signatures, p.WhoSignedWhat),
	})
	x.setStatus(id, chainChannelStatus{
		turnNumRecord: largest, finalizesAt: finalizesAt,
		stateHash: supported, challenger: challenger, outcomeHash: outcomeHash,
	})
	return nil
}

// checkpoint models ForceMove.checkpoint.
func (x *chainExec) checkpoint(req ports.CheckpointRequest) error {
	p := req.Proof
	isFinalCount, err := ports.ProofShape(p)
	if err != nil {
		return err
	}
	fixed := p.States[0].FixedPart()
	largest := p.States[len(p.States)-1].TurnNum
	if err := requireValidInput(len(fixed.Participants), len(p.States), len(p.Signatures), len(p.WhoSignedWhat)); err != nil {
		return err
	}
	id, err := x.channelID(fixed)
	if err != nil {
		return err
	}
	if x.c.modeLocked(id, x.time) == chainFinalized {
		return chainRevert(ports.ReasonChannelFinalized)
	}
	if largest <= x.c.status[id].turnNumRecord {
		return chainRevert(ChainReasonTurnNumNotIncreased)
	}
	if _, _, err := x.requireSupported(id, p, isFinalCount); err != nil {
		return err
	}
	x.clearChallenge(id, largest)
	return nil
}

// respond models ForceMove.respond: the challenged and the response
// states are hashed with the stored turn number record and the one after
// it (the request's turn numbers are not sent), under the challenged
// state's fixed part.
func (x *chainExec) respond(req ports.RespondRequest) error {
	fixed := req.Challenged.FixedPart()
	id, err := x.channelID(fixed)
	if err != nil {
		return err
	}
	rec := x.c.status[id]
	a, b := req.Challenged, req.Response
	a.TurnNum = rec.turnNumRecord
	b.ChainID, b.Participants, b.ChannelNonce = fixed.ChainID, fixed.Participants, fixed.ChannelNonce
	b.AppDefinition, b.ChallengeDuration = fixed.AppDefinition, fixed.ChallengeDuration
	b.TurnNum = (rec.turnNumRecord + 1) & nitro.MaxUint48
	ha, err := a.HashWithChannelIDFor(id, x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: respond: %w", err)
	}
	hb, err := b.HashWithChannelIDFor(id, x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: respond: %w", err)
	}
	oa, err := a.Outcome.HashFor(x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: respond: %w", err)
	}
	want := chainChannelStatus{turnNumRecord: rec.turnNumRecord, finalizesAt: rec.finalizesAt, stateHash: ha, challenger: req.Challenger, outcomeHash: oa}
	if !x.c.matches(id, want) {
		return chainRevert(ChainReasonStatusMismatch)
	}
	if x.c.modeLocked(id, x.time) != chainChallenge {
		return chainRevert(ChainReasonNoOngoingChallenge)
	}
	signer, err := nitro.RecoverSigner(hb, req.Signature)
	if err != nil {
		return chainRevert(ports.ReasonInvalidSignature)
	}
	n := uint64(len(fixed.Participants))
	if n == 0 {
		return chainRevert(chainReasonPanic)
	}
	if signer != fixed.Participants[b.TurnNum%n] {
		return chainRevert(ChainReasonSignerNotMover)
	}
	va, err := apprules.VariablePartOf(a)
	if err != nil {
		return fmt.Errorf("memory chain: respond: %w", err)
	}
	vb, err := apprules.VariablePartOf(b)
	if err != nil {
		return fmt.Errorf("memory chain: respond: %w", err)
	}
	if err := x.requireValidTransition(n, [2]bool{a.IsFinal, b.IsFinal}, va, vb, b.TurnNum, fixed.AppDefinition); err != nil {
		return err
	}
	x.clearChallenge(id, b.TurnNum)
	return nil
}

// pushOutcome models NitroAdjudicator.pushOutcomeAndTransferAll with the
// challenged state's hash and encoded outcome.
func (x *chainExec) pushOutcome(req ports.PushOutcomeRequest) error {
	st := req.Challenged
	id, err := st.ChannelID()
	if err != nil {
		return fmt.Errorf("memory chain: push outcome: %w", err)
	}
	if x.c.modeLocked(id, x.time) != chainFinalized {
		return chainRevert(ChainReasonChannelNotFinalized)
	}
	h, err := st.HashWithChannelIDFor(id, x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: push outcome: %w", err)
	}
	oh, err := st.Outcome.HashFor(x.c.protocol)
	if err != nil {
		return fmt.Errorf("memory chain: push outcome: %w", err)
	}
	want := chainChannelStatus{
		turnNumRecord: req.TurnNumRecord & nitro.MaxUint48, finalizesAt: req.FinalizesAt & nitro.MaxUint48,
		stateHash: h, challenger: req.Challenger, outcomeHash: oh,
	}
	if !x.c.matches(id, want) {
		return chainRevert(ChainReasonStatusMismatch)
	}
	for _, ao := range st.Outcome {
		if err := x.transferAll(id, ao); err != nil {
			return err
		}
	}
	return nil
}

// clearChallenge is _clearChallenge.
func (x *chainExec) clearChallenge(id nitro.Bytes32, turnNumRecord uint64) {
	x.setStatus(id, chainChannelStatus{turnNumRecord: turnNumRecord})
	x.emit(core.ChainEvent{Kind: core.EventChallengeCleared, ChannelID: id, TurnNumRecord: turnNumRecord})
}

// requireSupported is _requireStateSupportedBy for a proof ProofShape
// accepted: the transition chain, then the signatures. It returns the
// states as the contract hashes them (final as isFinalCount implies) and
// the supported state's hash.
func (x *chainExec) requireSupported(id nitro.Bytes32, p ports.SupportProof, isFinalCount uint8) ([]nitro.State, nitro.Bytes32, error) {
	m := len(p.States)
	largest := p.States[m-1].TurnNum
	n := uint64(len(p.States[0].Participants))
	firstFinal := (largest - uint64(isFinalCount) + 1) & nitro.MaxUint48
	states := make([]nitro.State, m)
	hashes := make([]nitro.Bytes32, m)
	parts := make([]apprules.VariablePart, m)
	for i, st := range p.States {
		st.IsFinal = st.TurnNum >= firstFinal
		states[i] = st
		h, err := st.HashWithChannelIDFor(id, x.c.protocol)
		if err != nil {
			return nil, nitro.Bytes32{}, fmt.Errorf("memory chain: support proof: %w", err)
		}
		hashes[i] = h
		if parts[i], err = apprules.VariablePartOf(st); err != nil {
			return nil, nitro.Bytes32{}, fmt.Errorf("memory chain: support proof: %w", err)
		}
	}
	for i := 0; i+1 < m; i++ {
		a, b := states[i], states[i+1]
		if err := x.requireValidTransition(n, [2]bool{a.IsFinal, b.IsFinal}, parts[i], parts[i+1], b.TurnNum, a.AppDefinition); err != nil {
			return nil, nitro.Bytes32{}, err
		}
	}
	// _validSignatures, with _acceptableWhoSignedWhat first.
	for i := range p.WhoSignedWhat {
		offset := (n + largest - uint64(i)) % n
		if uint64(p.WhoSignedWhat[i])+offset+1 < uint64(m) {
			return nil, nitro.Bytes32{}, chainRevert(ChainReasonUnacceptableWho)
		}
	}
	for i, who := range p.WhoSignedWhat {
		if int(who) >= m {
			return nil, nitro.Bytes32{}, chainRevert(chainReasonPanic)
		}
		signer, err := nitro.RecoverSigner(hashes[who], p.Signatures[i])
		if err != nil {
			return nil, nitro.Bytes32{}, chainRevert(ports.ReasonInvalidSignature)
		}
		if signer != states[0].Participants[i] {
			return nil, nitro.Bytes32{}, chainRevert(ChainReasonChallengeSignatures)
		}
	}
	return states, hashes[m-1], nil
}

// requireValidTransition is _requireValidTransition: the protocol rules,
// then for a running transition the app at appDefinition as the
// adjudicator calls it. An app-less appDefinition reverts without a reason
// (Solidity's call to an address without code), as does an app that does
// what a local run refuses to judge (apprules.ErrAppForbidden).
func (x *chainExec) requireValidTransition(n uint64, finals [2]bool, a, b apprules.VariablePart, turnNumB uint64, appDef nitro.Address) error {
	var app apprules.Checker
	if code := x.c.code[appDef]; len(code) > 0 {
		prepared, err := x.c.appLocked(appDef, code)
		if err != nil {
			return fmt.Errorf("memory chain: app %s: %w", appDef, err)
		}
		app = prepared
	}
	err := apprules.RequireValidTransition(n, finals, [2]apprules.VariablePart{a, b}, turnNumB, app)
	if err == nil {
		return nil
	}
	if reason, ok := apprules.Reason(err); ok {
		return fmt.Errorf("%w (%w)", chainRevert(reason), err)
	}
	return fmt.Errorf("memory chain: transition: %w", err)
}

// appLocked returns the app prepared from code at addr, once per SetCode.
func (c *Chain) appLocked(addr nitro.Address, code []byte) (*apprules.App, error) {
	if a, ok := c.apps[addr]; ok {
		return a, nil
	}
	a, err := apprules.NewApp(addr, code, apprules.Options{})
	if err != nil {
		return nil, err
	}
	if c.apps == nil {
		c.apps = map[nitro.Address]*apprules.App{}
	}
	c.apps[addr] = a
	return a, nil
}

func chainIsParticipant(a nitro.Address, ps []nitro.Address) bool {
	for _, p := range ps {
		if p == a {
			return true
		}
	}
	return false
}
