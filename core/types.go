package core

import (
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Participant is a channel member as the wallets know it: a name used to
// address messages, the key that signs its states and where its funds go.
type Participant struct {
	ParticipantID  string
	SigningAddress nitro.Address
	Destination    nitro.Bytes32
}

// SignedState is a state with the signatures collected for it, as carried on
// the wire. Signatures are in no particular order; signers are recovered.
type SignedState struct {
	State        nitro.State
	Participants []Participant
	Signatures   []nitro.Signature
}

// Funding strategies of the wire format. Direct and Fake are implemented
// (funding.go); the others are refused with ErrUnsupportedFunding.
const (
	FundingDirect  = "Direct"
	FundingLedger  = "Ledger"
	FundingVirtual = "Virtual"
	FundingFake    = "Fake"
	FundingUnknown = "Unknown"
)

// Objective types of the wire format.
const (
	ObjectiveOpenChannel   = "OpenChannel"
	ObjectiveCloseChannel  = "CloseChannel"
	ObjectiveVirtuallyFund = "VirtuallyFund"
	ObjectiveFundGuarantor = "FundGuarantor"
	ObjectiveFundLedger    = "FundLedger"
	ObjectiveCloseLedger   = "CloseLedger"
)

// Objective is a wire-format objective. Which data fields are meaningful
// depends on Type; the others are left zero.
type Objective struct {
	Type         string
	Participants []Participant
	// OpenChannel, CloseChannel, VirtuallyFund
	TargetChannelID nitro.Bytes32
	// OpenChannel, CloseChannel
	FundingStrategy string
	// OpenChannel (optional)
	Role                   string
	FundingLedgerChannelID string
	// VirtuallyFund, FundGuarantor
	JointChannelID nitro.Bytes32
	// FundGuarantor, FundLedger, CloseLedger
	LedgerID    nitro.Bytes32
	GuarantorID nitro.Bytes32
}

// RequestGetChannel asks a peer to resend what it holds of a channel.
const RequestGetChannel = "GetChannel"

// Request is a wire-format channel request.
type Request struct {
	Type      string
	ChannelID nitro.Bytes32
}

// Payload is the body of a wire message.
type Payload struct {
	WalletVersion string
	SignedStates  []SignedState
	Objectives    []Objective
	Requests      []Request
}

// Message is a wire message from one wallet to another.
type Message struct {
	Recipient string
	Sender    string
	Payload   Payload
}

// EventKind names a chain event the core reacts to.
type EventKind uint8

// Chain event kinds (Nitro 0.17.0 asset holder and adjudicator events).
const (
	EventDeposited EventKind = iota + 1
	EventAllocationUpdated
	EventConcluded
	// EventChallengeRegistered and EventChallengeCleared are the
	// adjudicator's dispute events. Chain adapters report them; the core
	// does not act on them yet.
	EventChallengeRegistered
	EventChallengeCleared
	// EventRewound is no log: a chain adapter sends it on an event stream
	// when blocks it had delivered are no longer on the node's chain (a
	// reorg, or a node that came back lower). Block and BlockHash name the
	// common ancestor, from which the stream delivers again; events of
	// later blocks that were delivered before may be void (see Rewound).
	EventRewound
)

// String returns the Solidity event name.
func (k EventKind) String() string {
	switch k {
	case EventDeposited:
		return "Deposited"
	case EventAllocationUpdated:
		return "AllocationUpdated"
	case EventConcluded:
		return "Concluded"
	case EventChallengeRegistered:
		return "ChallengeRegistered"
	case EventChallengeCleared:
		return "ChallengeCleared"
	case EventRewound:
		return "Rewound"
	}
	return "Unknown"
}

// ChainEvent is a chain log the core consumes, already decoded by a chain
// adapter. Block and LogIndex order events; BlockHash is the hash of the
// block that carries the event (zero where an adapter cannot tell), so that
// a consumer can check its cursor is still on the chain; BlockTime is the
// block's header time in seconds (chain time, never the wall clock).
type ChainEvent struct {
	Kind      EventKind
	ChannelID nitro.Bytes32
	// Asset is the asset holder that emitted Deposited or AllocationUpdated.
	Asset     nitro.Address
	Block     uint64
	BlockHash nitro.Bytes32
	LogIndex  uint64
	BlockTime uint64
	TxHash    nitro.Bytes32
	// Deposited: the amount credited and the channel's holdings afterwards.
	AmountDeposited *big.Int
	Holdings        *big.Int
	// AllocationUpdated: holdings before the payout.
	InitialHoldings *big.Int
	// Concluded: the finalization time. ChallengeRegistered: when the
	// challenge times out.
	FinalizesAt uint64
	// ChallengeRegistered: the challenged turn; ChallengeCleared: the new
	// turn number record.
	TurnNumRecord uint64
	// ChallengeRegistered: the challenger's address and the support proof
	// registered (its last state is the challenged state, IsFinal as the
	// event says).
	Challenger nitro.Address
	Challenge  *SupportProof
}

// SupportProof is a support proof as the NitroAdjudicator 0.17.0 takes it
// (challenge, checkpoint) and ChallengeRegistered reports it: consecutive
// states of one channel, the supported one last, and one signature per
// participant over the state WhoSignedWhat names.
type SupportProof struct {
	// States are consecutive turns of one channel (same fixed part), in
	// turn order; the last is the supported state. Final states, if any,
	// come last (the adjudicator's isFinalCount).
	States []nitro.State
	// Signatures[i] is participant i's, over States[WhoSignedWhat[i]].
	Signatures    []nitro.Signature
	WhoSignedWhat []uint8
}
