package ports

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// DepositRequest asks the chain to deposit Amount into ChannelID at the asset
// holder Asset, provided the channel already holds ExpectedHeld (Nitro's
// expectedHeld guard: a repeated deposit is refunded or reverts harmlessly).
type DepositRequest struct {
	ChannelID    nitro.Bytes32
	Asset        nitro.Address
	ExpectedHeld *big.Int
	Amount       *big.Int
}

// ConcludeRequest asks the chain to conclude a channel with a final state
// signed by every participant and pay out its outcome
// (concludePushOutcomeAndTransferAll). Signatures[i] is participant i's.
type ConcludeRequest struct {
	State      nitro.State
	Signatures []nitro.Signature
}

// TxHash identifies a submitted transaction.
type TxHash = nitro.Bytes32

// ChainProtocol is implemented by a Chain whose adjudicator checks
// signatures over another nitro-protocol generation's state hash than
// 0.17.0's (the memory chain built with memory.WithProtocol). A Chain
// without it checks 0.17.0's, as the contracts the Ethereum adapter drives
// do. The wallet funds a channel on chain (Direct) only when the channel
// is signed under the chain's generation: the deposit of any other could
// never be concluded nor disputed.
type ChainProtocol interface {
	// Protocol is the generation whose state hash the adjudicator checks.
	Protocol() nitro.Protocol
}

// ProtocolOf returns the generation c's adjudicator checks:
// ChainProtocol's answer, else nitro.Protocol0170.
func ProtocolOf(c Chain) nitro.Protocol {
	if p, ok := c.(ChainProtocol); ok {
		return p.Protocol()
	}
	return nitro.Protocol0170
}

// Chain is what the wallet needs from a chain carrying the Nitro 0.17.0
// contracts, bound to the wallet's own account: funding, concluding and
// events, and the dispute calls (Disputes).
type Chain interface {
	Disputes
	// ChainID is the chain id states must carry.
	ChainID() *big.Int
	// AssetHolders lists the asset holders Deposit can deposit to: a
	// channel naming any other could never be funded.
	AssetHolders() []nitro.Address
	// Deposit submits an asset holder deposit from the wallet's account.
	Deposit(ctx context.Context, req DepositRequest) (TxHash, error)
	// ConcludeAndTransferAll submits concludePushOutcomeAndTransferAll.
	ConcludeAndTransferAll(ctx context.Context, req ConcludeRequest) (TxHash, error)
	// Holdings reads what the asset holder holds for a channel now.
	Holdings(ctx context.Context, asset nitro.Address, channelID nitro.Bytes32) (*big.Int, error)
	// Events streams every Nitro event from the cursor's block on, in chain
	// order, until ctx ends. The channel is closed when the stream ends.
	// Blocks it delivered that leave the chain (a reorg, a node that came
	// back lower), and a cursor whose block is no longer on the chain, are
	// reported by a core.EventRewound naming the common ancestor (found
	// through the cursor's checkpoints, else the deployment block); the
	// stream then delivers again from the ancestor.
	Events(ctx context.Context, from Cursor) (<-chan core.ChainEvent, error)
	// Code returns the runtime code deployed at addr (eth_getCode), at
	// the newest block the adapter counts as confirmed: empty, with no
	// error, where no contract is deployed.
	Code(ctx context.Context, addr nitro.Address) ([]byte, error)
}

// Chain errors shared by every chain adapter; test them with errors.Is.
var (
	// ErrReverted: the transaction (or its gas estimate) reverted.
	ErrReverted = errors.New("chain: transaction reverted")
	// ErrInsufficientFunds: the account cannot pay value plus gas.
	ErrInsufficientFunds = errors.New("chain: insufficient funds")
	// ErrUnavailable: the chain could not be reached.
	ErrUnavailable = errors.New("chain: unavailable")
	// ErrNoContract: no contract is deployed at the address on the node's
	// chain (a node that came back without the deployment): nothing is
	// sent, and a read of holdings there means nothing is held.
	ErrNoContract = errors.New("chain: no contract at the address")
)

// Revert reasons the Nitro 0.17.0 contracts give, as matched in RevertError.
const (
	ReasonHoldingsBelowExpected = "holdings < expectedHeld"
	ReasonHoldingsSufficient    = "holdings already sufficient"
	ReasonChannelFinalized      = "Channel finalized."
	ReasonInvalidSignature      = "Invalid signature"
)

// RevertError carries a contract's revert reason. It matches ErrReverted with
// errors.Is.
type RevertError struct {
	Reason string
}

// Error implements error.
func (e *RevertError) Error() string { return fmt.Sprintf("chain: transaction reverted: %s", e.Reason) }

// Is makes errors.Is(err, ErrReverted) true.
func (e *RevertError) Is(target error) bool { return target == ErrReverted }
