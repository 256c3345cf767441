package ports

import (
	"context"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// SupportProof is a support proof as the adjudicator takes it (see
// core.SupportProof).
type SupportProof = core.SupportProof

// ChallengeRequest asks the adjudicator to register a challenge with the
// supported state of Proof (challenge). ChallengerSignature is a
// participant's signature over nitro.ChallengeHash of that state's hash.
type ChallengeRequest struct {
	Proof               SupportProof
	ChallengerSignature nitro.Signature
}

// CheckpointRequest asks the adjudicator to record Proof's supported state
// as the channel's turn number record, clearing a challenge on an older
// turn (checkpoint).
type CheckpointRequest struct {
	Proof SupportProof
}

// RespondRequest answers a running challenge on Challenged with the next
// turn, Response, signed by its mover (respond): Signature is the mover's
// over Response, and Challenger is the address the challenge names.
type RespondRequest struct {
	Challenger nitro.Address
	Challenged nitro.State
	Response   nitro.State
	Signature  nitro.Signature
}

// PushOutcomeRequest pays out a channel whose challenge timed out
// (pushOutcomeAndTransferAll): the challenged state as registered, with
// the record's turn number, finalization time and challenger.
type PushOutcomeRequest struct {
	Challenged    nitro.State
	TurnNumRecord uint64
	FinalizesAt   uint64
	Challenger    nitro.Address
}

// ChannelRecord is what the adjudicator records for a channel (its
// ChannelData, read through statusOf and the events).
type ChannelRecord struct {
	TurnNumRecord uint64
	// FinalizesAt is 0 when no challenge runs and the channel is open.
	FinalizesAt uint64
}

// Disputes is the dispute half of the chain port: the adjudicator's
// challenge, respond, checkpoint and pushOutcomeAndTransferAll, sent from
// the wallet's account, and the reads a dispute needs. Reverts carry the
// contract's reason (RevertError), as for Deposit.
type Disputes interface {
	// Challenge submits challenge.
	Challenge(ctx context.Context, req ChallengeRequest) (TxHash, error)
	// Respond submits respond.
	Respond(ctx context.Context, req RespondRequest) (TxHash, error)
	// Checkpoint submits checkpoint.
	Checkpoint(ctx context.Context, req CheckpointRequest) (TxHash, error)
	// PushOutcomeAndTransferAll submits pushOutcomeAndTransferAll.
	PushOutcomeAndTransferAll(ctx context.Context, req PushOutcomeRequest) (TxHash, error)
	// Record reads the adjudicator's record of a channel at the head.
	Record(ctx context.Context, channelID nitro.Bytes32) (ChannelRecord, error)
	// BlockTime is the head block's timestamp, in seconds: the clock
	// finalizesAt is compared with.
	BlockTime(ctx context.Context) (uint64, error)
}
