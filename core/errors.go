package core

import (
	"errors"
	"fmt"
)

// Errors returned by Step; each leaves the channel unchanged. Test them with
// errors.Is.
var (
	ErrChannelNotFound     = errors.New("core: channel not found")
	ErrChannelExists       = errors.New("core: channel already exists")
	ErrNotParticipant      = errors.New("core: this wallet is not a participant of the channel")
	ErrInvalidParams       = errors.New("core: invalid channel parameters")
	ErrUnsupportedFunding  = errors.New("core: unsupported funding strategy")
	ErrNotYourTurn         = errors.New("core: not your turn")
	ErrChannelClosed       = errors.New("core: channel is closing or closed")
	ErrNotRunning          = errors.New("core: channel is not running")
	ErrAlreadyJoined       = errors.New("core: channel already joined")
	ErrInvalidTransition   = errors.New("core: invalid transition")
	ErrWrongSigner         = errors.New("core: state not signed by its mover, or signed by a non-participant")
	ErrStaleState          = errors.New("core: stale state")
	ErrConflictingState    = errors.New("core: a different state for this turn is already held")
	ErrFutureState         = errors.New("core: too many states held for future turns")
	ErrSigningInProgress   = errors.New("core: a signature is already being made for this channel")
	ErrUnexpectedSignature = errors.New("core: signature does not match the pending state")
	ErrWrongRecipient      = errors.New("core: message is not addressed to this wallet's participant")
	// ErrUnusableChannel: the channel does not fit this wallet's
	// Deployment, so its deposits could never be paid out.
	ErrUnusableChannel = errors.New("core: channel cannot be concluded on this wallet's deployment")
	// ErrUnknownAsset: reported holdings (ReportHoldings) name an asset
	// holder the channel's outcome does not have.
	// It refines ErrInvalidParams.
	ErrUnknownAsset = fmt.Errorf("%w: asset holder not in the channel's outcome", ErrInvalidParams)
	// ErrInvalidHoldings: reported holdings are negative, missing or
	// above 2^256-1; it refines ErrInvalidParams.
	ErrInvalidHoldings = fmt.Errorf("%w: holdings outside 0..2^256-1", ErrInvalidParams)

	// ErrEquivocation refines ErrConflictingState: the conflicting states
	// are both signed by their turn's mover (see EquivocationError).
	ErrEquivocation = fmt.Errorf("%w: a participant signed two different states for one turn", ErrConflictingState)

	// Refinements of ErrUnusableChannel.
	ErrWrongChain         = fmt.Errorf("%w: wrong chain id", ErrUnusableChannel)
	ErrUnknownAssetHolder = fmt.Errorf("%w: unknown asset holder", ErrUnusableChannel)
	ErrChallengeDuration  = fmt.Errorf("%w: challenge duration out of bounds", ErrUnusableChannel)
	// ErrProtocolChanged: the channel was started under another protocol
	// profile (nitro.Protocol) than the Deployment's.
	ErrProtocolChanged = fmt.Errorf("%w: channel uses another protocol profile", ErrUnusableChannel)

	// ErrWrongProtocol refines ErrWrongSigner: a signature recovers to no
	// participant under the channel's protocol profile but to one under
	// the other, so the peer signs another nitro-protocol generation.
	ErrWrongProtocol = fmt.Errorf("%w: signed under another protocol profile", ErrWrongSigner)

	// Refinements of ErrInvalidTransition.
	ErrFixedPartMismatch = fmt.Errorf("%w: fixed part differs from the channel's", ErrInvalidTransition)
	ErrTotalsChanged     = fmt.Errorf("%w: an asset's total changed", ErrInvalidTransition)
	ErrSetupChanged      = fmt.Errorf("%w: setup states must keep outcome and appData", ErrInvalidTransition)
	ErrFinalOutcome      = fmt.Errorf("%w: a final state must keep the outcome", ErrInvalidTransition)
	ErrInvalidOutcome    = fmt.Errorf("%w: outcome unusable for direct funding", ErrInvalidTransition)
)
