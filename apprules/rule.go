package apprules

import (
	"bytes"
	"sync"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Checker judges a running transition as an app's validTransition would:
// nil for true, an *Error otherwise. *App is the EVM-backed Checker. It
// must not keep a or b (nor the slices in them) once it returns: callers
// such as ValidTransition reuse their bytes.
type Checker interface {
	ValidTransition(a, b VariablePart, turnNumB, nParticipants uint64) error
}

// RequireValidTransition is ForceMove 0.17.0's _requireValidTransition, as
// the adjudicator's public validTransition(nParticipants, isFinalAB, ab,
// turnNumB, appDefinition) runs it: the protocol rules first, then, where
// they leave the verdict to the app (a running transition past the setup
// turns), app.ValidTransition. It returns nil for a valid transition and an
// *Error (errors.Is ErrInvalidTransition) with the adjudicator's revert
// string otherwise. A nil app stands for an appDefinition without code.
//
// As on chain, it does not check what signatures imply: equal fixed parts
// and turnNumB = a.turnNum + 1 are the caller's to check.
func RequireValidTransition(nParticipants uint64, isFinalAB [2]bool, ab [2]VariablePart, turnNumB uint64, app Checker) error {
	if turnNumB > nitro.MaxUint48 {
		return &Error{Kind: ErrBadArguments, Detail: "turnNumB exceeds uint48"}
	}
	if isFinalAB[1] {
		if !bytes.Equal(ab[1].Outcome, ab[0].Outcome) {
			return protocolError(ErrOutcomeChangeVerboten, ReasonOutcomeChangeVerboten)
		}
		return nil
	}
	if isFinalAB[0] {
		return protocolError(ErrIsFinalRetrograde, ReasonIsFinalRetrograde)
	}
	// turnNumB < 2n, computed as the contract does in uint256 (no overflow
	// for n below 2^63; a larger n makes every turn a setup turn there too).
	if nParticipants >= 1<<63 || turnNumB < 2*nParticipants {
		if !bytes.Equal(ab[1].Outcome, ab[0].Outcome) {
			return protocolError(ErrOutcomeChangeForbidden, ReasonOutcomeChangeForbidden)
		}
		if !bytes.Equal(ab[1].AppData, ab[0].AppData) {
			return protocolError(ErrAppDataChangeForbidden, ReasonAppDataChangeForbidden)
		}
		return nil
	}
	if app == nil {
		return &Error{Kind: ErrNoApp, Detail: "no code at the app definition"}
	}
	return app.ValidTransition(ab[0], ab[1], turnNumB, nParticipants)
}

// ValidTransition checks the transition from state a to state b of one
// channel with RequireValidTransition, as the adjudicator would for
// nParticipants = len(b.Participants), turnNumB = b.TurnNum and b's
// appDefinition run by app. The fixed parts' equality and b.TurnNum =
// a.TurnNum + 1 are the caller's to check, as on chain.
func ValidTransition(a, b nitro.State, app Checker) error {
	buf := outcomeBufs.Get().(*[2][]byte)
	defer func() {
		if cap(buf[0]) <= maxKeptOutcome && cap(buf[1]) <= maxKeptOutcome {
			outcomeBufs.Put(buf)
		}
	}()
	var err error
	if buf[0], err = a.Outcome.AppendEncoding(buf[0][:0]); err != nil {
		return err
	}
	if buf[1], err = b.Outcome.AppendEncoding(buf[1][:0]); err != nil {
		return err
	}
	ab := [2]VariablePart{{Outcome: buf[0], AppData: a.AppData}, {Outcome: buf[1], AppData: b.AppData}}
	return RequireValidTransition(uint64(len(b.Participants)), [2]bool{a.IsFinal, b.IsFinal}, ab, b.TurnNum, app)
}

// outcomeBufs holds the two outcome encodings of a ValidTransition for the
// next call (the Checker keeps neither).
var outcomeBufs = sync.Pool{New: func() any { return new([2][]byte) }}

// maxKeptOutcome bounds the outcome buffers outcomeBufs keeps.
const maxKeptOutcome = 64 << 10
