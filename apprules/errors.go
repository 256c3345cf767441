package apprules

import (
	"errors"
	"fmt"
)

// ErrInvalidTransition is what every refused transition matches with
// errors.Is, whatever the reason.
var ErrInvalidTransition = errors.New("apprules: invalid transition")

// Kinds of refusal; each *Error matches ErrInvalidTransition and exactly one
// of these with errors.Is.
var (
	// ErrOutcomeChangeVerboten: b is final and its outcome differs from a's.
	ErrOutcomeChangeVerboten = errors.New("apprules: " + ReasonOutcomeChangeVerboten)
	// ErrIsFinalRetrograde: a is final and b is not.
	ErrIsFinalRetrograde = errors.New("apprules: " + ReasonIsFinalRetrograde)
	// ErrOutcomeChangeForbidden: a setup turn (turnNumB < 2n) changes the outcome.
	ErrOutcomeChangeForbidden = errors.New("apprules: " + ReasonOutcomeChangeForbidden)
	// ErrAppDataChangeForbidden: a setup turn changes the app data.
	ErrAppDataChangeForbidden = errors.New("apprules: " + ReasonAppDataChangeForbidden)
	// ErrAppReturnedFalse: the app's validTransition returned false.
	ErrAppReturnedFalse = errors.New("apprules: " + ReasonInvalidAppTransition)
	// ErrAppReverted: the app reverted; Error.Reason holds its revert string.
	ErrAppReverted = errors.New("apprules: the app reverted")
	// ErrAppFailed: the app halted exceptionally (out of gas, invalid opcode,
	// stack error, a write in the static call, malformed return data).
	ErrAppFailed = errors.New("apprules: the app failed")
	// ErrAppForbidden: the app did what no deterministic local verdict can
	// follow: read state or the block or transaction context, or call an
	// address that is not a precompile (itself included). The chain may
	// judge it otherwise.
	ErrAppForbidden = errors.New("apprules: the app did something forbidden")
	// ErrNoApp: a running transition with no app code to run (the
	// adjudicator's call to an address without code reverts).
	ErrNoApp = errors.New("apprules: no app code")
	// ErrBadArguments: turnNumB beyond uint48, which the adjudicator's ABI
	// decoder refuses.
	ErrBadArguments = errors.New("apprules: arguments out of range")
)

// The adjudicator's revert strings (ForceMove 0.17.0).
const (
	ReasonOutcomeChangeVerboten  = "Outcome change verboten"
	ReasonIsFinalRetrograde      = "isFinal retrograde"
	ReasonOutcomeChangeForbidden = "Outcome change forbidden"
	ReasonAppDataChangeForbidden = "appData change forbidden"
	ReasonInvalidAppTransition   = "Invalid ForceMoveApp Transition"
)

// Error is a refused transition. Reason is the revert string the deployed
// NitroAdjudicator's validTransition gives for the same arguments ("" when
// it reverts without one); RevertData is its raw revert payload, as the
// adjudicator bubbles an app's revert up unchanged (nil when empty).
type Error struct {
	Kind       error  // one of the Err* kinds above
	Reason     string // the adjudicator's revert string
	RevertData []byte // the adjudicator's raw revert data
	Detail     string // what the EVM reported, for logs (not part of the verdict)
	Cause      error  // the EVM's error, if any
}

// Error describes the refusal.
func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Reason != "" && e.Kind == ErrAppReverted {
		s += fmt.Sprintf(": %q", e.Reason)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is matches ErrInvalidTransition and the error's Kind.
func (e *Error) Is(target error) bool { return target == ErrInvalidTransition || target == e.Kind }

// Unwrap returns the EVM's error, if any.
func (e *Error) Unwrap() error { return e.Cause }

// Reason returns the adjudicator's revert string of a refused transition,
// and false for nil or an error that is not a refusal.
func Reason(err error) (string, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return "", false
	}
	return e.Reason, true
}

// protocolError is a refusal by the protocol part of the rule.
func protocolError(kind error, reason string) *Error {
	return &Error{Kind: kind, Reason: reason, RevertData: revertData(reason)}
}
