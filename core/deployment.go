package core

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Default challenge-duration bounds (seconds) for Deployment.
const (
	// DefaultMinChallengeDuration is one hour: a challenge on a shorter
	// duration could finalize a stale state before this wallet (or its
	// watchtower) has had a fair chance to see it and respond, for
	// instance across a node restart or a congested chain.
	DefaultMinChallengeDuration = 3600
	// DefaultMaxChallengeDuration is thirty days: a dispute on a longer
	// duration would lock this wallet's deposit for that long.
	DefaultMaxChallengeDuration = 30 * 24 * 3600
)

// Deployment is what this wallet's chain can carry: its chain id, the asset
// holders the chain adapter can deposit to, and the challenge durations the
// wallet accepts. A channel outside it could be deposited into but never
// concluded (the adjudicator reverts on another chain id, an unknown asset
// holder never takes a deposit), so the core starts and joins no channel
// that does not fit it. Create, Join and a Receive that starts a channel
// each carry one; a zero Deployment fits no channel.
type Deployment struct {
	ChainID      *big.Int
	AssetHolders []nitro.Address
	// MinChallengeDuration and MaxChallengeDuration bound the channel's
	// challengeDuration (seconds, inclusive); zero means the default.
	MinChallengeDuration uint64
	MaxChallengeDuration uint64
	// Protocol is the state-hash generation this wallet signs and checks
	// (nitro.Protocol0170, the zero value, or nitro.Protocol0101); a
	// channel takes it when it starts and keeps it (Channel.Protocol).
	Protocol nitro.Protocol
	// ChainProtocol is the generation whose state hash the chain's
	// adjudicator checks (ports.ProtocolOf; the zero value is 0.17.0's).
	// A channel signed under another is never funded on chain: its
	// deposit could be neither concluded nor disputed (CheckFunding).
	ChainProtocol nitro.Protocol
}

// CheckFunding refuses, with ErrUnsupportedFunding, a strategy the wallet
// does not run, and Direct funding of a channel signed under protocol p
// when the chain's adjudicator checks another generation's signatures: the
// deposit would be locked for good (the adjudicator could verify neither
// a conclusion nor a challenge). Fake funding never touches the chain and
// passes.
func (d Deployment) CheckFunding(strategy string, p nitro.Protocol) error {
	if err := checkFunding(strategy); err != nil {
		return err
	}
	if strategy == FundingDirect && p != d.ChainProtocol {
		return fmt.Errorf("%w: Direct funding of a channel signed under nitro-protocol %s, on a chain whose adjudicator checks %s: its deposits could never be concluded nor disputed (use Fake funding)",
			ErrUnsupportedFunding, p, d.ChainProtocol)
	}
	return nil
}

// Bounds returns the challenge-duration bounds in force, defaults applied.
func (d Deployment) Bounds() (lo, hi uint64) {
	lo, hi = d.MinChallengeDuration, d.MaxChallengeDuration
	if lo == 0 {
		lo = DefaultMinChallengeDuration
	}
	if hi == 0 {
		hi = DefaultMaxChallengeDuration
	}
	return lo, hi
}

// Fits checks that a channel with this setup state can be funded and
// concluded on the deployment: same chain id, every asset holder known,
// challenge duration within the bounds.
func (d Deployment) Fits(setup nitro.State) error {
	if d.ChainID == nil {
		return fmt.Errorf("%w: the wallet gave no deployment", ErrWrongChain)
	}
	if setup.ChainID == nil || setup.ChainID.Cmp(d.ChainID) != 0 {
		return fmt.Errorf("%w: chain id %v, this wallet's is %v", ErrWrongChain, setup.ChainID, d.ChainID)
	}
	for _, a := range setup.Outcome {
		if !slices.Contains(d.AssetHolders, a.AssetHolder) {
			return fmt.Errorf("%w: %s", ErrUnknownAssetHolder, a.AssetHolder)
		}
	}
	if lo, hi := d.Bounds(); setup.ChallengeDuration < lo || setup.ChallengeDuration > hi {
		return fmt.Errorf("%w: %d s, accepted %d..%d s", ErrChallengeDuration, setup.ChallengeDuration, lo, hi)
	}
	return nil
}
