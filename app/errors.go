package app

import (
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// Errors callers can test with errors.Is. Those of the core and the wire
// codec are re-exported so that importing app is enough.
var (
	ErrInvalidParams      = core.ErrInvalidParams
	ErrChannelNotFound    = core.ErrChannelNotFound
	ErrNotParticipant     = core.ErrNotParticipant
	ErrUnsupportedFunding = core.ErrUnsupportedFunding
	ErrNotYourTurn        = core.ErrNotYourTurn
	ErrChannelClosed      = core.ErrChannelClosed
	ErrNotRunning         = core.ErrNotRunning
	ErrAlreadyJoined      = core.ErrAlreadyJoined
	ErrInvalidTransition  = core.ErrInvalidTransition
	ErrWrongSigner        = core.ErrWrongSigner
	ErrStaleState         = core.ErrStaleState
	ErrConflictingState   = core.ErrConflictingState
	ErrInvalidMessage     = wire.ErrInvalidMessage
	ErrWrongRecipient     = core.ErrWrongRecipient
	// ErrUnusableChannel: a proposal, a join or a create names a channel
	// this wallet's chain could fund but never conclude; refined by
	// ErrWrongChain, ErrUnknownAssetHolder and ErrChallengeDuration.
	ErrUnusableChannel    = core.ErrUnusableChannel
	ErrWrongChain         = core.ErrWrongChain
	ErrUnknownAssetHolder = core.ErrUnknownAssetHolder
	ErrChallengeDuration  = core.ErrChallengeDuration
	// ErrEquivocation: a peer signed two different states for one turn
	// (errors.As gives the *core.EquivocationError with the evidence). It
	// refines ErrConflictingState.
	ErrEquivocation = core.ErrEquivocation
	ErrClosed       = errors.New("app: wallet closed")
)

// Errors of the wallet's own (not the core's or the codec's).
var (
	// ErrIncomplete: the call's intent is committed (durable) but an effect
	// it caused could not be carried out yet (the cause is wrapped). The
	// wallet carries it out on the next Tick or restart; retrying the same
	// call carries it out at once and returns the call's result.
	ErrIncomplete = errors.New("app: committed, but not every effect was carried out; retried on the next tick")
	// ErrSigner wraps a failure of the configured ports.Signer.
	ErrSigner = errors.New("app: signer failed")
	// ErrStore wraps a failure of the configured ports.Store.
	ErrStore = errors.New("app: store failed")
)

// Client API error codes (statechannels client-api-schema 0.5.0).
const (
	CodeNotYourTurnClose        = 300
	CodeChannelNotFoundClose    = 301
	CodeChannelNotFoundUpdate   = 400
	CodeInvalidTransition       = 401
	CodeInvalidAppData          = 402
	CodeNotYourTurnUpdate       = 403
	CodeChannelClosedUpdate     = 404
	CodeWrongParticipant        = 900
	CodeSigningAddressNotFound  = 1000
	CodeInvalidAppDefinition    = 1001
	CodeChannelNotFoundJoin     = 1100
	CodeInvalidTransitionJoin   = 1101
	CodeChannelNotFoundGetState = 1200
	CodeWalletError             = 500
)

// Error is an API error: a client API code plus the typed cause, which
// errors.Is and errors.As see through Unwrap.
type Error struct {
	Code int
	Err  error
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Err, e.Code) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Code returns the client API code of an error returned by the wallet, or
// CodeWalletError.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeWalletError
}

// codeRule maps a cause to a code for one entry point.
type codeRule struct {
	cause error
	code  int
}

func apiError(err error, rules ...codeRule) error {
	if err == nil {
		return nil
	}
	for _, r := range rules {
		if errors.Is(err, r.cause) {
			return &Error{Code: r.code, Err: err}
		}
	}
	return &Error{Code: CodeWalletError, Err: err}
}
