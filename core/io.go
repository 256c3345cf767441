package core

import (
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Input is anything Step consumes: an API call, a received message, a
// signature, a chain event, a transaction failure or the time.
type Input interface{ isInput() }

// Effect is a side effect Step asks the app to carry out, after the new
// channel state has been persisted.
type Effect interface{ isEffect() }

// Create opens a new channel as participant Me.
type Create struct {
	Me                nitro.Address
	ChainID           *big.Int
	Participants      []Participant
	Outcome           nitro.Outcome
	AppDefinition     nitro.Address
	AppData           []byte
	ChallengeDuration uint64
	ChannelNonce      uint64
	FundingStrategy   string
	// Deployment is what this wallet's chain carries; the channel must fit it.
	Deployment Deployment
}

// Join approves a proposed channel, which must fit the wallet's Deployment.
type Join struct {
	Deployment Deployment
}

// Update signs a new state with the given outcome and appData on my turn.
type Update struct {
	Outcome nitro.Outcome
	AppData []byte
}

// Close signs a final state keeping the latest outcome, on my turn.
type Close struct{}

// Receive carries what a peer sent about this channel. Me identifies this
// wallet when the channel is new to it, and Deployment is what such a new
// channel must fit. Recipient is the message's recipient: it must be this
// wallet's participant id in the channel, unless Bare.
type Receive struct {
	Me         nitro.Address
	Deployment Deployment
	Recipient  string
	Sender     string
	// Bare: the states came as a bare Payload (no envelope), as the server
	// wallet's pushMessage takes them; there is no recipient to check,
	// and no sender to answer requests to (Sender is empty).
	Bare       bool
	States     []SignedState
	Objectives []Objective
	Requests   []Request
}

// Signed returns the signer's signature over a pending state hash.
type Signed struct {
	Hash      nitro.Bytes32
	Signature nitro.Signature
}

// TxKind names the kind of transaction a TxFailed is about.
type TxKind uint8

// Transaction kinds.
const (
	TxDeposit TxKind = iota + 1
	TxConclude
	TxChallenge
	TxCheckpoint
	TxPushOutcome
)

// TxFailed reports that a requested transaction failed. Done means the failure
// proves the goal already reached (e.g. "holdings already sufficient",
// "Channel finalized."); otherwise it is retried on the next Tick. A deposit
// failed as Done stays requested until the holdings show it (the head the
// failure was judged on may be reorged away), so it is submitted again
// after the retry delay if they never do.
type TxFailed struct {
	Kind  TxKind
	Asset nitro.Address
	Item  int
	Done  bool
	Err   string
}

// Tick gives the core the time, in seconds. A positive TxRetryDelay or
// BackupConcludeDelay (seconds) replaces the package's default for this
// tick's decisions, so a deployment can fit them to its chain: time only
// moves on ticks, so they are the only steps that act on it.
type Tick struct {
	Now int64
	// ChainTime is the chain's head block time, when the app read it: a
	// challenge finalizes on it (dispute.go). 0 means unknown.
	ChainTime           uint64
	TxRetryDelay        int64
	BackupConcludeDelay int64
	// AutoChallengeAfter, when positive, is how long (Tick seconds) the
	// wallet awaits a peer before it challenges on its own (liveness.go).
	AutoChallengeAfter int64
}

// Sync resends this wallet's latest states to every peer and asks them for theirs.
type Sync struct{}

func (Create) isInput()     {}
func (Join) isInput()       {}
func (Update) isInput()     {}
func (Close) isInput()      {}
func (Receive) isInput()    {}
func (Signed) isInput()     {}
func (TxFailed) isInput()   {}
func (Tick) isInput()       {}
func (Sync) isInput()       {}
func (ChainEvent) isInput() {}

// SignState asks the signer to sign Hash, the hash of State; its answer comes
// back as a Signed input.
type SignState struct {
	ChannelID nitro.Bytes32
	State     nitro.State
	Hash      nitro.Bytes32
}

// Send asks the app to deliver a message to a peer.
type Send struct {
	ChannelID nitro.Bytes32
	Message   Message
}

// Deposit asks the chain adapter to deposit Amount for allocation item Item
// of the asset, guarded by ExpectedHeld.
type Deposit struct {
	ChannelID    nitro.Bytes32
	Asset        nitro.Address
	Item         int
	ExpectedHeld *big.Int
	Amount       *big.Int
}

// Conclude asks the chain adapter to submit concludePushOutcomeAndTransferAll
// with a final state and every participant's signature in participant order.
type Conclude struct {
	ChannelID  nitro.Bytes32
	State      nitro.State
	Signatures []nitro.Signature
}

// Watch asks the app to follow the channel's chain events and report its
// current holdings at each asset holder as Deposited events.
type Watch struct {
	ChannelID nitro.Bytes32
	Assets    []nitro.Address
}

func (SignState) isEffect() {}
func (Send) isEffect()      {}
func (Deposit) isEffect()   {}
func (Conclude) isEffect()  {}
func (Watch) isEffect()     {}
