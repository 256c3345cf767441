// Funding strategies and holdings reported from outside the wallet.
//
// Strategies: Direct (the default) deposits the allocation items in order
// and waits for the chain to show them (open.go); Fake, as the TypeScript
// server wallet's, makes no deposits and counts the channel as funded at
// once, so it runs once the postfund round is signed, and it is never
// concluded on chain either. Any other strategy is refused with
// ErrUnsupportedFunding on Create, on a proposal (Receive) and on Join.
//
// Input: ReportHoldings (reportHoldings), for deployments whose chain
// watcher is outside the wallet (the TypeScript wallet's
// updateFundingForChannels): each asset's holdings are applied as a
// Deposited event would be, so the deposits of the allocation items follow
// in order. Guards, in order: every amount is in 0..2^256-1
// (ErrInvalidHoldings), every asset is one of the channel's
// (ErrUnknownAsset); then each is applied.

package core

import (
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// supportedFunding reports whether the wallet runs channels of the strategy.
func supportedFunding(strategy string) bool {
	return strategy == FundingDirect || strategy == FundingFake
}

// checkFunding refuses a strategy the wallet does not run.
func checkFunding(strategy string) error {
	if !supportedFunding(strategy) {
		return fmt.Errorf("%w: %q", ErrUnsupportedFunding, strategy)
	}
	return nil
}

// fake reports whether the channel is funded without deposits (Fake).
func (c *Channel) fake() bool { return c.FundingStrategy == FundingFake }

// AssetHoldings is what an asset holder holds for a channel.
type AssetHoldings struct {
	Asset  nitro.Address
	Amount *big.Int
}

// ReportHoldings sets the channel's holdings as a chain watcher outside the
// wallet reports them: each is applied as a Deposited event with those
// holdings, so a report lower than what the channel knows changes nothing
// (holdings only grow until the payout, whatever order reports come in).
type ReportHoldings struct {
	Holdings []AssetHoldings
}

func (ReportHoldings) isInput() {}

func (s *stepper) reportHoldings(in ReportHoldings) error {
	for _, h := range in.Holdings {
		if err := nitro.CheckAmount(h.Amount); err != nil {
			return fmt.Errorf("%w: asset %s: %w", ErrInvalidHoldings, h.Asset, err)
		}
		known := false
		for _, f := range s.c.Funding {
			known = known || f.Asset == h.Asset
		}
		if !known {
			return fmt.Errorf("%w: %s", ErrUnknownAsset, h.Asset)
		}
	}
	for _, h := range in.Holdings {
		s.chainEvent(ChainEvent{Kind: EventDeposited, ChannelID: s.c.ID, Asset: h.Asset, Holdings: h.Amount})
	}
	return nil
}
