package app

import (
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Errors callers can test with errors.Is. Every error the wallet returns
// matches at least one of the exported Err* of this package; those of the
// core and the wire codec are re-exported so that importing app is enough
// (TestEveryCoreErrorReexported keeps it so). See the core and wire
// packages for what each means.
var (
	ErrInvalidParams       = core.ErrInvalidParams
	ErrChannelNotFound     = core.ErrChannelNotFound
	ErrChannelExists       = core.ErrChannelExists
	ErrNotParticipant      = core.ErrNotParticipant
	ErrUnsupportedFunding  = core.ErrUnsupportedFunding
	ErrNotYourTurn         = core.ErrNotYourTurn
	ErrChannelClosed       = core.ErrChannelClosed
	ErrNotRunning          = core.ErrNotRunning
	ErrAlreadyJoined       = core.ErrAlreadyJoined
	ErrInvalidTransition   = core.ErrInvalidTransition
	ErrWrongSigner         = core.ErrWrongSigner
	ErrStaleState          = core.ErrStaleState
	ErrConflictingState    = core.ErrConflictingState
	ErrFutureState         = core.ErrFutureState
	ErrSigningInProgress   = core.ErrSigningInProgress
	ErrUnexpectedSignature = core.ErrUnexpectedSignature
	ErrWrongRecipient      = core.ErrWrongRecipient
	// ErrUnknownAsset and ErrInvalidHoldings: UpdateFundingForChannels
	// names an asset holder the channel does not use, or an amount
	// outside 0..2^256-1 (ErrInvalidHoldings refines ErrInvalidParams).
	ErrUnknownAsset    = core.ErrUnknownAsset
	ErrInvalidHoldings = core.ErrInvalidHoldings
	// ErrDisputed: a challenge runs on the channel (or mine is asked for);
	// updates wait for its end.
	ErrDisputed = core.ErrDisputed
	// ErrNoSupport: no state the wallet could prove on chain yet.
	ErrNoSupport = core.ErrNoSupport
	// ErrNotOnChain: a Fake-funded channel has nothing on chain to
	// challenge.
	ErrNotOnChain = core.ErrNotOnChain
	// ErrUnusableChannel: a proposal, a join or a create names a channel
	// this wallet's chain could fund but never conclude; refined by
	// ErrWrongChain, ErrUnknownAssetHolder and ErrChallengeDuration.
	ErrUnusableChannel    = core.ErrUnusableChannel
	ErrWrongChain         = core.ErrWrongChain
	ErrUnknownAssetHolder = core.ErrUnknownAssetHolder
	ErrChallengeDuration  = core.ErrChallengeDuration
	// ErrProtocolChanged refines ErrUnusableChannel: Join of a channel
	// stored under another protocol profile than Config.Protocol.
	ErrProtocolChanged = core.ErrProtocolChanged
	// ErrWrongProtocol refines ErrWrongSigner: a peer's state is signed
	// under the other protocol profile (Config.Protocol).
	ErrWrongProtocol = core.ErrWrongProtocol
	// ErrEquivocation: a peer signed two different states for one turn
	// (errors.As gives the *core.EquivocationError with the evidence). It
	// refines ErrConflictingState.
	ErrEquivocation = core.ErrEquivocation
	// Refinements of ErrInvalidTransition (each also matches it).
	ErrFixedPartMismatch = core.ErrFixedPartMismatch
	ErrTotalsChanged     = core.ErrTotalsChanged
	ErrAppRule           = core.ErrAppRule
	ErrTakesFromOther    = core.ErrTakesFromOther
	ErrSetupChanged      = core.ErrSetupChanged
	ErrFinalOutcome      = core.ErrFinalOutcome
	ErrInvalidOutcome    = core.ErrInvalidOutcome
)

// Errors of the wire codec (PushMessage); each also matches
// ErrInvalidMessage.
var (
	ErrInvalidMessage    = wire.ErrInvalidMessage
	ErrMalformed         = wire.ErrMalformed
	ErrUnknownField      = wire.ErrUnknownField
	ErrMissingField      = wire.ErrMissingField
	ErrBadHex            = wire.ErrBadHex
	ErrOutOfRange        = wire.ErrOutOfRange
	ErrTooLarge          = wire.ErrTooLarge
	ErrChannelIDMismatch = wire.ErrChannelIDMismatch
	ErrUnsupported       = wire.ErrUnsupported
)

// Errors of the wallet's own (not the core's or the codec's).
var (
	// ErrClosed: the call was made after Close began; nothing was done.
	ErrClosed = errors.New("app: wallet closed")
	// ErrContextDone: the call's context ended before it committed
	// anything; nothing changed. It wraps the context's error, so
	// errors.Is(err, context.Canceled) (or DeadlineExceeded) holds too.
	ErrContextDone = errors.New("app: context done before the call committed anything")
	// ErrIncomplete: the call's intent is committed (durable) but an effect
	// it caused could not be carried out yet (the cause is wrapped). The
	// wallet carries it out on the next Tick or restart; retrying the same
	// call carries it out at once and returns the call's result.
	ErrIncomplete = errors.New("app: committed, but not every effect was carried out; retried on the next tick")
	// ErrSigner wraps a failure of the configured ports.Signer.
	ErrSigner = errors.New("app: signer failed")
	// ErrStore wraps a failure of the configured ports.Store.
	ErrStore = errors.New("app: store failed")
	// ErrStoreUnavailable and ErrStoreTimeout come with ErrStore: the
	// store could not be reached, or the call's deadline passed in it.
	// ErrOutcomeUnknown (with ErrStore) says a commit was abandoned after
	// it reached the database: it may be durable. Its channel then reads
	// as what is durable, its effects are carried out by the next Tick,
	// and retrying the same update or close is safe (one already made
	// returns its result).
	ErrStoreUnavailable = ports.ErrStoreUnavailable
	ErrStoreTimeout     = ports.ErrStoreTimeout
	ErrOutcomeUnknown   = ports.ErrOutcomeUnknown
)

// Errors of app registration and of channels naming an app (client code
// CodeInvalidAppDefinition).
var (
	// ErrInvalidAppDefinition: an app that cannot be registered (the zero
	// address, no code at the address, empty code or code over EIP-170's
	// 24,576 bytes, or other code than the address's registered code), or
	// a channel created or proposed with a non-zero appDefinition this
	// wallet has not registered. Nothing is stored.
	ErrInvalidAppDefinition = errors.New("app: invalid app definition")
	// ErrAppCodeConflict refines ErrInvalidAppDefinition: the address is
	// registered with other code. Registered apps never change: a channel
	// may rely on the verdicts of the code first registered.
	ErrAppCodeConflict = ports.ErrAppCodeConflict
)

// Client API error codes (statechannels client-api-schema 0.5.0).
const (
	CodeNotYourTurnClose         = 300
	CodeChannelNotFoundClose     = 301
	CodeChannelNotFoundUpdate    = 400
	CodeInvalidTransition        = 401
	CodeInvalidAppData           = 402
	CodeNotYourTurnUpdate        = 403
	CodeChannelClosedUpdate      = 404
	CodeWrongParticipant         = 900
	CodeSigningAddressNotFound   = 1000
	CodeInvalidAppDefinition     = 1001
	CodeChannelNotFoundJoin      = 1100
	CodeInvalidTransitionJoin    = 1101
	CodeChannelNotFoundGetState  = 1200
	CodeChannelNotFoundChallenge = 1300
	CodeChannelNotFoundSync      = 1400
	CodeWalletError              = 500
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

// apiError gives err the code of the first rule its cause matches. The
// wallet's own failures (closed, context done, store, signer, effects left
// pending) have no client API code, whatever they wrap.
func apiError(err error, rules ...codeRule) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	for _, own := range []error{ErrClosed, ErrContextDone, ErrIncomplete, ErrStore, ErrSigner} {
		if errors.Is(err, own) {
			return &Error{Code: CodeWalletError, Err: err}
		}
	}
	for _, r := range rules {
		if errors.Is(err, r.cause) {
			return &Error{Code: r.code, Err: err}
		}
	}
	return &Error{Code: CodeWalletError, Err: err}
}
