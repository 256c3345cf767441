// Package chaintest is the conformance suite every ports.Chain adapter
// runs: the in-memory model of the contracts and the EVM adapter must
// behave the same on deposits, payouts, reverts and event streams. An
// adapter's test calls Run with a function that builds a fresh chain:
//
//	func TestConformance(t *testing.T) { chaintest.Run(t, newEnv) }
//
// Amounts are checked exactly. Where an adapter charges gas, Env.Fee tells
// what a transaction cost its sender, so balances still add up to the wei.
package chaintest

// The suite's entry point, Run, and the Env an adapter provides. The tests
// are grouped by topic: deposits.go, conclude.go, erc20.go, events.go,
// rewind.go, disputes.go and dispute_reverts.go; helpers.go and
// dispute_helpers.go hold what they share.

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ChainID is the chain id the suite's states carry: the in-memory chain
// must be built with it; go-ethereum's simulated chain and geth --dev use it.
const ChainID = 1337

// Revert reasons of the Nitro 0.17.0 contracts the suite expects, beyond
// those named in ports.
const (
	ReasonExternalDestination = "Deposit to external destination"
	ReasonInvalidSignatures   = "Invalid signatures / !isFinal"
	ReasonIncorrectChainID    = "Incorrect chainId"
	ReasonERC20Balance        = "ERC20: transfer amount exceeds balance"
)

// Env is one fresh chain, with the Nitro 0.17.0 contracts and one ERC20
// asset holder, for one test.
type Env interface {
	// ETHAssetHolder and ERC20AssetHolder are the asset holders' addresses.
	ETHAssetHolder() nitro.Address
	ERC20AssetHolder() nitro.Address
	// NewAccount returns the chain port of a new account holding wei ETH and
	// tokens of the ERC20 asset holder's token, and its address.
	NewAccount(ctx context.Context, wei, tokens *big.Int) (ports.Chain, nitro.Address, error)
	// Balance returns addr's ETH balance in wei.
	Balance(ctx context.Context, addr nitro.Address) (*big.Int, error)
	// TokenBalance returns addr's balance of the ERC20 asset holder's token.
	TokenBalance(ctx context.Context, addr nitro.Address) (*big.Int, error)
	// Fee returns the ETH a mined transaction cost its sender besides the
	// value it moved (zero on a chain without gas).
	Fee(ctx context.Context, tx ports.TxHash) (*big.Int, error)
}

// Run runs the suite, each test on a fresh Env from newEnv.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	tests := []struct {
		name string
		run  func(*suite)
	}{
		{"DepositsInTurn", testDepositsInTurn},
		{"PrematureDepositReverts", testPrematureDeposit},
		{"StaleDepositReverts", testStaleDeposit},
		{"PartialRefund", testPartialRefund},
		{"OverlappingDeposits", testOverlappingDeposits},
		{"DepositToExternalDestinationReverts", testExternalDestination},
		{"InsufficientFunds", testInsufficientFunds},
		{"UnknownAssetHolder", testUnknownAssetHolder},
		{"ConcludePaysOut", testConcludePaysOut},
		{"ConcludeUnderfundedPaysInOrder", testConcludeUnderfunded},
		{"SecondConcludeReverts", testSecondConclude},
		{"BadSignaturesRevert", testBadSignatures},
		{"WrongChainIDReverts", testWrongChainID},
		{"ERC20", testERC20},
		{"ERC20InsufficientTokens", testERC20Insufficient},
		{"ThreePartiesTwoAssets", testThreePartiesTwoAssets},
		{"EventsReplayFromCursor", testEventsReplay},
		{"HoldingsOfUnknownChannel", testHoldingsUnknown},
		{"RollbackBelowDeliveredEvents", testRollbackBelowDeliveredEvents},
		{"Code", testCode},
		{"ChallengeTwoParties", testChallengeTwoParties},
		{"ChallengeThreeParties", testChallengeThreeParties},
		{"CheckpointClearsStaleChallenge", testCheckpointClearsStaleChallenge},
		{"RespondWithNextTurn", testRespondWithNextTurn},
		{"ChallengeWithFinalState", testChallengeWithFinalState},
		{"ChallengeWithTwoFinalStates", testChallengeWithTwoFinalStates},
		{"ChallengeTimeoutPaysOut", testChallengeTimeoutPaysOut},
		{"ChallengeReverts", testChallengeReverts},
		{"DisputeWithoutChallenge", testDisputeWithoutChallenge},
		{"AppLessRunningTransitionReverts", testAppLessRunningTransitionReverts},
		{"BadProofNotSent", testBadProofNotSent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			tc.run(&suite{t: t, ctx: ctx, env: newEnv(t)})
		})
	}
}

// suite is one test's world.
type suite struct {
	t   *testing.T
	ctx context.Context
	env Env
}
